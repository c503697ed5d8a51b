// Flat columns decoded without hyparquet: fixed-width numbers and UTF-8 text.
//
// hyparquet decodes every page into a JS array and assembles optional columns value by value (about
// half of a reader thread's time on typical files, with the garbage it makes). Flat INT32, INT64,
// FLOAT and DOUBLE columns, PLAIN or dictionary encoded, required or optional, are decoded here
// instead, straight into one buffer per row group, from the pages the page check (parquetPages.ts)
// already walked and decompressed. So are flat BYTE_ARRAY columns annotated as text (UTF8 or STRING,
// ENUM), into Arrow's Utf8 buffers (32-bit offsets and one bytes buffer): hyparquet makes a JS string
// of every value with a TextDecoder, which arrowData.ts then encodes back into UTF-8 bytes (the 4-label
// column of the 1M-point bench file, its nine row groups on one thread: 95 ms instead of 450 ms). A text
// chunk that TextDecoder would not give back byte for byte (invalid UTF-8, a leading byte order mark)
// goes to hyparquet as before. Anything else (other encodings, nested columns, part of a row group)
// is left to hyparquet.
import { isAscii, isUtf8 } from 'node:buffer';
import type { SchemaTree } from 'hyparquet';
import { getMaxDefinitionLevel, getMaxRepetitionLevel, parquetHeader } from './hyparquetInternals.js';
import { PageProblem, isCount, type CheckedChunk, type PageCache, type Walk } from './parquetPages.js';

/** Columns to decode here, and where the results go (by top-level column name). */
export interface FlatRequest {
  /**
   * Top-level column names the caller can take as FlatColumns, with the bytes per value of the type
   * it makes of them (the same as the Parquet values', or fewer for 8- and 16-bit integers in INT32),
   * or as TextColumns ('text': an Arrow Utf8 column).
   */
  columns: Map<string, number | 'text'>;
  decoded: Map<string, FlatColumn | TextColumn>;
}

/** A row group's values, little-endian, `width` bytes each (0 where null), and per row 1 if not null. */
export interface FlatColumn {
  values: Uint8Array;
  width: 4 | 8;
  valid: Uint8Array | null;
}

/**
 * A row group's strings in Arrow's Utf8 layout: row i is `bytes[offsets[i], offsets[i + 1])` (empty
 * where null), valid UTF-8; per row 1 if not null.
 */
export interface TextColumn {
  offsets: Int32Array;
  bytes: Uint8Array;
  valid: Uint8Array | null;
}

const FLAT_ENCODINGS = new Set(['PLAIN', 'PLAIN_DICTIONARY', 'RLE_DICTIONARY', 'RLE']);

/**
 * For checkParquetPages' `onChunk`: decodes each checked chunk of a column in `flat.columns` that is
 * a whole row group and decodable here into `flat.decoded`, from the pages the check decompressed.
 */
export function flatDecoder(flat: FlatRequest): (chunk: CheckedChunk) => void {
  return (c) => {
    const target = c.whole ? flat.columns.get(c.name) : undefined;
    if (target === undefined) return;
    let decoded: FlatColumn | TextColumn | null = null;
    if (target === 'text') {
      if (!isText(c.schemaPath, c.encodings)) return;
      c.page.n = 0;
      decoded = decodeTextChunk(c);
    } else {
      const width = flatWidth(c.schemaPath, c.encodings);
      if (!width || !(target === width || (width === 4 && target < 4))) return;
      c.page.n = 0;
      decoded = decodeFlatChunk(c, width);
    }
    if (decoded) flat.decoded.set(c.name, decoded);
  };
}

/** Whether the chunk's column is flat (one level under the root, required or optional) and its encodings are decodable here. */
function flatColumn(schemaPath: SchemaTree[], encodings: string[] | undefined): boolean {
  if (schemaPath.length !== 2 || getMaxRepetitionLevel(schemaPath) !== 0 || getMaxDefinitionLevel(schemaPath) > 1) return false;
  return !!encodings?.length && encodings.every((e) => FLAT_ENCODINGS.has(e));
}

