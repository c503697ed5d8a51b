// Arrow IPC file ("Feather v2") and stream formats via apache-arrow, one record batch at a time
// from a file handle so a large file is never held in memory as a whole.
import type { FileHandle } from 'node:fs/promises';
import { DataType, RecordBatch, RecordBatchReader, Schema, Table, type Data } from 'apache-arrow';
import { Footer } from 'apache-arrow/fb/footer';
import type { Field as FbField } from 'apache-arrow/fb/field';
import { Message } from 'apache-arrow/fb/message';
import { MessageHeader } from 'apache-arrow/fb/message-header';
import { RecordBatch as FbRecordBatch } from 'apache-arrow/fb/record-batch';
import { DictionaryBatch as FbDictionaryBatch } from 'apache-arrow/fb/dictionary-batch';
import { Schema as FbSchema } from 'apache-arrow/fb/schema';
import { ByteBuffer } from 'flatbuffers';
import { registerIpcCodecs } from './codecs.js';
import { MAX_COLUMNS } from './limits.js';
import { InputError, describeCause, throwIfAborted } from './errors.js';
import { openInput } from './files.js';

/** Remote files are read in blocks of this size (the reader's many small reads become few requests). */
const REMOTE_BLOCK = 4 << 20;

export interface IpcReadOptions {
  signal?: AbortSignal;
  columns?: string[];
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

const FEATHER_V1_MAGIC = 'FEA1';
const FILE_MAGIC = 'ARROW1';

export async function* readIpcBatches(path: string, opts: IpcReadOptions = {}): AsyncGenerator<RecordBatch> {
  await registerIpcCodecs();
  const { size, handle } = await openInput(path, REMOTE_BLOCK);
  try {
    if (size === 0) throw new InputError('the file is empty (expected Arrow IPC data)', { file: path });
    const head = Buffer.alloc(Math.min(6, size));
    await handle.read(head, 0, head.length, 0);
    if (head.subarray(0, 4).toString('latin1') === FEATHER_V1_MAGIC) {
      throw new InputError('Feather v1 files are not supported; re-save it as Feather v2 (the pandas default since 1.0)', { file: path });
    }
    if (head.toString('latin1') === FILE_MAGIC) {
      // The file format ends with the footer and the magic again; without them it was cut short.
      const tail = Buffer.alloc(6);
      if (size >= 12) await handle.read(tail, 0, 6, size - 6);
      if (tail.toString('latin1') !== FILE_MAGIC) {
        throw new InputError('truncated Arrow IPC/Feather file (no footer at the end; was it copied completely?)', { file: path });
      }
      const footerStart = await checkFooter(handle, size, path);
      await checkMessages(handle, 8, footerStart, path);
    }
    if (head.toString('latin1') !== FILE_MAGIC) await checkMessages(handle, 0, size, path);
    let reader;
    try {
      reader = await RecordBatchReader.from(guarded(handle, path, size));
      await reader.open();
    } catch (e) {
      throw corrupt(path, e);
    }
    if (reader.schema === undefined || reader.schema === null) {
      throw new InputError('not an Arrow IPC file (no schema found)', { file: path });
    }
    const select = opts.columns ? columnIndexes(reader.schema, opts.columns, path) : null;
    let bytesDone = 0;
    const it = reader[Symbol.asyncIterator]();
    for (;;) {
      throwIfAborted(opts.signal);
      let next: IteratorResult<RecordBatch>;
      let out: RecordBatch;
      try {
        next = await it.next();
        if (next.done) break;
        // Inside the try too: a batch decoded from damaged metadata can throw on first use.
        checkData(next.value.data, path);
        bytesDone = Math.min(size, bytesDone + next.value.data.byteLength);
        out = select ? next.value.selectAt(select) : next.value;
      } catch (e) {
        throw corrupt(path, e);
      }
      opts.onProgress?.(bytesDone, size);
      yield out;
    }
    opts.onProgress?.(size, size);
  } finally {
    await handle.close();
  }
}

export async function readIpcTable(path: string, opts: IpcReadOptions = {}): Promise<Table> {
  await registerIpcCodecs();
  const batches: RecordBatch[] = [];
  for await (const b of readIpcBatches(path, opts)) batches.push(b);
  if (batches.length === 0) {
    // Zero batches: keep the schema (and its metadata) so callers still see the columns.
    let schema = await readIpcSchema(path);
    if (opts.columns) schema = schema.selectAt(columnIndexes(schema, opts.columns, path));
    return new Table(schema);
  }
  return new Table(batches);
}

async function readIpcSchema(path: string): Promise<Schema> {
  const { size, handle } = await openInput(path, REMOTE_BLOCK);
  try {
    const reader = await RecordBatchReader.from(guarded(handle, path, size));
    await reader.open();
    return reader.schema;
  } catch (e) {
    throw corrupt(path, e);
  } finally {
    await handle.close();
  }
}

/**
 * Refuses metadata whose vector lengths are larger than the bytes holding them: apache-arrow loops
 * over such a length (billions of fields, children, nodes or buffers) until the process runs out of
 * memory. Every vector element takes at least 4 bytes (blocks, nodes and buffers 16 or more).
 */
function damaged(file: string, what: string, n: number, bytes: number): InputError {
  return new InputError(`damaged Arrow IPC metadata (${what} claims ${n} entries in ${bytes} bytes)`, { file });
}

function checkSchema(schema: FbSchema, bytes: number, file: string): void {
  const most = bytes / 4;
  if (schema.fieldsLength() > most) throw damaged(file, 'the schema', schema.fieldsLength(), bytes);
  if (schema.fieldsLength() > MAX_COLUMNS) {
    throw new InputError(`the schema has ${schema.fieldsLength()} columns, more than the limit of ${MAX_COLUMNS}`, { file });
  }
  if (schema.customMetadataLength() > most) throw damaged(file, 'the schema metadata', schema.customMetadataLength(), bytes);
  let seen = 0;
  const walk = (f: FbField | null, depth: number): void => {
    if (!f) return;
    if (++seen > most || depth > 64) throw damaged(file, 'the schema', seen, bytes);
    if (f.childrenLength() > most) throw damaged(file, 'a field', f.childrenLength(), bytes);
    if (f.customMetadataLength() > most) throw damaged(file, 'field metadata', f.customMetadataLength(), bytes);
    for (let i = 0; i < f.childrenLength(); i++) walk(f.children(i), depth + 1);
  };
  for (let i = 0; i < schema.fieldsLength(); i++) walk(schema.fields(i), 0);
}

function checkBatch(b: FbRecordBatch | null, bytes: number, file: string): void {
  if (!b) return;
  if (b.nodesLength() * 16 > bytes) throw damaged(file, 'a record batch', b.nodesLength(), bytes);
  if (b.buffersLength() * 16 > bytes) throw damaged(file, 'a record batch', b.buffersLength(), bytes);
  if (b.variadicBufferCountsLength() * 8 > bytes) throw damaged(file, 'a record batch', b.variadicBufferCountsLength(), bytes);
}

/** Checks the footer of an IPC file; returns where it starts. */
async function checkFooter(handle: FileHandle, size: number, file: string): Promise<number> {
  const lenBuf = Buffer.alloc(4);
  await handle.read(lenBuf, 0, 4, size - 10);
  const length = lenBuf.readInt32LE(0);
  if (length <= 0 || length > size - 16) throw new InputError(`damaged Arrow IPC footer (length ${length} in a ${size}-byte file)`, { file });
  const bytes = new Uint8Array(length);
  await handle.read(bytes, 0, length, size - 10 - length);
  try {
    const footer = Footer.getRootAsFooter(new ByteBuffer(bytes));
    if (footer.recordBatchesLength() * 24 > length) throw damaged(file, 'the footer', footer.recordBatchesLength(), length);
    if (footer.dictionariesLength() * 24 > length) throw damaged(file, 'the footer', footer.dictionariesLength(), length);
    const schema = footer.schema();
    if (schema) checkSchema(schema, length, file);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`damaged Arrow IPC footer (${describeCause(e)})`, { file }, { cause: e });
  }
  return size - 10 - length;
}

