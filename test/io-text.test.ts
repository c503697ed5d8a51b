// CSV/TSV reader: typing, exact integers, text-format edge cases and error messages.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Table, makeVector } from 'apache-arrow';
import { InputError, detectFormat, previewTable, readTable } from '../src/io/index';
import { tempDir } from './io-fixtures';

const tmp = tempDir();
after(tmp.cleanup);
let n = 0;
function file(content: string | Buffer, ext = 'csv'): string {
  const p = join(tmp.dir, `t${n++}.${ext}`);
  writeFileSync(p, content);
  return p;
}
const col = (t: Table, name: string) => [...t.getChild(name)!];
const typeOf = (t: Table, name: string) => String(t.schema.fields.find((f) => f.name === name)!.type);

async function rejects(
  p: Promise<unknown>,
  check: { file?: string; column?: string; row?: number; line?: number; value?: string; message?: RegExp },
): Promise<InputError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof InputError, `expected InputError, got ${e}`);
    const { message, ...fields } = check;
    if (message) assert.match(e.message, message);
    for (const [k, v] of Object.entries(fields)) assert.equal((e as unknown as Record<string, unknown>)[k], v, k);
    return e;
  }
  assert.fail('expected the read to fail');
}

describe('text reader: column typing', () => {
  it('keeps uint64 extremes and int64 negatives exact', async () => {
    const p = file(
      'u,s\n0,-9223372036854775808\n9007199254740993,-1\n9223372036854775808,9223372036854775807\n18446744073709551615,0\n',
    );
    const t = await readTable(p);
    assert.equal(typeOf(t, 'u'), 'Uint64');
    assert.equal(typeOf(t, 's'), 'Int64');
    assert.deepEqual(col(t, 'u'), [0n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]);
    assert.deepEqual(col(t, 's'), [-(2n ** 63n), -1n, 2n ** 63n - 1n, 0n]);
  });

  it('picks the smallest integer type, unsigned first', async () => {
    const p = file(
      'a,b,c,d,e,f,g\n0,-128,0,-32768,0,-2147483648,-1\n255,127,65535,32767,4294967295,2147483647,9223372036854775807\n',
    );
    const t = await readTable(p);
    assert.deepEqual(
      ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((c) => typeOf(t, c)),
      ['Uint8', 'Int8', 'Uint16', 'Int16', 'Uint32', 'Int32', 'Int64'],
    );
    assert.deepEqual(col(t, 'e'), [0, 4294967295]);
    assert.deepEqual(col(t, 'f'), [-2147483648, 2147483647]);
  });

  it('widens one past a boundary', async () => {
    const t = await readTable(file('a,b\n256,-129\n0,0\n'));
    assert.equal(typeOf(t, 'a'), 'Uint16');
    assert.equal(typeOf(t, 'b'), 'Int16');
  });

  it('types decimals, exponents, nan and inf as Float64, with empty cells as nulls', async () => {
    const t = await readTable(file('x,y\n1.5,1\n-2e3,\n.25,NaN\n7,inf\n,-Infinity\n'));
    assert.equal(typeOf(t, 'x'), 'Float64');
    assert.equal(typeOf(t, 'y'), 'Float64');
    assert.deepEqual(col(t, 'x'), [1.5, -2000, 0.25, 7, null]);
    const y = col(t, 'y');
    assert.equal(y[0], 1);
    assert.equal(y[1], null);
    assert.ok(Number.isNaN(y[2]));
    assert.deepEqual(y.slice(3), [Infinity, -Infinity]);
  });

  it('keeps empty cells in an integer column as nulls, not zeros', async () => {
    const t = await readTable(file('id,v\n1,5\n2,\n3,7\n'));
    assert.equal(typeOf(t, 'v'), 'Uint8');
    assert.deepEqual(col(t, 'v'), [5, null, 7]);
  });

  it('types true/false (any case) as Bool and other text as Utf8', async () => {
    const t = await readTable(file('b,s,c\ntrue,soma,#ff0000\nFALSE,axon,#00ff00aa\nTrue,,#0000ff\n'));
    assert.equal(typeOf(t, 'b'), 'Bool');
    assert.deepEqual(col(t, 'b'), [true, false, true]);
    assert.equal(typeOf(t, 's'), 'Utf8');
    assert.deepEqual(col(t, 's'), ['soma', 'axon', null]);
    assert.deepEqual(col(t, 'c'), ['#ff0000', '#00ff00aa', '#0000ff']);
  });

  it('reads relationship cells as List<Uint64>: [a, b], a;b, plain, [] and empty', async () => {
    const p = file('id,rel\n1,"[10, 11]"\n2,10;11;18446744073709551615\n3,7\n4,[]\n5,\n6,9007199254740993\n');
    const t = await readTable(p);
    assert.equal(typeOf(t, 'rel'), 'List<Uint64>');
    const rel = col(t, 'rel').map((v) => (v == null ? null : [...(v as Iterable<bigint>)]));
    assert.deepEqual(rel, [[10n, 11n], [10n, 11n, 2n ** 64n - 1n], [7n], [], null, [2n ** 53n + 1n]]);
  });

  it('keeps a list column with a malformed cell as text, so an unused column never blocks a read', async () => {
    const p = file('id,rel,other\n1,"[10, 11]",10;;11\n2,"[10, x]",10;11\n');
    const t = await readTable(p);
    assert.equal(typeOf(t, 'rel'), 'Utf8');
    assert.equal(typeOf(t, 'other'), 'Utf8');
    assert.deepEqual(col(t, 'rel'), ['[10, 11]', '[10, x]']);
  });

  it('names the column, row, line and value of a malformed cell in a column read as relationships', async () => {
    const p = file('id,rel,note\n1,"[10, 11]",x\n2,7,"a\nb"\n3,"[10, x]",y\n');
    const e = await rejects(readTable(p, { relationships: ['rel'] }), { column: 'rel', row: 3, line: 5, value: '[10, x]' });
    assert.match(e.message, /column 'rel', row 3 \(line 5\): malformed relationship cell: "\[10, x\]"/);
    await rejects(readTable(file('id,rel\n1,10;11\n2,10;;11\n'), { relationships: ['rel'] }), { row: 2, value: '10;;11' });
    await rejects(readTable(file('id,rel\n1,5\n2,-3;4\n'), { relationships: ['rel'] }), { row: 2, value: '-3;4' });
    await rejects(readTable(file('id,rel\n1,[18446744073709551616]\n'), { relationships: ['rel'] }), { row: 1 });
  });

  it('parses columns named as relationships strictly', async () => {
    const p = file('id,rel,notes\n1,5,a;b\n2,six,c;d\n');
    const t = await readTable(p);
    assert.equal(typeOf(t, 'rel'), 'Utf8'); // not list-shaped at all: plain text
    assert.equal(typeOf(t, 'notes'), 'Utf8');
    await rejects(readTable(p, { relationships: ['rel'] }), { column: 'rel', row: 2, value: 'six' });
    const ok = await readTable(p, { relationships: ['id'] });
    assert.equal(typeOf(ok, 'id'), 'Uint8'); // plain integers stay a scalar column
  });

  it('keeps integers beyond uint64 (or below int64) as their exact text, so checks can quote them', async () => {
    const t = await readTable(file('id,s\n1,-9223372036854775809\n18446744073709551616,1\n'));
    assert.equal(typeOf(t, 'id'), 'Utf8');
    assert.deepEqual(col(t, 'id'), ['1', '18446744073709551616']);
    assert.equal(typeOf(t, 's'), 'Utf8');
    assert.deepEqual(col(t, 's'), ['-9223372036854775809', '1']);
  });

  it('mixes long integers with decimals as Float64; negatives with values past int64 as text', async () => {
    const t = await readTable(file('a,b,c\n123456789012345678,-5,0\n1.5,9223372036854775808,0.0\n,,-0\n'));
    assert.equal(typeOf(t, 'a'), 'Float64');
    assert.deepEqual(col(t, 'a'), [123456789012345678, 1.5, null]);
    assert.equal(typeOf(t, 'b'), 'Utf8');
    assert.deepEqual(col(t, 'b'), ['-5', '9223372036854775808', null]);
    assert.equal(typeOf(t, 'c'), 'Float64');
    assert.deepEqual(col(t, 'c'), [0, 0, -0]);
  });

  it('types an all-empty column as Float64 nulls (as pandas does)', async () => {
    const t = await readTable(file('a,b\n1,\n2,\n'));
    assert.equal(typeOf(t, 'b'), 'Float64');
    assert.deepEqual(col(t, 'b'), [null, null]);
  });
});

