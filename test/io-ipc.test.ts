// Arrow IPC / Feather v2 reader: file and stream formats, LZ4/ZSTD body compression (fixtures
// compressed by the lz4/zstd command-line tools), pandas index metadata, truncated files.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  RecordBatch,
  Schema,
  Table,
  tableFromArrays,
  tableToIPC,
} from 'apache-arrow';
import { InputError, detectFormat, pandasIndex, previewTable, readBatches, readTable } from '../src/io/index';
import { compressedIpcTable, tempDir } from './io-fixtures';

const tmp = tempDir();
after(tmp.cleanup);
const at = (name: string) => join(tmp.dir, name);
const fixture = (name: string) => join(__dirname, 'fixtures', name);

function withMetadata(t: Table, meta: Record<string, string>): Table {
  const schema = new Schema(t.schema.fields, new Map(Object.entries(meta)));
  return new Table(schema, t.batches.map((b) => new RecordBatch(schema, b.data)));
}

function assertSameRows(actual: Table, expected: Table): void {
  assert.equal(actual.numRows, expected.numRows);
  assert.deepEqual(actual.schema.fields.map((f) => `${f.name}:${f.type}`), expected.schema.fields.map((f) => `${f.name}:${f.type}`));
  for (const f of expected.schema.fields) {
    assert.deepEqual([...actual.getChild(f.name)!], [...expected.getChild(f.name)!], f.name);
  }
}

function countMagic(bytes: Buffer, magic: number[]): number {
  let n = 0;
  for (let i = bytes.indexOf(Buffer.from(magic)); i >= 0; i = bytes.indexOf(Buffer.from(magic), i + 1)) n++;
  return n;
}

