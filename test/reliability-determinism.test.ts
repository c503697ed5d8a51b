// Determinism: the same input, options and seed give byte-identical trees, across runs and across
// thread counts. The input is big enough (records > 4 MB) that shards are encoded in worker threads.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Table } from 'apache-arrow';
import { writePrecomputedAnnotations } from '../src/export/run';
import type { Phase, WriteOptions } from '../src/core/types';
import { assertSameTree, pointTable, readTree, tempRoot } from './helpers/reliability';

const tmp = tempRoot('determinism');
after(() => tmp.cleanup());

// 210k points × (12 bytes of xyz + 2 float32 properties) = 4.2 MB of records, just over the 4 MB
// above which the writer encodes shards in worker threads.
const N = 210_000;
let table: Table;
before(() => {
  table = pointTable(N, 42, { relationship: true });
});

const OPTIONS: WriteOptions = { properties: ['a', 'b'], relationships: ['seg'], seed: 12345, numSpatialLevels: 4, targetChunkLimit: 5000 };

/** The order progress phases must come in, however the indexes overlap. */
const PHASES: Phase[] = ['reading', 'validating', 'by_id', 'by_relationship', 'spatial_assign', 'spatial', 'finishing'];

/** Threads of this process now (Linux; null elsewhere). */
function threadCount(): number | null {
  try {
    return fs.readdirSync('/proc/self/task').length;
  } catch {
    return null;
  }
}

test('byte-identical trees for maxThreads 1, 2 and 4, each a separate run (worker threads in use)', async () => {
  const trees: Array<[string, Map<string, Buffer>]> = [];
  const baseline = threadCount();
  // memoryLimit 1 byte: the relationship and spatial indexes are planned one after the other on this
  // thread, not on the workers beside by_id (the table is in memory either way).
  const runs: Array<[string, WriteOptions]> = [
    ['maxThreads 1', { maxThreads: 1 }],
    ['maxThreads 2', { maxThreads: 2 }],
    ['maxThreads 4', { maxThreads: 4 }],
    ['maxThreads 2, planned in turn', { maxThreads: 2, memoryLimit: 1 }],
  ];
  for (const [what, extra] of runs) {
    const dir = path.join(tmp.root, `t${trees.length}`);
    let peak = 0;
    const phases: Phase[] = [];
    const summary = await writePrecomputedAnnotations(table, 'xyz', 'point', {
      ...OPTIONS,
      ...extra,
      outputDir: dir,
      onProgress: (p) => {
        if (p.phase === 'by_id' || p.phase === 'spatial') peak = Math.max(peak, threadCount() ?? 0);
        if (phases.at(-1) !== p.phase) phases.push(p.phase);
      },
    });
    assert.equal(summary.annotations, N);
    assert.equal(summary.relationships[0]?.key, 'by_rel_seg');
    // The shard encoders are real threads: with 4 of them the process has at least 4 more.
    if (extra.maxThreads === 4 && baseline !== null) assert.ok(peak >= baseline + 4, `threads: ${baseline} before, ${peak} while writing`);
    // Indexes are written side by side, but their progress is reported in order.
    assert.deepEqual(phases, PHASES, what);
    trees.push([what, readTree(dir)]);
  }
  const [, first] = trees[0]!;
  assert.ok(first.size > 3, `a real dataset: ${[...first.keys()]}`);
  for (const [what, tree] of trees.slice(1)) assertSameTree(first, tree, what);
});

test('a bad coordinate found after the relationship plans have started on the workers: the error names it, and the threads stop', async () => {
  const bad = pointTable(N, 43, { relationship: true });
  // Coordinates are checked after the ids and relationship lists, when the plans are already running.
  (bad.getChild('x')!.data[0]!.values as Float64Array)[150_000] = NaN;
  const baseline = threadCount();
  await assert.rejects(
    writePrecomputedAnnotations(bad, 'xyz', 'point', {
      ...OPTIONS,
      maxThreads: 2,
      outputDir: path.join(tmp.root, 'bad'),
    }),
    (e: Error) => /Column "x"/.test(e.message) && /row 150001/.test(e.message),
  );
  assert.ok(!fs.existsSync(path.join(tmp.root, 'bad')), 'nothing was written');
  if (baseline !== null) {
    // Terminated worker threads leave /proc/self/task shortly after terminate() resolves.
    for (let i = 0; i < 50 && (threadCount() ?? 0) > baseline; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(threadCount(), baseline, 'the shard encoder threads were stopped');
  }
});
