// Flat fixed-width columns, decoded without hyparquet.
//
// hyparquet decodes every page into a JS array and assembles optional columns value by value (about
// half of a reader thread's time on typical files, with the garbage it makes). Flat INT32, INT64,
// FLOAT and DOUBLE columns, PLAIN or dictionary encoded, required or optional, are decoded here
// instead, straight into one buffer per row group, from the pages the page check (parquetPages.ts)
// already walked and decompressed. Anything else (other encodings, nested columns, part of a row
// group) is left to hyparquet.
import type { Compressors, CompressionCodec, SchemaTree } from 'hyparquet';
import { getMaxDefinitionLevel, getMaxRepetitionLevel, parquetHeader } from './hyparquetInternals.js';
import { PageProblem, isCount, type CheckedChunk, type PageCache, type Walk } from './parquetPages.js';

/** Columns to decode here, and where the results go (by top-level column name). */
export interface FlatRequest {
  /**
   * Top-level column names the caller can take as FlatColumns, with the bytes per value of the type
   * it makes of them: the same as the Parquet values', or fewer for 8- and 16-bit integers in INT32.
   */
  columns: Map<string, number>;
  decoded: Map<string, FlatColumn>;
}

/** A row group's values, little-endian, `width` bytes each (0 where null), and per row 1 if not null. */
export interface FlatColumn {
  values: Uint8Array;
  width: 4 | 8;
  valid: Uint8Array | null;
}

const FLAT_ENCODINGS = new Set(['PLAIN', 'PLAIN_DICTIONARY', 'RLE_DICTIONARY', 'RLE']);

/**
 * For checkParquetPages' `onChunk`: decodes each checked chunk of a column in `flat.columns` that is
 * a whole row group and decodable here into `flat.decoded`, from the pages the check decompressed.
 */
export function flatDecoder(flat: FlatRequest): (chunk: CheckedChunk) => void {
  return (c) => {
    const width = c.whole ? flatWidth(c.schemaPath, c.encodings) : 0;
    const target = width ? flat.columns.get(c.name) : undefined;
    if (target !== undefined && (target === width || (width === 4 && target < 4))) {
      c.page.n = 0;
      const decoded = decodeFlatChunk(c.view, width as 4 | 8, getMaxDefinitionLevel(c.schemaPath), c.rows, c.codec, c.compressors, c.cache, c.page);
      if (decoded) flat.decoded.set(c.name, decoded);
    }
  };
}

/** Bytes per value when the column can be decoded here, else 0. */
function flatWidth(schemaPath: SchemaTree[], encodings: string[] | undefined): 0 | 4 | 8 {
  if (schemaPath.length !== 2 || getMaxRepetitionLevel(schemaPath) !== 0 || getMaxDefinitionLevel(schemaPath) > 1) return 0;
  if (!encodings?.length || !encodings.every((e) => FLAT_ENCODINGS.has(e))) return 0;
  const el = schemaPath[1]!.element;
  if (el.logical_type?.type === 'DECIMAL' || el.converted_type === 'DECIMAL') return 0;
  switch (el.type) {
    case 'INT32':
    case 'FLOAT':
      return 4;
    case 'INT64':
    case 'DOUBLE':
      return 8;
    default:
      return 0;
  }
}

