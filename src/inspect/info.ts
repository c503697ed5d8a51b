// Parses and validates a `neuroglancer_annotations_v1` info file the way neuroglancer's reader does
// (datasource/precomputed/frontend.ts), collecting every problem instead of stopping at the first.
// Independent from the writer on purpose: this is what catches the writer's mistakes.

export type Severity = 'error' | 'warning';
export interface Problem {
  severity: Severity;
  /** File or index the problem is about, relative to the dataset folder. */
  where: string;
  message: string;
}

export type GeometryType = 'point' | 'line' | 'axis_aligned_bounding_box' | 'ellipsoid' | 'polyline';
const TYPES: GeometryType[] = ['point', 'line', 'axis_aligned_bounding_box', 'ellipsoid', 'polyline'];

export type PropType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'rgb' | 'rgba';
export const PROP_BYTES: Record<PropType, number> = {
  float32: 4, uint32: 4, int32: 4, uint16: 2, int16: 2, uint8: 1, int8: 1, rgb: 3, rgba: 4,
};
// Alignment as neuroglancer lays properties out (annotation/index.ts): widest first.
const PROP_ALIGN: Record<PropType, number> = {
  float32: 4, uint32: 4, int32: 4, uint16: 2, int16: 2, uint8: 1, int8: 1, rgb: 1, rgba: 1,
};
const INT_RANGE: Partial<Record<PropType, [number, number]>> = {
  uint8: [0, 255], int8: [-128, 127], uint16: [0, 65535], int16: [-32768, 32767],
  uint32: [0, 4294967295], int32: [-2147483648, 2147483647],
};

export interface PropertyInfo {
  id: string;
  type: PropType;
  description?: string;
  enumValues?: number[];
  enumLabels?: string[];
  /** Byte offset of the value from the end of the geometry. */
  offset: number;
}

export interface Sharding {
  preshiftBits: number;
  hash: 'identity' | 'murmurhash3_x86_128';
  minishardBits: number;
  shardBits: number;
  minishardIndexEncoding: 'raw' | 'gzip';
  dataEncoding: 'raw' | 'gzip';
}

export interface IndexRef {
  key: string;
  sharding?: Sharding;
}
export interface RelationshipInfo extends IndexRef {
  id: string;
}
export interface SpatialInfo extends IndexRef {
  gridShape: number[];
  chunkSize: number[];
  limit: number;
}

export interface AnnotationInfo {
  dimensions: [string, number, string][];
  rank: number;
  lowerBound: number[];
  upperBound: number[];
  type: GeometryType;
  properties: PropertyInfo[];
  /** Bytes after the geometry: every property group, each padded to 4. */
  propertyBytes: number;
  relationships: RelationshipInfo[];
  byId?: IndexRef;
  spatial: SpatialInfo[];
  description?: string;
}

