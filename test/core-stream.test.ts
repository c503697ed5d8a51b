// Exports larger than memory (src/core/stream.ts): the file is read row group by row group, entries
// go through temporary files, and the output must be byte for byte what the in-memory writer makes
// with the same seed, for every annotation type and property kind, across many row groups and
// shards. Errors name rows of the whole file, and nothing is left behind on failure or cancel.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { after, before, describe, it } from 'node:test';
import { tableFromArrays, tableToIPC, Table } from 'apache-arrow';
import { writePrecomputedAnnotations } from '../src/export/run';
import { AbortError, ExportError } from '../src/core/errors';
import type { Progress, WriteOptions, WriteSummary } from '../src/core/types';
import { tempDir, writeParquet } from './io-fixtures';
import { within } from './helpers/bounded';
import { readTree } from './helpers/common';
import { readDatasetWithNeuroglancer } from './helpers/ngread';
import { Endpoint, type HostToWorker, type WorkerToHost } from '../src/shared/protocol';
import type { Mapping } from '../src/shared/mapping';
import { DIST } from './helpers/reliability';

const tmp = tempDir('ng-stream-');
after(tmp.cleanup);
const at = (name: string) => join(tmp.dir, name);

// Many shards and minishards from small tables (the writer reads this at every export).
before(() => {
  process.env.NG_ANNOTATIONS_SHARD_TARGET_BYTES = '20000';
});
after(() => {
  delete process.env.NG_ANNOTATIONS_SHARD_TARGET_BYTES;
});

const ROWS = 9000;
/** Columns of every kind, whose types only show over the whole file: labels and integer ranges differ per row group. */
const COLUMNS = `
  (i * 7919 + 18446744073000000000)::UBIGINT AS annotation_id,
  (i % 97) * 1.5 AS x, (i % 89) * 2.25 AS y, (i % 83) * 0.5 AS z,
  (i % 97) * 1.5 + (i % 5) * 9 AS xa, (i % 89) * 2.25 AS ya, (i % 83) * 0.5 AS za,
  (i % 97) * 1.5 - (i % 3) * 4 AS xb, (i % 89) * 2.25 + (i % 7) AS yb, (i % 83) * 0.5 + 2 AS zb,
  (i % 4) * 0.75 AS rx, (i % 5) * 0.5 AS ry, (i % 3) * 1.0 AS rz,
  CASE WHEN i % 13 = 0 THEN NULL ELSE i * 0.25 END AS score,
  (['soma', 'axon', 'dendrite', 'spine', 'bouton'])[1 + (CASE WHEN i < 4096 THEN i % 2 ELSE i % 5 END)::INT] AS kind,
  (CASE WHEN i < 2048 THEN i % 200 ELSE i % 900 - 300 END)::BIGINT AS level,
  i % 3 = 0 AS flag,
  printf('#%02x%02x%02x', i % 256, (i * 7) % 256, (i * 13) % 256) AS tint,
  CASE WHEN i % 9 = 0 THEN []::UBIGINT[] ELSE [i % 61, (i * 31) % 1500, i % 61]::UBIGINT[] END AS body,
  (i % 401)::UBIGINT AS partner`;

async function both(file: string, type: string, options: WriteOptions, name: string): Promise<{ memory: WriteSummary; stream: WriteSummary }> {
  const base = { seed: 7, targetChunkLimit: 40, overwrite: true, ...options };
  const memory = await writePrecomputedAnnotations(file, 'xyz', type, { ...base, outputDir: at(`${name}-memory`) });
  const seen: Progress[] = [];
  const stream = await writePrecomputedAnnotations(file, 'xyz', type, { ...base, outputDir: at(`${name}-stream`), memoryLimit: 0, onProgress: (p) => seen.push(p) });
  // Progress only goes forward: phases in the writer's order, and each one's done/total never drops
  // (the two passes over the file are one 'reading' phase).
  const order = ['reading', 'validating', 'by_id', 'by_relationship', 'spatial_assign', 'spatial', 'finishing'];
  for (let k = 1; k < seen.length; k++) {
    const [a, b] = [seen[k - 1], seen[k]];
    assert.ok(order.indexOf(b.phase) >= order.indexOf(a.phase), `${a.phase} then ${b.phase}`);
    if (a.phase === b.phase && a.detail === b.detail) assert.ok(b.done / b.total >= a.done / a.total, `${b.phase} went back`);
  }
  assert.equal(memory.mode, 'memory');
  assert.equal(stream.mode, 'stream');
  const a = readTree(at(`${name}-memory`));
  const b = readTree(at(`${name}-stream`));
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), 'the same files');
  for (const [f, bytes] of a) assert.ok(bytes.equals(b.get(f)!), `${f} differs`);
  assert.deepEqual(stream.warnings, memory.warnings);
  const { elapsedMs: _a, outputDir: _b, mode: _c, ...sm } = stream;
  const { elapsedMs: _d, outputDir: _e, mode: _f, ...mm } = memory;
  assert.deepEqual(sm, mm);
  // No temporary files left beside or inside the output.
  assert.deepEqual(readdirSync(tmp.dir).filter((n) => n.includes('ng-annotations-tmp')), []);
  return { memory, stream };
}

