// Large exports start again in a child process with glibc's huge-page setting (src/cli/relaunch.ts):
// when that happens, and that the child behaves as the command itself would: same output, Ctrl+C
// cancels it cleanly, and killing the command kills the child too.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { relaunchEnv, type RelaunchFacts } from '../src/cli/relaunch';
import { isProcessAlive } from '../src/core/storage';
import { exitOf, waitUntil } from './helpers/bounded';
import { CLI, ensureBuilt, runCli, snapshot } from './helpers/cli';
import { pointCsv } from './helpers/reliability';

const MB = 1 << 20;
const facts = (over: Partial<RelaunchFacts> = {}): RelaunchFacts => ({
  platform: 'linux',
  env: {},
  thp: () => 'always [madvise] never\n',
  sizeOf: (f) => (f.endsWith('big.parquet') ? 100 * MB : f.endsWith('points.parquet') ? 20 * MB : 1 * MB),
  ...over,
});

describe('when an export starts again with huge pages', () => {
  it('a large local export on Linux with THP on request: yes, with the tunable added', () => {
    const env = relaunchEnv(['export', 'big.parquet', '--type', 'point'], facts({ env: { HOME: '/h' } }));
    assert.deepEqual(env, { HOME: '/h', NG_ANNOTATIONS_RELAUNCHED: '1', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=4194304' });
    const more = relaunchEnv(['export', 'big.parquet'], facts({ env: { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' } }));
    assert.equal(more?.GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=4194304');
    const own = relaunchEnv(['export', 'big.parquet'], facts({ env: { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' } }));
    assert.equal(own?.GLIBC_TUNABLES, 'glibc.malloc.mmap_threshold=65536:glibc.malloc.hugetlb=1', 'a threshold of its own is kept');
  });

  it('the polyline vertices count towards the size', () => {
    const args = ['export', 'small.parquet', '--type', 'polyline', '--points', 'points.parquet'];
    assert.equal(relaunchEnv(args, facts()), null, '21 MB');
    assert.notEqual(relaunchEnv(args, facts({ sizeOf: (f) => (f === 'points.parquet' ? 70 * MB : MB) })), null, '71 MB');
    const equals = ['export', 'small.parquet', '--type', 'polyline', '--points=points.parquet'];
    assert.notEqual(relaunchEnv(equals, facts({ sizeOf: (f) => (f === 'points.parquet' ? 70 * MB : MB) })), null, '--points=FILE');
  });

  it('no: small, remote or missing inputs, other commands, help, other systems, THP always or never, a setting of its own, the child itself', () => {
    const big = ['export', 'big.parquet', '--type', 'point'];
    const cases: Array<[string, string[], Partial<RelaunchFacts>]> = [
      ['small input', ['export', 'small.csv', '--type', 'point'], {}],
      ['under 64 MB', ['export', 'mid.parquet', '--type', 'point'], { sizeOf: () => 60 * MB }],
      ['remote input', ['export', 's3://bucket/big.parquet', '--type', 'point'], { sizeOf: () => null }],
      ['serve', ['serve', 'big.parquet'], {}],
      ['help', ['export', 'big.parquet', '--help'], {}],
      ['no input', ['export', '--type', 'point'], {}],
      ['macOS', big, { platform: 'darwin' }],
      ['THP always', big, { thp: () => '[always] madvise never\n' }],
      ['THP never', big, { thp: () => 'always madvise [never]\n' }],
      ['no THP file', big, { thp: () => null }],
      ['hugetlb set by the user', big, { env: { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' } }],
      ['already the child', big, { env: { NG_ANNOTATIONS_RELAUNCHED: '1' } }],
    ];
    for (const [name, argv, over] of cases) assert.equal(relaunchEnv(argv, facts(over)), null, name);
    assert.notEqual(relaunchEnv(['export', 'small.csv'], facts({ env: { NG_ANNOTATIONS_RELAUNCH_BYTES: '0' } })), null, 'threshold lowered');
  });
});

// The rest runs the built CLI where the relaunch can happen (Linux, THP on request), with the size
// threshold lowered so that a test-sized input is relaunched.
const thp = (() => {
  try {
    return fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
  } catch {
    return '';
  }
})();
const skip = process.platform !== 'linux' || !thp.includes('[madvise]') ? 'needs Linux with transparent huge pages on request (madvise)' : false;

describe('a relaunched export', { skip }, () => {
  const tmp = fs.mkdtempSync(path.join(tmpdir(), 'ng-relaunch-'));
  const csv = path.join(tmp, 'points.csv');
  const RELAUNCH = { NG_ANNOTATIONS_RELAUNCH_BYTES: '0' };
  const args = (out: string, input = csv) => ['export', input, '--type', 'point', '--properties', 'a,b', '--out', out, '--seed', '1'];
  before(() => {
    ensureBuilt();
    fs.writeFileSync(csv, pointCsv(300_000, 5));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes the same bytes and prints the same summary as one run in this process', async () => {
    const a = await runCli([...args(path.join(tmp, 'a')), '--json'], { env: RELAUNCH });
    const b = await runCli([...args(path.join(tmp, 'b')), '--json'], { env: { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' } });
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const summary = (s: string) => {
      const j = JSON.parse(s);
      delete j.elapsedMs;
      delete j.outputDir;
      return j;
    };
    assert.deepEqual(summary(a.stdout), summary(b.stdout));
    assert.deepEqual(snapshot(path.join(tmp, 'a')), snapshot(path.join(tmp, 'b')));
  });

  /** Starts an export and waits for its temporary folder: returns the process and the pid that folder is named after. */
  async function started(out: string) {
    const child = spawn(process.execPath, [CLI, ...args(out)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...RELAUNCH } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const name = () => fs.readdirSync(tmp).find((f) => f.startsWith(`.${path.basename(out)}.ng-annotations-tmp-`));
    try {
      await waitUntil(() => child.exitCode !== null || name() !== undefined, 60_000, 'the export to start writing (its temporary folder)', 5);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    const owner = Number(/-tmp-(\d+)-/.exec(name() ?? '')?.[1]);
    return { child, owner, stderr: () => stderr };
  }

  it('Ctrl+C (SIGINT to the command): passed on once, exit 130, nothing left behind', async () => {
    const before = fs.readdirSync(tmp).sort();
    const { child, owner, stderr } = await started(path.join(tmp, 'int'));
    assert.notEqual(owner, child.pid, 'the dataset is written by a child process');
    child.kill('SIGINT');
    assert.equal(await exitOf(child, 60_000, 'the export after SIGINT'), 130, stderr());
    assert.match(stderr(), /cancelled; nothing was written/);
    assert.deepEqual(fs.readdirSync(tmp).sort(), before);
  });

  it('kill -9 of the command: the child stops too, and the next run removes its temporary folder', async () => {
    const out = path.join(tmp, 'kill');
    const { child, owner } = await started(out);
    assert.notEqual(owner, child.pid, 'the dataset is written by a child process');
    child.kill('SIGKILL');
    await exitOf(child, 20_000, 'the killed command');
    await waitUntil(() => !isProcessAlive(owner), 20_000, `the child (pid ${owner}) to stop after its parent was killed`);
    const r = await runCli(args(out), { env: RELAUNCH });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      fs.readdirSync(tmp).filter((f) => f.includes('ng-annotations-tmp')),
      [],
      'no temporary folder left',
    );
  });
});