describe('text reader: file format', () => {
  it('tolerates a UTF-8 BOM and CRLF line ends', async () => {
    const p = file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('id,name\r\n1,é\r\n2,b\r\n')]));
    const t = await readTable(p);
    assert.deepEqual(t.schema.fields.map((f) => f.name), ['id', 'name']);
    assert.deepEqual(col(t, 'name'), ['é', 'b']);
    // a BOM right before a quoted header field
    const q = file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('"id","x y"\r\n1,2\r\n')]));
    assert.deepEqual((await readTable(q)).schema.fields.map((f) => f.name), ['id', 'x y']);
  });

  it('reads quoted fields with delimiters, quotes and newlines, and counts lines through them', async () => {
    const p = file('id,text\n1,"a, b"\n2,"line1\nline2\r\nline3"\n3,"say ""hi"""\n4,x,extra\n');
    const e = await rejects(readTable(p), { row: 4, line: 7 });
    assert.match(e.message, /row 4 \(line 7\): row has 3 fields but the header has 2/);
    const ok = file('id,text\n1,"a, b"\n2,"line1\nline2"\n3,"say ""hi"""\n');
    assert.deepEqual(col(await readTable(ok), 'text'), ['a, b', 'line1\nline2', 'say "hi"']);
  });

  it('names the line of a short row', async () => {
    await rejects(readTable(file('a,b,c\n1,2,3\n4,5\n')), { row: 2, line: 3, message: /2 fields but the header has 3/ });
  });

  it('skips blank lines but keeps counting them', async () => {
    const p = file('a,b\n1,2\n\n3,4\n\n5\n');
    await rejects(readTable(p), { row: 3, line: 6 });
  });

  it('reports an unclosed quote', async () => {
    await rejects(readTable(file('a,b\n1,2\n3,"open\n4,5\n')), { message: /quoted field is not closed/ });
  });

  it('rejects an empty file; reads a header-only file as zero rows', async () => {
    await rejects(readTable(file('')), { message: /empty/ });
    const t = await readTable(file('x,y,z\n'));
    assert.equal(t.numRows, 0);
    assert.deepEqual(t.schema.fields.map((f) => f.name), ['x', 'y', 'z']);
  });

  it('rejects duplicate header names and names empty ones like pandas', async () => {
    await rejects(readTable(file('a,b,a\n1,2,3\n')), { message: /column 'a' twice/ });
    const t = await readTable(file(',x\n0,5\n1,6\n'));
    assert.deepEqual(t.schema.fields.map((f) => f.name), ['Unnamed: 0', 'x']);
  });

  it('reads TSV (.tsv, .tab, and .txt with tabs)', async () => {
    const body = 'id\tname\n1\ta,b\n2\t"q"\n3\tsay "hi"\n';
    for (const ext of ['tsv', 'tab', 'txt']) {
      const p = file(body, ext);
      assert.equal(detectFormat(p), 'tsv');
      const t = await readTable(p);
      assert.deepEqual(col(t, 'name'), ['a,b', 'q', 'say "hi"']);
    }
    assert.equal(detectFormat(file('a,b\n1,2\n', 'txt')), 'csv');
    // a .csv that is really tab-separated
    assert.deepEqual(col(await readTable(file(body, 'csv')), 'name'), ['a,b', 'q', 'say "hi"']);
  });

  it('selects columns and names a missing one', async () => {
    const p = file('a,b,c\n1,2,3\n');
    const t = await readTable(p, { columns: ['c', 'a'] });
    assert.deepEqual(t.schema.fields.map((f) => f.name), ['c', 'a']);
    await rejects(readTable(p, { columns: ['nope'] }), { column: 'nope', message: /no such column/ });
  });

  it('honours an explicit format and yields text as record batches', async () => {
    const { readBatches } = await import('../src/io/index');
    const p = file('a;b\n1;2\n', 'dat');
    assert.throws(() => detectFormat(p), InputError);
    const t = await readTable(file('a\tb\n1\t2\n', 'dat'), { format: 'tsv' });
    assert.deepEqual(col(t, 'b'), [2]);
    const batches = [];
    for await (const b of readBatches(file('a,b\n1,2\n3,4\n'))) batches.push(b);
    assert.equal(batches.length, 1);
    assert.equal(batches[0].numRows, 2);
  });

  it('names a missing file', async () => {
    await rejects(readTable(join(tmp.dir, 'missing.csv')), { message: /missing\.csv: no such file/ });
  });

  it('reads a file spanning many stream chunks exactly (multi-byte text across boundaries)', async () => {
    const rows = 120_000;
    const lines = ['id,x,label,rel'];
    for (let i = 0; i < rows; i++) lines.push(`${BigInt(i) + 2n ** 60n},${i / 8},"ü${i % 7}, é",${i};${i + 1}`);
    const p = file(lines.join('\n') + '\n');
    let progressCalls = 0;
    const t = await readTable(p, { onProgress: () => progressCalls++ });
    assert.equal(t.numRows, rows);
    assert.ok(progressCalls > 1);
    const id = t.getChild('id')!;
    const x = t.getChild('x')!;
    const label = t.getChild('label')!;
    const rel = t.getChild('rel')!;
    for (const i of [0, 1, 54321, rows - 1]) {
      assert.equal(id.get(i), BigInt(i) + 2n ** 60n);
      assert.equal(x.get(i), i / 8);
      assert.equal(label.get(i), `ü${i % 7}, é`);
      assert.deepEqual([...rel.get(i)], [BigInt(i), BigInt(i + 1)]);
    }
  });

  it('stops when aborted', async () => {
    const p = file('a\n' + '1\n'.repeat(1000));
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(readTable(p, { signal: ac.signal }), (e: Error) => e.name === 'AbortError');
    // and in the middle of a file larger than one stream chunk
    const big = file('a,b\n' + '12345,67890\n'.repeat(300_000));
    const mid = new AbortController();
    let calls = 0;
    await assert.rejects(
      readTable(big, { signal: mid.signal, onProgress: () => (++calls === 1 ? mid.abort() : undefined) }),
      (e: Error) => e.name === 'AbortError',
    );
    assert.equal(calls, 1);
  });
});

