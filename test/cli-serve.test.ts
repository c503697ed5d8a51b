// `serve` and `inspect` as a user runs them: a real server process on a free port, fetched over HTTP,
// stopped with Ctrl+C (SIGINT); inspect on a dataset we wrote and on a damaged copy of it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { urlSafeParse } from 'neuroglancer/unstable/util/json.js';
import { exitOf, fetchWithin as fetch, limit } from './helpers/bounded';
import { CLI, ensureBuilt, runCli, runOk, toText } from './helpers/cli';
import { makeFixture, PROPS, RELS } from './helpers/cli-data';

const tmp = fs.mkdtempSync(path.join(tmpdir(), 'ng-cli-serve-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const fx = makeFixture('line', 60, 3);
const sharded = path.join(tmp, 'sharded');
const unsharded = path.join(tmp, 'unsharded');

before(async () => {
  ensureBuilt();
  const csv = path.join(tmp, 'lines.csv');
  fs.writeFileSync(csv, toText(fx.main, ','));
  const common = ['export', csv, '--type', 'line', '--properties', PROPS.join(','), '--relationships', RELS.join(','), '--quiet'];
  await Promise.all([runOk([...common, '--out', sharded]), runOk([...common, '--out', unsharded, '--unsharded'])]);
});

/** Servers started by startServe, ended after the tests even when a test failed before stopping one. */
const servers = new Set<ReturnType<typeof spawn>>();
after(() => {
  for (const child of servers) child.kill('SIGKILL');
});

/** Starts `serve`, waits for its link on stdout, and returns what it printed plus a stop function. */
async function startServe(dir: string, extra: string[] = []): Promise<{ url: string; link: string; stdout: () => string; stop: () => Promise<{ code: number | null; stderr: string }> }> {
  const child = spawn(process.execPath, [CLI, 'serve', dir, '--port', '0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  servers.add(child);
  child.on('exit', () => servers.delete(child));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${limit(20_000) / 1000} s waiting for serve to print its link; stdout: ${stdout} stderr: ${stderr}`));
    }, limit(20_000));
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      if (/^Neuroglancer: .*\n/m.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code} before printing a link: ${stderr}`));
    });
  });
  const url = /^Source URL: precomputed:\/\/(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(stdout)?.[1];
  assert.ok(url, `no source URL in:\n${stdout}`);
  const link = /^Neuroglancer: (\S+)$/m.exec(stdout)![1];
  return {
    url,
    link,
    stdout: () => stdout,
    stop: async () => {
      child.kill('SIGINT');
      return { code: await exitOf(child, 20_000, 'serve after SIGINT'), stderr };
    },
  };
}

