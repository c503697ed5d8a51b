// The extension's manifest (package.json) against the hosts VS Code runs it in: the menus' `when`
// clauses evaluated with VS Code's own context-key code for the resource URIs each host hands the
// UI. The same command in a real VS Code (code-server) is tested by `npm run test:vscode`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
// @ts-expect-error a plain .mjs script without types
import { BUNDLE, bundleText, l10nStrings } from '../scripts/l10n-bundle.mjs';
// @ts-expect-error a plain .mjs script without types
import { SETTINGS_DOC, settingsMarkdown } from '../scripts/settings-doc.mjs';
import { asRemoteServerShowsIt, parseWhen, resourceContext } from './helpers/whenClause';

const ROOT = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const COMMAND = 'ngAnnotations.exportAnnotations';
const MENUS = ['explorer/context', 'editor/title', 'editor/title/context'];

/**
 * The URI of a table as the workbench (UI side) sees it in each host, and whether the extension runs
 * next to the UI (desktop, local extension host: the manifest as written) or behind a VS Code Server
 * (the server rewrites `resourceScheme` comparisons before the UI evaluates them). Forms documented
 * by VS Code: `vscode-remote://<remoteName>+<data>/path` for remote windows (Remote Development docs,
 * "Opening a folder via the command line"; `code --remote ssh-remote+host /path`), `vscode-vfs://github/<owner>/<repo>/…`
 * for GitHub Repositories (Virtual Workspaces guide).
 */
const HOSTS: Array<{ host: string; uri: string; server: boolean; offered: boolean }> = [
  { host: 'desktop, local folder (Linux/macOS)', uri: 'file:///home/ana/data/synapses.csv', server: false, offered: true },
  { host: 'desktop, local folder (Windows)', uri: 'file:///c%3A/Users/ana/data/Synapses.CSV', server: false, offered: true },
  { host: 'Remote-SSH', uri: 'vscode-remote://ssh-remote+lab-server/home/ana/synapses.parquet', server: true, offered: true },
  { host: 'WSL', uri: 'vscode-remote://wsl+Ubuntu-22.04/home/ana/synapses.tsv', server: true, offered: true },
  {
    host: 'Dev Containers',
    uri: 'vscode-remote://dev-container+7b22686f737450617468223a222f686f6d652f616e612f70726f6a227d/workspaces/proj/synapses.feather',
    server: true,
    offered: true,
  },
  { host: 'Codespaces (desktop or browser)', uri: 'vscode-remote://codespaces+fuzzy-guide-r4x9/workspaces/proj/synapses.arrow', server: true, offered: true },
  { host: 'code-server / VS Code Server for the web', uri: 'vscode-remote://127.0.0.1:8080/home/ana/synapses.pq', server: true, offered: true },
  { host: 'GitHub Repositories on desktop (virtual workspace)', uri: 'vscode-vfs://github/ana/lab-data/tables/synapses.csv', server: false, offered: true },
  { host: 'Azure Repos on desktop (virtual workspace)', uri: 'vscode-vfs://azurerepos/ana/proj/lab-data/synapses.ipc', server: false, offered: true },
  // a remote window with the extension installed locally as a UI extension (remote.extensionKind)
  { host: 'remote window, extension forced to the UI side', uri: 'vscode-remote://ssh-remote+lab-server/home/ana/synapses.parq', server: false, offered: true },
  // a file from the local disk opened in a remote window: the UI names it file:, the server's rewrite turns our `file` into vscode-remote
  { host: 'remote window, a local (UI-side) file', uri: 'file:///Users/ana/Downloads/synapses.csv', server: true, offered: false },
  { host: 'untitled editor', uri: 'untitled:Untitled-1', server: false, offered: false },
  { host: 'git diff (left side)', uri: 'git:/home/ana/synapses.csv?%7B%22ref%22%3A%22HEAD%22%7D', server: false, offered: false },
  { host: 'output channel', uri: 'output:extension-output-ng-annotations', server: false, offered: false },
  { host: 'desktop, not a table', uri: 'file:///home/ana/notes.txt', server: false, offered: false },
  { host: 'remote, compressed CSV (not read)', uri: 'vscode-remote://ssh-remote+lab-server/home/ana/synapses.csv.gz', server: true, offered: false },
];

function entries(menu: string): Array<{ command: string; when: string }> {
  return (pkg.contributes.menus[menu] as Array<{ command: string; when: string }>).filter((e) => e.command === COMMAND);
}