describe('text preview', () => {
  it('returns the first rows as display strings without reading the rest', async () => {
    const p = file('id,x,rel\n1,0.5,"[1, 2]"\n2,1.5,3;4\n3,2.5,\nbroken row that is ragged\n');
    const pv = await previewTable(p, 2);
    assert.deepEqual(pv.columns, [
      { name: 'id', type: 'Uint8' },
      { name: 'x', type: 'Float64' },
      { name: 'rel', type: 'List<Uint64>' },
    ]);
    assert.deepEqual(pv.rows, [
      ['1', '0.5', '[1, 2]'],
      ['2', '1.5', '3;4'],
    ]);
    assert.equal(pv.totalRows, undefined);
    const all = await previewTable(file('a\n1\n2\n'), 10);
    assert.equal(all.totalRows, 2);
  });
});

describe('source rows', () => {
  it('maps a table row back to its file line', async () => {
    const { sourceRow } = await import('../src/io/index');
    const plain = await readTable(file('a\n1\n2\n'));
    assert.deepEqual(sourceRow(plain, 1), { row: 2, line: 3 });
    const shifted = await readTable(file('a,b\n1,"x\ny"\n\n2,z\n'));
    assert.deepEqual(sourceRow(shifted, 0), { row: 1, line: 2 });
    assert.deepEqual(sourceRow(shifted, 1), { row: 2, line: 5 });
  });
});

