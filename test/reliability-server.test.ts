// Preview-server cases from issue 6 that test/server.test.ts does not already cover: absolute
// file-system paths, symlinks created or retargeted after the server started, symlink loops and links
// to the root's parent, the writer's hidden temporary sibling, a dataset replaced while served, and
// the Host check against DNS rebinding.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startPreviewServer, type PreviewServer } from '../src/server/preview';
import { raw } from './helpers/rawhttp';

describe('preview server: paths and symlinks beyond test/server.test.ts', () => {
  let base: string;
  let root: string;
  let server: PreviewServer;
  const get = (p: string, headers?: Record<string, string>) => raw(server.port, `GET ${p} HTTP/1.1`, headers);

  before(async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'ng-rel-serve-'));
    root = path.join(base, 'data.precomputed');
    fs.mkdirSync(path.join(root, 'by_id'), { recursive: true });
    fs.writeFileSync(path.join(root, 'info'), '{"@type":"neuroglancer_annotations_v1"}');
    fs.writeFileSync(path.join(root, 'by_id', '1'), 'ONE');
    fs.writeFileSync(path.join(base, 'secret'), 'TOP SECRET');
    // What the writer leaves beside a dataset while it exports: never part of what is served.
    fs.mkdirSync(path.join(base, '.data.precomputed.ng-annotations-tmp-1-t0-00000000'));
    fs.writeFileSync(path.join(base, '.data.precomputed.ng-annotations-tmp-1-t0-00000000', 'info'), 'TOP SECRET');
    server = await startPreviewServer({ root });
  });
  after(async () => {
    await server.close();
    fs.rmSync(base, { recursive: true, force: true });
  });

  test('absolute file-system paths are looked up inside the folder, never on the disk', async () => {
    for (const p of [path.join(base, 'secret'), `/${path.join(base, 'secret')}`, '/etc/passwd', `//${base.slice(1)}/secret`, `/${encodeURIComponent(path.join(base, 'secret'))}`]) {
      const r = await get(p);
      assert.ok([400, 403, 404].includes(r.status), `${p} → ${r.status}`);
      assert.ok(!r.body.toString().includes('SECRET'), p);
    }
  });

  test('the writer\'s temporary sibling folder is not reachable', async () => {
    for (const p of ['/../.data.precomputed.ng-annotations-tmp-1-t0-00000000/info', '/%2e%2e/.data.precomputed.ng-annotations-tmp-1-t0-00000000/info']) {
      const r = await get(p);
      assert.ok([400, 403, 404].includes(r.status), `${p} → ${r.status}`);
      assert.ok(!r.body.toString().includes('SECRET'));
    }
  });

  test('a symlink created after the server started, pointing outside, is refused', async () => {
    fs.symlinkSync(path.join(base, 'secret'), path.join(root, 'late_link'));
    const r = await get('/late_link');
    assert.equal(r.status, 403);
    assert.ok(!r.body.toString().includes('SECRET'));
  });

  test('a symlink inside, retargeted outside after it was served once, is refused the second time', async () => {
    const link = path.join(root, 'moving');
    fs.symlinkSync(path.join(root, 'by_id', '1'), link);
    assert.equal((await get('/moving')).body.toString(), 'ONE');
    fs.rmSync(link);
    fs.symlinkSync(path.join(base, 'secret'), link);
    const r = await get('/moving');
    assert.equal(r.status, 403);
    assert.ok(!r.body.toString().includes('SECRET'));
  });

  test('a link to the parent folder, a symlink loop and a dangling link: refused, and the server keeps serving', async () => {
    fs.symlinkSync(base, path.join(root, 'up'));
    fs.symlinkSync('loop_b', path.join(root, 'loop_a'));
    fs.symlinkSync('loop_a', path.join(root, 'loop_b'));
    fs.symlinkSync(path.join(base, 'nowhere'), path.join(root, 'dangling'));
    const up = await get('/up/secret');
    assert.equal(up.status, 403);
    assert.ok(!up.body.toString().includes('SECRET'));
    for (const p of ['/loop_a', '/loop_a/x', '/dangling']) {
      const r = await get(p);
      assert.ok([403, 404].includes(r.status), `${p} → ${r.status}`);
    }
    assert.equal((await get('/info')).status, 200);
  });

  test('a dataset replaced while served (the writer renames a new folder into place): the new files are served', async () => {
    // The server holds the folder path, not an open handle: after a replacement, it serves the new files.
    const fresh = path.join(base, 'fresh');
    fs.mkdirSync(path.join(fresh, 'by_id'), { recursive: true });
    fs.writeFileSync(path.join(fresh, 'info'), '{"@type":"neuroglancer_annotations_v1","v":2}');
    fs.writeFileSync(path.join(fresh, 'by_id', '1'), 'TWO');
    const old = path.join(base, 'old');
    fs.renameSync(root, old);
    fs.renameSync(fresh, root);
    assert.equal((await get('/by_id/1')).body.toString(), 'TWO');
    assert.match((await get('/info')).body.toString(), /"v":2/);
    fs.rmSync(old, { recursive: true, force: true });
  });

  test('request targets with control characters, overlong paths and odd methods do not crash the server', async () => {
    const targets = [`/${'a'.repeat(60_000)}`, '/info\x7f', '/%ff%fe', '/info?x=../../secret', '/info#../../secret', '/./info', '/by_id/./1'];
    for (const t of targets) {
      const r = await raw(server.port, `GET ${t} HTTP/1.1`).catch(() => ({ status: 0, body: Buffer.alloc(0), headers: {} }));
      assert.ok(!r.body.toString().includes('SECRET'), t);
    }
    for (const m of ['get', 'GETX', 'M-SEARCH']) {
      const r = await raw(server.port, `${m} /info HTTP/1.1`).catch(() => ({ status: 0, body: Buffer.alloc(0), headers: {} }));
      assert.ok(r.status === 0 || r.status >= 400, `${m} → ${r.status}`);
    }
    assert.equal((await get('/info')).status, 200, 'still serving');
  });

  test('DNS rebinding: a Host that is not a loopback name gets 421 and no data; loopback names with any port are served', async () => {
    // A page on a rebinding domain reaches 127.0.0.1 with its own name in Host (same-origin for the
    // browser, so CORS does not stop it); only the Host header tells the server.
    for (const host of ['attacker.example', 'attacker.example:8080', '127.0.0.1.nip.io', '127.0.0.2', '0.0.0.0', '[::2]', '[::1', 'localhost:x', 'localhost.attacker.example', '']) {
      for (const method of ['GET', 'HEAD', 'OPTIONS']) {
        const r = await raw(server.port, `${method} /info HTTP/1.1`, { Host: host, Origin: 'http://attacker.example', 'Access-Control-Request-Method': 'GET' });
        assert.equal(r.status, 421, `${method} with Host ${JSON.stringify(host)}`);
        assert.ok(!r.body.includes('neuroglancer_annotations_v1'), host);
      }
    }
    const refused = await raw(server.port, 'GET /info HTTP/1.1', { Host: 'attacker.example' });
    assert.equal(refused.body.toString(), 'Misdirected request: this preview server answers to 127.0.0.1, localhost and [::1] only\n');
    for (const host of ['127.0.0.1', `127.0.0.1:${server.port}`, 'localhost', `LocalHost:${server.port}`, 'localhost.', '[::1]', '[::1]:9000']) {
      const r = await raw(server.port, 'GET /info HTTP/1.1', { Host: host });
      assert.equal(r.status, 200, `Host ${host}`);
    }
    // HTTP/1.0 clients may send no Host at all; a browser always does.
    assert.equal((await raw(server.port, 'GET /info HTTP/1.0', { Host: null })).status, 200);
  });

  test('allowHost: the public name of a proxy that keeps the Host header (code-server /proxy/<port>/) is served, other names still are not', async () => {
    const s = await startPreviewServer({ root });
    try {
      assert.equal((await raw(s.port, 'GET /info HTTP/1.1', { Host: 'code.example.org:8443' })).status, 421);
      s.allowHost('code.example.org:8443');
      assert.equal((await raw(s.port, 'GET /info HTTP/1.1', { Host: 'code.example.org' })).status, 200);
      assert.equal((await raw(s.port, 'GET /info HTTP/1.1', { Host: 'CODE.example.org:443' })).status, 200);
      assert.equal((await raw(s.port, 'GET /info HTTP/1.1', { Host: 'attacker.example' })).status, 421);
      assert.equal((await raw(server.port, 'GET /info HTTP/1.1', { Host: 'code.example.org' })).status, 421, 'per server');
    } finally {
      await s.close();
    }
  });
});
