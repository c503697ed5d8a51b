// Arrow IPC file ("Feather v2") and stream formats via apache-arrow, one record batch at a time
// from a file handle so a large file is never held in memory as a whole.
import { open, type FileHandle } from 'node:fs/promises';
import { RecordBatch, RecordBatchReader, Schema, Table } from 'apache-arrow';
import { Footer } from 'apache-arrow/fb/footer';
import type { Field as FbField } from 'apache-arrow/fb/field';
import { ByteBuffer } from 'flatbuffers';
import { registerIpcCodecs } from './codecs.js';
import { InputError, describeCause, throwIfAborted } from './errors.js';
import { statOrThrow } from './files.js';

export interface IpcReadOptions {
  signal?: AbortSignal;
  columns?: string[];
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

const FEATHER_V1_MAGIC = 'FEA1';
const FILE_MAGIC = 'ARROW1';

export async function* readIpcBatches(path: string, opts: IpcReadOptions = {}): AsyncGenerator<RecordBatch> {
  registerIpcCodecs();
  const { size } = await statOrThrow(path);
  if (size === 0) throw new InputError('the file is empty (expected Arrow IPC data)', { file: path });
  const handle = await open(path, 'r');
  try {
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
      await checkFooter(handle, size, path);
    }
    let reader;
    try {
      reader = await RecordBatchReader.from(guarded(handle, path));
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
      try {
        next = await it.next();
      } catch (e) {
        throw corrupt(path, e);
      }
      if (next.done) break;
      const batch = next.value;
      bytesDone = Math.min(size, bytesDone + batch.data.byteLength);
      opts.onProgress?.(bytesDone, size);
      yield select ? batch.selectAt(select) : batch;
    }
    opts.onProgress?.(size, size);
  } finally {
    await handle.close();
  }
}

export async function readIpcTable(path: string, opts: IpcReadOptions = {}): Promise<Table> {
  registerIpcCodecs();
  const batches: RecordBatch[] = [];
  let schema: Schema | null = null;
  for await (const b of readIpcBatches(path, opts)) {
    batches.push(b);
    schema ??= b.schema;
  }
  if (batches.length === 0) {
    // Zero batches: keep the schema (and its metadata) so callers still see the columns.
    schema = await readIpcSchema(path);
    if (opts.columns) schema = schema.selectAt(columnIndexes(schema, opts.columns, path));
    return new Table(schema);
  }
  return new Table(batches);
}

async function readIpcSchema(path: string): Promise<Schema> {
  const handle = await open(path, 'r');
  try {
    const reader = await RecordBatchReader.from(guarded(handle, path));
    await reader.open();
    return reader.schema;
  } catch (e) {
    throw corrupt(path, e);
  } finally {
    await handle.close();
  }
}

/**
 * Refuses a footer whose vector lengths are larger than the footer itself: apache-arrow would loop
 * over such a length (billions of fields or blocks) until the process runs out of memory.
 */
async function checkFooter(handle: FileHandle, size: number, file: string): Promise<void> {
  const lenBuf = Buffer.alloc(4);
  await handle.read(lenBuf, 0, 4, size - 10);
  const length = lenBuf.readInt32LE(0);
  if (length <= 0 || length > size - 16) throw new InputError(`corrupt Arrow IPC footer (length ${length} in a ${size}-byte file)`, { file });
  const bytes = new Uint8Array(length);
  await handle.read(bytes, 0, length, size - 10 - length);
  const most = length / 4; // every vector element takes at least 4 bytes
  const tooLong = (what: string, n: number) => new InputError(`corrupt Arrow IPC footer (${what} claims ${n} entries in ${length} bytes)`, { file });
  try {
    const footer = Footer.getRootAsFooter(new ByteBuffer(bytes));
    for (const [what, n] of [['record batches', footer.recordBatchesLength()], ['dictionaries', footer.dictionariesLength()]] as const) {
      if (n * 24 > length) throw tooLong(what, n);
    }
    const schema = footer.schema();
    if (!schema) return;
    if (schema.fieldsLength() > most) throw tooLong('the schema', schema.fieldsLength());
    if (schema.customMetadataLength() > most) throw tooLong('the metadata', schema.customMetadataLength());
    let seen = 0;
    const walk = (f: FbField | null, depth: number): void => {
      if (!f) return;
      if (++seen > most || depth > 64) throw tooLong('the schema', seen);
      if (f.childrenLength() > most) throw tooLong(`field ${JSON.stringify(String(f.name() ?? '').slice(0, 40))}`, f.childrenLength());
      if (f.customMetadataLength() > most) throw tooLong('field metadata', f.customMetadataLength());
      for (let i = 0; i < f.childrenLength(); i++) walk(f.children(i), depth + 1);
    };
    for (let i = 0; i < schema.fieldsLength(); i++) walk(schema.fields(i), 0);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`corrupt Arrow IPC footer (${describeCause(e)})`, { file }, { cause: e });
  }
}

/**
 * The file handle as apache-arrow sees it, except that a read hitting the end of the file early is an
 * error: arrow's reader loops forever on zero-byte reads when the file shrinks while it is read.
 */
function guarded(handle: FileHandle, file: string): FileHandle {
  return {
    fd: handle.fd,
    stat: () => handle.stat(),
    close: () => handle.close(),
    async read(buffer: Uint8Array, offset: number, length: number, position: number) {
      const r = await handle.read(buffer, offset, length, position);
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