describe('cell storage', () => {
  it('keeps ASCII and then non-ASCII cells exact, and hands them to Arrow as Utf8', async () => {
    const { CellColumn } = await import('../src/io/cells');
    const c = new CellColumn();
    const values = ['abc', '', 'x'.repeat(70_000), 'é€😀', 'plain', ''];
    for (const v of values) c.push(v);
    assert.deepEqual(values.map((_, i) => c.get(i)), values);
    const data = c.toUtf8();
    assert.deepEqual([...makeVector(data)], values.map((v) => v || null));
  });
});

describe('diagnostics for the core', () => {
  it('finds the first non-numeric cell of a text column, with its line', async () => {
    const { firstNonNumericCell } = await import('../src/io/index');
    const t = await readTable(file('x,y\n1,"a\nb"\n2.5,c\nabc,d\n4,e\n'));
    assert.deepEqual(firstNonNumericCell(t, 'x'), { row: 3, line: 5, value: 'abc' });
    assert.equal(firstNonNumericCell(t, 'nope'), null);
    const numeric = await readTable(file('x\n1\nnan\n'));
    assert.equal(firstNonNumericCell(numeric, 'x'), null); // Float64, not text
  });
});

describe('text written by another tool', () => {
  it('reads a CSV and a TSV written by DuckDB to the same values as the Parquet copy of the table', async () => {
    const { duckdb } = await import('./io-fixtures');
    const base = join(tmp.dir, 'duck');
    await duckdb(
      `CREATE TABLE t AS SELECT * FROM (VALUES
        (0::UBIGINT, 'plain', -1.5::DOUBLE, (-9223372036854775807 - 1)::BIGINT),
        (18446744073709551615::UBIGINT, 'comma, "quote" and' || chr(10) || 'newline', 2.25::DOUBLE, 9223372036854775807::BIGINT),
        (9007199254740993::UBIGINT, 'ünïcödé ✓', NULL, 0::BIGINT),
        (5::UBIGINT, NULL, 1e300::DOUBLE, -5::BIGINT)
      ) v(id, label, x, s)`,
      `COPY t TO '${base}.csv' (HEADER)`,
      `COPY t TO '${base}.tsv' (HEADER, DELIMITER '\t')`,
      `COPY t TO '${base}.parquet' (FORMAT parquet)`,
    );
    const reference = await readTable(`${base}.parquet`);
    for (const ext of ['csv', 'tsv']) {
      const t = await readTable(`${base}.${ext}`);
      assert.equal(t.numRows, 4);
      for (const name of ['id', 'label', 'x', 's']) {
        const norm = (v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
        assert.deepEqual(col(t, name).map(norm), col(reference, name).map(norm), `${ext} ${name}`);
      }
      assert.equal(typeOf(t, 'id'), 'Uint64');
      assert.equal(typeOf(t, 's'), 'Int64');
    }
  });
});
