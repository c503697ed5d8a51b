// Parquet via hyparquet (pure JS; codecs from hyparquet-compressors, ZSTD from codecs.ts), one row group at a time,
// converted to Arrow record batches. Chosen over parquet-wasm by measurement: bench/parquet-readers.ts.
import type { FileHandle } from 'node:fs/promises';
import {
  Bool,
  type Data,
  type DataType,
  Field,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
  List,
  makeData,
} from 'apache-arrow';
import { parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import type { AsyncBuffer, FileMetaData, SchemaTree, SchemaElement } from 'hyparquet';
import { boolData, collectBatches, listData, numericData, recordBatch, utf8Buffers, utf8Data } from './arrowData.js';
import { MAX_COLUMNS, MAX_GROUP_ROWS } from './limits.js';
import { InputError, describeCause, throwIfAborted } from './errors.js';
import { openInput } from './files.js';
import { isRemote } from './remote.js';
import { checkParquetPages } from './parquetPages.js';
import { flatDecoder, type FlatColumn, type FlatRequest } from './parquetFlat.js';
import { initZstd, parquetCompressors } from './codecs.js';
import { runLimited } from '../core/storage.js';

export interface ParquetReadOptions {
  signal?: AbortSignal;
  columns?: string[];
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

interface OpenParquet {
  handle: FileHandle;
  file: AsyncBuffer;
  metadata: FileMetaData;
  schema: Schema;
  /** Top-level column names in file order that we read. */
  names: string[];
  /** A URL: each row group's column chunks are fetched together before they are decoded. */
  remote: boolean;
}

/** Reads the footer and maps the Parquet schema to Arrow. The caller closes `handle`. */
export async function openParquet(path: string, columns?: string[]): Promise<OpenParquet> {
  const { size, handle } = await openInput(path);
  try {
    if (size < 12) throw new InputError(`not a Parquet file (only ${size} bytes)`, { file: path });
    const file = fileBuffer(handle, size, path);
    // A URL: the footer's length comes with the magic, so the footer is then fetched exactly.
    const remote = isRemote(path);
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(remote ? 8 : 4);
    await handle.read(head, 0, 4, 0);
    await handle.read(tail, 0, tail.length, size - tail.length);
    if (head.toString('latin1') !== 'PAR1') throw new InputError('not a Parquet file (no PAR1 magic at the start)', { file: path });
    if (tail.subarray(tail.length - 4).toString('latin1') !== 'PAR1') {
      throw new InputError('truncated Parquet file (no PAR1 footer at the end; was it copied completely?)', { file: path });
    }
    let metadata: FileMetaData;
    try {
      const footer = remote ? tail.readUInt32LE(0) + 8 : 0;
      metadata = await parquetMetadataAsync(file, footer > 8 && footer <= size ? { initialFetchSize: footer } : undefined);
    } catch (e) {
      throw corrupt(path, e, 'corrupt Parquet footer');
    }
    let tree: SchemaTree;
    try {
      tree = parquetSchema(metadata);
    } catch (e) {
      throw corrupt(path, e, 'corrupt Parquet schema');
    }
    checkDeclaredSizes(metadata, path, size);
    const all = tree.children.map((c) => c.element.name);
    const names = columns ?? all;
    for (const name of names) {
      if (!all.includes(name)) throw new InputError('no such column', { file: path, column: name, expected: `one of ${all.join(', ')}` });
    }
    const fields = names.map((name) => {
      const node = tree.children.find((c) => c.element.name === name)!;
      return new Field(name, arrowTypeOf(node), true);
    });
    const meta = new Map<string, string>();
    for (const kv of metadata.key_value_metadata ?? []) if (kv.value !== undefined) meta.set(kv.key, kv.value);
    return { handle, file, metadata, schema: new Schema(fields, meta), names, remote };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

export async function* readParquetBatches(path: string, opts: ParquetReadOptions = {}): AsyncGenerator<RecordBatch> {
  const pq = await openParquet(path, opts.columns);
  try {
    const total = pq.file.byteLength;
    let done = 0;
    let rowStart = 0;
    for (const group of pq.metadata.row_groups) {
      throwIfAborted(opts.signal);
      const rows = Number(group.num_rows);
      yield await readRowGroup(pq, rowStart, rowStart + rows, path);
      rowStart += rows;
      done += Number(group.total_compressed_size ?? group.total_byte_size);
      opts.onProgress?.(Math.min(done, total), total);
    }
    opts.onProgress?.(total, total);
  } finally {
    await pq.handle.close();
  }
}

export async function readParquetTable(path: string, opts: ParquetReadOptions = {}): Promise<Table> {
  const { table } = await collectBatches(readParquetBatches(path, opts));
  if (table) return table;
  // No rows: the columns from the footer.
  const pq = await openParquet(path, opts.columns);
  await pq.handle.close();
  return new Table(pq.schema);
}

/** Reads rows [start, end) (within one or more row groups) into one record batch. */
export async function readRowGroup(pq: OpenParquet, start: number, end: number, path: string, opts: { flat?: boolean } = {}): Promise<RecordBatch> {
  // Plain numeric and text columns are decoded from the pages the check walked (parquetFlat.ts), not by hyparquet.
  let flat: FlatRequest | undefined;
  if (opts.flat !== false) {
    flat = { columns: new Map(), decoded: new Map() };
    for (const f of pq.schema.fields) {
      if (flatType(f.type)) flat.columns.set(f.name, bytesPerValue(f.type));
      else if (f.type instanceof Utf8) flat.columns.set(f.name, 'text');
    }
  }
  const chunks = new Map<string, { rowStart: number; data: ArrayLike<unknown> }[]>();
  for (const name of pq.names) chunks.set(name, []);
  if (end > start && pq.names.length > 0) {
    // Refuses pages that would make hyparquet abort the process (see parquetPages.ts); throws an
    // InputError naming the column, row group and page.
    try {
      await initZstd();
      const file = pq.remote ? await prefetchChunks(pq, start, end) : pq.file;
      const checked = await checkParquetPages(file, pq.metadata, pq.names, start, end, path, parquetCompressors, flat && flatDecoder(flat));
      // Columns decoded from the checked pages (flat numbers and text, parquetFlat.ts) are not decoded again.
      const rest = pq.names.filter((n) => !flat?.decoded.has(n));
      if (rest.length) {
        await parquetRead({
          file,
          metadata: pq.metadata,
          columns: rest,
          rowStart: start,
          rowEnd: end,
          compressors: checked,
          useOffsetIndex: false, // the check walks each chunk from its first page, as hyparquet then does
          onChunk: (c) => chunks.get(c.columnName)?.push({ rowStart: c.rowStart, data: c.columnData }),
        });
      }
    } catch (e) {
      throw corrupt(path, e, 'corrupt Parquet data');
    }
  }
  const length = end - start;
  const children = pq.schema.fields.map((f) => {
    const decoded = flat?.decoded.get(f.name);
    if (decoded) return 'offsets' in decoded ? utf8Buffers(decoded.offsets, decoded.bytes, decoded.valid) : flatData(f.type, decoded);
    const values = assemble(chunks.get(f.name)!, start, end);
    if (values.length !== length) {
      throw new InputError(`column has ${values.length} values in rows ${start + 1}..${end}, expected ${length} (corrupt file?)`, {
        file: path,
        column: f.name,
      });
    }
    try {
      return toArrowData(f.type, values);
    } catch (e) {
      // Damaged levels can nest values deeper than the schema says (a list where a number belongs).
      throw new InputError(`corrupt Parquet data: values do not match the column's type (${describeCause(e)})`, { file: path, column: f.name }, { cause: e });
    }
  });
  const struct = makeData({ type: new Struct(pq.schema.fields), length, nullCount: 0, children });
  return recordBatch(pq.schema, struct);
}

/** Arrow types a flat column's raw values become without conversion of their bits (or a narrowing). */
function flatType(t: DataType): boolean {
  return t instanceof Float64 || t instanceof Float32 || t instanceof Int8 || t instanceof Int16 || t instanceof Int32 || t instanceof Int64 ||
    t instanceof Uint8 || t instanceof Uint16 || t instanceof Uint32 || t instanceof Uint64;
}

function bytesPerValue(t: DataType): number {
  return (t as DataType & { ArrayType: { BYTES_PER_ELEMENT: number } }).ArrayType.BYTES_PER_ELEMENT;
}

/**
 * Arrow data from a column decoded by the page check: 64-bit and 32-bit values are used as they
 * are (unsigned types reinterpret the bits, as hyparquet's values assigned to them would wrap);
 * 8- and 16-bit integer types, stored as INT32, are narrowed the same way.
 */
function flatData(type: DataType, c: FlatColumn): Data {
  const ArrayType = (type as DataType & { ArrayType: { new (n: number): ArrayLike<number> & Record<number, number>; BYTES_PER_ELEMENT: number } }).ArrayType;
  const buffer = c.values.buffer as ArrayBuffer;
  const n = c.values.length / c.width;
  let values: ArrayLike<unknown>;
  if (ArrayType.BYTES_PER_ELEMENT === c.width) values = new (ArrayType as unknown as new (b: ArrayBuffer, o: number, n: number) => ArrayLike<unknown>)(buffer, c.values.byteOffset, n);
  else if (c.width === 4 && ArrayType.BYTES_PER_ELEMENT < 4) {
    const from = new Int32Array(buffer, c.values.byteOffset, n);
    const out = new ArrayType(n);
    for (let i = 0; i < n; i++) out[i] = from[i]!;
    values = out;
  } else throw new Error(`internal: ${type} from ${c.width}-byte Parquet values`);
  const valid = c.valid;
  return numericData(type, values as never, valid ? (i) => valid[i] === 1 : undefined);
}

/** Joins page/column chunks, keeping only rows in [start, end). */
function assemble(parts: { rowStart: number; data: ArrayLike<unknown> }[], start: number, end: number): ArrayLike<unknown> {
  parts.sort((a, b) => a.rowStart - b.rowStart);
  const sliced = parts
    .map((p) => {
      const from = Math.max(0, start - p.rowStart);
      const to = Math.min(p.data.length, end - p.rowStart);
      return to > from ? slice(p.data, from, to) : null;
    })
    .filter((p): p is ArrayLike<unknown> => p !== null);
  if (sliced.length === 1) return sliced[0];
  if (sliced.length === 0) return [];
  if (ArrayBuffer.isView(sliced[0]) && sliced.every((s) => s.constructor === sliced[0].constructor)) {
    const n = sliced.reduce((a, s) => a + s.length, 0);
    const Ctor = sliced[0].constructor as new (n: number) => { set(a: ArrayLike<unknown>, o: number): void } & ArrayLike<unknown>;
    const out = new Ctor(n);
    let o = 0;
    for (const s of sliced) {
      out.set(s, o);
      o += s.length;
    }
    return out;
  }
  const out: unknown[] = [];
  for (const s of sliced) for (let i = 0; i < s.length; i++) out.push(s[i]);
  return out;
}

function slice(a: ArrayLike<unknown>, from: number, to: number): ArrayLike<unknown> {
  if (from === 0 && to === a.length) return a;
  return (a as unknown as { slice(f: number, t: number): ArrayLike<unknown> }).slice(from, to);
}

// ---- schema mapping ----

function arrowTypeOf(node: SchemaTree): DataType {
  const el = node.element;
  const logical = el.logical_type?.type;
  if (node.children.length > 0) {
    if (logical === 'LIST' || el.converted_type === 'LIST') {
      // 3-level list: <name> (LIST) / repeated group list / element (or legacy 2-level forms).
      let leaf = node.children[0];
      if (leaf.children.length === 1) leaf = leaf.children[0];
      if (leaf.children.length === 0) return new List(new Field('item', leafType(leaf.element), true));
    }
    return new Utf8(); // structs, maps and nested lists arrive as JSON text
  }
  if (el.repetition_type === 'REPEATED') return new List(new Field('item', leafType(el), true));
  return leafType(el);
}

function leafType(el: SchemaElement): DataType {
  const lt = el.logical_type;
  const ct = el.converted_type;
  if (lt?.type === 'DECIMAL' || ct === 'DECIMAL') return new Float64();
  switch (el.type) {
    case 'BOOLEAN':
      return new Bool();
    case 'INT32': {
      if (lt?.type === 'INTEGER') return intType(lt.bitWidth, lt.isSigned);
      const m = /^(U?)INT_(8|16|32)$/.exec(ct ?? '');
      if (m) return intType(Number(m[2]), m[1] === '');
      if (ct || lt) return new Utf8(); // dates and times: shown as text
      return new Int32();
    }
    case 'INT64':
      if (lt?.type === 'INTEGER') return intType(lt.bitWidth, lt.isSigned);
      if (ct === 'UINT_64') return new Uint64();
      if (ct === 'INT_64' || (!ct && !lt)) return new Int64();
      return new Utf8(); // timestamps
    case 'FLOAT':
      return new Float32();
    case 'DOUBLE':
      return new Float64();
    case 'FIXED_LEN_BYTE_ARRAY':
      if (lt?.type === 'FLOAT16') return new Float32();
      return new Utf8();
    default:
      return new Utf8();
  }
}

function intType(bits: number, signed: boolean): DataType {
  switch (bits) {
    case 8:
      return signed ? new Int8() : new Uint8();
    case 16:
      return signed ? new Int16() : new Uint16();
    case 32:
      return signed ? new Int32() : new Uint32();
    default:
      return signed ? new Int64() : new Uint64();
  }
}

// ---- value conversion ----

function toArrowData(type: DataType, values: ArrayLike<unknown>): Data {
  const n = values.length;
  if (type instanceof List) {
    const offsets = new Int32Array(n + 1);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i] as ArrayLike<unknown> | null | undefined;
      if (v != null) total += v.length;
      offsets[i + 1] = total;
    }
    const flat: unknown[] = new Array(total);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i] as ArrayLike<unknown> | null | undefined;
      if (v != null) for (let j = 0; j < v.length; j++) flat[k++] = v[j];
    }
    const child = toArrowData((type as List).valueType, flat);
    return listData(child, offsets, (i) => values[i] != null);
  }
  if (type instanceof Bool) return boolData(values as ArrayLike<boolean | null>);
  if (type instanceof Utf8) return utf8Data(Array.from(values, displayString));
  const ArrayType = (type as DataType & { ArrayType: new (n: number) => ArrayLike<unknown> }).ArrayType;
  if (values instanceof ArrayType) return numericData(type, values as never);
  const out = new ArrayType(n) as unknown as Record<number, unknown>;
  const big = ArrayType === BigInt64Array || ArrayType === BigUint64Array;
  let anyNull = false;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v == null) anyNull = true;
    else out[i] = big ? (typeof v === 'bigint' ? v : BigInt(v as number)) : Number(v);
  }
  return numericData(type, out as never, anyNull ? (i) => values[i] != null : undefined);
}

