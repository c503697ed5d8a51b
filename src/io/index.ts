// Readers: CSV/TSV, Parquet and Arrow IPC/Feather files → Apache Arrow tables for the core.
import type { RecordBatch, Table } from 'apache-arrow';
import { detectFormat, refineTextFormat, type InputFormat } from './format.js';
import { readIpcBatches, readIpcTable } from './ipc.js';
import { openParquet } from './parquet.js';
import { stat } from 'node:fs/promises';
import { readParquetBatchesParallel, readParquetTableParallel } from './parquetParallel.js';
import { readTextTable } from './text.js';
import { textDelimiter } from './dialect.js';

export { InputError, type InputErrorDetails } from './errors.js';
export { showDelimiter, textDelimiter, type Delimiter } from './dialect.js';
export { detectFormat, SUPPORTED_EXTENSIONS, type InputFormat } from './format.js';
export { pandasIndex, type PandasIndexInfo } from './pandas.js';
export { previewTable, type TablePreview } from './preview.js';
export { parseRelationshipCells, RELATIONSHIP_CELL_HELP } from './infer.js';
export { registerIpcCodecs } from './codecs.js';
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
}


export async function readTable(path: string, opts: ReadOptions = {}): Promise<Table> {
  const format = opts.format ?? detectFormat(path);
  switch (format) {
    case 'csv':
    case 'tsv':
      return readTextTable(path, { ...opts, delimiter: textDelimiter(path, format, opts.delimiter) });
    case 'parquet':
      return readParquetTableParallel(path, opts);
    case 'arrow':
      return readIpcTable(path, opts);
  }
}

/**
 * Record batches as they are decoded: one per Parquet row group or Arrow record batch. Text files
 * are typed per column over the whole file, so they arrive as the batches of one whole table.
 */
export async function* readBatches(path: string, opts: ReadOptions = {}): AsyncGenerator<RecordBatch> {
  const format = opts.format ?? detectFormat(path);
  // Row groups decoded on reader threads a few ahead of the caller (one thread for small files).
  if (format === 'parquet') yield* readParquetBatchesParallel(path, opts);
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
  const format = opts.format ?? detectFormat(path);
  const { size } = await stat(path);
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
