// The page check in front of hyparquet (src/io/parquetPages.ts): run lengths that hyparquet would
// expand past the end of its arrays are InputErrors naming file, column, row group and page. The
// corrupt files are read in a child process, so a regression aborts the child, not this test file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { parquetMetadata, parquetRead } from 'hyparquet';
import type { Compressors } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { compressors } from 'hyparquet-compressors';
import { openParquet } from '../src/io/parquet';
import { checkParquetPages } from '../src/io/parquetPages';
import { tempDir, writeParquet } from './io-fixtures';

const tmp = tempDir('ng-pages-');
after(() => tmp.cleanup());
const ROOT = path.join(__dirname, '..');

/**
 * Reads each file (or only some of its columns) with readTable in a child; returns its exit status,
 * signal and one line per file.
 */
function readInChild(files: Array<string | { file: string; columns: string[] }>, timeout = 60_000): { status: number | null; signal: string | null; lines: string[]; stderr: string } {
  const script = `(async () => {
    const { readTable } = require('./src/io/index');
    let failed = 0;
    for (const f of ${JSON.stringify(files)}) {
      const [file, opts] = typeof f === 'string' ? [f, {}] : [f.file, { columns: f.columns }];
      try { await readTable(file, opts); console.log('table'); } catch (e) { failed++; console.log(e.name + ': ' + e.message); }
    }
    process.exit(failed ? 3 : 0);
  })()`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout });
  return { status: r.status, signal: r.signal, lines: r.stdout.trim().split('\n'), stderr: r.stderr.slice(-2000) };
}

/** Byte offset in the file of the data (after the header) of the first data page of `column` (or of its dictionary page). */
function firstDataPage(file: string, column: string, dictionary = false): { data: number; header: ReturnType<typeof parquetHeader> } {
  const bytes = readFileSync(file);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const meta = parquetMetadata(buffer).row_groups[0]!.columns.find((c) => c.meta_data!.path_in_schema[0] === column)!.meta_data!;
  const reader = { view: new DataView(buffer), offset: Number(meta.dictionary_page_offset || meta.data_page_offset) };
  for (;;) {
    const header = parquetHeader(reader);
    if ((header.type === 'DICTIONARY_PAGE') === dictionary) return { data: reader.offset, header };
    reader.offset += header.compressed_page_size;
  }
}

/** An RLE run header claiming 2^30 values (the varint hyparquet reads as 2^31, run = header >>> 1). */
const HUGE_RUN = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08]);

