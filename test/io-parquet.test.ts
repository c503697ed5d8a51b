// Parquet reader on files written by DuckDB (every codec it has, lists, nulls, 64-bit extremes,
// pandas metadata) and by parquet-wasm (the legacy Hadoop-framed LZ4 codec).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Table, Utf8, type Vector, tableFromArrays, tableToIPC } from 'apache-arrow';
import { InputError, pandasIndex, previewTable, readBatches, readTable } from '../src/io/index';
import { openParquet, readRowGroup } from '../src/io/parquet';
import { tempDir, writeParquet } from './io-fixtures';

const tmp = tempDir();
after(tmp.cleanup);
const at = (name: string) => join(tmp.dir, name);
const values = (t: Table, name: string) => [...t.getChild(name)!].map((v) => (v != null && typeof v === 'object' ? [...(v as Iterable<unknown>)] : v));
const typeOf = (t: Table, name: string) => String(t.schema.fields.find((f) => f.name === name)!.type);

/** A Utf8 column's buffers as the reader made them: offsets, bytes and validity per row (one batch). */
function utf8Layout(v: Vector): { offsets: number[]; bytes: string; valid: boolean[] } {
  assert.equal(v.data.length, 1);
  const d = v.data[0]!;
  const offsets = [...(d.valueOffsets as Int32Array).subarray(0, d.length + 1)];
  return { offsets, bytes: Buffer.from((d.values as Uint8Array).subarray(0, offsets[d.length])).toString('hex'), valid: Array.from({ length: d.length }, (_, i) => d.getValid(i)) };
}

/**
 * The text (Utf8) chunks of rows [row, row + n) (one row group), each with its pages (type and
 * encoding, in order) and 'decoded' when parquetFlat.ts decoded it rather than leaving it to hyparquet.
 */
async function textChunks(pq: Awaited<ReturnType<typeof openParquet>>, file: string, row: number, n: number): Promise<Map<string, string[]>> {
  const { flatDecoder } = await import('../src/io/parquetFlat');
  const { checkParquetPages } = await import('../src/io/parquetPages');
  const { initZstd, parquetCompressors } = await import('../src/io/codecs');
  const { parquetHeader } = await import('hyparquet/src/column.js');
  await initZstd();
  const text = pq.schema.fields.filter((f) => f.type instanceof Utf8 && pq.metadata.schema.find((e) => e.name === f.name)?.type === 'BYTE_ARRAY').map((f) => f.name);
  const request = { columns: new Map(text.map((name) => [name, 'text' as const])), decoded: new Map() };
  const decode = flatDecoder(request);
  const chunks = new Map<string, string[]>();
  await checkParquetPages(pq.file, pq.metadata, pq.names, row, row + n, file, parquetCompressors, (c) => {
    if (!text.includes(c.name)) return;
    const pages: string[] = [];
    const reader = { view: c.view, offset: 0 };
    while (reader.offset < c.view.byteLength - 1) {
      const h = parquetHeader(reader);
      reader.offset += h.compressed_page_size;
      const encoding = h.data_page_header?.encoding ?? h.data_page_header_v2?.encoding;
      pages.push(encoding ? `${h.type}:${encoding}` : h.type);
    }
    decode(c);
    if (request.decoded.has(c.name)) pages.push('decoded');
    chunks.set(c.name, pages);
  });
  return chunks;
}

const SAMPLE = `SELECT * FROM (VALUES
  (0::UBIGINT, (-9223372036854775807 - 1)::BIGINT, [10, 11]::UBIGINT[], 'soma', 1.5::DOUBLE, 0.25::FLOAT, true, (-128)::TINYINT, 255::UTINYINT, (-32768)::SMALLINT, 65535::USMALLINT, (-2147483648)::INTEGER, 4294967295::UINTEGER),
  (9007199254740993::UBIGINT, -1::BIGINT, []::UBIGINT[], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (9223372036854775808::UBIGINT, 9223372036854775807::BIGINT, NULL, 'axon', -2.0::DOUBLE, -1e30::FLOAT, false, 127::TINYINT, 0::UTINYINT, 32767::SMALLINT, 0::USMALLINT, 2147483647::INTEGER, 0::UINTEGER),
  (18446744073709551615::UBIGINT, 0::BIGINT, [18446744073709551615]::UBIGINT[], 'soma', 3.0::DOUBLE, 2.0::FLOAT, true, 0::TINYINT, 1::UTINYINT, 0::SMALLINT, 1::USMALLINT, 0::INTEGER, 1::UINTEGER)
) t(id, s, rel, kind, x, f, flag, i8, u8, i16, u16, i32, u32)`;

