// The webviews' HTML shells, apart from the panels so their Content-Security-Policy can be checked
// without VS Code. The form: scripts only with a fresh nonce (no eval, nothing remote), styles and
// fonts from the extension's own files. The viewer: nothing but one frame of the neuroglancer page.
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

export interface ViewerHtmlInput {
  /** The neuroglancer page with its `#!` state, as the client reaches it (after asExternalUri). */
  url: string;
  nonce: string;
  title: string;
}

/**
 * A full-size <iframe> of the viewer page and nothing else: no script of ours, frames only from the
 * viewer's own origin. The webview must still enable scripts, because a frame inherits the sandbox of
 * the webview's document and neuroglancer is a script.
 */
export function viewerHtml(o: ViewerHtmlInput): string {
  const origin = new URL(o.url).origin;
  const csp = ["default-src 'none'", `frame-src ${origin}`, `style-src 'nonce-${o.nonce}'`].join('; ');
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<style nonce="${o.nonce}">html, body { margin: 0; padding: 0; height: 100%; overflow: hidden; } iframe { display: block; width: 100%; height: 100%; border: 0; }</style>
<title>${escapeHtml(o.title)}</title>
</head>
<body>
<iframe src="${escapeHtml(o.url)}" title="${escapeHtml(o.title)}" allow="clipboard-read; clipboard-write; fullscreen"></iframe>
</body>
</html>`;
}
