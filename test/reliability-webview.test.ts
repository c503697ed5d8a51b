// The webview is untrusted input to the extension host. Every message goes through
// `Endpoint.receive` (protocol.ts: the envelope), then a handler in panel.ts that passes each body
// to `checkMapping` (requests carrying a mapping) or `parseFormState` (the stateChanged event), both
// in validate.ts. panel.ts itself needs VS Code, so these tests drive the same three functions with
// hostile payloads; a source check pins that panel.ts routes every body through them. The form's
// HTML (html.ts) is checked for a strict CSP with a nonce.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { Endpoint, parseEnvelope, type Envelope } from '../src/shared/protocol';
import { checkMapping, parseFormState } from '../src/extension/validate';
import { formHtml, viewerHtml } from '../src/extension/html';
import { rng } from './helpers/reliability';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ng-rel-webview-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const input = path.join(dir, 'syn.csv');
fs.writeFileSync(input, 'x,y,z,score\n1,2,3,4\n');
const columns = ['x', 'y', 'z', 'score'].map((name) => ({ name, type: 'Float64' }));
const good = { version: 1, annotationType: 'point', coords: ['x', 'y', 'z'], properties: ['score'], output: path.join(dir, 'syn.precomputed') };

const polluted = () => ({} as Record<string, unknown>).polluted !== undefined || ([] as unknown as Record<string, unknown>).polluted !== undefined;

/** Everything hostile we could think of for a field's value. */
const HOSTILE: unknown[] = [
  null, true, 0, -1, 1e308, NaN, '', 'x'.repeat(10 << 20), '\0', '../../../../etc/passwd', '/', '/etc', '/proc/self/mem', '/dev/zero',
  '\\\\server\\share', 'C:\\Windows', '~', '$(rm -rf ~)', '`id`', "'; rm -rf / #", [], [null], Array.from({ length: 200_000 }, () => 'x'),
  {}, { __proto__: { polluted: true } }, JSON.parse('{"__proto__":{"polluted":true}}'), JSON.parse('{"constructor":{"prototype":{"polluted":true}}}'),
];