/** Walks the messages between `start` and `end` (metadata only, bodies skipped) and checks each. */
async function checkMessages(handle: FileHandle, start: number, end: number, file: string): Promise<void> {
  const prefix = Buffer.alloc(8);
  let pos = start;
  while (pos + 4 <= end) {
    const { bytesRead } = await handle.read(prefix, 0, Math.min(8, end - pos), pos);
    let length = prefix.readInt32LE(0);
    let meta = pos + 4;
    if (length === -1) {
      if (bytesRead < 8) return; // a bare continuation marker at the end: let the reader judge
      length = prefix.readInt32LE(4);
      meta = pos + 8;
    }
    if (length === 0) return; // end of stream
    if (length < 0 || meta + length > end) return; // truncated or not a message: the reader reports it
    const bytes = new Uint8Array(length);
    await handle.read(bytes, 0, length, meta);
    let body: bigint;
    try {
      const m = Message.getRootAsMessage(new ByteBuffer(bytes));
      const type = m.headerType();
      if (type === MessageHeader.Schema) {
        const sc = m.header(new FbSchema()) as FbSchema | null;
        if (sc) checkSchema(sc, length, file);
      } else if (type === MessageHeader.RecordBatch) {
        checkBatch(m.header(new FbRecordBatch()) as FbRecordBatch | null, length, file);
      } else if (type === MessageHeader.DictionaryBatch) {
        checkBatch((m.header(new FbDictionaryBatch()) as FbDictionaryBatch | null)?.data() ?? null, length, file);
      }
      body = m.bodyLength();
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`damaged Arrow IPC message at byte ${pos} (${describeCause(e)})`, { file }, { cause: e });
    }
    if (body < 0n || body > BigInt(end)) return; // the reader reports it
    pos = meta + length + Number(body);
  }
}