/** null when a page uses something this decoder leaves to hyparquet. */
function decodeFlatChunk(
  view: DataView,
  width: 4 | 8,
  maxDef: number,
  rows: number,
  codec: CompressionCodec,
  compressors: Compressors,
  cache: PageCache,
  page: { n: number },
): FlatColumn | null {
  // Grown page by page rather than sized from the row group's declared row count: a damaged count
  // must not allocate gigabytes before the pages disagree with it.
  let values = new Uint8Array(Math.min(rows, 1 << 16) * width);
  let valid: Uint8Array | null = null;
  const room = (end: number) => {
    if (end * width <= values.length) return;
    const grown = new Uint8Array(Math.min(rows, Math.max(end, (2 * values.length) / width)) * width);
    grown.set(values);
    values = grown;
    if (valid) {
      const v = new Uint8Array(grown.length / width).fill(1);
      v.set(valid);
      valid = v;
    }
  };
  let dict: Uint8Array | null = null;
  let dictCount = 0;
  let row = 0;
  const reader: Walk = { view, offset: 0 };
  while (row < rows && reader.offset < view.byteLength - 1) {
    page.n++;
    const header = parquetHeader(reader);
    const compressed = new Uint8Array(view.buffer, view.byteOffset + reader.offset, header.compressed_page_size);
    reader.offset += header.compressed_page_size;
    if (header.type === 'DICTIONARY_PAGE') {
      const h = header.dictionary_page_header;
      if (!h || (h.encoding !== 'PLAIN' && h.encoding !== 'PLAIN_DICTIONARY')) return null;
      dict = cache.page(compressed, header.uncompressed_page_size, codec, compressors);
      dictCount = h.num_values;
      if (!isCount(dictCount) || dictCount * width > dict.length) throw new PageProblem(`a dictionary of ${String(dictCount)} values in ${dict.length} bytes`);
      continue;
    }
    let n: number;
    let encoding: string;
    let levels: Uint8Array;
    let levelsAt: number;
    let levelsEnd: number;
    let data: Uint8Array;
    if (header.type === 'DATA_PAGE') {
      const h = header.data_page_header!;
      n = h.num_values;
      encoding = h.encoding;
      levels = data = cache.page(compressed, header.uncompressed_page_size, codec, compressors);
      levelsAt = 4;
      if (maxDef && data.length < 4) throw new PageProblem('a page too short for its definition levels');
      levelsEnd = maxDef ? 4 + new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true) : 0;
      data = data.subarray(maxDef ? levelsEnd : 0);
    } else if (header.type === 'DATA_PAGE_V2') {
      const h = header.data_page_header_v2!;
      n = h.num_values;
      encoding = h.encoding;
      levels = compressed;
      levelsAt = h.repetition_levels_byte_length;
      levelsEnd = levelsAt + h.definition_levels_byte_length;
      data = compressed.subarray(levelsEnd);
      if (h.is_compressed !== false) data = cache.page(data, header.uncompressed_page_size - levelsEnd, codec, compressors);
    } else {
      return null; // index pages and the like: hyparquet's business
    }
    if (row + n > rows) throw new PageProblem(`pages hold more than the row group's ${rows} rows`);
    room(row + n);
    let present = n;
    if (maxDef) {
      valid ??= new Uint8Array(values.length / width).fill(1);
      const defs = valid.subarray(row, row + n);
      expandHybrid(levels, levelsAt, levelsEnd, 1, n, defs);
      present = 0;
      for (let i = 0; i < n; i++) {
        if (defs[i]! > 1) throw new PageProblem(`definition level ${defs[i]} in a column whose levels are 0 or 1`);
        present += defs[i]!;
      }
    }
    const out = values.subarray(row * width, (row + n) * width);
    if (encoding === 'PLAIN') {
      if (present * width > data.length) throw new PageProblem(`${present} values need ${present * width} bytes, the page has ${data.length}`);
      if (present === n) out.set(data.subarray(0, n * width));
      else scatter(data, 0, width, valid!.subarray(row, row + n), out, null);
    } else if (encoding === 'PLAIN_DICTIONARY' || encoding === 'RLE_DICTIONARY') {
      if (!dict) throw new PageProblem('dictionary-encoded values without a dictionary page');
      const bits = data[0]!;
      if (bits > 32) throw new PageProblem(`dictionary indices of ${bits} bits`);
      const index = new Uint32Array(present);
      expandHybrid(data, 1, data.length, bits, present, index);
      for (let i = 0; i < present; i++) if (index[i]! >= dictCount) throw new PageProblem(`dictionary index ${index[i]} of ${dictCount} values`);
      scatter(dict, 0, width, present === n ? null : valid!.subarray(row, row + n), out, index);
    } else {
      return null;
    }
    row += n;
  }
  if (row !== rows) throw new PageProblem(`pages hold ${row} of the row group's ${rows} rows`);
  return { values, width, valid: valid && valid.indexOf(0) >= 0 ? valid : null };
}

/**
 * Places the present values (from `src` in order, or `src[index[k]]`) at the rows where `valid` is
 * 1 (every row when null), `width` bytes each; null rows stay 0.
 */
function scatter(src: Uint8Array, at: number, width: number, valid: Uint8Array | null, out: Uint8Array, index: Uint32Array | null): void {
  const n = out.length / width;
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (valid && !valid[i]) continue;
    const from = at + (index ? index[k]! : k) * width;
    k++;
    const to = i * width;
    for (let b = 0; b < width; b++) out[to + b] = src[from + b]!;
  }
}

/** Expands `count` values of an RLE/bit-packed hybrid section in bytes [at, end) into `out`. */
function expandHybrid(bytes: Uint8Array, at: number, end: number, width: number, count: number, out: Uint8Array | Uint32Array): void {
  if (end > bytes.length) throw new PageProblem(`an RLE section ends at byte ${end} of ${bytes.length}`);
  let i = at;
  let seen = 0;
  const byteWidth = (width + 7) >> 3;
  while (seen < count) {
    if (i >= end) throw new PageProblem(`an RLE section ends after ${seen} of ${count} values`);
    let header = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[i++]!;
      header |= (b & 0x7f) << shift;
      if (!(b & 0x80) || shift > 28) break;
    }
    if (header & 1) {
      const groups = header >>> 1;
      const take = Math.min(groups * 8, count - seen);
      if (i + groups * width > end) throw new PageProblem(`a bit-packed run of ${groups * 8} values past its section`);
      let bit = i * 8;
      for (let k = 0; k < take; k++, bit += width) {
        let v = 0;
        for (let got = 0; got < width; ) {
          const shift = (bit + got) & 7;
          const t = Math.min(8 - shift, width - got);
          v |= ((bytes[(bit + got) >> 3]! >> shift) & ((1 << t) - 1)) << got;
          got += t;
        }
        out[seen + k] = v >>> 0;
      }
      i += groups * width;
      seen += take;
    } else {
      const run = header >>> 1;
      if (run > count - seen) throw new PageProblem(`a run of ${run} values where ${count - seen} are left`);
      let v = 0;
      for (let b = 0; b < byteWidth; b++) v |= bytes[i++]! << (b * 8);
      out.fill(v >>> 0, seen, seen + run);
      seen += run;
    }
  }
}