const ID_RE = /^[a-z][a-zA-Z0-9_]*$/;
// Units neuroglancer accepts (util/si_units.ts): '' or an SI prefix on m, s, Hz or rad/s.
const SI_PREFIXES = ['Y', 'Z', 'E', 'P', 'T', 'G', 'M', 'k', 'h', 'da', '', 'd', 'c', 'm', 'u', 'µ', 'n', 'p', 'f', 'a', 'z', 'y'];
const UNITS = new Set(['', ...SI_PREFIXES.flatMap((p) => ['m', 's', 'Hz', 'rad/s'].map((u) => p + u))]);
// neuroglancer starts a new property group rather than exceed this WebGL stride.
const MAX_STRIDE = 255;
/** Most dimensions an info may declare (neuroglancer's coordinate spaces are far smaller in practice; 32 is its limit for a volume's rank). */
export const MAX_RANK = 32;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Geometry bytes of one record before the properties; polyline: header + 2 vertices (neuroglancer's stride). */
export function fixedGeometryBytes(type: GeometryType, rank: number): number {
  return type === 'point' ? 4 * rank : type === 'polyline' ? 4 + 8 * rank : 8 * rank;
}

/**
 * Where each property sits, as neuroglancer's reader computes it (annotation/index.ts
 * getPropertyOffsets): a stable sort by alignment, widest first; properties packed after the
 * geometry until a record would exceed a 255-byte WebGL stride, then a new group starts, each group
 * padded to 4 bytes. Offsets are from the end of the (nominal) geometry; `bytes` is the size of
 * everything after the geometry.
 */
export function layoutProperties(props: { type: PropType }[], geometryBytes: number): { offsets: number[]; bytes: number } {
  const pad4 = (n: number) => (4 - (n % 4)) % 4;
  const order = props.map((_, i) => i).sort((a, b) => PROP_ALIGN[props[b].type] - PROP_ALIGN[props[a].type]);
  const offsets = new Array<number>(props.length);
  let total = 0; // bytes of the groups already closed
  let inGroup = geometryBytes; // bytes used in the open group (the first one holds the geometry)
  for (const i of order) {
    const width = PROP_BYTES[props[i].type];
    const align = PROP_ALIGN[props[i].type];
    const pad = (align - (inGroup % align)) % align;
    const end = inGroup + pad + width;
    if (end + pad4(end) <= MAX_STRIDE) inGroup += pad;
    else {
      total += inGroup + pad4(inGroup);
      inGroup = 0;
    }
    offsets[i] = total + inGroup - geometryBytes;
    inGroup += width;
  }
  total += inGroup + pad4(inGroup);
  return { offsets, bytes: total - geometryBytes };
}

function parseSharding(v: unknown, where: string, problems: Problem[]): Sharding | undefined {
  const err = (message: string) => problems.push({ severity: 'error', where, message });
  if (!isObj(v)) return err('"sharding" must be an object'), undefined;
  if (v['@type'] !== 'neuroglancer_uint64_sharded_v1') {
    return err(`sharding "@type" is ${JSON.stringify(v['@type'])}, expected "neuroglancer_uint64_sharded_v1"`), undefined;
  }
  const ints: Record<string, number> = {};
  for (const k of ['preshift_bits', 'minishard_bits', 'shard_bits']) {
    const n = v[k];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 64) {
      return err(`sharding "${k}" must be an integer 0..64, got ${JSON.stringify(n)}`), undefined;
    }
    ints[k] = n;
  }
  if (ints.minishard_bits + ints.shard_bits > 64) return err('sharding: minishard_bits + shard_bits exceeds 64'), undefined;
  // neuroglancer reads these enums case-insensitively (verifyEnumString).
  const hash = typeof v.hash === 'string' ? v.hash.toLowerCase() : v.hash;
  if (hash !== 'identity' && hash !== 'murmurhash3_x86_128') {
    return err(`sharding "hash" is ${JSON.stringify(v.hash)}, expected "identity" or "murmurhash3_x86_128"`), undefined;
  }
  const enc = (k: string): 'raw' | 'gzip' | undefined => {
    const raw = v[k] ?? 'raw';
    const e = typeof raw === 'string' ? raw.toLowerCase() : raw;
    if (e !== 'raw' && e !== 'gzip') return err(`sharding "${k}" is ${JSON.stringify(raw)}, expected "raw" or "gzip"`), undefined;
    return e;
  };
  const mie = enc('minishard_index_encoding');
  const de = enc('data_encoding');
  if (mie === undefined || de === undefined) return undefined;
  return {
    preshiftBits: ints.preshift_bits,
    hash,
    minishardBits: ints.minishard_bits,
    shardBits: ints.shard_bits,
    minishardIndexEncoding: mie,
    dataEncoding: de,
  };
}

function parseKey(v: Record<string, unknown>, where: string, problems: Problem[]): IndexRef | undefined {
  if (typeof v.key !== 'string' || v.key === '') {
    problems.push({ severity: 'error', where, message: '"key" must be a non-empty string' });
    return undefined;
  }
  const ref: IndexRef = { key: v.key };
  if (v.sharding !== undefined) {
    const s = parseSharding(v.sharding, where, problems);
    if (s === undefined) return undefined;
    ref.sharding = s;
  }
  return ref;
}

