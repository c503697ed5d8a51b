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

/** How a field is given on the command line: read by `ng-annotations export`, written by mappingToCommandLine. */
export type FlagSpec =
  | { name: string; kind: 'on' | 'off' } // a flag setting the field true / false
  | { name: string; kind: 'int'; min: number; max: number }
  | { name: string; kind: 'level' } // 0 to 9, or raw
  | { name: string; kind: 'choice'; values: readonly string[] }
  | { name: string; kind: 'bytes' } // a size such as 4G
  | { name: string; kind: 'text' | 'path' };

interface Field<K extends keyof Mapping> {
  /** Checks the untrusted value (absent: parseMapping checks it first, with the fields it depends on). */
  check?: (obj: Record<string, unknown>, key: string) => Mapping[K] | undefined;
  /** The writer option it becomes. */
  option?: keyof WriteOptions;
  /** Its flag, when the flag maps to the field one to one. */
  flag?: FlagSpec;
  /** Its part of the command line, when it is not just `flag`. */
  commandLine?: (m: Mapping) => string[];
}

const boolField = (option: keyof WriteOptions, flag?: FlagSpec): Field<never> => ({ check: bool as Field<never>['check'], option, flag });
const intField = (option: keyof WriteOptions, name: string, min: number, max: number): Field<never> => ({
  check: ((obj, key) => int(obj, key, min, max)) as Field<never>['check'],
  option,
  flag: { name, kind: 'int', min, max },
});

/**
 * Every field of the mapping, once, in the order parseMapping returns them: how it is checked, the
 * writer option it becomes and its command-line flag. Typed to list exactly the fields of `Mapping`.
 */
export const MAPPING_FIELDS: { [K in keyof Mapping]-?: Field<K> } = {
  version: {},
  input: { check: str, commandLine: (m) => (m.input ? [m.input] : []) },
  annotationType: { commandLine: (m) => ['--type', m.annotationType] },
  coords: {
    // The geometry's roles with --dims, else --coords (dimension names that also name the columns).
    commandLine: (m) => {
      if (!m.geometry) return ['--coords', m.coords.join(',')];
      const a: string[] = [];
      for (const r of GEOMETRY_ROLES[m.annotationType]) if (m.geometry[r]) a.push(`--${r}`, m.geometry[r]!.join(','));
      return [...a, '--dims', m.coords.join(',')];
    },
  },
  units: { commandLine: (m) => (m.units ? ['--units', m.units.join(',')] : []) },
  scales: { commandLine: (m) => (m.scales ? ['--scales', m.scales.join(',')] : []) },
  geometry: { option: 'geometry', commandLine: () => [] }, // with coords
  idColumn: {
    check: (obj, key) => (obj[key] === null ? null : str(obj, key, 1024)),
    option: 'idColumn',
    commandLine: (m) => (m.idColumn ? ['--id-column', m.idColumn] : m.idColumn === null ? ['--no-id-column'] : []),
  },
  delimiter: { option: 'delimiter', commandLine: (m) => (m.delimiter ? ['--delimiter', m.delimiter === '\t' ? 'tab' : m.delimiter] : []) },
  decimalComma: boolField('decimalComma', { name: 'decimal-comma', kind: 'on' }),
  properties: {
    option: 'properties',
    commandLine: (m) => {
      const a: string[] = [];
      const names: string[] = [];
      for (const p of m.properties ?? []) {
        if (typeof p === 'string') names.push(p);
        else {
          names.push(p.id);
          if (p.type && !p.enum_labels) a.push('--property-type', `${p.id}=${p.type}`);
        }
      }
      return names.length ? [...a, '--properties', names.join(',')] : a;
    },
  },
  relationships: { check: strList, option: 'relationships', commandLine: (m) => (m.relationships?.length ? ['--relationships', m.relationships.join(',')] : []) },
  points: { check: str, option: 'polylinePoints', flag: { name: 'points', kind: 'path' } },
  output: { check: str, option: 'outputDir', commandLine: (m) => (m.output ? ['--out', m.output] : []) },
  sharded: boolField('writeSharded', { name: 'unsharded', kind: 'off' }),
  byId: boolField('writeById', { name: 'no-by-id', kind: 'off' }),
  byRelationship: boolField('writeByRelationship', { name: 'no-by-relationship', kind: 'off' }),
  spatial: boolField('writeBySpatialChunk', { name: 'no-spatial', kind: 'off' }),
  spatialLevels: intField('numSpatialLevels', 'spatial-levels', 1, 64),
  chunkLimit: intField('targetChunkLimit', 'chunk-limit', 0, 2 ** 31),
  shuffle: boolField('shuffleBeforeAssigningSpatialLevels', { name: 'no-shuffle', kind: 'off' }),
  seed: { option: 'seed', flag: { name: 'seed', kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER } },
  threads: intField('maxThreads', 'threads', 1, 256),
  gzipLevel: { option: 'gzipLevel', flag: { name: 'gzip-level', kind: 'level' } },
  dataEncoding: { option: 'dataEncoding', flag: { name: 'data-encoding', kind: 'choice', values: ['gzip', 'raw', 'auto'] } },
  memoryLimit: { check: byteSize, option: 'memoryLimit', flag: { name: 'memory-limit', kind: 'bytes' } },
  description: { check: (obj, key) => str(obj, key, 100000), option: 'description', flag: { name: 'description', kind: 'text' } },
  overwrite: boolField('overwrite', { name: 'overwrite', kind: 'on' }),
};

