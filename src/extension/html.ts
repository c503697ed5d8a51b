// The form's HTML shell, apart from the panel so its Content-Security-Policy can be checked without
// VS Code: scripts only with a fresh nonce (no eval, nothing remote), styles and fonts from the
// extension's own files.
export interface FormHtmlInput {
  /** `webview.cspSource`: the origin the webview serves extension files from. */
  cspSource: string;
  nonce: string;
  scriptUri: string;
  cssUri: string;
  lang: string;
  file: string;
  title: string;
  loading: string;
}

export function formHtml(o: FormHtmlInput): string {
  // 'unsafe-inline' styles: the Lit-based elements set inline styles on their shadow roots.
  const csp = [
    "default-src 'none'",
    `img-src ${o.cspSource} data:`,
    `style-src ${o.cspSource} 'unsafe-inline'`,
    `font-src ${o.cspSource}`,
    `script-src 'nonce-${o.nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="${escapeHtml(o.lang)}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(o.cssUri)}">
<title>${escapeHtml(o.title)}</title>
</head>
<body>
<main id="app" data-file="${escapeHtml(o.file)}"><p class="muted">${escapeHtml(o.loading)}</p></main>
<script type="module" nonce="${o.nonce}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
