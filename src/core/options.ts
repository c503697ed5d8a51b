// The export's options, resolved once: every check of a given value, and every default, here. Both
// writers (write.ts in memory, stream.ts through temporary files) and the export layer read the
// resolved options and never default a field themselves.
import { randomInt } from 'node:crypto';
import { availableParallelism, totalmem } from 'node:os';
import type { WriteOptions } from './types';
import { ExportError } from './errors';

/** gzip level used when none is given; see README "Compression" for the measurements. */
export const DEFAULT_GZIP_LEVEL = 1;
const MAX_LEVELS = 64;

export function checkOptions(o: WriteOptions): void {
  const levels = o.numSpatialLevels ?? 7;
  const limit = o.targetChunkLimit ?? 10_000;
  const writeSpatial = o.writeBySpatialChunk ?? true;
  if (!Number.isInteger(levels) || levels < 0) throw new ExportError(`numSpatialLevels must be a whole number, got ${levels}`);
  if (!Number.isInteger(limit) || limit < 0) throw new ExportError(`targetChunkLimit must be a whole number >= 0, got ${limit}`);
  if (writeSpatial && levels === 0) {
    throw new ExportError('To write the spatial index, numSpatialLevels must be at least 1');
  }
  if (writeSpatial && limit === 0 && levels !== 1) {
    throw new ExportError('targetChunkLimit 0 disables subsampling and is only valid with numSpatialLevels 1');
  }
  if (levels > MAX_LEVELS) throw new ExportError(`numSpatialLevels must be at most ${MAX_LEVELS}, got ${levels}`);
  if (o.seed !== undefined && (!Number.isSafeInteger(o.seed) || o.seed < 0)) throw new ExportError(`seed must be a non-negative integer, got ${o.seed}`);
  if (o.maxThreads !== undefined && (!Number.isInteger(o.maxThreads) || o.maxThreads < 1)) throw new ExportError(`maxThreads must be a positive integer, got ${o.maxThreads}`);
  if (o.uploadConcurrency !== undefined && (!Number.isInteger(o.uploadConcurrency) || o.uploadConcurrency < 1 || o.uploadConcurrency > 1024)) {
    throw new ExportError(`uploadConcurrency must be a whole number from 1 to 1024, got ${o.uploadConcurrency}`);
  }
  if (o.maxShardsPerTransaction !== undefined && (!Number.isInteger(o.maxShardsPerTransaction) || o.maxShardsPerTransaction < 1)) {
    throw new ExportError(`maxShardsPerTransaction must be a positive integer, got ${o.maxShardsPerTransaction}`);
  }
  const g = o.gzipLevel;
  if (g !== undefined && g !== 'raw' && !(Number.isInteger(g) && g >= 0 && g <= 9)) throw new ExportError(`gzipLevel must be 0 to 9 or 'raw', got ${g}`);
}

/** Bucket output: uploads in flight at once, unless given. */
export const DEFAULT_UPLOAD_CONCURRENCY = 16;

type Defaulted =
  | 'outputDir'
  | 'overwrite'
  | 'writeSharded'
  | 'writeById'
  | 'writeByRelationship'
  | 'writeBySpatialChunk'
  | 'numSpatialLevels'
  | 'targetChunkLimit'
  | 'shuffleBeforeAssigningSpatialLevels'
  | 'seed'
  | 'maxThreads'
  | 'maxShardsPerTransaction'
  | 'description'
  | 'gzipLevel'
  | 'dataEncoding'
  | 'memoryLimit'
  | 'uploadConcurrency';

/** WriteOptions with every field that has a default filled in. */
export type ResolvedOptions = WriteOptions & Required<Pick<WriteOptions, Defaulted>>;

/** Checks the options and fills in every default (the seed: a random one, drawn now). */
export function resolveOptions(o: WriteOptions): ResolvedOptions {
  checkOptions(o);
  const maxThreads = o.maxThreads ?? availableParallelism();
  return {
    ...o,
    outputDir: o.outputDir ?? 'annotations',
    overwrite: o.overwrite ?? false,
    writeSharded: o.writeSharded ?? true,
    writeById: o.writeById ?? true,
    writeByRelationship: o.writeByRelationship ?? true,
    writeBySpatialChunk: o.writeBySpatialChunk ?? true,
    numSpatialLevels: o.numSpatialLevels ?? 7,
    targetChunkLimit: o.targetChunkLimit ?? 10_000,
    shuffleBeforeAssigningSpatialLevels: o.shuffleBeforeAssigningSpatialLevels ?? true,
    seed: o.seed ?? randomInt(0, 2 ** 47),
    maxThreads,
    maxShardsPerTransaction: o.maxShardsPerTransaction ?? maxThreads,
    description: o.description ?? '',
    gzipLevel: o.gzipLevel ?? DEFAULT_GZIP_LEVEL,
    dataEncoding: o.dataEncoding ?? 'auto',
    memoryLimit: o.memoryLimit ?? 0.6 * totalmem(),
    uploadConcurrency: o.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
  };
}
