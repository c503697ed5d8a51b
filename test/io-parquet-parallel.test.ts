// Row groups decoded on worker threads (src/io/parquetParallel.ts) must give exactly the table the
// single-threaded reader gives, fail the same way on corrupt data, and stop when aborted.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Table } from 'apache-arrow';
import { InputError } from '../src/io/index';
import { openParquet, readParquetBatches, readParquetTable } from '../src/io/parquet';
import { readParquetBatchesParallel, readParquetTableParallel } from '../src/io/parquetParallel';
import { tempDir, writeParquet } from './io-fixtures';
import { within } from './helpers/bounded';

const tmp = tempDir('ng-io-par-');
after(tmp.cleanup);
const at = (name: string) => join(tmp.dir, name);
const parallel = { threads: 2, minParallelBytes: 0 };

function rowsOf(t: Table): unknown[][] {
  const cols = t.schema.fields.map((f) => t.getChild(f.name)!);
  const out: unknown[][] = [];
  for (let i = 0; i < t.numRows; i++) {
    out.push(cols.map((c) => {
      const v = c.get(i);
      return v != null && typeof v === 'object' ? [...(v as Iterable<unknown>)] : v;
    }));
  }
  return out;
}

describe('parquet reader on worker threads', () => {
  it('reads every column kind exactly as the single-threaded reader, across many row groups', async () => {
    const p = at('kinds.parquet');
    await writeParquet(
      p,
      `SELECT (i * 1000003 + 9007199254740993)::UBIGINT AS id, (i - 6000)::BIGINT * 1537228672809129 AS s, i / 7 AS x, (i % 11)::FLOAT AS f,
              CASE WHEN i % 4 = 0 THEN NULL ELSE i % 3 = 0 END AS flag, (i % 200 - 100)::TINYINT AS i8, (i % 60000)::USMALLINT AS u16,
              CASE WHEN i % 6 = 0 THEN NULL ELSE (['soma','axon','dendrite ✓'])[1 + (i % 3)::INT] END AS kind,
              CASE WHEN i % 5 = 0 THEN NULL WHEN i % 5 = 1 THEN []::UBIGINT[] ELSE [i, 18446744073709551615 - i]::UBIGINT[] END AS rel,
              CASE WHEN i % 7 = 0 OR (i >= 4096 AND i < 6144) THEN NULL ELSE i * 0.5 END AS nx,
              CASE WHEN i >= 2048 AND i < 2100 THEN NULL ELSE i::UBIGINT END AS nid
       FROM range(12000) t(i) ORDER BY i`,
      { codec: 'zstd', rowGroupSize: 2048 }, // DuckDB rounds group sizes to multiples of 2048
    );
    const serial = await readParquetTable(p);
    const progress: number[] = [];
    const par = await readParquetTableParallel(p, { ...parallel, onProgress: (d, t) => progress.push(d / t) });
    assert.ok(par.batches.length >= 5, `expected several row groups, got ${par.batches.length}`);
    assert.deepEqual(par.schema.fields.map((f) => `${f.name}:${f.type}`), serial.schema.fields.map((f) => `${f.name}:${f.type}`));
    assert.deepEqual(rowsOf(par), rowsOf(serial));
    assert.equal(progress.at(-1), 1);
    // Only the asked columns, in the asked order.
    const some = await readParquetTableParallel(p, { ...parallel, columns: ['rel', 'id'] });
    assert.deepEqual(some.schema.fields.map((f) => f.name), ['rel', 'id']);
    assert.deepEqual(rowsOf(some), rowsOf(serial).map((r) => [r[8], r[0]]));
  });

  it('streams row groups in file order, each batch as the single-threaded reader gives it', async () => {
    const p = at('kinds.parquet');
    const serial: Table[] = [];
    for await (const b of readParquetBatches(p)) serial.push(new Table(b));
    const streamed: Table[] = [];
    for await (const b of readParquetBatchesParallel(p, parallel)) streamed.push(new Table(b));
    assert.equal(streamed.length, serial.length);
    streamed.forEach((t, g) => assert.deepEqual(rowsOf(t), rowsOf(serial[g]), `row group ${g}`));
    // Stopping early ends the threads (the test would not exit otherwise), and abort stops the read.
    for await (const _ of readParquetBatchesParallel(p, parallel)) break;
    const ac = new AbortController();
    await assert.rejects(async () => {
      for await (const _ of readParquetBatchesParallel(p, { ...parallel, signal: ac.signal })) ac.abort();
    }, (e: Error) => e.name === 'AbortError');
  });

  it('a corrupt row group is an InputError naming the file, as on one thread', async () => {
    const good = at('good.parquet');
    await writeParquet(good, `SELECT i AS a, i * 2.5 AS b FROM range(20000) t(i)`, { codec: 'snappy', rowGroupSize: 2048 });
    const mangled = Buffer.from(readFileSync(good));
    mangled.fill(0xff, mangled.length >> 1, (mangled.length >> 1) + 3000);
    const p = at('mangled-par.parquet');
    writeFileSync(p, mangled);
    const check = (e: Error) => {
      assert.ok(e instanceof InputError, String(e));
      // The damage spans pages of both columns; which worker reports first is a matter of timing.
      assert.match(e.message, /^mangled-par\.parquet(, column '[ab]')?: /);
      assert.equal(e.file, p);
      return true;
    };
    await assert.rejects(readParquetTableParallel(p, parallel), check);
    await assert.rejects(async () => {
      for await (const _ of readParquetBatchesParallel(p, parallel));
    }, check);
  });

  it('one corrupt row group, first or last, fails both readers instead of leaving them waiting', async () => {
    // The reply for the damaged row group is the only error. It must reject that row group's own read:
    // the streaming reader waits on exactly that read when it is the first, and the whole-file reader
    // when it is the last one in flight (both waited forever before the fix, as a race in the test above).
    const good = at('good-one.parquet');
    await writeParquet(good, `SELECT i AS a, i * 2.5 AS b FROM range(20000) t(i)`, { codec: 'snappy', rowGroupSize: 2048 });
    const pq = await openParquet(good);
    await pq.handle.close();
    const groups = pq.metadata.row_groups;
    assert.ok(groups.length >= 4, `row groups: ${groups.length}`);
    for (const g of [0, groups.length - 1]) {
      const meta = groups[g].columns[0].meta_data!;
      const from = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
      const length = Number(meta.total_compressed_size);
      const mangled = Buffer.from(readFileSync(good));
      mangled.fill(0xff, from + (length >> 2), from + length - (length >> 2));
      const p = at(`one-bad-${g}.parquet`);
      writeFileSync(p, mangled);
      const check = (e: Error) => {
        assert.ok(e instanceof InputError, String(e));
        assert.equal(e.file, p);
        return true;
      };
      await assert.rejects(within(20_000, `the whole-file reader on ${p}`, readParquetTableParallel(p, parallel)), check);
      await assert.rejects(
        within(20_000, `the streaming reader on ${p}`, (async () => {
          for await (const _ of readParquetBatchesParallel(p, parallel));
        })()),
        check,
      );
    }
  });

  it('stops when aborted', async () => {
    const p = at('abort-par.parquet');
    await writeParquet(p, `SELECT i AS a FROM range(40000) t(i)`, { rowGroupSize: 1000 });
    const ac = new AbortController();
    await assert.rejects(
      readParquetTableParallel(p, { ...parallel, signal: ac.signal, onProgress: () => ac.abort() }),
      (e: Error) => e.name === 'AbortError',
    );
  });
});

