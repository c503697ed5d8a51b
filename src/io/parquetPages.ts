// Checks the data pages hyparquet is about to decode, before it decodes them. hyparquet (1.31.5,
// the latest) trusts the run lengths of the RLE/bit-packed hybrid encoding: an RLE run longer than
// its page writes past the end of a plain JS array, so one flipped length byte grows an array by
// up to 2^31 entries, and beyond ~134M V8 aborts the whole process (an uncatchable fatal error).
// The walk here mirrors hyparquet's own (its page-header parser, the same level and index sections,
// the same byte accounting), so every run that hyparquet will expand is bounded here first by the
// number of values its page declares. Pages decompressed for the walk are handed back to hyparquet
// through its `compressors` hook, so the check costs no second decompression. Each checked chunk can
// also be handed on (`onChunk`) while its pages are at hand: parquetFlat.ts decodes flat numeric
// columns from them.
import type { Compressors, CompressionCodec, FileMetaData, PageHeader, SchemaTree, AsyncBuffer } from 'hyparquet';
import { parquetSchema } from 'hyparquet';
import { decompressPage, getMaxDefinitionLevel, getMaxRepetitionLevel, getTreePath, isFlatColumn, parquetHeader } from './hyparquetInternals.js';
import { InputError, describeCause } from './errors.js';
import { MAX_PAGE_BYTES, mib } from './limits.js';

/**
 * Most values one page may declare. hyparquet holds a page's levels and dictionary indices in JS
 * arrays, which V8 cannot grow past ~134M (2^27) entries without aborting; writers cut pages far
 * smaller (pyarrow and arrow-rs at 20k rows or ~1 MB, DuckDB per vector group).
 */
export const MAX_PAGE_VALUES = 2 ** 27 - 2 ** 20;

export interface Walk {
  view: DataView;
  offset: number;
}

/** A problem found in one page; becomes an InputError naming file, column, row group and page. */
export class PageProblem extends Error {}

/** One column chunk whose pages have all been checked, for `onChunk`. */
export interface CheckedChunk {
  /** The chunk's bytes, from its first page. */
  view: DataView;
  schemaPath: SchemaTree[];
  /** Top-level column name. */
  name: string;
  encodings: string[] | undefined;
  codec: CompressionCodec;
  compressors: Compressors;
  /** The pages decompressed by the check (taken out as they are used). */
  cache: PageCache;
  /** Rows of the row group, and whether the read is exactly that row group. */
  rows: number;
  whole: boolean;
  /** The page being read, for messages (reset it to 0 before walking the pages again). */
  page: { n: number };
}

/**
 * Checks the pages of the chunks that `parquetRead({ rowStart: start, rowEnd: end, columns })` will
 * decode, and returns the compressors to pass to that call (they serve the pages decompressed here).
 * `onChunk` sees each chunk once checked; what it throws is reported like a problem of the chunk.
 */
export async function checkParquetPages(
  file: AsyncBuffer,
  metadata: FileMetaData,
  columns: string[],
  start: number,
  end: number,
  path: string,
  compressors: Compressors,
  onChunk?: (chunk: CheckedChunk) => void,
): Promise<Compressors> {
  const cache = new PageCache();
  const tree = parquetSchema(metadata);
  let groupStart = 0;
  for (const [g, group] of metadata.row_groups.entries()) {
    const groupRows = Number(group.num_rows);
    const groupEnd = groupStart + groupRows;
    // The same row-group selection as hyparquet's planner.
    if (groupRows > 0 && groupEnd > start && groupStart < end) {
      const selectEnd = Math.min(end - groupStart, groupRows);
      for (const chunk of group.columns) {
        const meta = chunk.meta_data;
        if (!meta || chunk.file_path || !columns.includes(meta.path_in_schema[0]!)) continue; // hyparquet refuses those itself
        const column = meta.path_in_schema.join('.');
        const page = { n: 0 };
        try {
          let schemaPath: SchemaTree[];
          try {
            schemaPath = getTreePath(tree, meta.path_in_schema);
          } catch {
            // hyparquet would throw on this lookup with the reads of earlier chunks under way, and
            // their failures would then go unobserved (an unhandled rejection ends the process).
            throw new InputError(`corrupt Parquet metadata: row group ${g + 1} has a column chunk for '${column}', which is not in the schema`, { file: path });
          }
          // hyparquet's byte range for the chunk (it fails the same way on offsets of the wrong type)
          const first = meta.dictionary_page_offset || meta.data_page_offset;
          const bytes = await file.slice(Number(first), Number(first + meta.total_compressed_size));
          checkChunk(new DataView(bytes), schemaPath, meta.codec, compressors, cache, selectEnd, page);
          onChunk?.({
            view: new DataView(bytes),
            schemaPath,
            name: meta.path_in_schema[0]!,
            encodings: meta.encodings,
            codec: meta.codec,
            compressors,
            cache,
            rows: groupRows,
            whole: groupStart === start && groupEnd === end,
            page,
          });
        } catch (e) {
          if (e instanceof InputError) throw e; // a short read, already named
          const why = e instanceof PageProblem ? e.message : `${page.n ? 'the page' : 'the column chunk'} cannot be read (${describeCause(e)})`;
          const where = `row group ${g + 1}${page.n ? `, page ${page.n}` : ''}`;
          throw new InputError(`corrupt Parquet data in ${where}: ${why}`, { file: path, column }, { cause: e });
        }
      }
    }
    groupStart = groupEnd;
  }
  return cache.compressors(compressors);
}