/**
 * A batch's lengths must fit its decoded buffers: a flipped length field (10^15 rows over a few
 * kilobytes) would otherwise pass as a table and exhaust memory when a column is first used.
 */
function checkData(d: Data, file: string): void {
  const n = d.offset + d.length;
  const bad = (what: string) => new InputError(`damaged Arrow IPC data (${what} for ${d.length} rows of ${d.type})`, { file });
  if (!Number.isSafeInteger(n) || d.length < 0 || d.offset < 0) throw bad('an impossible length');
  if (DataType.isNull(d.type)) return;
  if (d.nullCount > 0 && d.nullBitmap && d.nullBitmap.length > 0 && d.nullBitmap.length * 8 < n) throw bad('a short validity bitmap');
  if (d.valueOffsets) {
    if (d.valueOffsets.length < n + 1) throw bad('too few offsets');
    const last = Number(d.valueOffsets[n]);
    if (d.children.length === 0 && d.values && d.values.length < last) throw bad('too few value bytes');
    if (d.children.length === 1 && d.children[0]!.offset + d.children[0]!.length < last) throw bad('too few list items');
  } else if (DataType.isBool(d.type)) {
    if (d.values && d.values.length * 8 < n) throw bad('too few value bits');
  } else if (d.values && !DataType.isDictionary(d.type) && d.values.length < n * d.stride) {
    throw bad('too few values');
  } else if (DataType.isDictionary(d.type) && d.values && d.values.length < n) {
    throw bad('too few dictionary indices');
  }
  if (DataType.isFixedSizeList(d.type) && d.children[0] && d.children[0].offset + d.children[0].length < n * d.type.listSize) throw bad('too few list items');
  if (DataType.isStruct(d.type)) for (const c of d.children) if (c.offset + c.length < n) throw bad('a short child');
  for (const c of d.children) checkData(c, file);
}

/**
 * The file handle as apache-arrow sees it, except that a read hitting the end of the file early, or
 * reading far more than the file holds, is an error: arrow's reader loops forever on zero-byte reads
 * when the file shrinks while it is read, and on some damaged offsets.
 */
function guarded(handle: FileHandle, file: string, size: number): FileHandle {
  // A valid file is read about once; damaged offsets can send apache-arrow round in circles
  // (re-reading the first bytes forever), so stop after three times the file.
  const limit = 3 * size + (1 << 16);
  let total = 0;
  return {
    fd: handle.fd,
    stat: () => handle.stat(),
    close: () => handle.close(),
    async read(buffer: Uint8Array, offset: number, length: number, position: number) {
      const r = await handle.read(buffer, offset, length, position);
      total += r.bytesRead;
      if (total > limit) {
        throw new InputError(`damaged Arrow IPC structure: the reader went past ${total} bytes of a ${size}-byte file (its offsets loop)`, { file });
      }
      if (r.bytesRead === 0 && length > 0) {
        throw new InputError(`the file ended early at byte ${position} (was it truncated or changed while being read?)`, { file });
      }
      return r;
    },
  } as unknown as FileHandle;
}

function columnIndexes(schema: Schema, wanted: string[], file: string): number[] {
  const names = schema.fields.map((f) => f.name);
  return wanted.map((name) => {
    const i = names.indexOf(name);
    if (i < 0) throw new InputError('no such column', { file, column: name, expected: `one of ${names.join(', ')}` });
    return i;
  });
}

function corrupt(path: string, e: unknown): InputError {
  if (e instanceof InputError) return e;
  return new InputError(`not a valid Arrow IPC/Feather file, or truncated (${describeCause(e)})`, { file: path }, { cause: e });
}