describe('the built CLI on a Parquet file large enough for the reader threads', () => {
  it('writes exactly what the library writes from the single-threaded reader', async () => {
    const { CLI, ensureBuilt, runOk } = await import('./helpers/cli');
    const { readTree } = await import('./helpers/common');
    const { writePrecomputedAnnotations } = await import('../src/export/run');
    ensureBuilt();
    const p = at('large.parquet');
    // ~13 MB uncompressed: over the 8 MB threshold, several row groups.
    await writeParquet(
      p,
      `SELECT (i * 7919 % 400000)::UBIGINT AS annotation_id, (i % 997) * 1.5 AS x, (i % 991) * 2.5 AS y, (i % 983) * 0.5 AS z,
              (i % 13)::FLOAT AS score, (['a','b','c'])[1 + (i % 3)::INT] AS kind, (i % 5000)::UBIGINT AS body
       FROM range(400000) t(i)`,
      { codec: 'uncompressed', rowGroupSize: 65536 },
    );
    assert.ok(readFileSync(p).length > 8 << 20);
    // The bundle finds its reader threads' script beside it (else it would quietly read on one thread).
    assert.ok(existsSync(join(dirname(CLI), 'parquetWorker.js')), 'dist/parquetWorker.js beside the CLI');
    const args = ['--type', 'point', '--properties', 'score,kind', '--relationships', 'body', '--seed', '7'];
    await runOk(['export', p, ...args, '--out', at('cli-out')]);
    const table = await readParquetTable(p);
    await writePrecomputedAnnotations(table, 'xyz', 'point', {
      outputDir: at('lib-out'),
      properties: ['score', 'kind'],
      relationships: ['body'],
      seed: 7,
      maxThreads: 1,
    });
    const cli = readTree(at('cli-out'));
    const lib = readTree(at('lib-out'));
    assert.deepEqual([...cli.keys()].sort(), [...lib.keys()].sort());
    for (const [name, bytes] of lib) assert.ok(bytes.equals(cli.get(name)!), `${name} differs`);
  });
});
