// Readers: CSV/TSV, Parquet and Arrow IPC/Feather files → Apache Arrow tables for the core.
import { Field, Null, Schema, Struct, Table, makeData, type RecordBatch } from 'apache-arrow';
import { detectFormat, type InputFormat } from './format.js';
import { readIpcBatches, readIpcTable } from './ipc.js';
import { openParquet, readParquetBatches, readParquetTable } from './parquet.js';
import { readParquetBatchesParallel, readParquetTableParallel } from './parquetParallel.js';
import { readTextTable } from './text.js';
import { inputDelimiter } from './dialect.js';
import { isRemote, remotePath } from './remote.js';
import { inputBytes } from './files.js';
import { collectBatches, recordBatch } from './arrowData.js';

export { InputError, type InputErrorDetails } from './errors.js';
export { showDelimiter, textDelimiter, type Delimiter } from './dialect.js';
export { detectFormat, SUPPORTED_EXTENSIONS, type InputFormat } from './format.js';
export { pandasIndex, type PandasIndexInfo } from './pandas.js';
export { previewTable, type TablePreview } from './preview.js';
export { parseRelationshipCells, RELATIONSHIP_CELL_HELP } from './infer.js';
export { registerIpcCodecs } from './codecs.js';
export { isRemote } from './remote.js';
export { sourceRow, firstNonNumericCell } from './rows.js';

export interface ReadOptions {
  /** Overrides detection from the file extension. */
  format?: InputFormat;
  signal?: AbortSignal;
  /** Read only these columns (in this order); a missing one is an InputError. */
  columns?: string[];
  /**
   * Text files only: columns the caller will use as relationships. They are parsed strictly, so
   * a malformed cell is an InputError naming its row instead of turning the column into text.
   */
  relationships?: string[];
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** Text files: the field delimiter (default: sniffed among , ; tab | from the first lines; tab for .tsv). */
  delimiter?: string;
  /** Text files: numbers use a decimal comma (`1,5`). */
  decimalComma?: boolean;
  /**
   * Remote Parquet inputs (a URL): the columns the caller will use, given the file's schema (null:
   * all). Only their column chunks are fetched; the others come back as Null columns of the same
   * names, so messages that list the columns read the same. Local files are read as before.
   */
  columnsUsed?: (schema: Schema) => string[] | null;
}

/** The format from the file name (for a URL, from its path; a remote `.txt` is text, its delimiter sniffed when read). */
export function formatOf(path: string, opts: { format?: InputFormat } = {}): InputFormat {
  if (opts.format) return opts.format;
  if (!isRemote(path)) return detectFormat(path);
  const p = remotePath(path);
  return /\.txt$/i.test(p) ? 'csv' : detectFormat(p);
}


export async function readTable(path: string, opts: ReadOptions = {}): Promise<Table> {
  const format = formatOf(path, opts);
  const remote = isRemote(path);
  switch (format) {
    case 'csv':
    case 'tsv':
      return readTextTable(path, { ...opts, delimiter: await inputDelimiter(path, format, opts.delimiter) });
    case 'parquet':
      // A URL is read on this thread (the reader threads open local files), ranged: see readRemoteParquet.
      return remote ? readRemoteParquet(path, opts) : readParquetTableParallel(path, opts);
    case 'arrow':
      return readIpcTable(path, opts);
  }
}

/**
 * Record batches as they are decoded: one per Parquet row group or Arrow record batch. Text files
 * are typed per column over the whole file, so they arrive as the batches of one whole table.
 */
export async function* readBatches(path: string, opts: ReadOptions = {}): AsyncGenerator<RecordBatch> {
  const format = formatOf(path, opts);
  // Row groups decoded on reader threads a few ahead of the caller (one thread for small files).
  if (format === 'parquet') yield* isRemote(path) ? readRemoteParquetBatches(path, opts) : readParquetBatchesParallel(path, opts);
  else if (format === 'arrow') yield* readIpcBatches(path, opts);
  else yield* (await readTable(path, opts)).batches;
}

/** What the writer needs to decide between an export in memory and one through temporary files. */
export interface InputSize {
  format: InputFormat;
  fileBytes: number;
  /** Rows, when the file says so without being read (Parquet). */
  rows: number | null;
  /** Rows of the largest row group (Parquet), which bounds a streamed export's memory. */
  largestBatchRows: number | null;
}

export async function inputSize(path: string, opts: { format?: InputFormat } = {}): Promise<InputSize> {
  const format = formatOf(path, opts);
  const size = await inputBytes(path);
  if (format !== 'parquet') return { format, fileBytes: size, rows: null, largestBatchRows: null };
  const pq = await openParquet(path);
  try {
    let largest = 0;
    for (const g of pq.metadata.row_groups) largest = Math.max(largest, Number(g.num_rows));
    return { format, fileBytes: size, rows: Number(pq.metadata.num_rows), largestBatchRows: largest };
  } finally {
    await pq.handle.close();
  }
}

/**
 * A Parquet file at a URL, reading only the column chunks of the columns the caller uses (the
 * footer first, then per row group the chunks it needs, adjacent ones in one request); the other
 * columns become Null columns of the same names. On this thread: the reader threads open local files.
 */
async function* readRemoteParquetBatches(path: string, opts: ReadOptions): AsyncGenerator<RecordBatch> {
  if (!opts.columnsUsed || opts.columns) {
    yield* readParquetBatches(path, opts);
    return;
  }
  const pq = await openParquet(path);
  await pq.handle.close();
  const all = pq.schema;
  const wanted = opts.columnsUsed(all);
  const keep = wanted && all.fields.map((f) => f.name).filter((n) => wanted.includes(n));
  if (!keep || keep.length === all.fields.length) {
    yield* readParquetBatches(path, opts);
    return;
  }
  const schema = new Schema(
    all.fields.map((f) => (keep.includes(f.name) ? f : new Field(f.name, new Null(), true))),
    all.metadata,
  );
  for await (const b of readParquetBatches(path, { ...opts, columns: keep })) {
    const children = schema.fields.map((f) => (f.type instanceof Null ? makeData({ type: new Null(), length: b.numRows }) : b.getChild(f.name)!.data[0]));
    yield recordBatch(schema, makeData({ type: new Struct(schema.fields), length: b.numRows, nullCount: 0, children }));
  }
}

async function readRemoteParquet(path: string, opts: ReadOptions): Promise<Table> {
  const { table, schema } = await collectBatches(readRemoteParquetBatches(path, opts));
  return table ?? (schema ? new Table(schema) : readParquetTable(path, { ...opts, columnsUsed: undefined } as ReadOptions));
}