function checkChunk(
  view: DataView,
  schemaPath: SchemaTree[],
  codec: CompressionCodec,
  compressors: Compressors,
  cache: PageCache,
  selectEnd: number,
  page: { n: number },
): void {
  const flat = isFlatColumn(schemaPath);
  const maxRep = getMaxRepetitionLevel(schemaPath);
  const maxDef = getMaxDefinitionLevel(schemaPath);
  const leaf = schemaPath[schemaPath.length - 1]!.element;
  const reader: Walk = { view, offset: 0 };
  const chunk: Chunk = { codec, compressors, cache, maxRep, maxDef, type: leaf.type, depth: schemaPath.length };
  // hyparquet's loop: a flat column stops once the selected rows are decoded, a nested one reads the
  // chunk to its end. Our row count never runs ahead of hyparquet's (see `rows` below), so we stop
  // no earlier than it does.
  let rowCount = 0;
  while (flat ? rowCount < selectEnd : reader.offset < view.byteLength - 1) {
    if (reader.offset >= view.byteLength - 1) break;
    page.n++;
    const header = parquetHeader(reader);
    const size = header.compressed_page_size;
    if (!isCount(size)) throw new PageProblem(`compressed page size ${String(size)} is not a byte count`);
    if (size > view.byteLength - reader.offset) throw new PageProblem(`a page of ${size} bytes where its column chunk has ${view.byteLength - reader.offset} left`);
    const compressed = new Uint8Array(view.buffer, view.byteOffset + reader.offset, size);
    reader.offset += size;
    if (header.type === 'DATA_PAGE') rowCount += checkV1(header, compressed, chunk);
    else if (header.type === 'DATA_PAGE_V2') rowCount += checkV2(header, compressed, chunk);
    else if (header.type === 'DICTIONARY_PAGE') {
      cache.decompress(compressed, header.uncompressed_page_size, codec, compressors);
      const values = header.dictionary_page_header?.num_values;
      chunk.dictValues = isCount(values) ? values : undefined;
    }
  }
}

/** What every page of one column chunk is checked with. */
interface Chunk {
  codec: CompressionCodec;
  compressors: Compressors;
  cache: PageCache;
  maxRep: number;
  maxDef: number;
  /** The leaf's physical type. */
  type: string | undefined;
  /** Schema path length (root included). */
  depth: number;
  /** Entries of the chunk's dictionary page, once it has been seen: every index must be below it. */
  dictValues?: number;
}

/** Returns how many rows hyparquet counts for the page, or fewer. */
function checkV1(header: PageHeader, compressed: Uint8Array, { codec, compressors, cache, maxRep, maxDef, type, depth, dictValues }: Chunk): number {
  const daph = header.data_page_header;
  if (!daph) throw new PageProblem('a data page without its header');
  const n = pageValues(daph.num_values);
  const bytes = cache.decompress(compressed, header.uncompressed_page_size, codec, compressors);
  const reader: Walk = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  if (depth > 1 && maxRep) hybrid(reader, bitWidth(maxRep), n, undefined, 'repetition levels');
  let values = n;
  if (maxDef) values = hybrid(reader, bitWidth(maxDef), n, undefined, 'definition levels', maxDef);
  if (daph.encoding === 'PLAIN_DICTIONARY' || daph.encoding === 'RLE_DICTIONARY' || daph.encoding === 'RLE') {
    const width = type === 'BOOLEAN' ? 1 : reader.view.getUint8(reader.offset++);
    if (width) {
      if (type === 'BOOLEAN') hybrid(reader, width, values, undefined, 'booleans');
      else hybrid(reader, width, values, reader.view.byteLength - reader.offset, 'dictionary indices', undefined, dictValues);
    }
  }
  return n;
}