describe('menus: the command is offered for the tables each host shows', () => {
  for (const menu of MENUS) {
    test(`${menu}: one entry, a when clause VS Code parses`, () => {
      const [e, ...more] = entries(menu);
      assert.ok(e, `no ${COMMAND} in ${menu}`);
      assert.deepEqual(more, []);
      assert.ok(parseWhen(e.when));
    });
  }

  for (const h of HOSTS) {
    test(`${h.host}: ${h.uri} → ${h.offered ? 'offered' : 'not offered'}`, () => {
      for (const menu of MENUS) {
        const written = parseWhen(entries(menu)[0]!.when);
        const shown = h.server ? asRemoteServerShowsIt(written) : written;
        assert.equal(shown.evaluate(resourceContext(h.uri)), h.offered, `${menu}: ${shown.serialize()}`);
      }
    });
  }

  test('every table extension the command reads, in any case, and nothing else', () => {
    const when = parseWhen(entries('explorer/context')[0]!.when);
    for (const ext of ['csv', 'TSV', 'parquet', 'pq', 'parq', 'arrow', 'Feather', 'ipc']) assert.ok(when.evaluate(resourceContext(`file:///d/t.${ext}`)), ext);
    for (const ext of ['txt', 'json', 'csv.gz', 'xlsx', 'parquet.bak']) assert.ok(!when.evaluate(resourceContext(`file:///d/t.${ext}`)), ext);
  });

  test("the rewrite reproduces VS Code Server's (a clause gated on `file` alone vanishes from remote windows but for it)", () => {
    const old = parseWhen('resourceScheme == file && resourceExtname == .csv');
    const remote = resourceContext('vscode-remote://ssh-remote+h/home/a/t.csv');
    assert.equal(old.evaluate(remote), false);
    assert.equal(asRemoteServerShowsIt(old).evaluate(remote), true);
    assert.equal(asRemoteServerShowsIt(old).serialize(), "resourceExtname == '.csv' && resourceScheme == 'vscode-remote'");
  });

  test('runs where the files are (a workspace extension)', () => {
    assert.deepEqual(pkg.extensionKind, ['workspace']);
  });
});

