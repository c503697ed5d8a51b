// Parquet row groups decoded on worker threads, several at once, and handed back as Arrow column
// buffers (transferred, not copied). Decoding is most of the cost of reading a Parquet file and row
// groups are independent, so a 2-core machine reads a large file in about half the time. Small
// files, single row groups, or a missing worker script fall back to reading on this thread.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DataType, RecordBatch, Struct, Table, makeData, type Data, type Field, type Schema } from 'apache-arrow';
import { openParquet, readParquetBatches, readParquetTable, type ParquetReadOptions } from './parquet.js';
import { InputError, abortError, throwIfAborted, type InputErrorDetails } from './errors.js';
import { statOrThrow } from './files.js';
import { recordBatch } from './arrowData.js';
import { inOrderAhead } from '../core/storage.js';

/**
 * Below this many bytes of file a worker's start-up (loading the reader, warming up hyparquet's
 * decoders) costs more than it saves. Measured with the CLI on 2 cores, 1M points / 37 MB: 2.35 s
 * with two workers vs 2.50 s on the main thread; 10M rows / 372 MB read in 5.5 s vs 7.5 s.
 */
const MIN_PARALLEL_BYTES = 8 << 20;

/** Arrow column data as plain buffers, rebuilt against the schema's field types. */
export interface PlainData {
  length: number;
  nullCount: number;
  values?: ArrayBufferView;
  valueOffsets?: Int32Array;
  nullBitmap?: Uint8Array;
  children: PlainData[];
}

export type RowGroupRequest = {
  id: number;
  path: string;
  columns: string[];
  start: number;
  end: number;
  /** Per column: the whole-file values buffer (shared memory) to write rows [start, end) into, or null. */
  into: Array<(ArrayBufferView & { set(a: ArrayLike<unknown>, at: number): void }) | null>;
};
export type RowGroupReply =
  | { id: number; columns: PlainData[] }
  | { id: number; error: { message: string; details?: InputErrorDetails; input: boolean } };

/** A column's Data as buffers; views that do not own their buffer are copied so they can be transferred. */
export function toPlain(d: Data, transfer: Set<ArrayBuffer>, withoutValues = false): PlainData {
  const own = <T extends ArrayBufferView | undefined>(a: T): T => {
    if (!a || a.byteLength === 0) return a;
    const whole = a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && !transfer.has(a.buffer as ArrayBuffer);
    const out = whole ? a : (a as unknown as { slice(): T }).slice();
    transfer.add(out!.buffer as ArrayBuffer);
    return out;
  };
  // Offsets into a sliced Data would need rebasing; the reader never slices.
  if (d.offset !== 0) throw new Error('sliced Arrow data cannot be sent between threads');
  return {
    length: d.length,
    nullCount: d.nullCount,
    values: withoutValues ? undefined : own(d.values as ArrayBufferView | undefined),
    valueOffsets: own(d.valueOffsets as Int32Array | undefined),
    nullBitmap: own(d.nullBitmap as Uint8Array | undefined),
    children: d.children.map((c) => toPlain(c, transfer)),
  };
}

function fromPlain(type: DataType, p: PlainData): Data {
  const children = (type.children ?? []).map((f: Field, i: number) => fromPlain(f.type, p.children[i]));
  return makeData({
    type,
    length: p.length,
    nullCount: p.nullCount,
    nullBitmap: p.nullBitmap,
    data: p.values,
    valueOffsets: p.valueOffsets,
    child: children[0],
    children,
  } as never);
}

