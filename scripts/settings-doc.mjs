// Writes docs/settings.md, the table of the extension's settings, from package.json and
// package.nls.json (`node scripts/settings-doc.mjs`). test/extension-manifest.test.ts fails when
// docs/settings.md is not what this produces, so the page cannot drift from the manifest.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SETTINGS_DOC = path.join(ROOT, 'docs', 'settings.md');

const SCOPES = {
  application: 'user settings only',
  machine: 'user or remote settings',
  'machine-overridable': 'user or remote settings; a workspace may override',
  window: 'user, remote or workspace settings',
  resource: 'user, remote, workspace or folder settings',
  'language-overridable': 'any, also per language',
};

export function settingsMarkdown() {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const nls = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8'));
  const t = (s) => (typeof s === 'string' && /^%.*%$/.test(s) ? nls[s.slice(1, -1)] : s);
  const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n+/g, ' ');
  const restricted = new Set(pkg.capabilities?.untrustedWorkspaces?.restrictedConfigurations ?? []);
  const props = pkg.contributes.configuration.properties;
  const rows = Object.entries(props).map(([key, p]) => {
    const type = Array.isArray(p.type) ? p.type.join(' or ') : p.type;
    const range = [p.minimum !== undefined && `≥ ${p.minimum}`, p.maximum !== undefined && `≤ ${p.maximum}`].filter(Boolean).join(', ');
    let description = t(p.markdownDescription ?? p.description);
    if (p.enum) description += ' ' + p.enum.map((v, i) => `\`${v}\`: ${t(p.enumDescriptions?.[i]) ?? ''}`.trim()).join(' ');
    if (restricted.has(key)) description += ' In Restricted Mode a value set by the workspace is ignored.';
    return `| \`${key}\` | ${type}${range ? ` (${range})` : ''} | \`${JSON.stringify(p.default)}\` | \`${p.scope}\` (${SCOPES[p.scope] ?? p.scope}) | ${cell(description)} |`;
  });
  return [
    '# VS Code extension settings',
    '',
    '<!-- Generated from package.json and package.nls.json by `node scripts/settings-doc.mjs`; do not edit by hand. -->',
    '',
    `${t(pkg.contributes.configuration.title)}: open them with **Preferences: Open Settings** and search for \`ngAnnotations\`.`,
    'Export defaults (sharding, gzip level, chunk size, levels) fill a *new* form; a mapping remembered for a file, or one loaded',
    'from JSON, keeps its own values. The CLI does not read these settings.',
    '',
    '| Setting | Type | Default | Scope (where it can be set) | Description |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  fs.mkdirSync(path.dirname(SETTINGS_DOC), { recursive: true });
  fs.writeFileSync(SETTINGS_DOC, settingsMarkdown());
  console.log(`${path.relative(ROOT, SETTINGS_DOC)} written`);
}
