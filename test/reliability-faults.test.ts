// Faults during an export, with real processes and real file systems: cancellation in every phase,
// kill -9 of the CLI and termination of the VS Code export worker, disk full, read-only and vanished
// output folders, and input files that change under the reader. In every case: a clear error, the
// user's files untouched, no `info` at the target unless the export completed, and no temporary
// folder left behind (or one clearly named and removed by the next run).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Field, List, Table, Uint64, makeData, makeVector } from 'apache-arrow';
import { writePrecomputedAnnotations } from '../src/export/run';
import { AbortError, ExportError } from '../src/core/errors';
import { removeThreadTemporaries } from '../src/core/storage';
import type { Phase, WriteOptions, WriteSummary } from '../src/core/types';
import { InputError, readTable } from '../src/io/index';
import { Endpoint, type HostToWorker, type WorkerToHost } from '../src/shared/protocol';
import type { Mapping } from '../src/shared/mapping';
import { limit, runSyncWithin } from './helpers/bounded';
import { ensureBuilt } from './helpers/cli';
import {
  DIST,
  assertSameTree,
  mountTmpfs,
  pointCsv,
  pointTable,
  readTree,
  siblings,
  tempRoot,
  tmpfsUnavailable,
  withTimeout,
  writeArrowFile,
} from './helpers/reliability';
import { writeParquet } from './io-fixtures';

const tmp = tempRoot('faults');
after(() => tmp.cleanup());

/** `.out.ng-annotations-tmp-<pid>-s<process start time>-t<thread>-<hex>` (Linux: /proc gives the start time). */
const TMP_NAME = /^\.out\.ng-annotations-tmp-(\d+)-s(\d+)-t(\d+)-[0-9a-f]{8}$/;

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTime(pid: number | 'self'): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

/** A big CSV (200k points, ~7 MB) that takes the CLI a second or two; a smaller one for disk-full runs. */
let bigCsv = '';
let midCsv = '';
before(() => {
  ensureBuilt();
  bigCsv = path.join(tmp.root, 'big.csv');
  fs.writeFileSync(bigCsv, pointCsv(200_000, 11));
  midCsv = path.join(tmp.root, 'mid.csv');
  fs.writeFileSync(midCsv, pointCsv(60_000, 12));
});

const OPTIONS: WriteOptions = { properties: ['a', 'b'], relationships: ['seg'], numSpatialLevels: 4, targetChunkLimit: 50, seed: 3 };

/** A parent folder holding only the target; returns [parent, target]. */
function freshTarget(name: string): [string, string] {
  const parent = tmp.dir(name);
  fs.mkdirSync(parent);
  return [parent, path.join(parent, 'out')];
}

describe('cancellation in every phase, from onProgress, with a dataset to replace (overwrite)', () => {
  const phases: Phase[] = ['reading', 'validating', 'by_id', 'by_relationship', 'spatial_assign', 'spatial', 'finishing'];
  let input = '';
  // Unsharded writes a file per id and per cell: fewer points keep it quick.
  let smallInput = '';
  let previous = '';
  let previousTree: Map<string, Buffer>;
  before(async () => {
    // An Arrow file on disk, so the reading phase really reads.
    input = path.join(tmp.root, 'cancel-input.arrow');
    writeArrowFile(input, pointTable(3000, 5, { relationship: true }));
    smallInput = path.join(tmp.root, 'cancel-input-small.arrow');
    writeArrowFile(smallInput, pointTable(300, 5, { relationship: true }));
    previous = tmp.dir('cancel-previous');
    await writePrecomputedAnnotations(pointTable(40, 6), 'xyz', 'point', { properties: ['a'], outputDir: previous, seed: 1 });
    previousTree = readTree(previous);
  });
  for (const sharded of [true, false]) {
    for (const phase of phases) {
      // The reader aborts with a DOMException; the writer turns it into its own AbortError.
      test(`${phase} (${sharded ? 'sharded' : 'unsharded'}): AbortError, the previous dataset untouched, no temporary sibling`, async () => {
        const [, target] = freshTarget(`cancel-${phase}`);
        fs.cpSync(previous, target, { recursive: true });
        const controller = new AbortController();
        let seen = false;
        const err = await writePrecomputedAnnotations(sharded ? input : smallInput, 'xyz', 'point', {
          ...OPTIONS,
          writeSharded: sharded,
          outputDir: target,
          overwrite: true,
          signal: controller.signal,
          onProgress: (p) => {
            if (p.phase === phase && !controller.signal.aborted) {
              seen = true;
              controller.abort();
            }
          },
        }).then(
          () => null,
          (e: Error) => e,
        );
        assert.ok(seen, `phase ${phase} was reported`);
        assert.ok(err, 'the export was cancelled, not completed');
        assert.ok(err instanceof AbortError, `expected the writer's AbortError, got ${err.name}: ${err.message}`);
        assertSameTree(previousTree, readTree(target), 'the previous dataset');
        assert.deepEqual(siblings(target), []);
      });
    }
  }

  test('cancelling a fresh export in the reading phase leaves no target folder', async () => {
    const [parent, target] = freshTarget('cancel-fresh');
    const controller = new AbortController();
    await assert.rejects(
      writePrecomputedAnnotations(input, 'xyz', 'point', {
        ...OPTIONS,
        outputDir: target,
        signal: controller.signal,
        onProgress: (p) => p.phase === 'reading' && controller.abort(),
      }),
      (e: Error) => e.name === 'AbortError',
    );
    assert.deepEqual(fs.readdirSync(parent), []);
  });
});