function checkV2(header: PageHeader, compressed: Uint8Array, { codec, compressors, cache, maxRep, maxDef, dictValues }: Chunk): number {
  const h = header.data_page_header_v2;
  if (!h) throw new PageProblem('a data page without its header');
  const n = pageValues(h.num_values);
  const nulls = h.num_nulls;
  const rows = h.num_rows;
  const repBytes = h.repetition_levels_byte_length;
  const defBytes = h.definition_levels_byte_length;
  if (!isCount(nulls) || nulls > n) throw new PageProblem(`page declares ${String(nulls)} nulls among ${n} values`);
  if (!isCount(rows) || rows > n) throw new PageProblem(`page declares ${String(rows)} rows for ${n} values`);
  if (!isCount(repBytes) || !isCount(defBytes)) throw new PageProblem('level section sizes are not byte counts');
  const reader: Walk = { view: new DataView(compressed.buffer, compressed.byteOffset, compressed.byteLength), offset: 0 };
  if (maxRep) hybrid(reader, bitWidth(maxRep), n, repBytes, 'repetition levels');
  reader.offset = repBytes;
  if (maxDef) hybrid(reader, bitWidth(maxDef), n, defBytes, 'definition levels');
  const values = n - nulls;
  const dataSize = header.uncompressed_page_size - defBytes - repBytes;
  let data = compressed.subarray(reader.offset);
  if (h.is_compressed !== false) data = cache.decompress(data, dataSize, codec, compressors);
  const dataReader: Walk = { view: new DataView(data.buffer, data.byteOffset, data.byteLength), offset: 0 };
  if (h.encoding === 'RLE') hybrid(dataReader, 1, values, undefined, 'booleans');
  else if (h.encoding === 'PLAIN_DICTIONARY' || h.encoding === 'RLE_DICTIONARY') {
    const width = dataReader.view.getUint8(dataReader.offset++);
    hybrid(dataReader, width, values, dataSize - 1, 'dictionary indices', undefined, dictValues);
  }
  // hyparquet counts num_rows for a page it skips and the decoded length (num_values, or the
  // non-null values of a required flat column) for one it reads: both are at least this.
  return Math.min(rows, values);
}

/**
 * Walks one RLE/bit-packed hybrid section of `count` values as hyparquet reads it (4-byte length
 * prefix when `length` is undefined; the reader ends at the section's declared end), refusing runs
 * that do not fit. Returns how many values equal `match`, when given (non-null values, for levels).
 * With `below` (dictionary indices), every value must be less than it: hyparquet would read an index
 * past its dictionary as undefined, silently.
 */
function hybrid(reader: Walk, width: number, count: number, length: number | undefined, what: string, match?: number, below?: number): number {
  const view = reader.view;
  if (length === undefined) {
    length = view.getUint32(reader.offset, true);
    reader.offset += 4;
  }
  const start = reader.offset;
  const mask = width >= 32 ? -1 : (1 << width) - 1;
  let seen = 0;
  let matches = 0;
  while (seen < count) {
    const header = varint(reader);
    if (header & 1) {
      // bit-packed: groups of 8 values, `width` bytes per group; values past `count` are dropped
      // Runs may overshoot the page's values (DuckDB writes 256 for 5); hyparquet drops the excess but
      // steps through it, so a run must fit in the page's bytes, or be short when values take 0 bits.
      const groups = header >> 1;
      if (groups < 0 || (width === 0 && groups * 8 > count - seen + 2 ** 16)) {
        throw new PageProblem(`${what}: a bit-packed run of ${groups * 8} values where the page has ${count - seen} left of ${count}`);
      }
      if (groups === 0) {
        // an empty run: hyparquet still consumes one byte
        if (reader.offset < view.byteLength) reader.offset++;
        continue;
      }
      const bytes = groups * width;
      if (reader.offset + bytes > view.byteLength) {
        throw new PageProblem(`${what}: a bit-packed run of ${groups * 8} values needs ${bytes} bytes, the page has ${view.byteLength - reader.offset} left`);
      }
      const take = Math.min(groups * 8, count - seen);
      if (match !== undefined) matches += countPacked(view, reader.offset, width, mask, take, match);
      if (below !== undefined && below < 2 ** width) {
        const top = maxPacked(view, reader.offset, width, take);
        if (top >= below) throw new PageProblem(`dictionary index ${top} of ${below} values`);
      }
      reader.offset += bytes;
      seen += take;
    } else {
      const run = header >>> 1;
      if (run > count - seen) throw new PageProblem(`${what}: a run of ${run} values where the page has ${count - seen} left of ${count}`);
      let value = 0;
      for (let i = 0, w = (width + 7) >> 3; i < w; i++) value |= view.getUint8(reader.offset++) << (i << 3);
      if (value === match) matches += run;
      if (below !== undefined && run > 0 && value >>> 0 >= below) throw new PageProblem(`dictionary index ${value >>> 0} of ${below} values`);
      seen += run;
    }
  }
  reader.offset = start + length;
  return matches;
}

