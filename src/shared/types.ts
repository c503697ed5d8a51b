// Public types of the writer, shared by the core, the CLI, the extension and the webview. Nothing here
// imports Arrow at runtime, Node or VS Code.
import type { Table } from 'apache-arrow';
import type { GeometryColumns } from './geometry';
export type { GeometryColumns, GeometryRole } from './geometry';

export type AnnotationType = 'point' | 'line' | 'axis_aligned_bounding_box' | 'ellipsoid' | 'polyline';
export const ANNOTATION_TYPES: readonly AnnotationType[] = [
  'point',
  'line',
  'axis_aligned_bounding_box',
  'ellipsoid',
  'polyline',
];

export type PropertyType =
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'uint32'
  | 'int32'
  | 'float32'
  | 'rgb'
  | 'rgba';
export const PROPERTY_TYPES: readonly PropertyType[] = [
  'uint8',
  'int8',
  'uint16',
  'int16',
  'uint32',
  'int32',
  'float32',
  'rgb',
  'rgba',
];

/** A property spec as it appears in the `info` file (and as users may give it explicitly). */
export interface PropertySpec {
  id: string;
  type: PropertyType;
  description?: string;
  enum_values?: number[];
  enum_labels?: string[];
  [extra: string]: unknown;
}

/** Any of the accepted coordinate-space forms. */
export type CoordSpaceInput =
  | string
  | string[]
  | { names: string[]; units?: string[]; scales?: number[] }
  | Record<string, [number, string]>;

/** The normalised coordinate space; `json` is what goes into `info.dimensions`. */
export interface CoordSpace {
  names: string[];
  /** Physical size of one coordinate unit, in the base unit (e.g. metres). */
  scales: number[];
  units: string[];
}

/** Ownership-passing wrapper: the writer drops `table` as soon as the data has been consumed. */
export class TableHandle {
  table: Table | null;
  constructor(table: Table | null) {
    this.table = table;
  }
  /** Takes the table out of the handle, leaving it empty. */
  take(): Table | null {
    const t = this.table;
    this.table = null;
    return t;
  }
}

export type TableInput = Table | TableHandle | string | null;

export type Phase =
  | 'reading'
  | 'validating'
  | 'by_id'
  | 'by_relationship'
  | 'spatial_assign'
  | 'spatial'
  | 'finishing';

export interface Progress {
  phase: Phase;
  /** e.g. the relationship or spatial level being written */
  detail?: string;
  done: number;
  total: number;
  /** Bucket output: bytes uploaded so far. */
  uploadedBytes?: number;
}

export interface WriteOptions {
  /**
   * Which columns hold the geometry, per role, one column per dimension in dimension order:
   * `{ point: [...] }`; line and box `{ a: [...], b: [...] }` (endpoints / corners); ellipsoid
   * `{ center: [...], radii: [...] }`; polyline `{ vertex: [...] }` (columns of the vertices table).
   * The dimension names, units and scales are the coordinate space's, whatever the columns are called.
   * Default: the naming convention (`x`, `xa`/`xb`, `x`/`rx` for dimension `x`), else, when the
   * dimension names are axis letters, a recognised pattern such as CAVE's `pre_pt_position_x` …
   * `post_pt_position_z` (see `WriteSummary.geometry` for what was used).
   */
  geometry?: GeometryColumns;
  properties?: Array<string | PropertySpec> | Record<string, Partial<PropertySpec>> | string;
  relationships?: string[] | string;
  outputDir?: string;
  writeSharded?: boolean;
  polylinePoints?: Table | TableHandle | string | null;
  writeById?: boolean;
  writeByRelationship?: boolean;
  writeBySpatialChunk?: boolean;
  numSpatialLevels?: number;
  targetChunkLimit?: number;
  shuffleBeforeAssigningSpatialLevels?: boolean;
  seed?: number;
  maxThreads?: number;
  maxShardsPerTransaction?: number;
  description?: string;
  /** CSV/TSV files: the field delimiter, one of `,` `;` `\t` `|` (default: sniffed from the first lines; tab for .tsv). */
  delimiter?: string;
  /** CSV/TSV files: numbers are written with a decimal comma (`1,5`); relationship columns are not touched. */
  decimalComma?: boolean;
  /** Column of uint64 annotation ids. Default: `annotation_id`, else the pandas index, else row numbers; null: row numbers. */
  idColumn?: string | null;
  overwrite?: boolean;
  /** gzip level for sharded data and minishard indexes, 0..9, or 'raw' to store uncompressed. */
  gzipLevel?: number | 'raw';
  /**
   * Chunk data encoding of sharded indexes: 'auto' (default): gzip an index only where a sample of
   * its values shrinks to 80% or less (small records such as by_id's grow under gzip: 50k points,
   * by_id 1.6 MB gzip vs 0.6 MB raw); 'gzip' (every index, as the format's reference writers do);
   * 'raw'. Minishard indexes are gzipped unless gzipLevel is 'raw'. See docs/mapping-columns.md.
   */
  dataEncoding?: 'auto' | 'gzip' | 'raw';
  /**
   * Bytes of memory the export may plan for. A Parquet or Arrow file whose in-memory export would
   * need more (an estimate from its size) is exported through temporary files instead, with memory
   * bounded by its largest row group. Default: 60% of the machine's memory; 0 always streams
   * (point, line, box and ellipsoid exports, sharded).
   */
  memoryLimit?: number;
  /** Bucket output (s3://, gs://): uploads in flight at once (default 16). */
  uploadConcurrency?: number;
  onProgress?: (p: Progress) => void;
  /** Warnings that do not stop the export (e.g. int8 properties, dropped polylines). */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

export interface IndexSummary {
  key: string;
  /** Number of keys (annotation ids, related ids, or non-empty cells). */
  keys: number;
  /** Number of annotation entries written (spatial entries count duplicates across cells). */
  entries: number;
  /** Bytes written (after compression). */
  bytes: number;
  /** Bytes of all values before compression. */
  rawBytes: number;
  files: number;
  /** Chunk data encoding of a sharded index. */
  dataEncoding?: 'gzip' | 'raw';
}

export interface WriteSummary {
  outputDir: string;
  annotationType: AnnotationType;
  rank: number;
  annotations: number;
  byId: IndexSummary | null;
  relationships: IndexSummary[];
  spatial: Array<IndexSummary & { level: number; gridShape: number[]; limit: number }>;
  bytesWritten: number;
  filesWritten: number;
  elapsedMs: number;
  warnings: string[];
  /** The geometry columns used, per role. */
  geometry?: GeometryColumns;
  /** Where the annotation ids came from (a column, or generated). */
  ids?: { source: 'idColumn' | 'annotation_id' | 'pandas index' | 'pandas range index' | 'row numbers'; column?: string };
  /** 'stream' when the export went through temporary files (see `memoryLimit`). */
  mode: 'memory' | 'stream';
}
