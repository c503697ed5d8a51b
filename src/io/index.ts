// Readers: CSV/TSV, Parquet and Arrow IPC/Feather files → Apache Arrow tables for the core.
import type { RecordBatch, Table } from 'apache-arrow';
import { detectFormat, refineTextFormat, type InputFormat } from './format.js';
import { readIpcBatches, readIpcTable } from './ipc.js';
import { readParquetBatches } from './parquet.js';
import { readParquetTableParallel } from './parquetParallel.js';
import { readTextTable } from './text.js';

export { InputError, type InputErrorDetails } from './errors.js';
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
}

export async function readTable(path: string, opts: ReadOptions = {}): Promise<Table> {
  const format = opts.format ?? detectFormat(path);
  switch (format) {
    case 'csv':
    case 'tsv':
      return readTextTable(path, { ...opts, delimiter: refineTextFormat(path, format) === 'tsv' ? '\t' : ',' });
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
  if (format === 'parquet') yield* readParquetBatches(path, opts);
  else if (format === 'arrow') yield* readIpcBatches(path, opts);
  else yield* (await readTable(path, opts)).batches;
}