describe('host-side validation of webview messages', () => {
  test('every field set to every hostile value: problems or a clean mapping, never a throw, never pollution', () => {
    const fields = [...Object.keys(good), 'input', 'points', 'units', 'scales', 'idColumn', 'relationships', 'seed', 'threads', 'gzipLevel', 'dataEncoding', 'description', 'overwrite', 'spatialLevels', 'chunkLimit', '__proto__', 'constructor'];
    for (const field of fields) {
      for (const value of HOSTILE) {
        const raw = JSON.parse(JSON.stringify({ ...good, [field]: value }));
        const t0 = performance.now();
        const c = checkMapping(raw, input, columns);
        assert.ok(performance.now() - t0 < 2000, `${field}: slow`);
        assert.ok(c.mapping !== null || c.problems.length > 0, `${field}=${String(value).slice(0, 40)}: neither a mapping nor problems`);
        for (const p of c.problems) assert.ok(p.message.length < 5000, `${field}: problem message of ${p.message.length} characters`);
        if (c.mapping) {
          // Whatever passes: the input is the form's own file, paths are absolute, strings are bounded.
          assert.equal(c.mapping.input, input);
          assert.ok(path.isAbsolute(c.mapping.output!));
          assert.ok(JSON.stringify(c.mapping).length < 1_000_000, `${field}: an accepted mapping of ${JSON.stringify(c.mapping).length} characters`);
        }
      }
    }
    assert.ok(!polluted(), 'Object.prototype polluted');
  });

  test('the input cannot be redirected, and output paths outside the workspace never replace someone else\'s folder', () => {
    assert.equal(checkMapping({ ...good, input: '/etc/shadow' }, input, columns).mapping?.input, input);
    const refused = (output: string, extra: object = {}) => checkMapping({ ...good, output, ...extra }, input, columns).problems.map((p) => p.field);
    const home = fs.mkdtempSync(path.join(dir, 'home-'));
    fs.writeFileSync(path.join(home, 'thesis.tex'), 'irreplaceable');
    for (const output of ['/', '/etc', home, path.relative(dir, home), dir, '/nonexistent-parent/x', '/etc/passwd', '/dev/null']) {
      assert.ok(refused(output, { overwrite: true }).includes('output'), `output ${output} accepted`);
    }
    assert.equal(fs.readFileSync(path.join(home, 'thesis.tex'), 'utf8'), 'irreplaceable');
    // Vertices must be a regular file (no devices, FIFOs or folders).
    for (const points of ['/dev/zero', '/proc/self', dir]) {
      assert.ok(checkMapping({ ...good, annotationType: 'polyline', coords: ['x', 'y', 'z'], points }, input, columns).problems.some((p) => p.field === 'points'), points);
    }
  });

  test('property specs with __proto__/constructor keys do not pollute and do not change the spec\'s prototype', () => {
    const raw = JSON.parse('{"version":1,"annotationType":"point","coords":["x","y","z"],"properties":[{"id":"score","type":"float32","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}]}');
    const c = checkMapping(raw, input, columns);
    const spec = c.mapping?.properties?.[0] as Record<string, unknown> | undefined;
    assert.ok(spec && typeof spec === 'object');
    assert.equal(Object.getPrototypeOf(spec), Object.prototype);
    assert.equal((spec as { polluted?: unknown }).polluted, undefined);
    assert.ok(!polluted());
  });

  test('stateChanged bodies: parseFormState returns a state or null, never throws', () => {
    const rand = rng(6);
    const bodies: unknown[] = [...HOSTILE, { mapping: good, propertyColumns: Array.from({ length: 20_000 }, () => 'c') }, { mapping: good, propertyColumns: ['x'.repeat(5000)] }, { mapping: good, propertyColumns: [1] }];
    // Random combinations of the small hostile values (the 10 MB ones are in `bodies` once, above).
    const small = HOSTILE.filter((v) => JSON.stringify(v).length < 10_000);
    for (let i = 0; i < 500; i++) bodies.push({ mapping: { ...good, [Object.keys(good)[i % 5]!]: small[Math.floor(rand() * small.length)] }, propertyColumns: small[Math.floor(rand() * small.length)] });
    let accepted = 0;
    for (const b of bodies) {
      const s = parseFormState(JSON.parse(JSON.stringify(b) ?? 'null'));
      if (s) {
        accepted++;
        assert.ok(Array.isArray(s.propertyColumns) && s.propertyColumns.length <= 10_000);
      }
    }
    assert.equal(parseFormState({ mapping: good, propertyColumns: ['score'] })?.propertyColumns[0], 'score');
    assert.ok(accepted > 0);
    assert.ok(!polluted());
  });

  test('envelopes: junk, prototype names and spoofed replies reach no handler and never throw', async () => {
    const sent: Envelope[] = [];
    const calls: string[] = [];
    const link = new Endpoint<{ requests: Record<string, never>; events: Record<string, never> }, { requests: { validate: { req: unknown; res: unknown } }; events: { ready: unknown } }>(
      (m) => sent.push(m),
      { requests: { validate: (b) => (calls.push('validate'), b) }, events: { ready: () => calls.push('ready') } },
    );
    const junk: unknown[] = [
      undefined, null, 42, 'request', [], { kind: 'request' }, { kind: 'request', id: 1.5, type: 'validate' }, { kind: 'request', id: '1', type: 'validate' },
      { kind: 'request', id: 2 ** 60, type: 'validate' }, { kind: 'event', type: 42 }, { kind: 'reply', id: 999, ok: true, body: 'spoofed' },
      { kind: 'reply', id: 1, ok: false, error: 'x'.repeat(1 << 20) }, ...['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'].flatMap((type) => [
        { kind: 'request', id: 7, type, body: {} },
        { kind: 'event', type, body: {} },
      ]),
      JSON.parse('{"kind":"request","id":8,"type":"validate","__proto__":{"kind":"event"}}'),
    ];
    for (const m of junk) await link.receive(m);
    // Only the genuine request at the end got to a handler; prototype names were refused by name.
    assert.deepEqual(calls, ['validate']);
    const replies = sent.filter((m) => m.kind === 'reply');
    assert.ok(replies.every((r) => r.kind === 'reply' && (r.ok || r.error.message.length < 200)), JSON.stringify(replies).slice(0, 500));
    assert.equal(parseEnvelope({ kind: 'reply', id: 1, ok: false, error: { message: { toString: 'x' } } })?.kind, 'reply');
    assert.ok(!polluted());
  });

  test('panel.ts passes every webview body through checkMapping / parseFormState (source check: panel.ts needs VS Code)', () => {
    const src = fs.readFileSync(path.join(__dirname, '..', 'src', 'extension', 'panel.ts'), 'utf8');
    const handlers = src.slice(src.indexOf('requests: {', src.indexOf('new Endpoint<HostSends, WebviewSends>')), src.indexOf('panel.webview.onDidReceiveMessage'));
    assert.match(handlers, /validate: \(\{ mapping \}\) => \{\s*const c = checkMapping\(mapping/);
    assert.match(handlers, /export: \(\{ mapping \}\) => this\.runExport\(mapping\)/);
    assert.match(src, /private async runExport\(raw: unknown\)[^]*?const c = checkMapping\(raw,/);
    assert.match(handlers, /saveMapping: \(\{ mapping \}\) => this\.saveMapping\(mapping\)/);
    assert.match(src, /private async saveMapping\(raw: unknown\)[^]*?const m = this\.checked\(raw\)/);
    assert.match(handlers, /copyCommandLine: async \(\{ mapping \}\) => \{\s*const c = this\.checked\(mapping\)/);
    assert.match(src, /private checked\(raw: unknown\): Mapping \{\s*const c = checkMapping\(raw,/);
    assert.match(handlers, /stateChanged: \(\{ state \}\) => \{\s*const s = parseFormState\(state\)/);
    assert.match(handlers, /typeof current === 'string'/, 'pickPath checks its one free-form value');
    assert.match(src, /onDidReceiveMessage\(\(m\) => void this\.link\.receive\(m\)/, 'every message goes through Endpoint.receive');
  });
});

describe('the form\'s HTML and CSP', () => {
  const html = formHtml({
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    nonce: 'bm9uY2Utbm9uY2Utbm9uY2U=',
    scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js',
    cssUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.css',
    lang: 'en"><script>alert(1)</script>',
    file: '/data/"><script>alert(1)</script>.csv',
    title: '<img src=x onerror=alert(1)>.csv',
    loading: 'Reading <b>…',
  });
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1] ?? '';
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));

  test('default-src none; scripts only by nonce; no unsafe-eval, no remote or wildcard sources', () => {
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('script-src'), ["'nonce-bm9uY2Utbm9uY2Utbm9uY2U='"]);
    assert.doesNotMatch(csp, /unsafe-eval|wasm-unsafe-eval|\*|https?:\/\/(?!file\+\.vscode-resource)/);
    for (const [k, v] of directives) {
      for (const src of v) assert.ok(["'none'", "'unsafe-inline'", 'data:', "'nonce-bm9uY2Utbm9uY2Utbm9uY2U='", 'https://file+.vscode-resource.vscode-cdn.net'].includes(src), `${k} ${src}`);
      if (k !== 'style-src') assert.ok(!v.includes("'unsafe-inline'"), `${k} allows unsafe-inline`);
    }
    assert.ok(!directives.has('connect-src') && !directives.has('frame-src'), 'no network or frames (default-src none)');
  });

  test('every script carries the nonce; user text is escaped', () => {
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    assert.equal(scripts.length, 1, html);
    assert.match(scripts[0]!, /nonce="bm9uY2Utbm9uY2Utbm9uY2U="/);
    assert.doesNotMatch(html, /<script>alert|<img src=x/);
  });

  test('panel.ts makes a fresh random nonce for every page', () => {
    const src = fs.readFileSync(path.join(__dirname, '..', 'src', 'extension', 'panel.ts'), 'utf8');
    assert.match(src, /const nonce = randomBytes\(\d+\)\.toString\('base64'\);[^]*?formHtml\(\{[^]*?nonce,/);
  });

  test('the webview bundle makes no network requests and has no eval', () => {
    const bundle = fs.readFileSync(path.join(__dirname, '..', 'dist', 'webview.js'), 'utf8');
    assert.doesNotMatch(bundle, /\bfetch\(|XMLHttpRequest|new WebSocket|importScripts|\beval\(|new Function\(/);
    const urls = new Set(bundle.match(/https?:\/\/[^\s"'`)]+/g) ?? []);
    for (const u of urls) assert.ok(u === 'http://www.w3.org/2000/svg' || u.startsWith('https://vscode-elements.github.io/'), `remote reference ${u}`);
  });
});

describe('the viewer tab\'s HTML and CSP', () => {
  const url = 'https://cs.example.test:8443/proxy/41234/viewer/#!%7B%22layers%22%3A%5B%5D%7D&x="><script>alert(1)</script>';
  const html = viewerHtml({ url, nonce: 'bm9uY2Utbm9uY2Utbm9uY2U=', title: 'Neuroglancer: <img src=x onerror=alert(1)>' });
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1] ?? '';
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));

  test('frames only from the viewer page\'s origin; no scripts; styles only by nonce', () => {
    assert.deepEqual([...directives.keys()].sort(), ['default-src', 'frame-src', 'style-src']);
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('frame-src'), ['https://cs.example.test:8443']);
    assert.deepEqual(directives.get('style-src'), ["'nonce-bm9uY2Utbm9uY2Utbm9uY2U='"]);
    assert.doesNotMatch(html, /<script/);
  });

  test('one frame of exactly the link; user text is escaped', () => {
    const frames = html.match(/<iframe\b[^>]*>/g) ?? [];
    assert.equal(frames.length, 1, html);
    const src = /src="([^"]*)"/.exec(frames[0]!)?.[1] ?? '';
    assert.equal(src.replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c))), url);
    assert.doesNotMatch(html, /<img src=x/);
  });
});
