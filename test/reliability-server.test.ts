// Preview-server cases from issue 6 that test/server.test.ts does not already cover: absolute
// file-system paths, symlinks created or retargeted after the server started, symlink loops and links
// to the root's parent, the writer's hidden temporary sibling, and a dataset replaced while served.
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
});