describe('arrow IPC reader', () => {
  it('detects the format from .arrow .feather .ipc .arrows, any case', () => {
    for (const p of ['a.arrow', 'b.FEATHER', 'c.ipc', 'd.arrows']) assert.equal(detectFormat(p), 'arrow');
    assert.equal(detectFormat('x.Parquet'), 'parquet');
    assert.equal(detectFormat('x.pq'), 'parquet');
    assert.equal(detectFormat('x.parq'), 'parquet');
    assert.throws(() => detectFormat('x.xlsx'), (e: Error) => e instanceof InputError && /unknown input format '\.xlsx'/.test(e.message));
  });

  for (const [name, magic] of [
    ['lz4.feather', [0x04, 0x22, 0x4d, 0x18]],
    ['zstd.feather', [0x28, 0xb5, 0x2f, 0xfd]],
    ['zstd.arrows', [0x28, 0xb5, 0x2f, 0xfd]],
  ] as const) {
    it(`decodes ${name} (body compressed by the ${name.split('.')[0]} CLI)`, async () => {
      // The fixture really holds compressed buffers, so the registered codec is exercised.
      assert.ok(countMagic(readFileSync(fixture(name)), [...magic]) >= 2);
      const t = await readTable(fixture(name));
      assertSameRows(t, compressedIpcTable());
      assert.deepEqual([...t.getChild('id')!].slice(0, 4), [0n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]);
      assert.deepEqual([...t.getChild('s')!].slice(0, 3), [-(2n ** 63n), -1n, 2n ** 63n - 1n]);
    });
  }

  it('reads uncompressed file and stream formats, batch by batch, with nulls', async () => {
    const a = tableFromArrays({ id: new BigUint64Array([0n, 2n ** 64n - 1n]), x: new Float64Array([1, 2]) });
    const b = tableFromArrays({ id: new BigUint64Array([7n]), x: new Float64Array([3]) });
    const withNull = tableFromArrays({ id: [1n, null, 3n] as never, name: ['a', null, 'c'] });
    const two = new Table([...a.batches, ...b.batches]);
    for (const [fmt, ext] of [['file', 'arrow'], ['stream', 'arrows']] as const) {
      const p = at(`two.${ext}`);
      writeFileSync(p, tableToIPC(two, fmt));
      const batches = [];
      for await (const batch of readBatches(p)) batches.push(batch);
      assert.equal(batches.length, 2);
      assertSameRows(await readTable(p), two);
      const q = at(`nulls.${ext}`);
      writeFileSync(q, tableToIPC(withNull, fmt));
      const t = await readTable(q);
      assert.deepEqual([...t.getChild('name')!], ['a', null, 'c']);
      assert.equal(t.getChild('id')!.get(1), null);
    }
  });

  it('keeps pandas metadata: a named index column, __index_level_0__, and a RangeIndex', async () => {
    const base = tableFromArrays({ x: new Float64Array([1, 2]), cell: new BigUint64Array([2n ** 63n, 5n]) });
    const cases: [Record<string, unknown>, unknown][] = [
      [{ index_columns: ['cell'] }, { column: 'cell' }],
      [{ index_columns: [{ kind: 'range', name: null, start: 100, stop: 102, step: 1 }] }, { range: { start: 100n, step: 1n } }],
      [{ index_columns: ['a', 'b'] }, null], // MultiIndex: not an id source
      [{ index_columns: ['missing'] }, null],
    ];
    for (const [i, [meta, expected]] of cases.entries()) {
      const p = at(`pandas${i}.feather`);
      writeFileSync(p, tableToIPC(withMetadata(base, { pandas: JSON.stringify({ ...meta, columns: [] }) }), 'file'));
      const t = await readTable(p);
      assert.deepEqual(pandasIndex(t), expected);
    }
    const level0 = tableFromArrays({ x: new Float64Array([1]), __index_level_0__: new BigInt64Array([42n]) });
    const p = at('level0.feather');
    writeFileSync(p, tableToIPC(withMetadata(level0, { pandas: JSON.stringify({ index_columns: ['__index_level_0__'] }) })));
    const t = await readTable(p);
    assert.deepEqual(pandasIndex(t), { column: '__index_level_0__' });
    assert.equal(t.getChild('__index_level_0__')!.get(0), 42n);
    assert.equal(pandasIndex(base), null);
  });

  it('reports truncated, garbage and Feather v1 files as InputErrors naming the file', async () => {
    const file = readFileSync(fixture('lz4.feather'));
    const stream = readFileSync(fixture('zstd.arrows'));
    const cases: [string, Buffer, RegExp][] = [
      ['cut.feather', file.subarray(0, file.length >> 1), /truncated/],
      ['cut-end.feather', file.subarray(0, file.length - 10), /truncated/],
      ['cut.arrows', stream.subarray(0, stream.length - 10), /truncated/],
      ['cut-head.arrows', stream.subarray(0, 100), /truncated/],
      ['garbage.arrow', Buffer.from('this is not arrow data at all'), /not a valid Arrow/],
      ['v1.feather', Buffer.from('FEA1\0\0\0\0\0\0\0\0'), /Feather v1/],
      ['empty.arrow', Buffer.alloc(0), /empty/],
    ];
    for (const [name, bytes, why] of cases) {
      const p = at(name);
      writeFileSync(p, bytes);
      await assert.rejects(readTable(p), (e: Error) => {
        assert.ok(e instanceof InputError, `${name}: ${e}`);
        assert.ok(e.message.startsWith(`${name}: `), e.message);
        assert.match(e.message, why);
        return true;
      });
    }
  });

  it('keeps the columns of a file with no record batches', async () => {
    const empty = new Table(new Schema(tableFromArrays({ id: new BigUint64Array(0), x: new Float64Array(0) }).schema.fields));
    for (const [fmt, ext] of [['file', 'arrow'], ['stream', 'arrows']] as const) {
      const p = at(`empty.${ext}`);
      writeFileSync(p, tableToIPC(empty, fmt));
      const t = await readTable(p);
      assert.equal(t.numRows, 0);
      assert.deepEqual(t.schema.fields.map((f) => `${f.name}:${f.type}`), ['id:Uint64', 'x:Float64']);
      const pv = await previewTable(p, 5);
      assert.deepEqual(pv, { columns: [{ name: 'id', type: 'Uint64' }, { name: 'x', type: 'Float64' }], rows: [], totalRows: 0 });
    }
  });

  it('selects columns', async () => {
    const t = await readTable(fixture('zstd.feather'), { columns: ['kind', 'id'] });
    assert.deepEqual(t.schema.fields.map((f) => f.name), ['kind', 'id']);
    await assert.rejects(readTable(fixture('zstd.feather'), { columns: ['nope'] }), (e: InputError) => e.column === 'nope');
  });

  it('previews the first rows', async () => {
    const pv = await previewTable(fixture('lz4.feather'), 3);
    assert.deepEqual(pv.columns, [
      { name: 'id', type: 'Uint64' },
      { name: 's', type: 'Int64' },
      { name: 'x', type: 'Float64' },
      { name: 'kind', type: 'Utf8' },
    ]);
    assert.deepEqual(pv.rows, [
      ['0', '-9223372036854775808', '0', 'soma'],
      ['9007199254740993', '-1', '0.25', 'axon'],
      ['9223372036854775808', '9223372036854775807', '0.5', 'dendrite'],
    ]);
    assert.equal(pv.totalRows, 1000);
  });
});
