// The export: a path or URL (or Arrow tables) in, a dataset out. Decides whether a file is read whole
// or streamed through temporary files (by its estimated memory need), opens the output (a local
// folder, or a bucket from its URL) and hands tables or record batches to the core writers. The CLI,
// the extension's worker and the library all export through writePrecomputedAnnotations here.
import type { Schema, Table } from 'apache-arrow';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TableHandle, type AnnotationType, type CoordSpaceInput, type Phase, type TableInput, type WriteOptions, type WriteSummary } from '../core/types';
import { AbortError, ExportError, throwIfAborted } from '../core/errors';
import { checkOutputDir, LocalDirectoryStorage } from '../core/storage';
import { normalizeRelationshipRequests } from '../core/relationships';
import { MEMORY_PER_ROW, checkRequest, writeBatches, writeTables, type Output, type Run, type Tables } from '../core/write';
import { readBatches, readTable, inputSize, type InputSize } from '../io/index';
import { isBucketTarget, loadBuckets, parseBucketUrl } from '../storage/index';
import type { ResolvedOptions } from '../core/options';
import { columnsUsed } from './inputColumns';

/** Peak bytes per file byte when the row count is not in the file's metadata (Arrow IPC). */
const MEMORY_PER_FILE_BYTE = 3;

/**
 * The file to export through temporary files when its in-memory export would need more than
 * `memoryLimit`; null to export in memory.
 */
async function streamInput(table: TableInput, type: AnnotationType, options: ResolvedOptions, warn: (m: string) => void): Promise<{ path: string; rows: number | null } | null> {
  const limit = options.memoryLimit;
  if (!Number.isFinite(limit) || limit < 0) throw new ExportError(`memoryLimit must be a number of bytes >= 0, got ${options.memoryLimit}`);
  if (typeof table !== 'string') return null;
  let size: InputSize;
  try {
    size = await inputSize(table);
  } catch {
    return null; // the reader names the problem
  }
  const need = size.rows !== null ? size.rows * MEMORY_PER_ROW : size.fileBytes * MEMORY_PER_FILE_BYTE;
  if (need <= limit) return null;
  const why =
    size.format === 'csv' || size.format === 'tsv'
      ? 'CSV and TSV files are typed over the whole file, so they are read in memory'
      : type === 'polyline'
        ? 'polylines are exported in memory'
        : !options.writeSharded
          ? 'unsharded output is written in memory'
          : null;
  if (why) {
    warn(`This export may need about ${(need / 1e9).toFixed(1)} GB of memory, more than the limit of ${(limit / 1e9).toFixed(1)} GB, but ${why}. Parquet and Arrow files of point, line, box and ellipsoid annotations, written sharded, are exported through temporary files instead.`);
    return null;
  }
  return { path: table, rows: size.rows };
}

/** The opened output (see core's Output), and how to clean up its temporary files. */
interface OpenedOutput extends Output {
  dispose(): void;
}

/**
 * Opens the output: a local folder (a temporary sibling renamed into place) or a bucket (objects
 * uploaded, `info` last); a bucket export keeps its temporary files in os.tmpdir().
 */
async function openOutput(outputDir: string, bucket: boolean, options: ResolvedOptions, warn: (m: string) => void, onUploaded: (bytes: number) => void): Promise<OpenedOutput> {
  const overwrite = options.overwrite;
  if (!bucket) {
    const storage = await LocalDirectoryStorage.create(outputDir, { overwrite });
    return { storage, scratchDir: storage.tempDir, concurrency: 32, dispose: () => undefined };
  }
  const storage = await (await loadBuckets()).openBucket(outputDir, {
    overwrite,
    concurrency: options.uploadConcurrency,
    onWarning: warn,
  });
  storage.onUploaded = onUploaded;
  let scratch: string | null = null;
  return {
    storage,
    concurrency: options.uploadConcurrency,
    get scratchDir() {
      scratch ??= fs.mkdtempSync(path.join(os.tmpdir(), 'ng-annotations-'));
      return scratch;
    },
    dispose: () => {
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
      storage.store.destroy();
    },
  };
}

async function resolveTable(
  input: Table | TableHandle | string | null | undefined,
  what: string,
  signal?: AbortSignal,
  relationships?: string[],
  onBytes?: (done: number, total: number) => void,
  text: { delimiter?: string; decimalComma?: boolean } = {},
  usedColumns?: (schema: Schema) => string[] | null,
): Promise<Table | null> {
  if (input === null || input === undefined) return null;
  if (input instanceof TableHandle) return input.take();
  if (typeof input === 'string') {
    // Relationship columns of text files are parsed strictly, so a bad cell is named by its line.
    return readTable(input, { signal, relationships, onProgress: onBytes, delimiter: text.delimiter, decimalComma: text.decimalComma, columnsUsed: usedColumns });
  }
  if (typeof input === 'object' && typeof (input as Table).getChild === 'function' && typeof (input as Table).numRows === 'number') {
    return input as Table;
  }
  throw new ExportError(`Expected an Arrow table, a TableHandle, a file path or null for ${what}`);
}