describe('exports through temporary files (larger than memory)', () => {
  const parquet = at('all.parquet');
  before(async () => {
    await writeParquet(parquet, `SELECT ${COLUMNS} FROM range(${ROWS}) t(i)`, { codec: 'zstd', rowGroupSize: 2048 });
  });

  it('points: byte-identical to the in-memory export, every property kind, many row groups and shards', async () => {
    const { stream } = await both(parquet, 'point', { properties: ['score', 'kind', 'level', 'flag', 'tint'], relationships: ['body', 'partner'] }, 'points');
    assert.ok(stream.byId!.files > 4, `by_id in ${stream.byId!.files} shard(s)`);
    assert.ok(stream.relationships.every((r) => r.files > 1));
    assert.ok(stream.spatial.length >= 3 && stream.spatial.some((l) => l.files > 1));
    assert.ok(stream.warnings.some((w) => /score.*empty value/.test(w)), 'the NaN warning, with the count of the whole file');
    // What neuroglancer reads back: the merged types and labels.
    const ds = await readDatasetWithNeuroglancer(at('points-stream'));
    const props = Object.fromEntries(ds.properties.map((p) => [p.identifier, p]));
    assert.equal(props.level.type, 'int16');
    assert.deepEqual(props.kind.enumLabels, ['axon', 'bouton', 'dendrite', 'soma', 'spine']);
    assert.equal(props.tint.type, 'rgb');
    const a = (await ds.getById(18446744073000000000n + 7919n * 4500n))!;
    assert.deepEqual(a.point, [Math.fround((4500 % 97) * 1.5), Math.fround((4500 % 89) * 2.25), Math.fround((4500 % 83) * 0.5)]);
    assert.deepEqual(a.relationships, [[], [BigInt(4500 % 401)]]); // 4500 % 9 === 0: an empty list
    const members = (await ds.getByRelationship('partner', 17n))!;
    assert.equal(members.length, [...Array(ROWS).keys()].filter((i) => i % 401 === 17).length);
  });

  for (const type of ['line', 'axis_aligned_bounding_box', 'ellipsoid']) {
    it(`${type}: byte-identical to the in-memory export`, async () => {
      await both(parquet, type, { properties: ['kind', 'level'], relationships: ['partner'] }, type);
    });
  }

  it('indexes left out, one spatial level without subsampling, other encodings: byte-identical', async () => {
    await both(parquet, 'point', { properties: ['kind'], relationships: ['body'], writeById: false, writeByRelationship: false }, 'no-index-a');
    await both(parquet, 'point', { relationships: ['partner'], writeBySpatialChunk: false, gzipLevel: 'raw' }, 'no-index-b');
    await both(parquet, 'line', { numSpatialLevels: 1, targetChunkLimit: 0, description: 'one level', dataEncoding: 'raw', gzipLevel: 6, idColumn: 'annotation_id' }, 'one-level');
  });

  it('shard files too large to encode whole on one worker: built on one, compressed in slices across all; byte-identical', async () => {
    // Every shard file over 6 KB counts as large here.
    process.env.NG_ANNOTATIONS_SHARD_FILE_BYTES = '12000';
    try {
      await both(parquet, 'point', { properties: ['score', 'kind'], relationships: ['body'] }, 'slices');
      await both(parquet, 'line', { properties: ['kind'], relationships: ['partner'], writeById: false, dataEncoding: 'raw' }, 'slices-line');
    } finally {
      delete process.env.NG_ANNOTATIONS_SHARD_FILE_BYTES;
    }
  });

  it('on one thread (the temporary files counted, regrouped and encoded here) and on three: byte-identical', async () => {
    for (const maxThreads of [1, 3]) {
      const { stream } = await both(parquet, 'point', { properties: ['score', 'kind'], relationships: ['body'], maxThreads }, `threads-${maxThreads}`);
      assert.ok(stream.byId!.files > 4 && stream.relationships[0].files > 1);
    }
  });

  it('ids from row numbers, no shuffle, no relationships: byte-identical', async () => {
    const f = at('noid.parquet');
    await writeParquet(f, `SELECT x, y, z, score FROM (SELECT ${COLUMNS} FROM range(5000) t(i))`, { rowGroupSize: 2048 });
    await both(f, 'point', { properties: ['score'], shuffleBeforeAssigningSpatialLevels: false }, 'noid');
  });

  it('Arrow IPC with several record batches: byte-identical', async () => {
    const parts: Table[] = [];
    for (let b = 0; b < 4; b++) {
      const n = 1500;
      const x = Float64Array.from({ length: n }, (_, i) => ((b * n + i) * 37) % 1000);
      const y = Float64Array.from({ length: n }, (_, i) => ((b * n + i) * 11) % 700);
      const z = Float64Array.from({ length: n }, (_, i) => (b * n + i) % 50);
      const annotation_id = BigUint64Array.from({ length: n }, (_, i) => BigInt(b * n + i) * 3n + 1n);
      parts.push(tableFromArrays({ annotation_id, x, y, z }));
    }
    const f = at('batches.arrow');
    writeFileSync(f, tableToIPC(new Table(parts.flatMap((p) => p.batches)), 'file'));
    await both(f, 'point', {}, 'ipc');
  });

  it('a duplicate id in another row group is named by its rows in the whole file, and nothing is written', async () => {
    const f = at('dup.parquet');
    await writeParquet(f, `SELECT CASE WHEN i = 7000 THEN 12 ELSE i END::UBIGINT AS annotation_id, i * 1.0 AS x, i * 2.0 AS y, 0.0 AS z FROM range(8000) t(i)`, { rowGroupSize: 2048 });
    const out = at('dup-out');
    await assert.rejects(
      writePrecomputedAnnotations(f, 'xyz', 'point', { outputDir: out, memoryLimit: 0 }),
      (e: unknown) => e instanceof ExportError && /id 12 appears more than once \(rows 13, 7001\)/.test(e.message) && String(e.details.rows) === '12,7000',
    );
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(tmp.dir).filter((n) => n.includes('ng-annotations-tmp')), []);
  });

  it('a bad value in a later row group is named by its row in the whole file', async () => {
    const f = at('nan.parquet');
    await writeParquet(f, `SELECT CASE WHEN i = 6500 THEN 'nan'::DOUBLE ELSE i * 1.0 END AS x, 1.0 AS y, 2.0 AS z FROM range(7000) t(i)`, { rowGroupSize: 2048 });
    await assert.rejects(
      writePrecomputedAnnotations(f, 'xyz', 'point', { outputDir: at('nan-out'), memoryLimit: 0 }),
      (e: unknown) => e instanceof ExportError && /row 6501\b/.test(e.message) && String(e.details.rows) === '6500',
    );
  });

  it('cancelling while entries are written to temporary files leaves nothing behind', async () => {
    const ac = new AbortController();
    const out = at('cancel-out');
    await assert.rejects(
      writePrecomputedAnnotations(parquet, 'xyz', 'point', {
        outputDir: out,
        memoryLimit: 0,
        relationships: ['body'],
        signal: ac.signal,
        onProgress: (p) => {
          if (p.phase === 'by_id') ac.abort();
        },
      }),
      AbortError,
    );
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(tmp.dir).filter((n) => n.includes('ng-annotations-tmp')), []);
  });

  it('in the VS Code export worker (reader and shard threads inside a thread), with the mapping\'s memoryLimit', async () => {
    // Started as src/extension/runExport.ts does (npm test builds dist/ first).
    const worker = new Worker(join(DIST, 'exportWorker.js'));
    const link = new Endpoint<HostToWorker, WorkerToHost>((m) => worker.postMessage(m), { requests: {}, events: {} });
    worker.on('message', (m) => void link.receive(m));
    try {
      const mapping: Mapping = { version: 1, annotationType: 'point', coords: ['x', 'y', 'z'], properties: ['kind'], relationships: ['body'], output: at('worker-stream'), seed: 7, chunkLimit: 40, memoryLimit: 0 };
      const summary = await within(120_000, 'the VS Code export worker to finish the export', link.request('export', { input: parquet, mapping }));
      assert.equal(summary.mode, 'stream');
      await writePrecomputedAnnotations(parquet, 'xyz', 'point', { properties: ['kind'], relationships: ['body'], outputDir: at('worker-memory'), seed: 7, targetChunkLimit: 40 });
      const a = readTree(at('worker-memory'));
      const b = readTree(at('worker-stream'));
      assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
      for (const [f, bytes] of a) assert.ok(bytes.equals(b.get(f)!), `${f} differs`);
    } finally {
      link.dispose('done');
      await worker.terminate();
    }
  });

  it('chooses by the estimate: in memory under the limit, through temporary files over it; CSV stays in memory with a warning', async () => {
    const small = await writePrecomputedAnnotations(parquet, 'xyz', 'point', { outputDir: at('auto-1'), memoryLimit: 10_000_000 });
    assert.equal(small.mode, 'memory');
    const big = await writePrecomputedAnnotations(parquet, 'xyz', 'point', { outputDir: at('auto-2'), memoryLimit: 100_000 });
    assert.equal(big.mode, 'stream');
    const csv = at('p.csv');
    writeFileSync(csv, 'x,y,z\n1,2,3\n4,5,6\n');
    const s = await writePrecomputedAnnotations(csv, 'xyz', 'point', { outputDir: at('auto-3'), memoryLimit: 0 });
    assert.equal(s.mode, 'memory');
    assert.ok(s.warnings.some((w) => /CSV and TSV files are typed over the whole file/.test(w)), s.warnings.join('\n'));
    await assert.rejects(writePrecomputedAnnotations(csv, 'xyz', 'point', { outputDir: at('auto-4'), memoryLimit: -1 }), /memoryLimit must be/);
  });
});