/** Bytes per value when the column can be decoded here, else 0. */
function flatWidth(schemaPath: SchemaTree[], encodings: string[] | undefined): 0 | 4 | 8 {
  if (!flatColumn(schemaPath, encodings)) return 0;
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

/**
 * Whether the column is BYTE_ARRAY text that hyparquet decodes to strings with a TextDecoder and
 * nothing else: annotated UTF8 or ENUM (converted type), STRING or ENUM (logical type). JSON, which
 * hyparquet parses, stays with it; so do un-annotated byte arrays (hyparquet decodes them the same
 * way, but they may hold any bytes, which would only be checked here to go to hyparquet after all).
 */
function isText(schemaPath: SchemaTree[], encodings: string[] | undefined): boolean {
  if (!flatColumn(schemaPath, encodings)) return false;
  const el = schemaPath[1]!.element;
  if (el.type !== 'BYTE_ARRAY') return false;
  const converted = el.converted_type;
  const logical = el.logical_type?.type;
  if (converted !== undefined && converted !== 'UTF8' && converted !== 'ENUM') return false;
  if (logical !== undefined && logical !== 'STRING' && logical !== 'ENUM') return false;
  return converted !== undefined || logical !== undefined;
}

/**
 * What a decoder does with the pages of one chunk (walkPages reads the headers, the levels and the
 * dictionary indices, and checks every index against the dictionary's size).
 */
interface PageSink {
  /** The chunk's dictionary page (PLAIN), `count` values declared; throws if they do not fit in it. */
  dictionary(page: Uint8Array, count: number): void;
  /**
   * Rows [row, row + n): `present` of them are not null, `valid` has their definition levels (1 per
   * row; null when none of them is null); `data` is the page's values section (PLAIN), or `index`
   * their dictionary indices, one per present value.
   */
  values(row: number, n: number, present: number, valid: Uint8Array | null, data: Uint8Array | null, index: Uint32Array | null): void;
}

/**
 * Walks a whole-row-group chunk's pages (the check already walked them: the pages it decompressed are
 * taken from `c.cache`) into `sink`. Returns the rows' validity (1 if not null; null when none is
 * null), or undefined when a page uses something left to hyparquet.
 */
function walkPages(c: CheckedChunk, sink: PageSink): { valid: Uint8Array | null } | undefined {
  const { view, rows, codec, compressors, cache, page } = c;
  const maxDef = getMaxDefinitionLevel(c.schemaPath);
  // Grown page by page rather than sized from the row group's declared row count: a damaged count
  // must not allocate gigabytes before the pages disagree with it.
  let valid: Uint8Array | null = null;
  let dictCount = -1;
  let row = 0;
  const reader: Walk = { view, offset: 0 };
  while (row < rows && reader.offset < view.byteLength - 1) {
    page.n++;
    const header = parquetHeader(reader);
    const compressed = new Uint8Array(view.buffer, view.byteOffset + reader.offset, header.compressed_page_size);
    reader.offset += header.compressed_page_size;
    if (header.type === 'DICTIONARY_PAGE') {
      const h = header.dictionary_page_header;
      if (!h || (h.encoding !== 'PLAIN' && h.encoding !== 'PLAIN_DICTIONARY')) return undefined;
      if (!isCount(h.num_values)) throw new PageProblem(`a dictionary of ${String(h.num_values)} values`);
      sink.dictionary(cache.page(compressed, header.uncompressed_page_size, codec, compressors), h.num_values);
      dictCount = h.num_values;
      continue;
    }
    let n: number;
    let encoding: string;
    let levels: Uint8Array;
    let levelsAt: number;
    let levelsEnd: number;
    let data: Uint8Array;
    let nulls: number | undefined;
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
      nulls = h.num_nulls;
      encoding = h.encoding;
      levels = compressed;
      levelsAt = h.repetition_levels_byte_length;
      levelsEnd = levelsAt + h.definition_levels_byte_length;
      data = compressed.subarray(levelsEnd);
      if (h.is_compressed !== false) data = cache.page(data, header.uncompressed_page_size - levelsEnd, codec, compressors);
    } else {
      return undefined; // index pages and the like: hyparquet's business
    }
    if (encoding !== 'PLAIN' && encoding !== 'PLAIN_DICTIONARY' && encoding !== 'RLE_DICTIONARY') return undefined;
    if (row + n > rows) throw new PageProblem(`pages hold more than the row group's ${rows} rows`);
    let present = n;
    let defs: Uint8Array | null = null;
    if (maxDef) {
      valid = grownTo(valid ?? new Uint8Array(0), row + n, rows);
      defs = valid.subarray(row, row + n);
      expandHybrid(levels, levelsAt, levelsEnd, 1, n, defs);
      present = 0;
      for (let i = 0; i < n; i++) {
        if (defs[i]! > 1) throw new PageProblem(`definition level ${defs[i]} in a column whose levels are 0 or 1`);
        present += defs[i]!;
      }
    }
    // hyparquet reads num_values - num_nulls values from a v2 page: levels that disagree would shift
    // its values against the rows (and ours), so the page is damaged.
    if (nulls !== undefined && nulls !== n - present) throw new PageProblem(`page declares ${nulls} nulls, its definition levels ${n - present}`);
    if (encoding === 'PLAIN') sink.values(row, n, present, present === n ? null : defs, data, null);
    else sink.values(row, n, present, present === n ? null : defs, null, dictionaryIndices(data, present, dictCount));
    row += n;
  }
  if (row !== rows) throw new PageProblem(`pages hold ${row} of the row group's ${rows} rows`);
  return { valid: valid && valid.indexOf(0) >= 0 ? valid : null };
}