describe('capabilities: Restricted Mode and virtual workspaces, said honestly', () => {
  const nls = JSON.parse(readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8'));
  const text = (v: string) => (/^%.*%$/.test(v) ? nls[v.slice(1, -1)] : v);

  test('untrustedWorkspaces: limited, with a description; the viewer URL is not taken from an untrusted workspace', () => {
    const u = pkg.capabilities.untrustedWorkspaces;
    assert.equal(u.supported, 'limited');
    assert.match(text(u.description), /Restricted Mode.*preview.*export/is);
    assert.deepEqual(u.restrictedConfigurations, ['ngAnnotations.neuroglancerUrl']);
    for (const k of u.restrictedConfigurations) assert.ok(pkg.contributes.configuration.properties[k], k);
  });

  test('virtualWorkspaces: limited, with a description', () => {
    const v = pkg.capabilities.virtualWorkspaces;
    assert.equal(v.supported, 'limited');
    assert.match(text(v.description), /copy on this machine's disk/);
  });
});

describe('localisation: every runtime message can be translated', () => {
  test('the manifest points at l10n/, which the .vsix ships, and package.nls.json stays', () => {
    assert.equal(pkg.l10n, './l10n');
    assert.match(readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8'), /^!l10n\/\*\*$/m);
    assert.match(readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8'), /^!package\.nls\.json$/m);
  });

  test('l10n/bundle.l10n.json holds exactly the vscode.l10n.t messages in src/ (node scripts/l10n-bundle.mjs)', () => {
    const strings: string[] = l10nStrings();
    assert.ok(strings.length >= 15 && strings.includes('Export failed: {0}'), `found ${strings.length}`);
    const bundle = JSON.parse(readFileSync(BUNDLE, 'utf8'));
    const missing = strings.filter((s) => !(s in bundle));
    assert.deepEqual(missing, [], 'messages missing from the bundle: run node scripts/l10n-bundle.mjs');
    assert.equal(readFileSync(BUNDLE, 'utf8'), bundleText(), 'the bundle has stale messages: run node scripts/l10n-bundle.mjs');
  });

  test('every %key% in the manifest is in package.nls.json', () => {
    const nls = JSON.parse(readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8'));
    const keys = [...JSON.stringify(pkg).matchAll(/"%([^%"]+)%"/g)].map((m) => m[1]!);
    assert.ok(keys.length > 10);
    assert.deepEqual(keys.filter((k) => !(k in nls)), []);
  });
});

describe('walkthrough', () => {
  const nls = JSON.parse(readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8'));
  const text = (v: string) => (/^%.*%$/.test(v) ? nls[v.slice(1, -1)] : v);
  const [w, ...others] = pkg.contributes.walkthroughs;

  test('one walkthrough of 3–4 steps: open the sample, map columns, export, open in neuroglancer', () => {
    assert.deepEqual(others, []);
    assert.ok(text(w.title) && text(w.description));
    assert.deepEqual(w.steps.map((s: { id: string }) => s.id), ['openSample', 'mapColumns', 'export', 'openNeuroglancer']);
    for (const s of w.steps) assert.ok(text(s.title) && text(s.description) && text(s.media.altText), s.id);
  });

  test('its media are theme-aware SVGs that ship in the .vsix', () => {
    const ignore = readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8');
    for (const s of w.steps) {
      const svg = readFileSync(path.join(ROOT, s.media.svg), 'utf8');
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, s.media.svg);
      // colours come from the theme (the walkthrough webview defines the --vscode-* variables; its CSP
      // blocks style attributes, so they are presentation attributes, as in VS Code's own walkthroughs)
      assert.doesNotMatch(svg, /\bstyle=/, `${s.media.svg}: style attributes are blocked there`);
      assert.match(svg, /var\(--vscode-foreground/, s.media.svg);
      assert.doesNotMatch(svg.replace(/var\(--vscode-[\w-]+, #[0-9a-f]+\)/gi, ''), /#[0-9a-f]{3,6}\b|\b(black|white)\b/i, `${s.media.svg}: a fixed colour`);
      assert.match(ignore, new RegExp(`^!${path.dirname(s.media.svg).replace(/\//g, '\\/')}\\/\\*\\.svg$`, 'm'), s.media.svg);
    }
    assert.match(ignore, /^!examples\/synapses\.csv$/m);
  });

  test('every command its steps run or wait for is contributed or built in', () => {
    const ours = new Set(pkg.contributes.commands.map((c: { command: string }) => c.command));
    const builtin = new Set(['workbench.action.openSettings']);
    for (const s of w.steps) {
      const links = [...text(s.description).matchAll(/\]\(command:([\w.]+)/g)].map((m) => m[1]!);
      assert.ok(links.length > 0, `${s.id} has no button`);
      for (const c of links) assert.ok(ours.has(c) || builtin.has(c), `${s.id}: ${c}`);
      for (const ev of s.completionEvents ?? []) {
        const m = /^onCommand:(.*)$/.exec(ev);
        if (m) assert.ok(ours.has(m[1]), ev);
        else assert.match(ev, /^onContext:ngAnnotations\.(exported|viewerOpened)$/);
      }
    }
  });
});

describe('settings', () => {
  const nls = JSON.parse(readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8'));
  const props: Record<string, Record<string, unknown>> = pkg.contributes.configuration.properties;

  test('every setting has a description, a default of its type and a scope; paths and URLs are machine-overridable', () => {
    const scopes = new Set(['application', 'machine', 'machine-overridable', 'window', 'resource', 'language-overridable']);
    for (const [key, p] of Object.entries(props)) {
      const d = (p.markdownDescription ?? p.description) as string;
      assert.ok(d && nls[d.slice(1, -1)], `${key}: no description`);
      assert.ok('default' in p, `${key}: no default`);
      const types = ([] as unknown[]).concat(p.type);
      const typeOf = (v: unknown) => (v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v);
      assert.ok(types.includes(typeOf(p.default)) || (types.includes('number') && typeof p.default === 'number'), `${key}: default ${p.default} is not ${types}`);
      if (p.enum) assert.ok((p.enum as unknown[]).includes(p.default), key);
      assert.ok(scopes.has(p.scope as string), `${key}: scope ${p.scope}`);
      if (/Url$|Path$|Dir$/.test(key)) assert.equal(p.scope, 'machine-overridable', key);
    }
    assert.equal(props['ngAnnotations.memoryLimit']!.scope, 'machine-overridable', "memory is the machine's");
  });

  test('docs/settings.md is what the manifest generates (node scripts/settings-doc.mjs)', () => {
    const doc = readFileSync(SETTINGS_DOC, 'utf8');
    assert.equal(doc, settingsMarkdown(), 'docs/settings.md differs from the manifest: run node scripts/settings-doc.mjs');
    for (const key of Object.keys(props)) assert.ok(doc.includes(`| \`${key}\` |`), key);
  });
});

describe('hand-written settings tables agree with the manifest', () => {
  const props: Record<string, { default: unknown }> = pkg.contributes.configuration.properties;
  for (const file of ['docs/extension.md', 'media/marketplace.md']) {
    test(`${file}: the same settings, with the manifest's defaults`, () => {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      const rows = [...text.matchAll(/^\| `(ngAnnotations\.\w+)` \|.*\| ([^|]+) \|$/gm)].map((m) => [m[1]!, m[2]!.trim()] as const);
      assert.deepEqual(rows.map(([k]) => k).sort(), Object.keys(props).sort(), `${file}: settings table differs from package.json`);
      for (const [key, shown] of rows) {
        const d = props[key]!.default;
        const want = d === '' || d === null ? /^empty\b/ : new RegExp(`^\`${String(d)}\`$`);
        assert.match(shown, want, `${file}: ${key} default`);
      }
    });
  }
});