/** Polls until `pred` holds (or throws after `ms`). */
async function waitFor(pred: () => boolean, unscaledMs: number, what: string): Promise<void> {
  const ms = limit(unscaledMs);
  const end = Date.now() + ms;
  const holds = () => {
    try {
      return pred();
    } catch {
      return false; // e.g. the folder was renamed between listing and reading it
    }
  };
  while (!holds()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs `node dist/cli.js ...args` to the end. */
function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = runSyncWithin(process.execPath, [path.join(DIST, 'cli.js'), ...args], 120_000);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const exportArgs = (out: string, extra: string[] = [], input = bigCsv) => [
  'export', input, '--type', 'point', '--coords', 'x,y,z', '--properties', 'a,b', '--out', out, '--seed', '1', '--quiet', ...extra,
];

describe('kill -9 and worker termination mid-export', () => {
  test('kill -9 of the CLI: no info at the target, a clearly named temporary folder, removed by the next run', async () => {
    const [parent, target] = freshTarget('kill9');
    const child = spawn(process.execPath, [path.join(DIST, 'cli.js'), ...exportArgs(target)], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    // Kill once the temporary folder has some of the dataset in it.
    try {
      await waitFor(() => siblings(target).some((n) => fs.readdirSync(path.join(parent, n)).length > 0), 60_000, 'the temporary folder');
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(await withTimeout(exited, limit(20_000), 'the killed export to exit'), 'SIGKILL');
    assert.ok(!fs.existsSync(path.join(target, 'info')), 'no info at the target');
    const left = siblings(target);
    assert.equal(left.length, 1, `one temporary folder: ${left}`);
    const m = TMP_NAME.exec(left[0]!);
    assert.ok(m, `clearly named: ${left[0]}`);
    assert.equal(Number(m[1]), child.pid, 'named after the killed process');

    const r = cli(exportArgs(target, [], midCsv));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(siblings(target), [], 'the next run removed the dead run\'s temporary folder');
    assert.equal(JSON.parse(fs.readFileSync(path.join(target, 'info'), 'utf8'))['@type'], 'neuroglancer_annotations_v1');
  });

  test('kill -9 of the CLI replacing a dataset (--overwrite): the previous dataset is untouched', async () => {
    const [, target] = freshTarget('kill9-replace');
    await writePrecomputedAnnotations(pointTable(50, 2), 'xyz', 'point', { outputDir: target, seed: 1 });
    const before = readTree(target);
    const child = spawn(process.execPath, [path.join(DIST, 'cli.js'), ...exportArgs(target, ['--overwrite'], midCsv)], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => siblings(target).length > 0, 60_000, 'the temporary folder');
    } finally {
      child.kill('SIGKILL');
    }
    await withTimeout(exited, limit(20_000), 'the killed export to exit');
    assertSameTree(before, readTree(target), 'the previous dataset');
  });

  test('killed between the two renames of a replacement: the next run puts the previous dataset back, never deletes it', async () => {
    const [parent, target] = freshTarget('kill-commit');
    await writePrecomputedAnnotations(pointTable(50, 2), 'xyz', 'point', { outputDir: target, seed: 1 });
    const before = readTree(target);
    // The state a kill between rename(target -> old) and rename(temporary -> target) leaves, named
    // after a process that is gone.
    const dead = runSyncWithin(process.execPath, ['-e', 'console.log(process.pid)'], 30_000);
    const pid = Number(dead.stdout.trim());
    fs.renameSync(target, path.join(parent, `.out.ng-annotations-old-${pid}-0123abcd`));
    fs.mkdirSync(path.join(parent, `.out.ng-annotations-tmp-${pid}-t0-89abcdef`, 'by_id'), { recursive: true });
    // Without overwrite the next export refuses, with the previous dataset back in place and intact.
    await assert.rejects(writePrecomputedAnnotations(pointTable(60, 3), 'xyz', 'point', { outputDir: target, seed: 1 }), ExportError);
    assertSameTree(before, readTree(target), 'the previous dataset');
    // With overwrite it is replaced as usual, and no leftovers remain.
    await writePrecomputedAnnotations(pointTable(60, 3), 'xyz', 'point', { outputDir: target, overwrite: true, seed: 1 });
    assert.deepEqual(siblings(target), []);
    assert.equal(JSON.parse(fs.readFileSync(path.join(target, 'info'), 'utf8'))['@type'], 'neuroglancer_annotations_v1');
  });

  test('pid reuse: a temporary folder named after a live pid but another start time is removed; one of a live process is kept', async () => {
    const [parent, target] = freshTarget('pid-reuse');
    // A live process other than this one, and this process: the names below differ only in start time.
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      const pid = sleeper.pid!;
      await waitFor(() => fs.existsSync(`/proc/${pid}/stat`), 5000, 'the sleeper');
      const start = startTime(pid);
      const names = {
        liveOther: `.out.ng-annotations-tmp-${pid}-s${start}-t0-0000aaaa`,
        reusedOther: `.out.ng-annotations-tmp-${pid}-s${BigInt(start) + 1n}-t0-0000bbbb`,
        reusedOwn: `.out.ng-annotations-tmp-${process.pid}-s${BigInt(startTime('self')) - 1n}-t0-0000cccc`,
        reusedOld: `.out.ng-annotations-old-${pid}-s${BigInt(start) + 7n}-0000dddd`,
        // Names from before start times were recorded: a live pid keeps them (the old rule).
        legacyLive: `.out.ng-annotations-tmp-${pid}-t0-0000eeee`,
      };
      for (const n of Object.values(names)) fs.mkdirSync(path.join(parent, n, 'by_id'), { recursive: true });
      await writePrecomputedAnnotations(pointTable(40, 5), 'xyz', 'point', { outputDir: target, seed: 1 });
      assert.deepEqual(siblings(target).sort(), [names.legacyLive, names.liveOther].sort());
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  test('the VS Code export worker terminated mid-export: no info; the host removes its temporary folder; the next export succeeds', async () => {
    const [, target] = freshTarget('worker');
    // Started as src/extension/runExport.ts does: dist/exportWorker.js, the same message protocol.
    const worker = new Worker(path.join(DIST, 'exportWorker.js'));
    const threadId = worker.threadId;
    let terminate: Promise<number> | null = null;
    const link = new Endpoint<HostToWorker, WorkerToHost>((m) => worker.postMessage(m), {
      requests: {},
      events: {
        progress: (p) => {
          if (!terminate && (p.phase === 'by_id' || p.phase === 'spatial')) terminate = worker.terminate();
        },
      },
    });
    worker.on('message', (m) => void link.receive(m));
    const mapping: Mapping = { version: 1, annotationType: 'point', coords: ['x', 'y', 'z'], properties: ['a', 'b'], output: target, seed: 1 };
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    const result = link.request('export', { input: bigCsv, mapping }).then(
      () => 'finished',
      (e: Error) => e.message,
    );
    await withTimeout(exited, 60_000, 'the worker to stop');
    link.dispose('the worker stopped');
    assert.notEqual(await result, 'finished', 'terminated before the end');
    assert.ok(terminate, 'terminated from a progress event');
    assert.ok(!fs.existsSync(path.join(target, 'info')), 'no info at the target');
    const left = siblings(target);
    assert.equal(left.length, 1, `one temporary folder: ${left}`);
    const m = TMP_NAME.exec(left[0]!);
    assert.ok(m, `clearly named: ${left[0]}`);
    assert.deepEqual([Number(m[1]), m[2], Number(m[3])], [process.pid, startTime('self'), threadId], 'named after this process (pid, start time) and the worker thread');

    // What runExport.ts does after the worker stops: this process is alive, so the stale check
    // (dead pids) would not catch it.
    await removeThreadTemporaries(target, threadId);
    assert.deepEqual(siblings(target), []);
    const summary: WriteSummary = await writePrecomputedAnnotations(pointTable(500, 1), 'xyz', 'point', { properties: ['a', 'b'], outputDir: target, seed: 1 });
    assert.equal(summary.annotations, 500);
    assert.ok(fs.existsSync(path.join(target, 'info')));
  });

  test('runExport.ts removes the stopped worker\'s temporaries (the host side of the test above)', () => {
    // The extension host module imports vscode, so check that its cleanup is wired where the worker ends.
    const src = fs.readFileSync(path.join(__dirname, '..', 'src', 'extension', 'runExport.ts'), 'utf8');
    const fin = src.slice(src.indexOf('} finally {'));
    assert.match(fin, /const thread = worker\.threadId;\s*await worker\.terminate\(\);/);
    assert.match(fin, /removeThreadTemporaries\(job\.mapping\.output, thread\)/);
  });
});

describe('disk full, read-only and vanished output folders', () => {
  const noMount = tmpfsUnavailable();

  test('disk full (2 MB tmpfs), sharded, replacing a dataset: clear error, previous dataset untouched, nothing else left', { skip: noMount ?? false }, async () => {
    const fsMount = mountTmpfs(tmp.root, '2m');
    try {
      const target = path.join(fsMount.dir, 'out');
      await writePrecomputedAnnotations(pointTable(100, 1), 'xyz', 'point', { outputDir: target, seed: 1 });
      const before = readTree(target);
      await assert.rejects(
        writePrecomputedAnnotations(pointTable(150_000, 2), 'xyz', 'point', { properties: ['a', 'b'], outputDir: target, overwrite: true, maxThreads: 4, seed: 1 }),
        (e: Error) => {
          assert.ok(e instanceof ExportError, `${e.name}: ${e.message}`);
          assert.match(e.message, /disk is full/);
          assert.ok(e.message.includes(fsMount.dir), `names the folder: ${e.message}`);
          return true;
        },
      );
      assertSameTree(before, readTree(target), 'the previous dataset');
      assert.deepEqual(fs.readdirSync(fsMount.dir), ['out']);
    } finally {
      fsMount.unmount();
    }
  });

  test('disk full (256 kB tmpfs), unsharded (many small files in flight): clear error, nothing at the target', { skip: noMount ?? false }, async () => {
    const fsMount = mountTmpfs(tmp.root, '256k');
    try {
      const target = path.join(fsMount.dir, 'out');
      await assert.rejects(
        writePrecomputedAnnotations(pointTable(20_000, 3), 'xyz', 'point', { properties: ['a', 'b'], writeSharded: false, outputDir: target, seed: 1 }),
        (e: Error) => e instanceof ExportError && /disk is full|no space/i.test(e.message),
      );
      assert.deepEqual(fs.readdirSync(fsMount.dir), []);
    } finally {
      fsMount.unmount();
    }
  });

  test('disk full through the CLI: exit 1, one line naming the problem, nothing left', { skip: noMount ?? false }, () => {
    const fsMount = mountTmpfs(tmp.root, '1m');
    try {
      const r = cli(exportArgs(path.join(fsMount.dir, 'out'), [], midCsv));
      assert.equal(r.status, 1, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^error: .*disk is full/);
      assert.deepEqual(fs.readdirSync(fsMount.dir), []);
    } finally {
      fsMount.unmount();
    }
  });

  test(
    'disk full with several shards in flight (by_id of 64 MB, 2 shards, 4 threads), through the CLI: exit 1, one line, nothing left',
    {
      skip: noMount ?? false,
    },
    () => {
      // 20k points with 400 random related ids each: ~64 MB of by_id values, more than one 50 MB shard.
      const n = 20_000;
      const k = 400;
      const ids = new BigUint64Array(n * k);
      for (let i = 0; i < ids.length; i++) ids[i] = (BigInt(i) * 0x9e3779b97f4a7c15n) & 0xffffffffffffn;
      const offsets = new Int32Array(n + 1).map((_, i) => i * k);
      // (three separate arrays: apache-arrow's IPC writer miscounts the body when columns share one buffer)
      const [xs, ys, zs] = [1, 2, 3].map((m) => Float64Array.from({ length: n }, (_, i) => i * m));
      const seg = makeVector(makeData({ type: new List(new Field('item', new Uint64(), true)), length: n, valueOffsets: offsets, child: makeData({ type: new Uint64(), length: n * k, data: ids }) }));
      const file = path.join(tmp.root, 'many-shards.arrow');
      writeArrowFile(file, new Table({ x: makeVector(xs!), y: makeVector(ys!), z: makeVector(zs!), seg }));
      const fsMount = mountTmpfs(tmp.root, '2m');
      try {
        const r = cli(['export', file, '--type', 'point', '--coords', 'x,y,z', '--relationships', 'seg', '--no-spatial', '--threads', '4', '--out', path.join(fsMount.dir, 'out'), '--quiet']);
        assert.equal(r.status, 1, r.stderr);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /^error: .*disk is full/);
        assert.deepEqual(fs.readdirSync(fsMount.dir), []);
      } finally {
        fsMount.unmount();
        fs.rmSync(file, { force: true });
      }
    },
  );

  test('read-only output parent (ro tmpfs; root ignores chmod): clear error, an existing dataset untouched', { skip: noMount ?? false }, async () => {
    const fsMount = mountTmpfs(tmp.root, '1m');
    try {
      const target = path.join(fsMount.dir, 'out');
      await writePrecomputedAnnotations(pointTable(100, 1), 'xyz', 'point', { outputDir: target, seed: 1 });
      const before = readTree(target);
      fsMount.remountReadOnly();
      for (const out of [target, path.join(fsMount.dir, 'new')]) {
        await assert.rejects(
          writePrecomputedAnnotations(pointTable(100, 2), 'xyz', 'point', { outputDir: out, overwrite: true, seed: 1 }),
          (e: Error) => e instanceof ExportError && /read-only/.test(e.message),
        );
      }
      assertSameTree(before, readTree(target), 'the previous dataset');
      assert.deepEqual(fs.readdirSync(fsMount.dir), ['out']);
    } finally {
      fsMount.unmount();
    }
  });

  for (const sharded of [true, false]) {
    for (const phase of ['by_id', 'spatial'] as const) {
      test(`the temporary folder removed mid-export (${phase}, ${sharded ? 'sharded' : 'unsharded'}): an error, never a partial dataset`, async () => {
        const [parent, target] = freshTarget('vanish');
        let removed = false;
        await assert.rejects(
          writePrecomputedAnnotations(pointTable(sharded ? 3000 : 400, 4), 'xyz', 'point', {
            properties: ['a'],
            writeSharded: sharded,
            numSpatialLevels: 3,
            targetChunkLimit: 100,
            outputDir: target,
            seed: 1,
            onProgress: (p) => {
              if (!removed && p.phase === phase && p.done > 0) {
                removed = true;
                for (const n of siblings(target)) fs.rmSync(path.join(parent, n), { recursive: true, force: true });
              }
            },
          }),
          (e: Error) => {
            assert.ok(e instanceof ExportError, `${e.name}: ${e.message}`);
            assert.match(e.message, /removed while writing/);
            return true;
          },
        );
        assert.ok(removed);
        assert.deepEqual(fs.readdirSync(parent), [], 'no dataset, no temporary folder');
      });
    }
  }

  test('the whole output parent removed mid-export: an error, nothing recreated', async () => {
    const parent = path.join(tmp.dir('vanish-parent'), 'deep');
    fs.mkdirSync(parent, { recursive: true });
    const target = path.join(parent, 'out');
    await assert.rejects(
      writePrecomputedAnnotations(pointTable(3000, 4), 'xyz', 'point', {
        numSpatialLevels: 3,
        targetChunkLimit: 100,
        outputDir: target,
        seed: 1,
        onProgress: (p) => {
          if (p.phase === 'spatial' && p.done > 0) fs.rmSync(parent, { recursive: true, force: true });
        },
      }),
      ExportError,
    );
    assert.ok(!fs.existsSync(parent), 'the removed folder was not recreated');
  });
});

describe('input files changing or disappearing mid-read', () => {
  const N = 20_000;
  const isInputError = (e: Error) => {
    assert.ok(e instanceof InputError, `${e.name}: ${e.message}`);
    return true;
  };

  test('CSV truncated mid-row while it streams: InputError naming the file and row, no hang', async () => {
    const file = path.join(tmp.root, 'trunc.csv');
    fs.writeFileSync(file, pointCsv(200_000, 1));
    let cut = false;
    await assert.rejects(
      withTimeout(
        readTable(file, {
          onProgress: () => {
            if (cut) return;
            cut = true;
            // Cut inside a row (just after a comma) far beyond what has been read.
            const text = fs.readFileSync(file, 'latin1');
            fs.truncateSync(file, text.indexOf(',', Math.floor(text.length * 0.7)) + 1);
          },
        }),
        10_000,
        'reading a truncated CSV',
      ),
      (e: Error) => isInputError(e) && /trunc\.csv/.test(e.message) && /row \d+/.test(e.message),
    );
    assert.ok(cut);
  });

  test('Parquet truncated between row groups: InputError, no hang', async () => {
    const file = path.join(tmp.root, 'trunc.parquet');
    await writeParquet(file, `SELECT i::UBIGINT AS annotation_id, i * 0.5 AS x, i * 0.25 AS y, 1.0 AS z FROM range(${N}) t(i)`, { rowGroupSize: 2048 });
    let cut = false;
    await assert.rejects(
      withTimeout(
        readTable(file, {
          onProgress: () => {
            if (!cut) fs.truncateSync(file, Math.floor(fs.statSync(file).size / 3));
            cut = true;
          },
        }),
        10_000,
        'reading a truncated Parquet file',
      ),
      (e: Error) => isInputError(e) && /trunc\.parquet/.test(e.message),
    );
    assert.ok(cut);
  });

  test('Arrow IPC truncated between record batches: InputError, no hang', async () => {
    const file = path.join(tmp.root, 'trunc.arrow');
    const t = pointTable(N, 2);
    // Several record batches, so the reader is mid-file when it is cut.
    writeArrowFile(file, new Table(t.batches.flatMap((b) => Array.from({ length: 8 }, (_, k) => b.slice((k * b.numRows) / 8, ((k + 1) * b.numRows) / 8)))));
    let cut = false;
    await assert.rejects(
      withTimeout(
        readTable(file, {
          onProgress: () => {
            if (!cut) fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
            cut = true;
          },
        }),
        10_000,
        'reading a truncated Arrow file',
      ),
      (e: Error) => isInputError(e) && /trunc\.arrow/.test(e.message),
    );
    assert.ok(cut);
  });

  test('CSV overwritten with other bytes mid-read: an InputError or a table, never a hang or another error', async () => {
    const file = path.join(tmp.root, 'changed.csv');
    fs.writeFileSync(file, pointCsv(100_000, 3));
    let changed = false;
    const r = await withTimeout(
      readTable(file, {
        onProgress: () => {
          if (changed) return;
          changed = true;
          const fd = fs.openSync(file, 'r+');
          fs.writeSync(fd, Buffer.from('"\0\n,,"x\r\n'.repeat(5000)), 0, undefined, Math.floor(fs.statSync(file).size / 2));
          fs.closeSync(fd);
        },
      }).then(
        (t) => t,
        (e: Error) => e,
      ),
      10_000,
      'reading a changed CSV',
    );
    assert.ok(changed);
    if (r instanceof Error) isInputError(r);
  });

  test('input deleted after it was opened: POSIX keeps the open file, so the read completes with every row', async () => {
    for (const ext of ['csv', 'arrow']) {
      const file = path.join(tmp.root, `deleted.${ext}`);
      if (ext === 'csv') fs.writeFileSync(file, pointCsv(N, 4));
      else writeArrowFile(file, pointTable(N, 4));
      let deleted = false;
      const t = await withTimeout(
        readTable(file, {
          onProgress: () => {
            if (!deleted) fs.rmSync(file);
            deleted = true;
          },
        }),
        10_000,
        `reading a deleted ${ext} file`,
      );
      assert.ok(deleted);
      assert.equal(t.numRows, N);
    }
  });

  test('input missing when the export starts: InputError through the writer, nothing written', async () => {
    const [parent, target] = freshTarget('missing');
    await assert.rejects(
      writePrecomputedAnnotations(path.join(parent, 'gone.csv'), 'xyz', 'point', { outputDir: target }),
      (e: Error) => isInputError(e) && /gone\.csv: no such file/.test(e.message),
    );
    assert.deepEqual(fs.readdirSync(parent), []);
  });
});
