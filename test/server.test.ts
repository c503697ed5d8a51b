// The loopback preview server, tested over real sockets: traversal attempts are sent as raw request
// lines (HTTP clients would normalise `..` away before it ever reaches the server).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { urlSafeParse } from 'neuroglancer/unstable/util/json.js';
import { decideRange } from '../src/server/range';
import { splitRequestPath } from '../src/server/paths';
import { startPreviewServer, type PreviewServer } from '../src/server/preview';
import { buildNeuroglancerState, neuroglancerLink } from '../src/server/state';
import { exitOf, fetchWithin as fetch, waitUntil, within } from './helpers/bounded';
import { raw } from './helpers/rawhttp';

const get = (port: number, p: string, headers?: Record<string, string>) => raw(port, `GET ${p} HTTP/1.1`, headers);

describe('decideRange (RFC 9110 §14)', () => {
  const size = 100;
  const cases: [string | undefined, ReturnType<typeof decideRange>][] = [
    [undefined, { kind: 'full' }],
    ['bytes=0-0', { kind: 'partial', start: 0, end: 0 }],
    ['bytes=99-99', { kind: 'partial', start: 99, end: 99 }],
    ['bytes=10-', { kind: 'partial', start: 10, end: 99 }],
    ['bytes=10-1000', { kind: 'partial', start: 10, end: 99 }],
    ['bytes=-1', { kind: 'partial', start: 99, end: 99 }],
    ['bytes=-500', { kind: 'partial', start: 0, end: 99 }],
    ['bytes=100-', { kind: 'unsatisfiable' }],
    ['bytes=100-200', { kind: 'unsatisfiable' }],
    ['bytes=99999999999999999999-', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=5-3', { kind: 'full' }], // invalid spec: ignored
    ['bytes=abc', { kind: 'full' }],
    ['bytes=-', { kind: 'full' }],
    ['bytes=0-1,5-6', { kind: 'full' }], // several ranges: full body (documented)
    ['items=0-1', { kind: 'full' }], // unknown unit must be ignored
    [' Bytes = 2-3 ', { kind: 'partial', start: 2, end: 3 }],
  ];
  for (const [h, want] of cases) {
    test(`${JSON.stringify(h)} on ${size} bytes`, () => assert.deepEqual(decideRange(h, size), want));
  }
  test('empty file', () => {
    assert.deepEqual(decideRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(decideRange('bytes=-5', 0), { kind: 'full' });
  });
});

describe('preview server', () => {
  let base: string;
  let root: string;
  let server: PreviewServer;
  let port: number;
  const data = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const big = 48 * 1024 * 1024;

  before(async () => {
    base = mkdtempSync(path.join(tmpdir(), 'ngserve-'));
    root = path.join(base, 'dataset');
    mkdirSync(path.join(root, 'by_id'), { recursive: true });
    writeFileSync(path.join(root, 'info'), '{"@type":"neuroglancer_annotations_v1"}');
    writeFileSync(path.join(root, 'by_id', '0.shard'), data);
    writeFileSync(path.join(root, 'empty'), '');
    writeFileSync(path.join(root, 'big'), Buffer.alloc(big, 7));
    writeFileSync(path.join(base, 'secret'), 'TOP SECRET');
    mkdirSync(path.join(base, 'outside'));
    writeFileSync(path.join(base, 'outside', 'file'), 'TOP SECRET');
    symlinkSync(path.join(base, 'secret'), path.join(root, 'link_out'));
    symlinkSync(path.join(base, 'outside'), path.join(root, 'dir_out'));
    symlinkSync(path.join(root, 'by_id', '0.shard'), path.join(root, 'link_in'));
    symlinkSync('by_id', path.join(root, 'dir_in'));
    server = await startPreviewServer({ root });
    port = server.port;
  });
  after(async () => {
    await server.close();
    rmSync(base, { recursive: true, force: true });
  });

  test('binds 127.0.0.1 only and refuses other hosts', async () => {
    assert.equal(server.url, `http://127.0.0.1:${port}/`);
    for (const host of ['0.0.0.0', '::', 'localhost', '192.168.0.1', '::1']) {
      await assert.rejects(startPreviewServer({ root, host }), /127\.0\.0\.1 only/);
    }
    // Nothing answers on the other loopback family for this port.
    await assert.rejects(
      within(10_000, `a connection to [::1]:${port} to be refused`, new Promise((resolve, reject) => net.connect(port, '::1').on('connect', resolve).on('error', reject))),
      (e: Error) => !/timed out/.test(e.message),
    );
  });

  test('refuses a missing or non-directory root', async () => {
    await assert.rejects(startPreviewServer({ root: path.join(base, 'nope') }), /not found/);
    await assert.rejects(startPreviewServer({ root: path.join(base, 'secret') }), /not a directory/);
  });

  test('GET info: raw bytes, CORS, no caching, no compression', async () => {
    const r = await get(port, '/info', { 'Accept-Encoding': 'gzip, br', Origin: 'https://example.org' });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), '{"@type":"neuroglancer_annotations_v1"}');
    assert.equal(r.headers['content-length'], String(r.body.length));
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.match(r.headers['access-control-expose-headers'], /Content-Range/);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.equal(r.headers['content-encoding'], undefined);
  });

  test('missing files, directories and the root are 404, with CORS so the page can see it', async () => {
    for (const p of ['/nope', '/by_id', '/by_id/', '/', '/by_id/1.shard', '/info/x']) {
      const r = await get(port, p);
      assert.equal(r.status, 404, p);
      assert.equal(r.headers['access-control-allow-origin'], '*', p);
    }
  });

  const attempts = [
    '/../secret',
    '/by_id/../../secret',
    '/..%2fsecret',
    '/%2e%2e/secret',
    '/%2E%2E/%2e%2e/secret',
    '/%2e%2e%2fsecret',
    '/%252e%252e/secret',
    '/%252e%252e%252fsecret',
    '/..%5csecret',
    '/..\\secret',
    '/by_id\\..\\..\\secret',
    '//secret',
    '/.%2e/secret',
    `/${'%2e%2e/'.repeat(8)}etc/passwd`,
    '/%00info',
    '/info%00',
    '/C:/Windows/win.ini',
    '/c:%5cwindows',
    '/%c0%ae%c0%ae/secret', // overlong UTF-8 dot
    '/%e0%80%ae%e0%80%ae/secret',
    'http://127.0.0.1/../secret',
    '*',
    '../secret',
  ];
  for (const p of attempts) {
    test(`refuses ${JSON.stringify(p)}`, async () => {
      const r = await get(port, p);
      assert.ok([400, 403, 404].includes(r.status), `${p} → ${r.status}`);
      // Encoded and double-encoded separators/dots are refused outright, not looked up.
      if (/%25|%2e|%2f|%5c|\\/i.test(p)) assert.equal(r.status, 403, p);
      assert.ok(!r.body.toString().includes('SECRET'));
    });
  }

  test('bounded fuzz: random targets built from traversal tokens never reach outside the folder', async () => {
    const tokens = ['..', '.', '/', '%2e', '%2E', '%2f', '%5c', '%25', '%252e', '\\', 'secret', 'outside', 'file', 'dataset', 'info', 'link_out', 'dir_out', 'by_id', '0.shard', '%00', ':', 'C:', '%c0%ae', '?', '#', '~', '%'];
    let s = 3;
    const rnd = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n);
    const root = path.resolve(base, 'dataset');
    let served = 0;
    for (let i = 0; i < 300; i++) {
      let target = '/';
      for (let k = 0, n = 1 + rnd(8); k < n; k++) target += tokens[rnd(tokens.length)];
      const split = splitRequestPath(target);
      if (Array.isArray(split)) {
        const joined = path.join(root, ...split);
        assert.ok(joined === root || joined.startsWith(root + path.sep), `${target} → ${joined}`);
        for (const seg of split) assert.ok(!/^\.|[\\/\0:]|^$/.test(seg), `${target}: segment ${JSON.stringify(seg)}`);
      }
      const r = await get(port, target);
      assert.ok(!r.body.toString().includes('SECRET'), target);
      if (r.status === 200) served++;
    }
    assert.ok(served > 0, 'some random targets name real files (the fuzz reaches the file-serving path)');
  });

  test('refuses a raw NUL byte in the path', async () => {
    const r = await raw(port, 'GET /info\0 HTTP/1.1');
    assert.ok([400, 403, 404].includes(r.status), String(r.status));
  });

  test('symlinks leaving the folder are 403; symlinks inside are served', async () => {
    assert.equal((await get(port, '/link_out')).status, 403);
    assert.equal((await get(port, '/dir_out/file')).status, 403);
    const a = await get(port, '/link_in');
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, data);
    const b = await get(port, '/dir_in/0.shard');
    assert.equal(b.status, 200);
    assert.deepEqual(b.body, data);
  });

  test('only GET, HEAD and OPTIONS', async () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'CONNECT', 'PROPFIND']) {
      const r = await raw(port, `${m} /info HTTP/1.1`, { 'Content-Length': '0' });
      assert.equal(r.status, m === 'CONNECT' ? r.status : 405, m);
      if (m !== 'CONNECT') assert.equal(r.headers.allow, 'GET, HEAD, OPTIONS', m);
    }
  });

  test('CORS preflight for a Range request from an https page', async () => {
    const r = await raw(port, 'OPTIONS /by_id/0.shard HTTP/1.1', {
      Origin: 'https://neuroglancer-demo.appspot.com',
      'Access-Control-Request-Method': 'GET',
      'Access-Control-Request-Headers': 'range',
      'Access-Control-Request-Private-Network': 'true',
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.match(r.headers['access-control-allow-methods'], /GET/);
    assert.match(r.headers['access-control-allow-methods'], /HEAD/);
    assert.match(r.headers['access-control-allow-headers'], /\bRange\b/);
    assert.equal(r.headers['access-control-allow-private-network'], 'true');
    assert.equal(r.body.length, 0);
  });

  test('HEAD: same headers, no body', async () => {
    const r = await raw(port, 'HEAD /by_id/0.shard HTTP/1.1');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], '256');
    assert.equal(r.body.length, 0);
    const p = await raw(port, 'HEAD /by_id/0.shard HTTP/1.1', { Range: 'bytes=10-19' });
    assert.equal(p.status, 206);
    assert.equal(p.headers['content-length'], '10');
    assert.equal(p.body.length, 0);
    const n = await raw(port, 'HEAD /nope HTTP/1.1');
    assert.equal(n.status, 404);
    assert.equal(n.body.length, 0);
  });

  const rangeCases: [string, number, string | undefined, number, number][] = [
    // header, status, Content-Range, body start, body end (exclusive)
    ['bytes=0-0', 206, 'bytes 0-0/256', 0, 1],
    ['bytes=255-255', 206, 'bytes 255-255/256', 255, 256],
    ['bytes=255-', 206, 'bytes 255-255/256', 255, 256],
    ['bytes=16-31', 206, 'bytes 16-31/256', 16, 32],
    ['bytes=200-999', 206, 'bytes 200-255/256', 200, 256],
    ['bytes=-10', 206, 'bytes 246-255/256', 246, 256],
    ['bytes=-256', 206, 'bytes 0-255/256', 0, 256],
    ['bytes=-1000', 206, 'bytes 0-255/256', 0, 256],
    ['bytes=256-', 416, 'bytes */256', 0, 0],
    ['bytes=1000-2000', 416, 'bytes */256', 0, 0],
    ['bytes=-0', 416, 'bytes */256', 0, 0],
    ['bytes=10-5', 200, undefined, 0, 256],
    ['bytes=garbage', 200, undefined, 0, 256],
    ['bytes=0-1,4-5', 200, undefined, 0, 256],
    ['lines=0-1', 200, undefined, 0, 256],
  ];
  for (const [h, status, cr, s, e] of rangeCases) {
    test(`Range ${h} → ${status}`, async () => {
      const r = await get(port, '/by_id/0.shard', { Range: h });
      assert.equal(r.status, status);
      assert.equal(r.headers['content-range'], cr);
      assert.deepEqual(r.body, data.subarray(s, e));
      assert.equal(r.headers['content-length'], String(e - s));
      assert.equal(r.headers['access-control-allow-origin'], '*');
    });
  }

  test('Range on an empty file', async () => {
    const r = await get(port, '/empty', { Range: 'bytes=0-0' });
    assert.equal(r.status, 416);
    assert.equal(r.headers['content-range'], 'bytes */0');
    const f = await get(port, '/empty');
    assert.equal(f.status, 200);
    assert.equal(f.headers['content-length'], '0');
  });

  test('If-Range with a stale validator sends the whole file', async () => {
    const fresh = await get(port, '/by_id/0.shard');
    const etag = fresh.headers.etag;
    assert.ok(etag);
    assert.equal((await get(port, '/by_id/0.shard', { Range: 'bytes=0-1', 'If-Range': etag })).status, 206);
    const stale = await get(port, '/by_id/0.shard', { Range: 'bytes=0-1', 'If-Range': '"other"' });
    assert.equal(stale.status, 200);
    assert.equal(stale.body.length, 256);
  });

  test('big file: streamed in full, ranges deep inside, aborted downloads release the file', async () => {
    const r = await get(port, '/big');
    assert.equal(r.status, 200);
    assert.equal(r.body.length, big);
    const deep = await get(port, '/big', { Range: `bytes=${big - 5}-` });
    assert.equal(deep.status, 206);
    assert.equal(deep.headers['content-range'], `bytes ${big - 5}-${big - 1}/${big}`);
    assert.deepEqual(deep.body, Buffer.alloc(5, 7));

    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 5; i++) {
      const sock = net.connect(port, '127.0.0.1');
      await within(
        10_000,
        'the first bytes of /big',
        new Promise<void>((resolve) => {
          sock.once('data', () => {
            sock.destroy();
            resolve();
          });
          sock.write(`GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        }),
        () => sock.destroy(),
      );
    }
    // The server notices each abort; then every file it opened must be closed again.
    for (let i = 0; i < 50 && fds() > before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(fds() <= before, `file descriptors leaked: ${before} → ${fds()}`);
    assert.equal((await get(port, '/info')).status, 200);
  });

  test('close() returns even with an idle keep-alive connection open', async () => {
    const s = await startPreviewServer({ root });
    const sock = net.connect(s.port, '127.0.0.1');
    try {
      await within(10_000, 'a connection to the server', new Promise((r) => sock.on('connect', r)));
      sock.write('GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await within(10_000, 'the answer to GET /info', new Promise((r) => sock.once('data', r)));
      await within(10_000, 'close() with a keep-alive connection open', s.close());
    } finally {
      sock.destroy();
    }
  });

  test('viewerDir is served under /viewer/ only, with the same rules', async () => {
    const viewer = path.join(base, 'viewer');
    mkdirSync(viewer);
    writeFileSync(path.join(viewer, 'index.html'), '<!doctype html><title>v</title>');
    writeFileSync(path.join(viewer, 'main.js'), 'console.log(1)');
    const s = await startPreviewServer({ root, viewerDir: viewer });
    try {
      const idx = await get(s.port, '/viewer/');
      assert.equal(idx.status, 200);
      assert.match(idx.headers['content-type'], /text\/html/);
      assert.equal((await get(s.port, '/viewer')).status, 301);
      const js = await get(s.port, '/viewer/main.js');
      assert.match(js.headers['content-type'], /javascript/);
      assert.equal((await get(s.port, '/viewer/../secret')).status, 403);
      assert.equal((await get(s.port, '/viewer/%2e%2e/dataset/info')).status, 403);
      assert.equal((await get(s.port, '/info')).status, 200);
    } finally {
      await s.close();
    }
  });
});

describe('neuroglancer state and link', () => {
  const info = {
    '@type': 'neuroglancer_annotations_v1',
    dimensions: { x: [8, 'nm'] as [number, string], y: [8, 'nm'] as [number, string], z: [40, 'nm'] as [number, string] },
    lower_bound: [0, 100, 10],
    upper_bound: [1000, 300, 20],
    annotation_type: 'point',
    properties: [
      { id: 'score', type: 'float32' },
      { id: 'my_color', type: 'rgba' },
    ],
  };

  test('state: dimensions, centred position, framing, one annotation layer with a colour shader', () => {
    const s = buildNeuroglancerState({ sourceUrl: 'http://127.0.0.1:8000/', info, layerName: "cells 'a'_b" });
    assert.deepEqual(s.dimensions, info.dimensions);
    assert.deepEqual(s.position, [500, 200, 15]);
    // Largest extent in canonical (8 nm) voxels is x: 1000; z is 10 × 40/8 = 50.
    assert.ok((s.crossSectionScale as number) > 1000 / 2000 && (s.crossSectionScale as number) < 1000 / 200);
    assert.ok((s.projectionScale as number) >= 1000);
    const layers = s.layers as Record<string, unknown>[];
    assert.equal(layers.length, 1);
    assert.equal(layers[0].type, 'annotation');
    assert.equal(layers[0].source, 'precomputed://http://127.0.0.1:8000/');
    assert.match(layers[0].shader as string, /setColor\(prop_my_color\(\)\)/);
  });

  test('3D panel: a tilted camera (a unit quaternion, not the flat top-down default), no empty section planes', () => {
    const s = buildNeuroglancerState({ sourceUrl: 'http://h/', info });
    const q = s.projectionOrientation as number[];
    assert.equal(q.length, 4);
    assert.ok(Math.abs(Math.hypot(...q) - 1) < 1e-3, `not a unit quaternion: ${q}`);
    assert.ok(Math.abs(q[3]!) < 0.99, 'no tilt');
    assert.equal(s.showSlices, false);
  });

  test('no colour property → neuroglancer default shader', () => {
    const s = buildNeuroglancerState({ sourceUrl: 'http://h/', info: { ...info, properties: [] } });
    assert.equal((s.layers as Record<string, unknown>[])[0].shader, undefined);
  });

  test('a single point still gets a positive zoom', () => {
    const s = buildNeuroglancerState({ sourceUrl: 'http://h/', info: { ...info, lower_bound: [1, 1, 1], upper_bound: [1, 1, 1] } });
    assert.ok((s.crossSectionScale as number) > 0 && (s.projectionScale as number) > 0);
  });

  test("link: neuroglancer's own fragment parser gives back the state", () => {
    const link = neuroglancerLink({ sourceUrl: 'http://127.0.0.1:8000/', info, layerName: "cells 'a'_b, \"q\" #1" });
    assert.ok(link.startsWith('https://neuroglancer-demo.appspot.com/#!'));
    const fragment = link.slice(link.indexOf('#!') + 2);
    assert.doesNotMatch(fragment, /[\s"'#{}]/);
    // What url_hash_binding.ts does with `#!…`: decodeURIComponent, then urlSafeParse.
    const parsed = urlSafeParse(decodeURIComponent(fragment));
    assert.deepEqual(
      parsed,
      JSON.parse(JSON.stringify(buildNeuroglancerState({ sourceUrl: 'http://127.0.0.1:8000/', info, layerName: "cells 'a'_b, \"q\" #1" }))),
    );
    const other = neuroglancerLink({ baseUrl: 'http://localhost:9000/#!{}', sourceUrl: 'http://h/', info });
    assert.ok(other.startsWith('http://localhost:9000/#!%7B'));
  });
});

describe('ng-annotations serve', () => {
  const node = process.execPath;
  const entry = (argv: string[]) => [
    '--import',
    'tsx',
    '-e',
    `import('./src/cli/serve.ts').then((m) => (m.run ?? m.default.run)(${JSON.stringify(argv)})).then((c) => process.exit(c))`,
  ];
  const cwd = path.resolve(__dirname, '..');
  let base: string;
  before(() => {
    base = mkdtempSync(path.join(tmpdir(), 'ngservecli-'));
    mkdirSync(path.join(base, 'ds'));
    writeFileSync(
      path.join(base, 'ds', 'info'),
      JSON.stringify({
        '@type': 'neuroglancer_annotations_v1',
        dimensions: { x: [1, 'nm'], y: [1, 'nm'] },
        lower_bound: [0, 0],
        upper_bound: [10, 10],
        annotation_type: 'point',
        properties: [],
        relationships: [],
        by_id: { key: 'by_id' },
        spatial: [],
      }),
    );
    mkdirSync(path.join(base, 'notds'));
    writeFileSync(path.join(base, 'bad-type'), '');
    mkdirSync(path.join(base, 'other'));
    writeFileSync(path.join(base, 'other', 'info'), '{"@type":"neuroglancer_multiscale_volume"}');
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  function runCli(argv: string[]) {
    const p = spawn(node, entry(argv), { cwd });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => p.on('close', (code) => resolve({ code, stdout, stderr })));
    return within(60_000, `serve ${argv.join(' ')} to exit`, closed, () => p.kill('SIGKILL'));
  }

  /** Waits until serve has printed its link (or exited), killing it if neither happens in time. */
  async function untilLink(p: ReturnType<typeof spawn>, stdout: () => string): Promise<void> {
    try {
      await waitUntil(() => stdout().includes('Neuroglancer:') || p.exitCode !== null, 20_000, 'serve to print its link', 50);
    } catch (e) {
      p.kill('SIGKILL');
      throw e;
    }
  }

  test('serves, prints the source and a neuroglancer link, stops cleanly on SIGTERM', async () => {
    const p = spawn(node, entry([path.join(base, 'ds'), '--neuroglancer-url', 'http://localhost:8080/']), { cwd });
    let stdout = '';
    p.stdout.on('data', (d) => (stdout += d));
    await untilLink(p, () => stdout);
    const url = /Source URL: precomputed:\/\/(http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1];
    assert.ok(url, stdout);
    assert.match(stdout, /Neuroglancer: http:\/\/localhost:8080\/#!%7B/);
    if (existsSync(path.join(cwd, 'dist', 'viewer', 'index.html'))) {
      assert.match(stdout, /^Offline viewer: http:\/\/127\.0\.0\.1:\d+\/viewer\/#!%7B/m);
    }
    const res = await fetch(url + 'info');
    assert.equal(res.status, 200);
    assert.equal((await res.json())['@type'], 'neuroglancer_annotations_v1');
    p.kill('SIGTERM');
    assert.equal(await exitOf(p, 20_000, 'serve after SIGTERM'), 0);
  });

  const haveViewer = existsSync(path.join(cwd, 'dist', 'viewer', 'index.html'));
  test('--viewer bundled: the link opens the viewer served from the same loopback origin', { skip: haveViewer ? false : 'no dist/viewer (run npm run build)' }, async () => {
    const p = spawn(node, entry([path.join(base, 'ds'), '--viewer', 'bundled']), { cwd });
    let stdout = '';
    p.stdout.on('data', (d) => (stdout += d));
    await untilLink(p, () => stdout);
    const url = /Source URL: precomputed:\/\/(http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1];
    assert.ok(url, stdout);
    const link = /^Neuroglancer: (\S+)$/m.exec(stdout)![1];
    assert.ok(link.startsWith(`${url}viewer/#!`), link);
    assert.doesNotMatch(stdout, /Offline viewer:/);
    const page = await fetch(url + 'viewer/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    await page.arrayBuffer();
    p.kill('SIGINT');
    assert.equal(await exitOf(p, 20_000, 'serve after SIGINT'), 0);
  });

  test('not a dataset → exit 1 with one line', async () => {
    for (const [dir, re] of [
      ['notds', /info not found/],
      ['missing', /info not found/],
      ['bad-type', /info not found/],
      ['other', /expected "neuroglancer_annotations_v1"/],
    ] as const) {
      const r = await runCli([path.join(base, dir)]);
      assert.equal(r.code, 1, dir);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  test('port already in use → exit 1 saying so', async () => {
    const busy = await startPreviewServer({ root: path.join(base, 'ds') });
    try {
      const r = await runCli([path.join(base, 'ds'), '--port', String(busy.port)]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`port ${busy.port} is already in use`));
    } finally {
      await busy.close();
    }
  });

  test('usage errors → exit 2', async () => {
    const ds = path.join(base, 'ds');
    for (const argv of [[], ['a', 'b'], [ds, '--port', 'x'], [ds, '--port', '70000'], [ds, '--bogus'], [ds, '--viewer', 'ftp://x/'], [ds, '--viewer', 'bundled', '--neuroglancer-url', 'http://x/']]) {
      const r = await runCli(argv);
      assert.equal(r.code, 2, JSON.stringify(argv));
      assert.match(r.stderr, /^ng-annotations serve: .+\nsee 'ng-annotations serve --help'\n$/, r.stderr); // one line, then where the help is
    }
  });
});
