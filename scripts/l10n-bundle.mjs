// Writes l10n/bundle.l10n.json: every message the extension passes to vscode.l10n.t in src/, keyed
// by itself (the English bundle translators copy to bundle.l10n.<locale>.json). Manifest strings
// stay in package.nls.json. `node scripts/l10n-bundle.mjs`; test/extension-manifest.test.ts fails
// when the bundle is not what this produces.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE = path.join(ROOT, 'l10n', 'bundle.l10n.json');

/** The literal first arguments of `l10n.t('…')` calls in src/ (single-quoted, as the code writes them). */
export function l10nStrings() {
  const out = new Set();
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        const text = fs.readFileSync(p, 'utf8');
        for (const call of text.matchAll(/\bl10n\.t\(\s*(['"`])/g)) {
          const m = /^'((?:[^'\\\n]|\\.)*)'\s*[,)]/.exec(text.slice(call.index + call[0].length - 1));
          if (!m) throw new Error(`${path.relative(ROOT, p)}: l10n.t takes a single-quoted literal first (at offset ${call.index})`);
          out.add(JSON.parse(`"${m[1].replace(/\\'/g, "'").replace(/"/g, '\\"')}"`));
        }
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  return [...out].sort();
}

export function bundleText() {
  return JSON.stringify(Object.fromEntries(l10nStrings().map((s) => [s, s])), null, 2) + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  fs.writeFileSync(BUNDLE, bundleText());
  console.log(`${path.relative(ROOT, BUNDLE)}: ${l10nStrings().length} messages`);
}