export function displayString(v: unknown): string | null {
  if (v == null) return null;
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'object') return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

// ---- file access ----

/** hyparquet's two-method file interface over a Node file handle; short reads mean truncation. */
function fileBuffer(handle: FileHandle, size: number, path: string): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? size, size);
      const length = Math.max(0, stop - start);
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(buf, got, length - got, start + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got < length) throw new InputError(`file ended early (read ${got} of ${length} bytes at offset ${start})`, { file: path });
      return buf.buffer;
    },
  };
}

/** Unrequested bytes between two column chunks that are still fetched with them (hyparquet joins the same gaps). */
const FETCH_GAP = 1 << 13;

/**
 * A remote file's column chunks that rows [start, end) of the columns read need, fetched at once
 * (adjacent chunks in one request, a few requests in flight), as an AsyncBuffer that answers reads
 * inside them from memory and any other read from the file. Only these chunks, never the columns
 * the export does not use, cross the network; memory is one row group's chunks.
 */
async function prefetchChunks(pq: OpenParquet, start: number, end: number): Promise<AsyncBuffer> {
  const ranges: Array<[number, number]> = [];
  let row = 0;
  for (const group of pq.metadata.row_groups) {
    const rows = Number(group.num_rows);
    if (row < end && row + rows > start) {
      for (const chunk of group.columns) {
        const m = chunk.meta_data;
        if (!m || chunk.file_path || !pq.names.includes(m.path_in_schema[0]!)) continue;
        const first = Number(m.dictionary_page_offset || m.data_page_offset);
        ranges.push([first, first + Number(m.total_compressed_size)]);
      }
    }
    row += rows;
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + FETCH_GAP) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  const parts: Array<{ from: number; to: number; bytes: ArrayBuffer }> = [];
  await runLimited(4, merged.length, async (i) => {
    const [from, to] = merged[i];
    parts.push({ from, to, bytes: await pq.file.slice(from, to) });
  });
  return {
    byteLength: pq.file.byteLength,
    slice(from: number, to?: number) {
      const stop = to ?? pq.file.byteLength;
      const part = parts.find((p) => p.from <= from && stop <= p.to);
      return part ? part.bytes.slice(from - part.from, stop - part.from) : pq.file.slice(from, stop);
    },
  };
}

