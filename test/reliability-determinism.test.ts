// Determinism: the same input, options and seed give byte-identical trees, across runs and across
// thread counts. The input is big enough (records > 4 MB) that shards are encoded in worker threads.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Table } from 'apache-arrow';
import { writePrecomputedAnnotations } from '../src/core/write';
import type { WriteOptions } from '../src/core/types';
import { assertSameTree, pointTable, readTree, tempRoot } from './helpers/reliability';

const tmp = tempRoot('determinism');
after(() => tmp.cleanup());

// 240k points × (12 bytes of xyz + 2 float32 properties) = 4.8 MB of records.
const N = 240_000;
let table: Table;
before(() => {
  table = pointTable(N, 42, { relationship: true });
});

const OPTIONS: WriteOptions = { properties: ['a', 'b'], relationships: ['seg'], seed: 12345, numSpatialLevels: 5, targetChunkLimit: 2000 };

test('byte-identical trees for maxThreads 1, 2, 4 and a repeated run (worker threads in use)', async () => {
  const trees: Array<[string, Map<string, Buffer>]> = [];
  for (const threads of [1, 2, 4, 2]) {
    const dir = path.join(tmp.root, `t${threads}-${trees.length}`);
    const summary = await writePrecomputedAnnotations(table, 'xyz', 'point', { ...OPTIONS, maxThreads: threads, outputDir: dir });
    assert.equal(summary.annotations, N);
    trees.push([`maxThreads ${threads} (run ${trees.length + 1})`, readTree(dir)]);
  }
  const [, first] = trees[0]!;
  assert.ok(first.size > 3, `a real dataset: ${[...first.keys()]}`);
  for (const [what, tree] of trees.slice(1)) assertSameTree(first, tree, what);
});