describe('Parquet page check', () => {
  test('test/fixtures/rle-run-overflow.parquet (a bit flip in a ZSTD page) is an InputError, not a V8 abort', () => {
    // fzstd decoded the damaged page into a run of 1538748122 values, which the page check refused; the
    // reference decoder (zstd.ts) already refuses the frame. The next test covers runs in pages that decode.
    const r = readInChild([path.join(__dirname, 'fixtures', 'rle-run-overflow.parquet')]);
    assert.equal(r.signal, null, `the reader crashed the process\n${r.stderr}`);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(
      r.lines[0],
      "InputError: rle-run-overflow.parquet, column 'x': corrupt Parquet data in row group 1, page 1: the page cannot be read (corrupt ZSTD data: the decoder refused it, 9607 expected)",
    );
  });

  test('huge runs in definition levels (page v1 and v2) and dictionary indices are InputErrors naming column, row group and page', async () => {
    const select = `SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE i * 0.5 END AS x, 'k' || (i % 5) AS name FROM range(3000) t(i)`;
    const v1 = path.join(tmp.dir, 'levels-v1.parquet');
    const v2 = path.join(tmp.dir, 'levels-v2.parquet');
    const dict = path.join(tmp.dir, 'dictionary-v1.parquet');
    await writeParquet(v1, select, { codec: 'uncompressed' });
    // Data pages v2 (DuckDB writes v1 pages only) from arrow-rs; their levels stay uncompressed.
    const pw = await import('parquet-wasm');
    const props = new pw.WriterPropertiesBuilder().setWriterVersion(pw.WriterVersion.V2).setCompression(pw.Compression.SNAPPY).build();
    writeFileSync(v2, pw.writeParquet(pw.readParquet(new Uint8Array(readFileSync(v1))), props));
    writeFileSync(dict, readFileSync(v1));
    const patch = (file: string, at: number) => {
      const b = readFileSync(file);
      HUGE_RUN.copy(b, at);
      writeFileSync(file, b);
    };
    // v1: a 4-byte level length, then the first run; v2: the level runs start the page
    patch(v1, firstDataPage(v1, 'x').data + 4);
    const p2 = firstDataPage(v2, 'x');
    assert.equal(p2.header.type, 'DATA_PAGE_V2');
    patch(v2, p2.data);
    // dictionary indices: after the levels section and the bit-width byte
    const pd = firstDataPage(dict, 'name');
    assert.match(pd.header.data_page_header?.encoding ?? '', /_DICTIONARY$/);
    const levels = readFileSync(dict).readUInt32LE(pd.data);
    patch(dict, pd.data + 4 + levels + 1);

    const r = readInChild([v1, v2, dict]);
    assert.equal(r.signal, null, `the reader crashed the process\n${r.stderr}`);
    assert.equal(r.status, 3, r.stderr);
    const run = 'a run of 1073741824 values where the page has \\d+ left of \\d+';
    assert.match(r.lines[0]!, new RegExp(`^InputError: levels-v1\\.parquet, column 'x': corrupt Parquet data in row group 1, page 1: definition levels: ${run}$`));
    assert.match(r.lines[1]!, new RegExp(`^InputError: levels-v2\\.parquet, column 'x': corrupt Parquet data in row group 1, page 2: definition levels: ${run}$`));
    assert.match(r.lines[2]!, new RegExp(`^InputError: dictionary-v1\\.parquet, column 'name': corrupt Parquet data in row group 1, page 2: dictionary indices: ${run}$`));
  });

  test('strings longer than their page (PLAIN pages v1 and v2, a dictionary page) are InputErrors naming column, row group and page', async () => {
    // Text columns are decoded by parquetFlat.ts from the checked pages; each string's 4-byte length
    // is checked against what is left of its page (hyparquet would read past it into the next page's bytes).
    const select = `SELECT CASE WHEN i % 9 = 0 THEN NULL ELSE md5(i::VARCHAR) || 'é' END AS text, 'k' || (i % 5) AS label FROM range(3000) t(i)`;
    const v1 = path.join(tmp.dir, 'strings-plain-v1.parquet');
    const v2 = path.join(tmp.dir, 'strings-plain-v2.parquet');
    const dict = path.join(tmp.dir, 'strings-dictionary.parquet');
    await writeParquet(v1, select, { codec: 'uncompressed' });
    const pw = await import('parquet-wasm');
    const props = new pw.WriterPropertiesBuilder().setWriterVersion(pw.WriterVersion.V2).setDictionaryEnabled(false).setEncoding(pw.Encoding.PLAIN).build();
    writeFileSync(v2, pw.writeParquet(pw.readParquet(new Uint8Array(readFileSync(v1))), props));
    writeFileSync(dict, readFileSync(v1));
    const patch = (file: string, at: number, length: number) => {
      const b = readFileSync(file);
      b.writeUInt32LE(length, at);
      writeFileSync(file, b);
    };
    // v1: the levels' 4-byte length and the levels, then the first string's length
    const p1 = firstDataPage(v1, 'text');
    assert.equal(p1.header.data_page_header?.encoding, 'PLAIN');
    patch(v1, p1.data + 4 + readFileSync(v1).readUInt32LE(p1.data), 0x7fffffff);
    // v2: the levels (their size in the header), then the strings; the first one byte too long
    const p2 = firstDataPage(v2, 'text');
    const h2 = p2.header.data_page_header_v2!;
    assert.equal(h2.encoding, 'PLAIN');
    const values2 = p2.header.uncompressed_page_size - h2.definition_levels_byte_length - h2.repetition_levels_byte_length;
    patch(v2, p2.data + h2.definition_levels_byte_length + h2.repetition_levels_byte_length, values2 - 3);
    // the dictionary page: the second entry
    const pd = firstDataPage(dict, 'label', true);
    assert.equal(pd.header.type, 'DICTIONARY_PAGE');
    patch(dict, pd.data + 4 + readFileSync(dict).readUInt32LE(pd.data), 1_000_000);

    const r = readInChild([v1, v2, dict]);
    assert.equal(r.signal, null, `the reader crashed the process\n${r.stderr}`);
    assert.equal(r.status, 3, r.stderr);
    const where = (file: string, column: string, page: number) => `^InputError: ${file.replace('.', '\\.')}, column '${column}': corrupt Parquet data in row group 1, page ${page}: `;
    assert.match(r.lines[0]!, new RegExp(`${where('strings-plain-v1.parquet', 'text', 1)}string 1 of \\d+ is 2147483647 bytes long, past the end of its page \\(at byte 4 of \\d+ bytes of values\\)$`));
    assert.match(r.lines[1]!, new RegExp(`${where('strings-plain-v2.parquet', 'text', 1)}string 1 of \\d+ is ${values2 - 3} bytes long, past the end of its page \\(at byte 4 of ${values2} bytes of values\\)$`));
    assert.match(r.lines[2]!, new RegExp(`${where('strings-dictionary.parquet', 'label', 1)}string 2 of 5 is 1000000 bytes long, past the end of its page \\(at byte 10 of \\d+ bytes of values\\)$`));
  });

  test('a data page v2 whose definition levels disagree with its num_nulls is an InputError (numbers and text)', async () => {
    // hyparquet reads num_values - num_nulls values and places them by the levels, so one flipped
    // level shifts every later value by a row: the decoders from the checked pages refuse the page.
    const select = `SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE (i * 0.5)::DOUBLE END AS x, CASE WHEN i % 4 = 0 THEN NULL ELSE 'n' || i END AS s FROM range(1500) t(i)`;
    const src = path.join(tmp.dir, 'nulls-src.parquet');
    await writeParquet(src, select, { codec: 'uncompressed' });
    const pw = await import('parquet-wasm');
    const files = ['x', 's'].map((column) => {
      const file = path.join(tmp.dir, `nulls-v2-${column}.parquet`);
      const props = new pw.WriterPropertiesBuilder().setWriterVersion(pw.WriterVersion.V2).setDictionaryEnabled(false).setEncoding(pw.Encoding.PLAIN).build();
      writeFileSync(file, pw.writeParquet(pw.readParquet(new Uint8Array(readFileSync(src))), props));
      const p = firstDataPage(file, column);
      assert.equal(p.header.type, 'DATA_PAGE_V2');
      const b = readFileSync(file);
      // levels 0,1,1,1 repeated: one bit-packed run (a 2-byte header), row 0 in the low bit of the next byte
      assert.deepEqual([b[p.data]! & 1, b[p.data + 2]], [1, 0xee]);
      b[p.data + 2] ^= 1;
      writeFileSync(file, b);
      return file;
    });
    const r = readInChild(files);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.lines[0]!, /^InputError: nulls-v2-x\.parquet, column 'x': corrupt Parquet data in row group 1, page 1: page declares 375 nulls, its definition levels 374$/);
    assert.match(r.lines[1]!, /^InputError: nulls-v2-s\.parquet, column 's': corrupt Parquet data in row group 1, page 1: page declares 375 nulls, its definition levels 374$/);
  });

  test('a column chunk whose path is not in the schema (test/fixtures/unknown-chunk-path.parquet) is an InputError, not an unhandled rejection', () => {
    // A bit flip turned seg.list.element into seg.liSt.element (seed 31, case 1895). hyparquet threw
    // on the lookup after starting the other chunks' reads; one of those then failed unobserved and
    // Node ended the process. The same case flipped a bit in a string length of the dictionary page of
    // 'name', an earlier column (2 became 536870914): the text decoder (parquetFlat.ts) refuses that
    // first when every column is read, so the chunk path is read without 'name'.
    const fixture = path.join(__dirname, 'fixtures', 'unknown-chunk-path.parquet');
    const r = readInChild([{ file: fixture, columns: ['annotation_id', 'seg', 'flag'] }, fixture]);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(
      r.lines[0],
      "InputError: unknown-chunk-path.parquet: corrupt Parquet metadata: row group 1 has a column chunk for 'seg.liSt.element', which is not in the schema",
    );
    assert.equal(
      r.lines[1],
      "InputError: unknown-chunk-path.parquet, column 'name': corrupt Parquet data in row group 1, page 1: string 4 of 5 is 536870914 bytes long, past the end of its page (at byte 22 of 30 bytes of values)",
    );
  });

  test('a ZSTD page whose Huffman weight table has only 0-bit states (test/fixtures/zstd-huffman-loop.parquet) is an InputError, not an endless loop', () => {
    // fzstd 0.1.1 (the latest) looped forever on it in rhu(): with 0-bit FSE states its read position
    // never moves. Found by test/helpers/fuzz-readers.ts parquet 27 2400 (case 703). The reference
    // decoder (zstd.ts) refuses the frame; the child and its limit stay so a regression cannot hang the suite.
    const r = readInChild([path.join(__dirname, 'fixtures', 'zstd-huffman-loop.parquet')], 8_000); // a valid read takes milliseconds
    assert.equal(r.signal, null, 'the read did not end within 8 s');
    assert.equal(r.status, 3, r.stderr);
    assert.equal(
      r.lines[0],
      "InputError: zstd-huffman-loop.parquet, column 'annotation_id': corrupt Parquet data in row group 1, page 1: the page cannot be read (corrupt ZSTD data: the decoder refused it, 4807 expected)",
    );
  });

  test('hyparquet decompresses no page again that the check already decompressed', async () => {
    const file = path.join(tmp.dir, 'reuse.parquet');
    await writeParquet(file, `SELECT i AS a, 'n' || (i % 9) AS s, [i, i + 1] AS l FROM range(50000) t(i)`, { codec: 'zstd', rowGroupSize: 10_000 });
    const pq = await openParquet(file);
    try {
      let decompressed = 0;
      const counting: Compressors = {};
      for (const [codec, fn] of Object.entries(compressors as unknown as Compressors)) {
        counting[codec as keyof Compressors] = (input, n) => (decompressed++, fn!(input, n));
      }
      const checked = await checkParquetPages(pq.file, pq.metadata, pq.names, 0, Infinity, file, counting);
      const byCheck = decompressed;
      let rows = 0;
      await parquetRead({ file: pq.file, metadata: pq.metadata, columns: pq.names, compressors: checked, useOffsetIndex: false, onChunk: (c) => c.columnName === 'a' && (rows += c.columnData.length) });
      assert.equal(rows, 50_000);
      assert.ok(byCheck >= 15, `the check decompressed ${byCheck} pages`);
      assert.equal(decompressed, byCheck, 'pages decompressed a second time by hyparquet');
    } finally {
      await pq.handle.close();
    }
  });
});