export async function writePrecomputedAnnotations(
  table: TableInput,
  coordSpace: CoordSpaceInput,
  annotationType: AnnotationType | string,
  given: WriteOptions = {},
): Promise<WriteSummary> {
  const t0 = performance.now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    given.onWarning?.(m);
  };
  // Bucket output: every report also says how many bytes are up.
  let uploaded: number | undefined;
  let last: { phase: Phase; done: number; total: number; detail?: string } = { phase: 'reading', done: 0, total: 1 };
  const progress = (phase: Phase, done: number, total: number, detail?: string) => {
    last = { phase, done, total, detail };
    given.onProgress?.(uploaded === undefined ? { phase, done, total, detail } : { phase, done, total, detail, uploadedBytes: uploaded });
  };
  const onUploaded = (bytes: number) => {
    uploaded = bytes;
    given.onProgress?.({ ...last, uploadedBytes: bytes });
  };
  const { type, coords, options } = checkRequest(coordSpace, annotationType, given);
  const target = options.outputDir;
  // Anything URL-like is a bucket URL or an error, never a local path (`s3://b/p` is no folder `s3:`).
  const bucket = isBucketTarget(target);
  const outputDir = bucket ? parseBucketUrl(target).url : path.resolve(target);
  const overwrite = options.overwrite;
  if (type !== 'polyline' && options.polylinePoints !== undefined && options.polylinePoints !== null) {
    throw new ExportError('polylinePoints may only be given for polyline annotations');
  }
  if (bucket) await (await loadBuckets()).checkBucket(outputDir, overwrite);
  else checkOutputDir(outputDir, overwrite);

  const run: Run = { outputDir, t0, warnings, warn, progress };

  const streamed = await streamInput(table, type, options, warn);
  if (streamed) {
    const output = await openOutput(outputDir, bucket, options, warn, onUploaded);
    try {
      // Read twice (one pass to plan, one to write), one row group or record batch at a time; the
      // relationship names are checked when the first pass starts.
      let relationships: string[] | undefined;
      // A Parquet file at a URL fetches only the columns this export uses (in both passes).
      const batches = () =>
        readBatches(streamed.path, {
          signal: options.signal,
          relationships: (relationships ??= normalizeRelationshipRequests(options.relationships)),
          columnsUsed: (schema) => columnsUsed(schema, type, coords, options),
        });
      return await writeBatches(batches, streamed.rows, coords, type, options, run, output);
    } finally {
      output.dispose();
    }
  }

  progress('reading', 0, 1);
  const relationshipColumns = typeof options.relationships === 'string' ? [options.relationships] : options.relationships;
  const readingBytes = (done: number, total: number) => progress('reading', done, total);
  // Held only here, so the core can let each column's memory go once it is encoded.
  const tables: Tables = { main: null, points: null };
  try {
    // A Parquet file at a URL fetches only the columns this export uses.
    tables.main = await resolveTable(table, 'the annotations table', options.signal, relationshipColumns, readingBytes, options, (schema) => columnsUsed(schema, type, coords, options));
    if (type === 'polyline') {
      if (options.polylinePoints === undefined || options.polylinePoints === null) {
        // The vertices alone, passed as the first argument.
        tables.points = tables.main;
        tables.main = null;
      } else {
        tables.points = await resolveTable(options.polylinePoints, 'the polyline vertices', options.signal, undefined, readingBytes, options);
      }
    }
  } catch (e) {
    // Callers see one AbortError whatever the phase (and whatever a third-party decoder threw).
    if (options.signal?.aborted || (e as Error)?.name === 'AbortError') throw new AbortError();
    throw e;
  }
  if (type !== 'polyline' && !tables.main) {
    throw new ExportError(`A table is needed for ${type} annotations (null is only allowed for polylines)`);
  }
  progress('reading', 1, 1);
  throwIfAborted(options.signal);

  let output: OpenedOutput | null = null;
  try {
    return await writeTables(tables, coords, type, options, run, async () => (output = await openOutput(outputDir, bucket, options, warn, onUploaded)));
  } finally {
    (output as OpenedOutput | null)?.dispose();
  }
}