/**
 * `a`, or a copy of it in a new array of its type, at least `need` long, at most `most` unless it
 * already was: the one way the decoders' buffers grow page by page.
 */
function grownTo<T extends Uint8Array | Int32Array>(a: T, need: number, most: number): T {
  if (a.length >= need) return a;
  const grown = new (a.constructor as new (n: number) => T)(Math.min(most, Math.max(need, 2 * a.length, 1 << 16)));
  grown.set(a);
  return grown;
}

/** The dictionary indices of a page's `present` values (a bit width, then an RLE/bit-packed hybrid section). */
function dictionaryIndices(data: Uint8Array, present: number, dictCount: number): Uint32Array {
  if (dictCount < 0) throw new PageProblem('dictionary-encoded values without a dictionary page');
  const bits = data[0]!;
  if (bits > 32) throw new PageProblem(`dictionary indices of ${bits} bits`);
  const index = new Uint32Array(present);
  // A width of 0: every index is 0, and (as hyparquet reads it) no runs follow.
  if (bits) expandHybrid(data, 1, data.length, bits, present, index);
  for (let i = 0; i < present; i++) if (index[i]! >= dictCount) throw new PageProblem(`dictionary index ${index[i]} of ${dictCount} values`);
  return index;
}

/** null when a page uses something this decoder leaves to hyparquet. */
function decodeFlatChunk(c: CheckedChunk, width: 4 | 8): FlatColumn | null {
  const rows = c.rows;
  let values = new Uint8Array(0);
  let dict: Uint8Array | null = null;
  const sink: PageSink = {
    dictionary(page, count) {
      if (count * width > page.length) throw new PageProblem(`a dictionary of ${count} values in ${page.length} bytes`);
      dict = page;
    },
    values(row, n, present, valid, data, index) {
      const end = row + n;
      values = grownTo(values, end * width, rows * width);
      const out = values.subarray(row * width, end * width);
      if (data) {
        if (present * width > data.length) throw new PageProblem(`${present} values need ${present * width} bytes, the page has ${data.length}`);
        if (present === n) out.set(data.subarray(0, n * width));
        else scatter(data, width, valid, out, null);
      } else {
        scatter(dict!, width, valid, out, index);
      }
    },
  };
  const walked = walkPages(c, sink);
  return walked ? { values, width, valid: walked.valid } : null;
}

/** Most bytes of text one row group's column may hold: Arrow's Utf8 offsets are 32-bit. */
const MAX_TEXT_BYTES = 2 ** 31 - 1;

/**
 * A chunk of UTF-8 strings (PLAIN, or dictionary encoded with a PLAIN dictionary), copied from the
 * pages into one bytes buffer without a JS string per value. null when a page uses something left to
 * hyparquet, or when hyparquet's TextDecoder would not give back the same bytes (invalid UTF-8, a
 * leading byte order mark, which it drops): the chunk is then decoded by hyparquet as before.
 */