function workerScript(): string | null {
  for (const p of [path.join(__dirname, 'parquetWorker.js'), path.join(__dirname, '..', '..', 'dist', 'parquetWorker.js')]) {
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/**
 * Reader threads over one file: `read` sends a row group to the next thread (round robin; callers
 * keep at most a few in flight) and resolves with its columns. The first failure (a decoding error,
 * a thread that stops, an abort) rejects every read in flight and every later one.
 */
class ReaderThreads {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (c: PlainData[]) => void; reject: (e: Error) => void }>();
  private failed: Error | null = null;
  private nextId = 0;
  private turn = 0;
  private readonly onAbort = () =>
    this.fail(abortError(this.signal));

  constructor(
    script: string,
    threads: number,
    private readonly file: string,
    private readonly columns: string[],
    private readonly signal?: AbortSignal,
  ) {
    for (let t = 0; t < threads; t++) {
      const w = new Worker(script);
      this.workers.push(w);
      w.on('message', (m: RowGroupReply) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        if ('error' in m) {
          // fail() rejects every read in flight, this one included: it stays in `pending` until then
          // (taken out first, nothing rejected it, and a caller waiting on it waited forever).
          const e = m.error;
          this.fail(e.input && e.details ? Object.assign(new InputError('', e.details), { message: e.message }) : new Error(e.message));
          return;
        }
        this.pending.delete(m.id);
        p.resolve(m.columns);
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (this.pending.size > 0) this.fail(new InputError(`the Parquet reader thread stopped unexpectedly (exit code ${code})`, { file }));
      });
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  read(start: number, end: number, into: RowGroupRequest['into']): Promise<PlainData[]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const w = this.workers[this.turn++ % this.workers.length];
    const reply = new Promise<PlainData[]>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    w.postMessage({ id, path: this.file, columns: this.columns, start, end, into } satisfies RowGroupRequest);
    return reply;
  }

  /** The failure, if any: a throw while merging a reply counts as one (it would end the process in an event handler). */
  check(e?: unknown): void {
    if (e !== undefined) this.fail(e instanceof Error ? e : new Error(String(e)));
    if (this.failed) throw this.failed;
  }

  async close(): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.fail(new Error('reader closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

interface Plan {
  script: string;
  threads: number;
  schema: Schema;
  names: string[];
  total: number;
  ranges: Array<{ start: number; end: number; bytes: number }>;
}

/** Reader threads for this file, or null when one thread is better (small file, one core, one row group, no script). */
async function planThreads(file: string, opts: ParquetReadOptions & { threads?: number; minParallelBytes?: number }): Promise<Plan | null> {
  const { size } = await statOrThrow(file);
  const script = size >= (opts.minParallelBytes ?? MIN_PARALLEL_BYTES) && (opts.threads ?? availableParallelism()) > 1 ? workerScript() : null;
  if (!script) return null;
  const pq = await openParquet(file, opts.columns);
  await pq.handle.close();
  const groups = pq.metadata.row_groups;
  const threads = Math.min(opts.threads ?? availableParallelism(), groups.length);
  if (threads < 2) return null;
  const ranges: Plan['ranges'] = [];
  let row = 0;
  for (const g of groups) {
    const rows = Number(g.num_rows);
    ranges.push({ start: row, end: row + rows, bytes: Number(g.total_compressed_size ?? g.total_byte_size) });
    row += rows;
  }
  return { script, threads, schema: pq.schema, names: pq.names, total: pq.file.byteLength, ranges };
}

/** Reads a whole Parquet file; row groups are decoded on worker threads when that pays. */
export async function readParquetTableParallel(
  file: string,
  opts: ParquetReadOptions & { threads?: number; minParallelBytes?: number } = {},
): Promise<Table> {
  // Small files, one core or no worker script: the single-threaded reader (and one footer parse).
  const plan = await planThreads(file, opts);
  if (!plan) return readParquetTable(file, opts);
  const { schema, ranges, total } = plan;
  const rows = ranges.length ? ranges[ranges.length - 1].end : 0;
  const chunks: Array<Data[] | undefined> = new Array(ranges.length);
  const columns = schema.fields.map((f) => ContiguousColumn.for(f.type, rows));
  const readers = new ReaderThreads(plan.script, plan.threads, file, plan.names, opts.signal);
  let done = 0;
  try {
    let next = 0;
    // One row group in flight per thread; the next is sent when one comes back.
    const lane = async () => {
      while (next < ranges.length) {
        const g = next++;
        const { start, end } = ranges[g];
        const got = await readers.read(start, end, columns.map((c) => c?.values ?? null));
        try {
          // Fixed-width columns are already in their whole-file buffer (the worker wrote them): only
          // their validity bits are merged; the other columns are kept as they came.
          chunks[g] = schema.fields.map((f, i) => {
            const col = columns[i];
            if (col) {
              col.put(start, end, got[i]);
              return null as unknown as Data;
            }
            return fromPlain(f.type, got[i]);
          });
        } catch (e) {
          readers.check(e);
        }
        done += ranges[g].bytes;
        opts.onProgress?.(Math.min(done, total), total);
      }
    };
    await Promise.all(Array.from({ length: plan.threads }, lane));
  } finally {
    await readers.close();
  }
  throwIfAborted(opts.signal);
  opts.onProgress?.(total, total);
  const whole = columns.map((c) => c?.data() ?? null);
  const batches: RecordBatch[] = [];
  ranges.forEach(({ start, end }, g) => {
    if (end === start) return;
    const children = schema.fields.map((_, i) => whole[i]?.slice(start, end - start) ?? chunks[g]![i]);
    batches.push(recordBatch(schema, makeData({ type: new Struct(schema.fields), length: end - start, nullCount: 0, children })));
  });
  return batches.length ? new Table(batches) : new Table(schema);
}

/**
 * Row groups as record batches, in file order, decoded on worker threads a few row groups ahead of
 * the caller (for exports that stream the file rather than hold it). Memory: about threads + 1 row
 * groups.
 */
export async function* readParquetBatchesParallel(
  file: string,
  opts: ParquetReadOptions & { threads?: number; minParallelBytes?: number } = {},
): AsyncGenerator<RecordBatch> {
  const plan = await planThreads(file, opts);
  if (!plan) {
    yield* readParquetBatches(file, opts);
    return;
  }
  const { schema, ranges, total } = plan;
  const readers = new ReaderThreads(plan.script, plan.threads, file, plan.names, opts.signal);
  let done = 0;
  try {
    const decoded = inOrderAhead(ranges.length, plan.threads + 1, (g) => readers.read(ranges[g].start, ranges[g].end, plan.names.map(() => null)));
    let g = 0;
    for await (const got of decoded) {
      throwIfAborted(opts.signal);
      const { start, end, bytes } = ranges[g++];
      done += bytes;
      opts.onProgress?.(Math.min(done, total), total);
      if (end === start) continue;
      const children = schema.fields.map((f, i) => fromPlain(f.type, got[i]));
      yield recordBatch(schema, makeData({ type: new Struct(schema.fields), length: end - start, nullCount: 0, children }));
    }
  } finally {
    await readers.close();
  }
}

/**
 * A fixed-width column of the whole file in one shared buffer that the workers fill row group by row
 * group. Transferring each row group's ~1 MB buffers instead left their memory in the workers' C
 * heaps once freed (measured: 600–740 MB of RSS kept after dropping a 574 MB table); one large
 * buffer per column is mapped and unmapped as a whole, so a column the writer releases gives its
 * memory back, and each worker reuses its own scratch buffers.
 */
class ContiguousColumn {
  private bitmap: Uint8Array | null = null;
  private nullCount = 0;
  private readonly noNulls: Array<[number, number]> = [];

  private constructor(
    private readonly type: DataType,
    readonly values: ArrayBufferView & { set(a: ArrayLike<unknown>, at: number): void; length: number },
    private readonly length: number,
  ) {}

  static for(type: DataType, rows: number): ContiguousColumn | null {
    // Bool values are bits, text and lists have offsets: those stay in row-group chunks.
    if (!(DataType.isInt(type) || DataType.isFloat(type))) return null;
    type Values = ArrayBufferView & { set(a: ArrayLike<unknown>, at: number): void; length: number };
    const ArrayType = (type as DataType & { ArrayType: (new (b: SharedArrayBuffer) => Values) & { BYTES_PER_ELEMENT: number } }).ArrayType;
    return new ContiguousColumn(type, new ArrayType(new SharedArrayBuffer(rows * ArrayType.BYTES_PER_ELEMENT)), rows);
  }

  /** Records a row group whose values a worker wrote into `values`; merges its validity bits. */
  put(start: number, end: number, p: PlainData): void {
    if (p.nullCount === 0 || !p.nullBitmap) {
      this.noNulls.push([start, end]);
      return;
    }
    this.bitmap ??= new Uint8Array((this.length + 7) >> 3);
    this.nullCount += p.nullCount;
    for (let i = 0; i < end - start; i++) {
      if ((p.nullBitmap[i >> 3] >> (i & 7)) & 1) {
        const r = start + i;
        this.bitmap[r >> 3] |= 1 << (r & 7);
      }
    }
  }

  data(): Data {
    if (this.bitmap) {
      for (const [start, end] of this.noNulls) for (let r = start; r < end; r++) this.bitmap[r >> 3] |= 1 << (r & 7);
    }
    return makeData({ type: this.type, length: this.length, nullCount: this.nullCount, nullBitmap: this.bitmap ?? undefined, data: this.values } as never);
  }
}