/** Counts `match` among `n` little-endian bit-packed values of `width` bits starting at `at`. */
function countPacked(view: DataView, at: number, width: number, mask: number, n: number, match: number): number {
  let matches = 0;
  let bit = at * 8;
  for (let i = 0; i < n; i++, bit += width) {
    let v = 0;
    for (let got = 0; got < width; ) {
      const byte = view.getUint8(bit + got >> 3);
      const shift = (bit + got) & 7;
      const take = Math.min(8 - shift, width - got);
      v |= ((byte >> shift) & ((1 << take) - 1)) << got;
      got += take;
    }
    if ((v & mask) === match) matches++;
  }
  return matches;
}

/** The largest of `n` little-endian bit-packed values of `width` (≤ 32) bits starting at `at`. */
function maxPacked(view: DataView, at: number, width: number, n: number): number {
  let top = 0;
  let p = at;
  if (width <= 24) {
    // One accumulator of at most 31 bits: a byte in, a value out.
    const mask = (1 << width) - 1;
    let acc = 0;
    let bits = 0;
    for (let i = 0; i < n; i++) {
      while (bits < width) {
        acc |= view.getUint8(p++) << bits;
        bits += 8;
      }
      const v = acc & mask;
      if (v > top) top = v;
      acc >>>= width;
      bits -= width;
    }
    return top;
  }
  const scale = 2 ** width;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < n; i++) {
    while (bits < width) {
      acc += view.getUint8(p++) * 2 ** bits;
      bits += 8;
    }
    const v = acc % scale;
    if (v > top) top = v;
    acc = Math.floor(acc / scale);
    bits -= width;
  }
  return top;
}

/** hyparquet's varint reader (32-bit, as it computes run headers). */
function varint(reader: Walk): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = reader.view.getUint8(reader.offset++);
    result |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) return result;
    shift += 7;
  }
}

function bitWidth(value: number): number {
  return 32 - Math.clz32(value);
}

export function isCount(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0;
}

function pageValues(n: unknown): number {
  if (!isCount(n)) throw new PageProblem(`page declares ${String(n)} values`);
  if (n > MAX_PAGE_VALUES) throw new PageProblem(`page declares ${n} values, more than the ${MAX_PAGE_VALUES} this reader can hold in one page`);
  return n;
}

/**
 * Decompressed pages, kept from the check until hyparquet asks for the same bytes. Matched by
 * content (hyparquet reads its own copy of the chunk), so a miss only costs a decompression.
 */
export class PageCache {
  private pages = new Map<string, { input: Uint8Array; output: Uint8Array }[]>();

  decompress(input: Uint8Array, size: number, codec: CompressionCodec, compressors: Compressors): Uint8Array {
    // The declared size is what the decoders allocate and fill: bounding it bounds a decompression
    // bomb (a few kB of gzip or zstd that expand to gigabytes) before any of it is expanded.
    if (!isCount(size)) throw new PageProblem(`uncompressed page size ${String(size)} is not a byte count`);
    if (size > MAX_PAGE_BYTES) {
      throw new PageProblem(`a page of ${size} bytes once decompressed (${input.length} compressed), more than the limit of ${mib(MAX_PAGE_BYTES)}`);
    }
    const output = decompressPage(input, size, codec, compressors);
    if (output !== input) {
      const key = keyOf(input, size);
      const list = this.pages.get(key);
      if (list) list.push({ input, output });
      else this.pages.set(key, [{ input, output }]);
    }
    return output;
  }

  compressors(base: Compressors): Compressors {
    const out: Compressors = {};
    for (const [codec, fn] of Object.entries(base) as [CompressionCodec, (input: Uint8Array, n: number) => Uint8Array][]) {
      out[codec] = (input, n) => this.take(input, n) ?? fn(input, n);
    }
    return out;
  }

  /** The decompressed page, taken out of the cache (decompressed now if it was not there). */
  page(input: Uint8Array, size: number, codec: CompressionCodec, compressors: Compressors): Uint8Array {
    return this.take(input, size) ?? decompressPage(input, size, codec, compressors);
  }

  private take(input: Uint8Array, size: number): Uint8Array | undefined {
    const key = keyOf(input, size);
    const list = this.pages.get(key);
    if (!list) return undefined;
    const a = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const i = list.findIndex((p) => a.equals(Buffer.from(p.input.buffer, p.input.byteOffset, p.input.byteLength)));
    if (i < 0) return undefined;
    const [hit] = list.splice(i, 1);
    if (list.length === 0) this.pages.delete(key);
    return hit!.output;
  }
}

function keyOf(input: Uint8Array, size: number): string {
  const n = input.length;
  let edges = 0;
  for (let i = 0; i < 4 && i < n; i++) edges = (edges * 31 + input[i]! * 7 + input[n - 1 - i]!) | 0;
  return `${n}:${size}:${edges}`;
}