/** Validates `info` (already JSON-parsed). Returns undefined when it is too broken to read the indexes. */
export function parseInfo(json: unknown, problems: Problem[]): AnnotationInfo | undefined {
  const where = 'info';
  const n0 = problems.length;
  const err = (message: string) => problems.push({ severity: 'error', where, message });
  if (!isObj(json)) return err('must be a JSON object'), undefined;
  if (json['@type'] !== 'neuroglancer_annotations_v1') {
    return err(`"@type" is ${JSON.stringify(json['@type'])}, expected "neuroglancer_annotations_v1"`), undefined;
  }
  const dimensions: [string, number, string][] = [];
  if (!isObj(json.dimensions) || Object.keys(json.dimensions).length === 0) {
    return err('"dimensions" must be a non-empty object of name: [scale, unit]'), undefined;
  }
  const dimensionCount = Object.keys(json.dimensions).length;
  if (dimensionCount > MAX_RANK) {
    return err(`"dimensions" has ${dimensionCount} entries, more than the limit of ${MAX_RANK}; not reading the dataset`), undefined;
  }
  for (const [name, v] of Object.entries(json.dimensions)) {
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || !(v[0] > 0) || !Number.isFinite(v[0]) || typeof v[1] !== 'string') {
      err(`dimension ${JSON.stringify(name)} must be [positive scale, unit], got ${JSON.stringify(v)}`);
    } else if (!UNITS.has(v[1])) {
      err(`dimension ${JSON.stringify(name)}: neuroglancer does not know the unit ${JSON.stringify(v[1])} (use '' or an SI prefix on m, s, Hz, rad/s)`);
    } else dimensions.push([name, v[0], v[1]]);
  }
  const rank = Object.keys(json.dimensions).length;
  const bound = (k: string): number[] => {
    const b = json[k];
    if (!Array.isArray(b) || b.length !== rank || !b.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      err(`"${k}" must be ${rank} finite numbers, got ${JSON.stringify(b)}`);
      return [];
    }
    return b as number[];
  };
  const lowerBound = bound('lower_bound');
  const upperBound = bound('upper_bound');
  lowerBound.forEach((lo, d) => {
    if (upperBound.length === rank && upperBound[d] < lo) err(`upper_bound[${d}] ${upperBound[d]} < lower_bound[${d}] ${lo}`);
  });
  const rawType = json.annotation_type;
  const type = typeof rawType === 'string' ? (rawType.toLowerCase() as GeometryType) : undefined;
  if (type === undefined || !TYPES.includes(type)) {
    err(`"annotation_type" is ${JSON.stringify(rawType)}, expected one of ${TYPES.map((t) => t.toUpperCase()).join(', ')}`);
  }
  const properties: PropertyInfo[] = [];
  // neuroglancer's reader requires properties, relationships and spatial, even when empty.
  const rawProps = json.properties;
  if (!Array.isArray(rawProps)) err(`"properties" must be an array (neuroglancer requires it, even empty); got ${JSON.stringify(rawProps)}`);
  else {
    const seen = new Set<string>();
    rawProps.forEach((p, i) => {
      const pw = `property ${i}`;
      if (!isObj(p)) return err(`${pw} must be an object`);
      if (typeof p.id !== 'string' || !ID_RE.test(p.id)) return err(`${pw}: id ${JSON.stringify(p.id)} does not match ^[a-z][a-zA-Z0-9_]*$`);
      if (seen.has(p.id)) return err(`${pw}: duplicate id ${JSON.stringify(p.id)}`);
      seen.add(p.id);
      if (typeof p.type !== 'string' || !(p.type in PROP_BYTES)) return err(`property ${JSON.stringify(p.id)}: unknown type ${JSON.stringify(p.type)}`);
      const t = p.type as PropType;
      const prop: PropertyInfo = { id: p.id, type: t, offset: 0 };
      if (typeof p.description === 'string') prop.description = p.description;
      const ev = p.enum_values;
      const el = p.enum_labels;
      if ((ev === undefined) !== (el === undefined)) return err(`property ${JSON.stringify(p.id)}: enum_values and enum_labels must be given together`);
      if (ev !== undefined) {
        if (t === 'rgb' || t === 'rgba') return err(`property ${JSON.stringify(p.id)}: ${t} cannot have enum values`);
        if (!Array.isArray(ev) || !Array.isArray(el) || ev.length !== el.length) {
          return err(`property ${JSON.stringify(p.id)}: enum_values and enum_labels must be arrays of equal length`);
        }
        const range = INT_RANGE[t];
        for (const x of ev) {
          if (typeof x !== 'number' || (range && (!Number.isInteger(x) || x < range[0] || x > range[1]))) {
            return err(`property ${JSON.stringify(p.id)}: enum value ${JSON.stringify(x)} does not fit ${t}`);
          }
        }
        if (!el.every((l) => typeof l === 'string')) return err(`property ${JSON.stringify(p.id)}: enum_labels must be strings`);
        prop.enumValues = ev as number[];
        prop.enumLabels = el as string[];
      }
      properties.push(prop);
    });
  }
  const relationships: RelationshipInfo[] = [];
  const rawRels = json.relationships;
  if (!Array.isArray(rawRels)) err(`"relationships" must be an array (neuroglancer requires it, even empty); got ${JSON.stringify(rawRels)}`);
  else {
    rawRels.forEach((r, i) => {
      if (!isObj(r)) return err(`relationship ${i} must be an object`);
      if (typeof r.id !== 'string') return err(`relationship ${i}: "id" must be a string`);
      const ref = parseKey(r, `info relationship ${JSON.stringify(r.id)}`, problems);
      if (ref) relationships.push({ ...ref, id: r.id });
    });
  }
  let byId: IndexRef | undefined;
  if (!isObj(json.by_id) || json.by_id.key === undefined) {
    err(`"by_id" must be an object with a "key" (neuroglancer will not load the dataset without it); got ${JSON.stringify(json.by_id)}`);
  } else byId = parseKey(json.by_id, 'info by_id', problems);
  const spatial: SpatialInfo[] = [];
  const rawSpatial = json.spatial;
  if (!Array.isArray(rawSpatial)) err(`"spatial" must be an array (neuroglancer requires it, even empty); got ${JSON.stringify(rawSpatial)}`);
  else {
    rawSpatial.forEach((s, i) => {
      const sw = `info spatial[${i}]`;
      if (!isObj(s)) return problems.push({ severity: 'error', where: sw, message: 'must be an object' });
      const ref = parseKey(s, sw, problems);
      const gs = s.grid_shape;
      const cs = s.chunk_size;
      const ok =
        Array.isArray(gs) && gs.length === rank && gs.every((g) => Number.isInteger(g) && g >= 1) &&
        Array.isArray(cs) && cs.length === rank && cs.every((c) => typeof c === 'number' && c > 0 && Number.isFinite(c)) &&
        Number.isInteger(s.limit) && (s.limit as number) >= 1;
      if (!ok) {
        return problems.push({
          severity: 'error',
          where: sw,
          message: `needs grid_shape (${rank} integers ≥ 1), chunk_size (${rank} positive numbers) and limit (integer ≥ 1); got ${JSON.stringify({ grid_shape: gs, chunk_size: cs, limit: s.limit })}`,
        });
      }
      // Spatial keys are Morton codes of the cell (uint64): the grid's bits must fit in 64.
      const bits = (gs as number[]).reduce((sum, g) => sum + Math.ceil(Math.log2(g)), 0);
      if (bits > 64) {
        return problems.push({ severity: 'error', where: sw, message: `grid_shape ${JSON.stringify(gs)} needs ${bits} bits per cell code, more than the 64 of a uint64 key` });
      }
      if (ref) spatial.push({ ...ref, gridShape: gs as number[], chunkSize: cs as number[], limit: s.limit as number });
    });
  }
  const keys = [byId?.key, ...relationships.map((r) => r.key), ...spatial.map((s) => s.key)].filter((k) => k !== undefined);
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup !== undefined) err(`key ${JSON.stringify(dup)} is used by two indexes`);
  if (problems.slice(n0).some((p) => p.severity === 'error') || type === undefined) return undefined;
  const { offsets, bytes } = layoutProperties(properties, fixedGeometryBytes(type, rank));
  properties.forEach((p, i) => (p.offset = offsets[i]));
  const info: AnnotationInfo = {
    dimensions, rank, lowerBound, upperBound, type, properties, propertyBytes: bytes, relationships, byId, spatial,
  };
  if (typeof json.description === 'string') info.description = json.description;
  return info;
}