function checkSample(t: Table, skip: string[] = []): void {
  assert.equal(t.numRows, 4);
  assert.deepEqual(
    t.schema.fields.map((f) => `${f.name}:${f.type}`),
    [
      'id:Uint64', 's:Int64', 'rel:List<Uint64>', 'kind:Utf8', 'x:Float64', 'f:Float32', 'flag:Bool',
      'i8:Int8', 'u8:Uint8', 'i16:Int16', 'u16:Uint16', 'i32:Int32', 'u32:Uint32',
    ],
  );
  assert.deepEqual(values(t, 'id'), [0n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]);
  assert.deepEqual(values(t, 's'), [-(2n ** 63n), -1n, 2n ** 63n - 1n, 0n]);
  assert.deepEqual(values(t, 'rel'), [[10n, 11n], [], null, [2n ** 64n - 1n]]);
  assert.deepEqual(values(t, 'kind'), ['soma', null, 'axon', 'soma']);
  assert.deepEqual(values(t, 'x'), [1.5, null, -2, 3]);
  assert.deepEqual(values(t, 'f'), [0.25, null, Math.fround(-1e30), 2]);
  assert.deepEqual(values(t, 'flag'), [true, null, false, true]);
  assert.deepEqual(values(t, 'i8'), [-128, null, 127, 0]);
  assert.deepEqual(values(t, 'u8'), [255, null, 0, 1]);
  assert.deepEqual(values(t, 'i16'), [-32768, null, 32767, 0]);
  assert.deepEqual(values(t, 'u16'), [65535, null, 0, 1]);
  assert.deepEqual(values(t, 'i32'), [-2147483648, null, 2147483647, 0]);
  if (!skip.includes('u32')) assert.deepEqual(values(t, 'u32'), [4294967295, null, 0, 1]);
}