function corrupt(path: string, e: unknown, what: string): InputError {
  if (e instanceof InputError) return e;
  return new InputError(`${what} (${describeCause(e)})`, { file: path }, { cause: e });
}


/**
 * Refuses footers whose numbers no real file has, before anything is allocated from them: more leaf
 * columns than MAX_COLUMNS, row counts that are not counts or above MAX_GROUP_ROWS, a total that
 * does not match the row groups, column chunks that start or end past the file's end.
 */
function checkDeclaredSizes(metadata: FileMetaData, path: string, fileSize: number): void {
  const leaves = metadata.schema.filter((e) => !e.num_children).length;
  if (leaves > MAX_COLUMNS) {
    throw new InputError(`the schema has ${leaves} leaf columns, more than the limit of ${MAX_COLUMNS}`, { file: path });
  }
  let total = 0;
  for (const [g, group] of metadata.row_groups.entries()) {
    const rows = Number(group.num_rows);
    if (!Number.isInteger(rows) || rows < 0 || rows > MAX_GROUP_ROWS) {
      throw new InputError(`corrupt Parquet footer: row group ${g + 1} declares ${String(group.num_rows)} rows (the limit is ${MAX_GROUP_ROWS})`, { file: path });
    }
    total += rows;
    for (const chunk of group.columns) {
      const m = chunk.meta_data;
      if (!m) continue;
      const start = Number(m.dictionary_page_offset ?? m.data_page_offset);
      const end = start + Number(m.total_compressed_size);
      if (!(start >= 0 && end <= fileSize)) {
        throw new InputError(
          `corrupt Parquet footer: row group ${g + 1}, column '${m.path_in_schema.join('.')}' declares bytes ${start}-${end} of a ${fileSize}-byte file`,
          { file: path },
        );
      }
    }
  }
  if (Number(metadata.num_rows) !== total) {
    throw new InputError(`corrupt Parquet footer: it declares ${String(metadata.num_rows)} rows, its row groups ${total}`, { file: path });
  }
}