function decodeTextChunk(c: CheckedChunk): TextColumn | null {
  const rows = c.rows;
  // Both grown as the pages are decoded, never sized from a declared count (see walkPages).
  let offsets = new Int32Array(1);
  let bytes = new Uint8Array(0);
  let used = 0;
  const room = (more: number) => {
    if (used + more > MAX_TEXT_BYTES) throw new PageProblem(`the row group holds more than ${MAX_TEXT_BYTES} bytes of text, more than one Arrow Utf8 column can`);
    bytes = grownTo(bytes, used + more, MAX_TEXT_BYTES);
  };
  // Dictionary entry k is dict[bounds[2k], bounds[2k + 1]).
  let dict: Uint8Array = new Uint8Array(0);
  let bounds = new Int32Array(0);
  const sink: PageSink = {
    dictionary(page, count) {
      if (count > page.length / 4) throw new PageProblem(`a dictionary of ${count} strings in ${page.length} bytes`);
      const b = new Int32Array(2 * count);
      let p = 0;
      for (let k = 0; k < count; k++) {
        const length = stringLength(page, p, k, count);
        b[2 * k] = p += 4;
        b[2 * k + 1] = p += length;
      }
      dict = page;
      bounds = b;
    },
    values(row, n, present, valid, data, index) {
      offsets = grownTo(offsets, row + n + 1, rows + 1);
      let o = row + 1;
      if (data) {
        // PLAIN: a 4-byte length before each string, so the strings take at most this many bytes
        room(Math.max(0, data.length - 4 * present));
        let p = 0;
        let k = 0;
        for (let i = 0; i < n; i++) {
          if (!valid || valid[i]) {
            const length = stringLength(data, p, k++, present);
            p += 4;
            used = copy(data, p, p + length, bytes, used);
            p += length;
          }
          offsets[o++] = used;
        }
      } else {
        let total = 0;
        for (let k = 0; k < present; k++) {
          const e = 2 * index![k]!;
          total += bounds[e + 1]! - bounds[e]!;
        }
        room(total);
        let k = 0;
        for (let i = 0; i < n; i++) {
          if (!valid || valid[i]) {
            const e = 2 * index![k++]!;
            used = copy(dict, bounds[e]!, bounds[e + 1]!, bytes, used);
          }
          offsets[o++] = used;
        }
      }
    },
  };
  const walked = walkPages(c, sink);
  if (!walked) return null;
  const text = used === bytes.length ? bytes : bytes.slice(0, used);
  if (!decodesToItself(text, offsets, rows)) return null;
  return { offsets, bytes: text, valid: walked.valid };
}

/** The length of PLAIN string `k` of `count`, which starts (its 4-byte length) at `at`; it must end in the page. */
function stringLength(page: Uint8Array, at: number, k: number, count: number): number {
  if (at + 4 > page.length) throw new PageProblem(`string ${k + 1} of ${count} starts past the end of its page (at byte ${at} of ${page.length} bytes of values)`);
  const length = (page[at]! | (page[at + 1]! << 8) | (page[at + 2]! << 16) | (page[at + 3]! << 24)) >>> 0;
  if (length > page.length - at - 4) {
    throw new PageProblem(`string ${k + 1} of ${count} is ${length} bytes long, past the end of its page (at byte ${at + 4} of ${page.length} bytes of values)`);
  }
  return length;
}

/** Copies src[from, to) to out at `at`; returns where it ends. */
function copy(src: Uint8Array, from: number, to: number, out: Uint8Array, at: number): number {
  if (to - from > 32) {
    out.set(src.subarray(from, to), at);
    return at + to - from;
  }
  for (let b = from; b < to; b++) out[at++] = src[b]!;
  return at;
}

/**
 * Whether TextDecoder, as hyparquet uses it (one decode per value), decodes each of the `rows`
 * strings to the same bytes again: each is valid UTF-8 without a leading byte order mark. The whole
 * buffer valid, and no string starting with a continuation byte, means every string is whole
 * characters of it, hence valid on its own.
 */
function decodesToItself(bytes: Uint8Array, offsets: Int32Array, rows: number): boolean {
  if (isAscii(bytes)) return true;
  if (!isUtf8(bytes)) return false;
  for (let i = 0; i < rows; i++) {
    const at = offsets[i]!;
    if (at === offsets[i + 1]) continue;
    const b = bytes[at]!;
    if ((b & 0xc0) === 0x80 || (b === 0xef && bytes[at + 1] === 0xbb && bytes[at + 2] === 0xbf)) return false;
  }
  return true;
}

/**
 * Places the present values (from `src` in order, or `src[index[k]]`) at the rows where `valid` is
 * 1 (every row when null), `width` bytes each; null rows stay 0.
 */
function scatter(src: Uint8Array, width: number, valid: Uint8Array | null, out: Uint8Array, index: Uint32Array | null): void {
  const n = out.length / width;
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (valid && !valid[i]) continue;
    const from = (index ? index[k]! : k) * width;
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