describe('parquet reader', () => {
  for (const codec of ['uncompressed', 'snappy', 'gzip', 'zstd', 'brotli', 'lz4_raw']) {
    it(`reads ${codec} exactly`, async () => {
      const p = at(`sample-${codec}.parquet`);
      await writeParquet(p, SAMPLE, { codec });
      checkSample(await readTable(p));
    });
  }

  it('reads data page v2 (delta encodings)', async () => {
    const p = at('sample-v2.parquet');
    await writeParquet(p, SAMPLE, { codec: 'zstd', version: 'V2' });
    // DuckDB's V2 writer stores uint32 values >= 2^31 as a delta first value outside int32 (parquet-rs
    // rejects such a file: "first value too large"; hyparquet misreads it), so u32 is left out here.
    checkSample(await readTable(p), ['u32']);
  });

  it('reads the legacy Hadoop-framed LZ4 codec (written by parquet-rs via parquet-wasm)', async () => {
    const pw = await import('parquet-wasm');
    const src = tableFromArrays({ id: new BigUint64Array([0n, 2n ** 64n - 1n, 5n]), x: new Float64Array([1.5, 2, 3]) });
    const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.LZ4).build();
    const p = at('legacy-lz4.parquet');
    writeFileSync(p, pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(src, 'stream')), props));
    const t = await readTable(p);
    assert.deepEqual(values(t, 'id'), [0n, 2n ** 64n - 1n, 5n]);
    assert.deepEqual(values(t, 'x'), [1.5, 2, 3]);
  });

  it('flat numeric and text columns decoded by the page check equal hyparquet\'s decoding (types, nulls, dictionaries, plain text after a dictionary, page v1 and v2, codecs)', async () => {
    const select = `SELECT (i * 7919)::UBIGINT AS u64, (i - 3000)::BIGINT * 3037000493 AS i64,
        (i % 200 - 100)::TINYINT AS i8, (i % 60000)::USMALLINT AS u16, (i * 65537)::UINTEGER AS u32, (i - 4000)::INTEGER AS i32,
        CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 0.25)::DOUBLE END AS nx, ((i % 5) * 1.5)::DOUBLE AS lowcard, (i % 11)::FLOAT AS f32, i * 0.25 AS dec,
        CASE WHEN i % 3 = 0 THEN NULL ELSE (i % 4)::DOUBLE END AS nulldict, CASE WHEN i < 2500 THEN NULL ELSE i::UBIGINT END AS halfnull,
        'k' || (i % 5) AS name,
        CASE WHEN i % 4 = 0 THEN NULL ELSE (['soma', 'axon', 'é', '日本', '😀', ''])[1 + (i % 6)::INT] END AS label,
        CASE WHEN i % 9 = 0 THEN NULL WHEN i % 13 = 0 THEN '' ELSE md5(i::VARCHAR) || (['', 'é', '日本', '😀 ', repeat('ü', 40)])[1 + (i % 5)::INT] END AS text,
        (['x', 'y'])[1 + (i % 2)::INT]::ENUM('x', 'y') AS en
      FROM range(6000) t(i)`;
    const files: string[] = [];
    for (const [codec, version] of [['snappy', 'V1'], ['zstd', 'V2'], ['uncompressed', 'V1'], ['gzip', 'V1']] as const) {
      const f = at(`flat-${codec}-${version}.parquet`);
      await writeParquet(f, select, { codec, version, rowGroupSize: 2048 });
      files.push(f);
    }
    // arrow-rs (parquet-wasm): data pages v2 with dictionaries, plain v1 and v2 pages, and (a small
    // dictionary page limit) the high-cardinality text column switching from its dictionary to PLAIN
    // pages mid-chunk, v1 and v2. (DECIMAL, and DuckDB's DELTA_BINARY_PACKED and DELTA_LENGTH_BYTE_ARRAY
    // or arrow-rs's DELTA_BYTE_ARRAY columns, stay with hyparquet.)
    const pw = await import('parquet-wasm');
    const small = (b: InstanceType<typeof pw.WriterPropertiesBuilder>) => b.setDictionaryPageSizeLimit(4096).setDataPageSizeLimit(8192);
    for (const [name, builder] of [
      ['v2-dict', new pw.WriterPropertiesBuilder().setWriterVersion(pw.WriterVersion.V2).setCompression(pw.Compression.SNAPPY)],
      ['v1-plain', new pw.WriterPropertiesBuilder().setDictionaryEnabled(false).setCompression(pw.Compression.ZSTD)],
      ['v2-plain', new pw.WriterPropertiesBuilder().setWriterVersion(pw.WriterVersion.V2).setDictionaryEnabled(false)],
      ['v1-dict-then-plain', small(new pw.WriterPropertiesBuilder()).setCompression(pw.Compression.GZIP)],
      ['v2-dict-then-plain', small(new pw.WriterPropertiesBuilder().setWriterVersion(pw.WriterVersion.V2).setEncoding(pw.Encoding.PLAIN)).setCompression(pw.Compression.LZ4_RAW)],
    ] as const) {
      const f = at(`flat-arrow-rs-${name}.parquet`);
      writeFileSync(f, pw.writeParquet(pw.readParquet(new Uint8Array(readFileSync(files[0]!))), builder.build()));
      files.push(f);
    }
    // hyparquet-writer: REQUIRED text (dictionary and PLAIN), ENUM, a logical STRING without a
    // converted type, JSON (left to hyparquet, which parses it); data pages v2.
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const n = 3000;
    const rows = Array.from({ length: n }, (_, i) => i);
    const hw = at('flat-hyparquet-writer.parquet');
    writeFileSync(hw, new Uint8Array(parquetWriteBuffer({
      columnData: [
        { name: 'req_dict', data: rows.map((i) => ['soma', 'é', '日本', '😀', ''][i % 5]) },
        { name: 'req_plain', data: rows.map((i) => `${i} ${'é日本😀'.slice(0, i % 5)}`), encoding: 'PLAIN' },
        { name: 'enum', data: rows.map((i) => (i % 7 === 0 ? null : ['red', 'grün'][i % 2])) },
        { name: 'lstr', data: rows.map((i) => (i % 5 === 0 ? null : `v${i}`)), encoding: 'PLAIN' },
        { name: 'json', data: rows.map((i) => ({ i })) },
      ],
      schema: [
        { name: 'root', num_children: 5 },
        { name: 'req_dict', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        { name: 'req_plain', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        { name: 'enum', type: 'BYTE_ARRAY', converted_type: 'ENUM', repetition_type: 'OPTIONAL' },
        { name: 'lstr', type: 'BYTE_ARRAY', logical_type: { type: 'STRING' }, repetition_type: 'OPTIONAL' },
        { name: 'json', type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'OPTIONAL' },
      ],
      rowGroupSize: 1000,
      pageSize: 4096,
    })));
    files.push(hw);
    // ... and the same as v1 pages, from arrow-rs (it keeps the columns REQUIRED)
    const hwV1 = at('flat-hyparquet-writer-arrow-rs-v1.parquet');
    writeFileSync(hwV1, pw.writeParquet(pw.readParquet(new Uint8Array(readFileSync(hw))), small(new pw.WriterPropertiesBuilder()).build()));
    files.push(hwV1);

    const show = (v: unknown) => (typeof v === 'bigint' ? `${v}n` : Object.is(v, -0) ? '-0' : String(v));
    const covered = new Set<string>();
    for (const f of files) {
      const pq = await openParquet(f);
      try {
        let row = 0;
        for (const g of pq.metadata.row_groups) {
          const n = Number(g.num_rows);
          const a = new Table(await readRowGroup(pq, row, row + n, f, { flat: false }));
          const b = new Table(await readRowGroup(pq, row, row + n, f));
          for (const field of a.schema.fields) {
            const ca = a.getChild(field.name)!;
            const cb = b.getChild(field.name)!;
            assert.equal(String(cb.type), String(ca.type), `${f} ${field.name}`);
            assert.equal(cb.nullCount, ca.nullCount, `${f} ${field.name} nulls`);
            const va = Array.from({ length: n }, (_, i) => show(ca.get(i)));
            const vb = Array.from({ length: n }, (_, i) => show(cb.get(i)));
            assert.deepEqual(vb, va, `${f} ${field.name} rows ${row + 1}..${row + n}`);
            if (field.type instanceof Utf8) assert.deepEqual(utf8Layout(cb), utf8Layout(ca), `${f} ${field.name} rows ${row + 1}..${row + n}: bytes`);
          }
          // Every text chunk whose pages the decoder handles was decoded by it (valid UTF-8 never goes
          // back to hyparquet), and the kinds of pages it decoded are counted for the check below.
          for (const [name, pages] of await textChunks(pq, f, row, n)) {
            const el = pq.metadata.schema.find((e) => e.name === name)!;
            const decodable = pages.filter((p) => p !== 'decoded').every((p) => /^(DICTIONARY_PAGE|DATA_PAGE(_V2)?:(PLAIN|PLAIN_DICTIONARY|RLE_DICTIONARY))$/.test(p));
            // annotated as text: UTF8 or ENUM, or only a logical STRING or ENUM (arrow-rs drops ENUM: then a bare BYTE_ARRAY, left to hyparquet)
            const ct = el.converted_type;
            const lt = el.logical_type?.type;
            const annotated = ct === 'UTF8' || ct === 'ENUM' || (ct === undefined && (lt === 'STRING' || lt === 'ENUM'));
            assert.equal(pages.includes('decoded'), decodable && annotated, `${f} ${name} (${ct}, ${lt}): ${pages.join(' ')}`);
            if (!pages.includes('decoded')) continue;
            for (const p of pages) covered.add(p);
            covered.add(el.repetition_type!);
            covered.add(`annotated ${ct ?? `logical ${lt}`}`);
            const plainAfterDict = pages.indexOf('DICTIONARY_PAGE') >= 0 && pages.findIndex((p) => /:PLAIN$/.test(p)) > pages.findIndex((p) => /_DICTIONARY$/.test(p));
            if (plainAfterDict) covered.add(`PLAIN after a dictionary, ${pages.some((p) => p.startsWith('DATA_PAGE_V2')) ? 'v2' : 'v1'}`);
          }
          row += n;
        }
      } finally {
        await pq.handle.close();
      }
    }
    for (const kind of [
      'DATA_PAGE:PLAIN', 'DATA_PAGE:PLAIN_DICTIONARY', 'DATA_PAGE:RLE_DICTIONARY', 'DATA_PAGE_V2:PLAIN', 'DATA_PAGE_V2:RLE_DICTIONARY',
      'PLAIN after a dictionary, v1', 'PLAIN after a dictionary, v2', 'REQUIRED', 'OPTIONAL', 'annotated UTF8', 'annotated ENUM', 'annotated logical STRING',
    ]) {
      assert.ok(covered.has(kind), `no text chunk decoded with ${kind} (${[...covered].join(', ')})`);
    }
  });

  it('text that TextDecoder would change (invalid UTF-8, a leading byte order mark) reads as hyparquet decodes it', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const bytes = (...b: number[]) => new Uint8Array(b);
    const utf8 = (s: string) => new TextEncoder().encode(s);
    const odd: Array<[string, Uint8Array[]]> = [
      ['ff', [bytes(0x61, 0xff)]],
      ['bom', [bytes(0xef, 0xbb, 0xbf, 0x62)]],
      ['cut', [bytes(0x61, 0xe6, 0x97)]],
      ['overlong', [bytes(0xc0, 0x80)]],
      ['surrogate', [bytes(0xed, 0xa0, 0x80)]],
      ['lone', [bytes(0x80, 0x61)]],
      // é split over two strings: the bytes of the two together are valid UTF-8, each alone is not
      ['split', [bytes(0x61, 0xc3), bytes(0xa9, 0x62)]],
    ];
    const n = 300;
    const good = (i: number) => utf8(['soma', 'é', '日本', '😀', ''][i % 5]!);
    const columnData: Array<{ name: string; data: Array<Uint8Array | null>; encoding: string }> = [
      { name: 'ok', data: Array.from({ length: n }, (_, i) => good(i)), encoding: 'RLE_DICTIONARY' },
    ];
    for (const [name, values] of odd) {
      // the odd values among valid ones, mid-page; dictionary encoded and PLAIN
      const data = Array.from({ length: n }, (_, i) => (i >= 150 && i < 150 + values.length ? values[i - 150]! : i % 11 === 0 ? null : good(i)));
      columnData.push({ name: `${name}_dict`, data, encoding: 'RLE_DICTIONARY' });
      columnData.push({ name: `${name}_plain`, data, encoding: 'PLAIN' });
    }
    const f = at('odd-utf8.parquet');
    writeFileSync(f, new Uint8Array(parquetWriteBuffer({
      columnData: columnData as never,
      schema: [{ name: 'root', num_children: columnData.length }, ...columnData.map((c) => ({ name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }))] as never,
      statistics: false,
    })));
    const pq = await openParquet(f);
    try {
      const before = new Table(await readRowGroup(pq, 0, n, f, { flat: false }));
      const now = new Table(await readRowGroup(pq, 0, n, f));
      for (const field of before.schema.fields) {
        assert.deepEqual(utf8Layout(now.getChild(field.name)!), utf8Layout(before.getChild(field.name)!), field.name);
      }
      // what hyparquet's TextDecoder makes of them
      assert.equal(now.getChild('ff_dict')!.get(150), 'a\ufffd');
      assert.equal(now.getChild('bom_plain')!.get(150), 'b');
      assert.deepEqual([now.getChild('split_plain')!.get(150), now.getChild('split_plain')!.get(151)], ['a\ufffd', '\ufffdb']);
      // those chunks went to hyparquet; the valid one did not
      const decoded = [...(await textChunks(pq, f, 0, n))].filter(([, pages]) => pages.includes('decoded')).map(([name]) => name);
      assert.deepEqual(decoded, ['ok']);
    } finally {
      await pq.handle.close();
    }
  });

  it('reads row group by row group, exactly across groups', async () => {
    const p = at('groups.parquet');
    await writeParquet(
      p,
      `SELECT i::UBIGINT * 1000003 + 9007199254740993 AS id, i / 4 AS x, (['a','bb','ccc'])[1 + (i % 3)::INT] AS k,
              CASE WHEN i % 5 = 0 THEN NULL ELSE [i, i + 1]::UBIGINT[] END AS rel
       FROM range(5000) t(i) ORDER BY i`,
      { codec: 'zstd', rowGroupSize: 1000 },
    );
    const batches = [];
    for await (const b of readBatches(p)) batches.push(b);
    assert.ok(batches.length >= 2, `expected several row groups, got ${batches.length}`);
    const t = await readTable(p);
    assert.equal(t.numRows, 5000);
    const id = t.getChild('id')!;
    const rel = t.getChild('rel')!;
    for (const i of [0, 999, 1000, 2500, 4999]) {
      assert.equal(id.get(i), BigInt(i) * 1000003n + 9007199254740993n);
      assert.equal(t.getChild('x')!.get(i), i / 4);
      assert.equal(t.getChild('k')!.get(i), ['a', 'bb', 'ccc'][i % 3]);
      if (i % 5 === 0) assert.equal(rel.get(i), null);
      else assert.deepEqual([...rel.get(i)!], [BigInt(i), BigInt(i + 1)]);
    }
  });

  it('reports progress per row group and stops when aborted', async () => {
    const p = at('abort.parquet');
    await writeParquet(p, `SELECT i AS a FROM range(4000) t(i)`, { rowGroupSize: 1000 });
    const seen: number[] = [];
    const ac = new AbortController();
    await assert.rejects(
      readTable(p, {
        signal: ac.signal,
        onProgress: (done, total) => {
          seen.push(done / total);
          ac.abort();
        },
      }),
      (e: Error) => e.name === 'AbortError',
    );
    assert.equal(seen.length, 1);
    assert.ok(seen[0] > 0 && seen[0] < 1);
  });

  it('reads a file with no rows as an empty table with its columns', async () => {
    const p = at('empty.parquet');
    await writeParquet(p, `SELECT 1::UBIGINT AS id, 2.5 AS x WHERE false`);
    const t = await readTable(p);
    assert.equal(t.numRows, 0);
    assert.deepEqual(t.schema.fields.map((f) => `${f.name}:${f.type}`), ['id:Uint64', 'x:Float64']);
    const pv = await previewTable(p, 5);
    assert.equal(pv.totalRows, 0);
    assert.deepEqual(pv.rows, []);
  });

  it('reads only the requested columns and names a missing one', async () => {
    const p = at('cols.parquet');
    await writeParquet(p, SAMPLE);
    const t = await readTable(p, { columns: ['x', 'id'] });
    assert.deepEqual(t.schema.fields.map((f) => f.name), ['x', 'id']);
    assert.deepEqual(values(t, 'id'), [0n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]);
    await assert.rejects(readTable(p, { columns: ['nope'] }), (e: InputError) => e instanceof InputError && e.column === 'nope');
  });

  it('keeps pandas metadata and finds the index column or RangeIndex', async () => {
    const named = at('pandas-named.parquet');
    const meta = JSON.stringify({ index_columns: ['cell_id'], columns: [{ name: 'cell_id', field_name: 'cell_id' }] });
    await writeParquet(named, `SELECT 5::UBIGINT AS x, 18446744073709551615::UBIGINT AS cell_id`, {
      kvMetadata: { pandas: meta },
    });
    const t = await readTable(named);
    assert.equal(t.schema.metadata.get('pandas'), meta);
    assert.deepEqual(pandasIndex(t), { column: 'cell_id' });
    assert.deepEqual(values(t, 'cell_id'), [2n ** 64n - 1n]);

    const range = at('pandas-range.parquet');
    await writeParquet(range, `SELECT 1.0 AS x`, {
      kvMetadata: { pandas: JSON.stringify({ index_columns: [{ kind: 'range', name: null, start: 10, stop: 11, step: 3 }] }) },
    });
    assert.deepEqual(pandasIndex(await readTable(range)), { range: { start: 10n, step: 3n } });
  });

  it('reports truncated and non-Parquet files as InputErrors naming the file', async () => {
    const good = at('trunc-src.parquet');
    await writeParquet(good, `SELECT i AS a, i * 2.5 AS b FROM range(20000) t(i)`, { codec: 'snappy' });
    const bytes = readFileSync(good);
    for (const [name, data] of [
      ['truncated-end.parquet', bytes.subarray(0, bytes.length - 100)],
      ['truncated-half.parquet', bytes.subarray(0, bytes.length >> 1)],
      ['tiny.parquet', bytes.subarray(0, 6)],
      ['text.parquet', Buffer.from('id,x\n1,2\n'.repeat(10))],
    ] as const) {
      const p = at(name);
      writeFileSync(p, data);
      await assert.rejects(readTable(p), (e: Error) => {
        assert.ok(e instanceof InputError, `${name}: ${e}`);
        assert.match(e.message, new RegExp(`^${name.replace('.', '\\.')}: .*(Parquet|parquet)`));
        return true;
      });
    }
    // Footer intact but a data page cut: corrupt the middle instead of truncating.
    const mangled = Buffer.from(bytes);
    mangled.fill(0xff, 100, 4000);
    const p = at('mangled.parquet');
    writeFileSync(p, mangled);
    await assert.rejects(readTable(p), (e: Error) => e instanceof InputError && /mangled\.parquet/.test(e.message));
  });

  it('previews the first rows and knows the total from the footer', async () => {
    const p = at('preview.parquet');
    await writeParquet(p, SAMPLE);
    const pv = await previewTable(p, 2);
    assert.equal(pv.totalRows, 4);
    assert.deepEqual(pv.columns.slice(0, 3), [
      { name: 'id', type: 'Uint64' },
      { name: 's', type: 'Int64' },
      { name: 'rel', type: 'List<Uint64>' },
    ]);
    assert.deepEqual(pv.rows.map((r) => r.slice(0, 4)), [
      ['0', '-9223372036854775808', '[10, 11]', 'soma'],
      ['9007199254740993', '-1', '[]', ''],
    ]);
  });
});