describe('serve', { concurrency: 2 }, () => {
  for (const [name, dir] of [['sharded', sharded], ['unsharded', unsharded]] as const) {
    it(`serves a ${name} dataset with CORS and Range, prints a neuroglancer link, exits 0 on SIGINT`, async () => {
      // The neuroglancer base URL is an option (a self-hosted or offline viewer).
      const base = name === 'sharded' ? 'https://neuroglancer-demo.appspot.com/' : 'http://localhost:9999/ng/';
      const s = await startServe(dir, name === 'sharded' ? [] : ['--neuroglancer-url', base]);
      try {
        assert.ok(s.link.startsWith(`${base}#!`), s.link);
        const state = urlSafeParse(decodeURIComponent(s.link.split('#!')[1])) as { layers: Array<{ type: string; source: unknown }> };
        assert.ok(JSON.stringify(state.layers).includes(`precomputed://${s.url}`), `the link's layer source is the served URL: ${JSON.stringify(state.layers)}`);
        assert.ok(state.layers.some((l) => l.type === 'annotation'));

        const info = await fetch(new URL('info', s.url), { headers: { Origin: 'https://neuroglancer-demo.appspot.com' } });
        assert.equal(info.status, 200);
        assert.ok(info.headers.get('access-control-allow-origin'), 'CORS header');
        assert.deepEqual(await info.json(), JSON.parse(fs.readFileSync(path.join(dir, 'info'), 'utf8')));

        // A Range of an index file, as neuroglancer reads shard indexes and minishards.
        const file = name === 'sharded' ? path.join('by_id', fs.readdirSync(path.join(dir, 'by_id')).find((f) => f.endsWith('.shard'))!) : path.join('by_id', String(fx.expected.ids[5]));
        const bytes = fs.readFileSync(path.join(dir, file));
        assert.ok(bytes.length > 20);
        const r = await fetch(new URL(file.split(path.sep).join('/'), s.url), { headers: { Range: 'bytes=4-19' } });
        assert.equal(r.status, 206);
        assert.equal(r.headers.get('content-range'), `bytes 4-19/${bytes.length}`);
        assert.deepEqual(Buffer.from(await r.arrayBuffer()), bytes.subarray(4, 20));

        const missing = await fetch(new URL('by_id/no-such-file', s.url));
        assert.equal(missing.status, 404);
        await missing.arrayBuffer();
      } finally {
        const { code, stderr } = await s.stop();
        assert.equal(code, 0, `serve exit status after SIGINT; stderr: ${stderr}`);
      }
    });
  }

  it('refuses a folder that is not a dataset (exit 1) and a bad --port (exit 2)', async () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    const r = await runCli(['serve', empty, '--port', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /info/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    const p = await runCli(['serve', sharded, '--port', 'http']);
    assert.equal(p.code, 2);
    assert.match(p.stderr, /--port/);
  });
});

describe('inspect', { concurrency: 2 }, () => {
  for (const [name, dir] of [['sharded', sharded], ['unsharded', unsharded]] as const) {
    it(`passes on a ${name} dataset we wrote and summarises it`, async () => {
      const r = await runCli(['inspect', dir]);
      assert.equal(r.code, 0, `inspect exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.match(r.stdout, /line/);
      assert.match(r.stdout, /\b60\b/, 'the annotation count');
      for (const p of PROPS) assert.match(r.stdout, new RegExp(`\\b${p}\\b`));
      for (const rel of RELS) assert.match(r.stdout, new RegExp(`\\b${rel}\\b`));
    });
  }

  it('fails (exit 1) on a dataset with a truncated shard, naming the file', async () => {
    const copy = path.join(tmp, 'damaged');
    fs.cpSync(sharded, copy, { recursive: true });
    const shard = fs.readdirSync(path.join(copy, 'by_id')).find((f) => f.endsWith('.shard'))!;
    const p = path.join(copy, 'by_id', shard);
    fs.truncateSync(p, Math.floor(fs.statSync(p).size / 2));
    const r = await runCli(['inspect', copy]);
    assert.equal(r.code, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stdout + r.stderr, new RegExp(shard.replace('.', '\\.')));
    assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
  });

  it('fails (exit 1) on a dataset with a missing unsharded by_id file', async () => {
    const copy = path.join(tmp, 'damaged-unsharded');
    fs.cpSync(unsharded, copy, { recursive: true });
    fs.rmSync(path.join(copy, 'by_id', String(fx.expected.ids[7])));
    const r = await runCli(['inspect', copy]);
    assert.equal(r.code, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  });

  it('--json gives a machine-readable report; --help and a missing folder argument', async () => {
    const r = await runCli(['inspect', sharded, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout));
    assert.equal((await runCli(['inspect', '--help'])).code, 0);
    const u = await runCli(['inspect']);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /^ng-annotations inspect: expected one dataset folder, got 0\nsee 'ng-annotations inspect --help'\n$/);
  });

  it('fails (exit 1) on a folder without an info file', async () => {
    const r = await runCli(['inspect', fs.mkdtempSync(path.join(tmp, 'none-'))]);
    assert.equal(r.code, 1);
    assert.match(r.stdout + r.stderr, /\binfo\b.*missing|missing.*\binfo\b|no info/i);
  });
});
