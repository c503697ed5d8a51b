// The mapping JSON: what the VS Code form saves and `ng-annotations export --config` replays.
// It is untrusted input (a file, or a message from the webview), so `parseMapping` checks every field
// and names the one that is wrong.
import { ANNOTATION_TYPES, PROPERTY_TYPES, type AnnotationType, type PropertySpec, type WriteOptions } from './types';
import { UserError, shortenLongRuns } from './errors';
import { ALL_ROLES, GEOMETRY_ROLES, type GeometryColumns, type GeometryRole } from './geometry';

export interface Mapping {
  /** Schema version; 1 for now. */
  version: 1;
  /** The table file. Relative paths are relative to the mapping file's folder. */
  input?: string;
  annotationType: AnnotationType;
  /** Dimension names in dimension order, e.g. ["x","y","z"]. Without `geometry`, also the column names by convention (x; xa/xb; x/rx). */
  coords: string[];
  units?: string[];
  scales?: number[];
  /**
   * Geometry columns per role, one per dimension: point `{point}`, line/box `{a, b}`, ellipsoid
   * `{center, radii}`, polyline `{vertex}`. Absent: the convention for `coords`, else a recognised
   * pattern (e.g. CAVE's pre_pt_position_x … post_pt_position_z).
   */
  geometry?: GeometryColumns;
  /** Column of annotation ids; null: row numbers (no id column, not even annotation_id). */
  idColumn?: string | null;
  /** CSV/TSV field delimiter (default: sniffed from the first lines). */
  delimiter?: string;
  /** CSV/TSV numbers written with a decimal comma (1,5). */
  decimalComma?: boolean;
  properties?: Array<string | PropertySpec>;
  relationships?: string[];
  /** Polyline vertices file (annotation_id + coordinate columns). */
  points?: string;
  output?: string;
  sharded?: boolean;
  byId?: boolean;
  byRelationship?: boolean;
  spatial?: boolean;
  spatialLevels?: number;
  chunkLimit?: number;
  shuffle?: boolean;
  seed?: number;
  threads?: number;
  gzipLevel?: number | 'raw';
  /** Chunk data encoding of sharded indexes: auto (default: gzip where it pays), gzip, or raw. */
  dataEncoding?: 'gzip' | 'raw' | 'auto';
  /** Bytes of memory to plan for (or a size such as "4G"); larger Parquet/Arrow exports go through temporary files. */
  memoryLimit?: number;
  description?: string;
  overwrite?: boolean;
}

export class MappingError extends UserError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    // Messages quote the offending value; a huge one (a 100 kB string) is shortened.
    super(`${field}: ${shortenLongRuns(message)}`);
    this.name = 'MappingError';
  }
}

const KEYS = new Set([
  'version',
  'input',
  'annotationType',
  'coords',
  'units',
  'scales',
  'idColumn',
  'geometry',
  'delimiter',
  'decimalComma',
  'properties',
  'relationships',
  'points',
  'output',
  'sharded',
  'byId',
  'byRelationship',
  'spatial',
  'spatialLevels',
  'chunkLimit',
  'shuffle',
  'seed',
  'threads',
  'gzipLevel',
  'dataEncoding',
  'memoryLimit',
  'description',
  'overwrite',
  '$schema',
]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(obj: Record<string, unknown>, key: string, maxLength = 4096): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new MappingError(key, `expected a string, got ${JSON.stringify(v)}`);
  if (v.length > maxLength) throw new MappingError(key, `longer than ${maxLength} characters`);
  if (v.includes('\0')) throw new MappingError(key, 'contains a NUL character');
  return v;
}