const FIELD_KEYS = Object.keys(MAPPING_FIELDS) as Array<keyof Mapping>;
const KEYS = new Set<string>([...FIELD_KEYS, '$schema']);

/** A field's value as command-line arguments, by its flag. */
function flagArgs(flag: FlagSpec, v: unknown): string[] {
  switch (flag.kind) {
    case 'on':
      return v ? [`--${flag.name}`] : [];
    case 'off':
      return v === false ? [`--${flag.name}`] : [];
    case 'text':
    case 'path':
      return v ? [`--${flag.name}`, String(v)] : [];
    default:
      return v !== undefined ? [`--${flag.name}`, String(v)] : [];
  }
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
  // Checked above (they depend on each other); every other field by its own check, in table order.
  const checked: Partial<Record<keyof Mapping, unknown>> = { version: 1, annotationType, coords, units, scales, geometry, delimiter, properties, seed: seedRaw, gzipLevel, dataEncoding };
  const m: Record<string, unknown> = {};
  for (const k of FIELD_KEYS) m[k] = k in checked ? checked[k] : MAPPING_FIELDS[k].check!(value, k);
  for (const k of FIELD_KEYS) if (m[k] === undefined) delete m[k];
  return m as unknown as Mapping;
}

/** The coordinate space, in the writer's `{names, units, scales}` form. */
export function mappingCoordSpace(m: Mapping): { names: string[]; units?: string[]; scales?: number[] } {
  return { names: m.coords, units: m.units, scales: m.scales };
}

/** Writer options for a mapping (paths as they are in the mapping). */
export function mappingToWriteOptions(m: Mapping): WriteOptions {
  const o: Record<string, unknown> = {};
  for (const k of FIELD_KEYS) {
    const option = MAPPING_FIELDS[k].option;
    if (option && m[k] !== undefined) o[option] = m[k];
  }
  return o as WriteOptions;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The equivalent `ng-annotations export …` command line (what the form's "Copy CLI command" gives). */
export function mappingToCommandLine(m: Mapping): string {
  // The table file, type and output first, then the dimensions and ids; the rest in table order.
  const head: Array<keyof Mapping> = ['input', 'annotationType', 'output', 'coords', 'units', 'scales', 'idColumn'];
  const a: string[] = ['ng-annotations', 'export'];
  for (const k of [...head, ...FIELD_KEYS.filter((k) => !head.includes(k))]) {
    const f: Field<keyof Mapping> = MAPPING_FIELDS[k];
    a.push(...(f.commandLine ? f.commandLine(m) : f.flag ? flagArgs(f.flag, m[k]) : []));
  }
  return a.map(shellQuote).join(' ');
}