function bool(obj: Record<string, unknown>, key: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new MappingError(key, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

function int(obj: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new MappingError(key, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** "4G", "512M", "1.5GB", "2000000000": bytes (decimal units, as disks and `free -g` count them). */
export function parseByteSize(s: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)b?\s*$/i.exec(s);
  if (!m) return null;
  const unit = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * unit);
}

function byteSize(obj: Record<string, unknown>, key: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? parseByteSize(v) : null;
  if (n === null || !Number.isSafeInteger(n) || n < 0) throw new MappingError(key, `expected a size in bytes or like "4G", got ${JSON.stringify(v)}`);
  return n;
}

function strList(obj: Record<string, unknown>, key: string): string[] | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length > 10000 || !v.every((s) => typeof s === 'string' && s.length > 0 && s.length < 1024)) {
    throw new MappingError(key, `expected a list of non-empty strings, got ${JSON.stringify(v)?.slice(0, 200)}`);
  }
  return v as string[];
}

/** Checks an untrusted value and returns a well-typed mapping, or throws MappingError naming the field. */
export function parseMapping(value: unknown): Mapping {
  if (!isRecord(value)) throw new MappingError('mapping', 'expected a JSON object');
  for (const k of Object.keys(value)) {
    if (!KEYS.has(k)) throw new MappingError(k, `unknown field (known: ${[...KEYS].filter((x) => x !== '$schema').join(', ')})`);
  }
  const version = value.version ?? 1;
  if (version !== 1) throw new MappingError('version', `unsupported version ${JSON.stringify(version)} (this tool reads version 1)`);
  const typeRaw = str(value, 'annotationType');
  if (typeRaw === undefined) throw new MappingError('annotationType', `required: one of ${ANNOTATION_TYPES.join(', ')}`);
  const annotationType = typeRaw.toLowerCase() as AnnotationType;
  if (!ANNOTATION_TYPES.includes(annotationType)) {
    throw new MappingError('annotationType', `expected one of ${ANNOTATION_TYPES.join(', ')}, got ${JSON.stringify(typeRaw)}`);
  }
  const coords = strList(value, 'coords');
  if (!coords || coords.length === 0 || coords.length > 32) throw new MappingError('coords', 'required: 1 to 32 coordinate names');
  const units = strList(value, 'units');
  if (units && units.length !== coords.length) throw new MappingError('units', `expected ${coords.length} units, one per coordinate`);
  let scales: number[] | undefined;
  if (value.scales !== undefined && value.scales !== null) {
    const s = value.scales;
    if (!Array.isArray(s) || s.length !== coords.length || !s.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
      throw new MappingError('scales', `expected ${coords.length} positive numbers, one per coordinate`);
    }
    scales = s as number[];
  }
  let geometry: GeometryColumns | undefined;
  if (value.geometry !== undefined && value.geometry !== null) {
    const g = value.geometry;
    if (!isRecord(g)) throw new MappingError('geometry', `expected an object of columns per role (${GEOMETRY_ROLES[annotationType].join(', ')})`);
    geometry = {};
    for (const k of Object.keys(g)) {
      if (!ALL_ROLES.includes(k as GeometryRole)) throw new MappingError(`geometry.${k}`, `unknown role (known: ${ALL_ROLES.join(', ')})`);
      if (!GEOMETRY_ROLES[annotationType].includes(k as GeometryRole)) {
        throw new MappingError(`geometry.${k}`, `not a role of ${annotationType} annotations (they have ${GEOMETRY_ROLES[annotationType].join(', ')})`);
      }
      const cols = strList(g, k)!;
      if (cols.length !== coords.length) throw new MappingError(`geometry.${k}`, `expected ${coords.length} column names, one per dimension (${coords.join(', ')}), got ${cols.length}`);
      geometry[k as GeometryRole] = cols;
    }
    const missing = GEOMETRY_ROLES[annotationType].find((r) => !geometry![r]);
    if (missing) throw new MappingError(`geometry.${missing}`, `required with the other roles of ${annotationType} annotations (${GEOMETRY_ROLES[annotationType].join(', ')})`);
  }
  const delimiter = str(value, 'delimiter', 1);
  if (delimiter !== undefined && ![',', ';', '\t', '|'].includes(delimiter)) {
    throw new MappingError('delimiter', `expected one of "," ";" "\\t" "|", got ${JSON.stringify(delimiter)}`);
  }
  let properties: Array<string | PropertySpec> | undefined;
  if (value.properties !== undefined && value.properties !== null) {
    const p = value.properties;
    if (!Array.isArray(p) || p.length > 1000) throw new MappingError('properties', 'expected a list of names or property specs');
    properties = p.map((item, i) => {
      if (typeof item === 'string') return item;
      if (!isRecord(item)) throw new MappingError(`properties[${i}]`, 'expected a name or a {id, type} object');
      const id = str(item, 'id');
      const type = str(item, 'type');
      if (!id) throw new MappingError(`properties[${i}].id`, 'required');
      if (type !== undefined && !PROPERTY_TYPES.includes(type as never)) {
        throw new MappingError(`properties[${i}].type`, `expected one of ${PROPERTY_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
      }
      const spec: Record<string, unknown> = { ...item };
      if (spec.enum_values !== undefined && (!Array.isArray(spec.enum_values) || !spec.enum_values.every((x) => typeof x === 'number' && Number.isFinite(x)))) {
        throw new MappingError(`properties[${i}].enum_values`, 'expected a list of numbers');
      }
      if (spec.enum_labels !== undefined && (!Array.isArray(spec.enum_labels) || !spec.enum_labels.every((x) => typeof x === 'string'))) {
        throw new MappingError(`properties[${i}].enum_labels`, 'expected a list of strings');
      }
      if (spec.description !== undefined && typeof spec.description !== 'string') {
        throw new MappingError(`properties[${i}].description`, 'expected a string');
      }
      return spec as PropertySpec;
    });
  }
  let gzipLevel: number | 'raw' | undefined;
  if (value.gzipLevel === 'raw') gzipLevel = 'raw';
  else gzipLevel = int(value, 'gzipLevel', 0, 9);
  const dataEncoding = str(value, 'dataEncoding');
  if (dataEncoding !== undefined && !['gzip', 'raw', 'auto'].includes(dataEncoding)) {
    throw new MappingError('dataEncoding', `expected gzip, raw or auto, got ${JSON.stringify(dataEncoding)}`);
  }
  const seedRaw = value.seed;
  if (seedRaw !== undefined && seedRaw !== null && (typeof seedRaw !== 'number' || !Number.isSafeInteger(seedRaw) || seedRaw < 0)) {
    throw new MappingError('seed', `expected a non-negative integer, got ${JSON.stringify(seedRaw)}`);
  }
  const m: Mapping = {
    version: 1,
    input: str(value, 'input'),
    annotationType,
    coords,
    units,
    scales,
    geometry,
    idColumn: value.idColumn === null ? null : str(value, 'idColumn', 1024),
    delimiter,
    decimalComma: bool(value, 'decimalComma'),
    properties,
    relationships: strList(value, 'relationships'),
    points: str(value, 'points'),
    output: str(value, 'output'),
    sharded: bool(value, 'sharded'),
    byId: bool(value, 'byId'),
    byRelationship: bool(value, 'byRelationship'),
    spatial: bool(value, 'spatial'),
    spatialLevels: int(value, 'spatialLevels', 1, 64),
    chunkLimit: int(value, 'chunkLimit', 0, 2 ** 31),
    shuffle: bool(value, 'shuffle'),
    seed: seedRaw as number | undefined,
    threads: int(value, 'threads', 1, 256),
    gzipLevel,
    dataEncoding: dataEncoding as Mapping['dataEncoding'],
    memoryLimit: byteSize(value, 'memoryLimit'),
    description: str(value, 'description', 100000),
    overwrite: bool(value, 'overwrite'),
  };
  for (const k of Object.keys(m) as Array<keyof Mapping>) if (m[k] === undefined) delete m[k];
  return m;
}

/** The coordinate space, in the writer's `{names, units, scales}` form. */
export function mappingCoordSpace(m: Mapping): { names: string[]; units?: string[]; scales?: number[] } {
  return { names: m.coords, units: m.units, scales: m.scales };
}

/** Writer options for a mapping (paths as they are in the mapping). */
export function mappingToWriteOptions(m: Mapping): WriteOptions {
  const o: WriteOptions = {
    geometry: m.geometry,
    delimiter: m.delimiter,
    decimalComma: m.decimalComma,
    properties: m.properties,
    relationships: m.relationships,
    outputDir: m.output,
    writeSharded: m.sharded,
    polylinePoints: m.points,
    writeById: m.byId,
    writeByRelationship: m.byRelationship,
    writeBySpatialChunk: m.spatial,
    numSpatialLevels: m.spatialLevels,
    targetChunkLimit: m.chunkLimit,
    shuffleBeforeAssigningSpatialLevels: m.shuffle,
    seed: m.seed,
    maxThreads: m.threads,
    gzipLevel: m.gzipLevel,
    dataEncoding: m.dataEncoding,
    memoryLimit: m.memoryLimit,
    description: m.description,
    idColumn: m.idColumn,
    overwrite: m.overwrite,
  };
  for (const k of Object.keys(o) as Array<keyof WriteOptions>) if (o[k] === undefined) delete o[k];
  return o;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The equivalent `ng-annotations export …` command line (what the form's "Copy CLI command" gives). */
export function mappingToCommandLine(m: Mapping): string {
  const a: string[] = ['ng-annotations', 'export'];
  if (m.input) a.push(m.input);
  a.push('--type', m.annotationType);
  if (m.output) a.push('--out', m.output);
  if (m.geometry) {
    for (const r of GEOMETRY_ROLES[m.annotationType]) if (m.geometry[r]) a.push(`--${r}`, m.geometry[r]!.join(','));
    a.push('--dims', m.coords.join(','));
  } else a.push('--coords', m.coords.join(','));
  if (m.units) a.push('--units', m.units.join(','));
  if (m.scales) a.push('--scales', m.scales.join(','));
  if (m.idColumn) a.push('--id-column', m.idColumn);
  if (m.idColumn === null) a.push('--no-id-column');
  if (m.delimiter) a.push('--delimiter', m.delimiter === '\t' ? 'tab' : m.delimiter);
  if (m.decimalComma) a.push('--decimal-comma');
  const names: string[] = [];
  for (const p of m.properties ?? []) {
    if (typeof p === 'string') names.push(p);
    else {
      names.push(p.id);
      if (p.type && !p.enum_labels) a.push('--property-type', `${p.id}=${p.type}`);
    }
  }
  if (names.length) a.push('--properties', names.join(','));
  if (m.relationships?.length) a.push('--relationships', m.relationships.join(','));
  if (m.points) a.push('--points', m.points);
  if (m.sharded === false) a.push('--unsharded');
  if (m.byId === false) a.push('--no-by-id');
  if (m.byRelationship === false) a.push('--no-by-relationship');
  if (m.spatial === false) a.push('--no-spatial');
  if (m.spatialLevels !== undefined) a.push('--spatial-levels', String(m.spatialLevels));
  if (m.chunkLimit !== undefined) a.push('--chunk-limit', String(m.chunkLimit));
  if (m.shuffle === false) a.push('--no-shuffle');
  if (m.seed !== undefined) a.push('--seed', String(m.seed));
  if (m.threads !== undefined) a.push('--threads', String(m.threads));
  if (m.gzipLevel !== undefined) a.push('--gzip-level', String(m.gzipLevel));
  if (m.dataEncoding !== undefined) a.push('--data-encoding', m.dataEncoding);
  if (m.memoryLimit !== undefined) a.push('--memory-limit', String(m.memoryLimit));
  if (m.description) a.push('--description', m.description);
  if (m.overwrite) a.push('--overwrite');
  return a.map(shellQuote).join(' ');
}
