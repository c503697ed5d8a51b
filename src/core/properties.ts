// Annotation properties: inferring specs from Arrow columns (or taking explicit ones), ordering them,
// laying them out the way neuroglancer's reader does, and encoding every row's values.
import type { Vector } from 'apache-arrow';
import { PROPERTY_TYPES, type PropertySpec, type PropertyType } from './types';
import { ExportError, describeRows } from './errors';
import { columnKind, dictionaryColumn, DictionaryMismatch, numericColumn, stringCodes, stringValues, typeName, type TableLike } from './columns';

export const PROPERTY_ID_PATTERN = /^[a-z][a-zA-Z0-9_]*$/;

/** Bytes and alignment of each property type, as neuroglancer's reader defines them. */
export const PROPERTY_BYTES: Record<PropertyType, number> = {
  uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, rgb: 3, rgba: 4,
};
const ALIGNMENT: Record<PropertyType, number> = {
  uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, rgb: 1, rgba: 1,
};
/** Ordering key of the reference writer (uint32 after the other 4-byte types). */
const ORDER_KEY: Record<PropertyType, number> = {
  float32: 4, int32: 4, uint32: 3, uint16: 2, int16: 2, uint8: 1, int8: 1, rgb: 1, rgba: 1,
};

const INT_RANGES: Array<[PropertyType, number, number]> = [
  ['uint8', 0, 255],
  ['int8', -128, 127],
  ['uint16', 0, 65535],
  ['int16', -32768, 32767],
  ['uint32', 0, 4294967295],
  ['int32', -2147483648, 2147483647],
];

export interface PropertyPlan {
  spec: PropertySpec;
  /** Numeric value per row (integer types, float32, enums). */
  numbers?: Float64Array;
  /** r,g,b,a per row (rgb and rgba). */
  colors?: Uint8Array;
  /** Columns this property was read from. */
  columns: string[];
}

type UserSpec = Partial<PropertySpec> & { id: string };

/** Normalises the accepted `properties` forms to an ordered list of (name, user spec or undefined). */
export function normalizePropertyRequests(
  properties: Array<string | PropertySpec> | Record<string, Partial<PropertySpec>> | string | undefined,
): Array<{ id: string; user?: UserSpec }> {
  if (properties === undefined || properties === null) return [];
  let list: Array<{ id: string; user?: UserSpec }>;
  if (typeof properties === 'string') list = [{ id: properties }];
  else if (Array.isArray(properties)) {
    list = properties.map((p) => {
      if (typeof p === 'string') return { id: p };
      if (typeof p === 'object' && p !== null && typeof p.id === 'string') return { id: p.id, user: p as UserSpec };
      throw new ExportError(`Invalid property spec: ${JSON.stringify(p)} (expected a column name or an object with an "id")`);
    });
  } else if (typeof properties === 'object') {
    list = Object.entries(properties).map(([id, spec]) => {
      if (typeof spec !== 'object' || spec === null) throw new ExportError(`Invalid property spec for ${JSON.stringify(id)}: ${JSON.stringify(spec)}`);
      if (spec.id !== undefined && spec.id !== id) {
        throw new ExportError(`Property spec key ${JSON.stringify(id)} does not match its id ${JSON.stringify(spec.id)}`);
      }
      return { id, user: { ...spec, id } as UserSpec };
    });
  } else {
    throw new ExportError(`Invalid properties: ${JSON.stringify(properties)}`);
  }
  // Duplicates collapse: first position, last spec.
  const byId = new Map<string, { id: string; user?: UserSpec }>();
  for (const item of list) {
    const prev = byId.get(item.id);
    if (prev) prev.user = item.user ?? prev.user;
    else byId.set(item.id, { ...item });
  }
  return [...byId.values()];
}

export function smallestEnumType(n: number): PropertyType {
  return n <= 256 ? 'uint8' : n <= 65536 ? 'uint16' : 'uint32';
}

function collectBad(n: number, isBad: (i: number) => boolean): { rows: number[]; count: number } {
  const rows: number[] = [];
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (isBad(i)) {
      if (rows.length < 5) rows.push(i);
      count++;
    }
  }
  return { rows, count };
}

const HEX6 = /^#[0-9a-fA-F]{6}$/;
const HEX8 = /^#[0-9a-fA-F]{8}$/;

/**
 * The spec inference gives a text column from its distinct values: rgb / rgba when every value is
 * a #rrggbb / #rrggbbaa color, else an enum of the sorted values.
 */
export function textColumnSpec(id: string, distinct: string[]): PropertySpec {
  if (distinct.length > 0 && distinct.every((s) => HEX6.test(s.trim()) || HEX8.test(s.trim()))) {
    return { id, type: distinct.some((s) => HEX8.test(s.trim())) ? 'rgba' : 'rgb' };
  }
  const labels = [...distinct].sort();
  return { id, type: smallestEnumType(labels.length), enum_values: labels.map((_, i) => i), enum_labels: labels };
}

/** The smallest integer type (in inference's order of preference) holding both types' ranges, or null. */
export function widerIntegerType(a: PropertyType, b: PropertyType): PropertyType | null {
  const ra = INT_RANGES.find(([t]) => t === a);
  const rb = INT_RANGES.find(([t]) => t === b);
  if (!ra || !rb) return null;
  const lo = Math.min(ra[1], rb[1]);
  const hi = Math.max(ra[2], rb[2]);
  return INT_RANGES.find(([, l, h]) => l <= lo && h >= hi)?.[0] ?? null;
}

/** r,g,b,a per row from #rrggbb (alpha 255) or #rrggbbaa strings. */
/** Per row, `f` of the row's distinct value (rows must not be null). */
function lookUp(text: { codes: Int32Array; labels: string[] }, f: (label: string) => number): Float64Array {
  const perLabel = text.labels.map(f);
  const out = new Float64Array(text.codes.length);
  for (let i = 0; i < out.length; i++) out[i] = perLabel[text.codes[i]];
  return out;
}

/** RGBA bytes per row from #rrggbb / #rrggbbaa text; each distinct value is parsed once. */
function parseHexColors(text: { codes: Int32Array; labels: string[] }, column: string): Uint8Array {
  const { codes, labels } = text;
  const n = codes.length;
  const ok = labels.map((s) => HEX6.test(s.trim()) || HEX8.test(s.trim()));
  const bad = collectBad(n, (i) => codes[i] < 0 || !ok[codes[i]]);
  if (bad.count) {
    const first = codes[bad.rows[0]];
    throw new ExportError(
      `Column ${JSON.stringify(column)}: ${bad.count} value(s) are not colors like #rrggbb or #rrggbbaa (${describeRows(bad.rows, bad.count)}; first: ${JSON.stringify(first < 0 ? null : labels[first])})`,
      { column, rows: bad.rows, expected: '#rrggbb or #rrggbbaa' },
    );
  }
  const rgba = labels.map((label) => {
    const s = label.trim();
    return [parseInt(s.slice(1, 3), 16), parseInt(s.slice(3, 5), 16), parseInt(s.slice(5, 7), 16), s.length === 9 ? parseInt(s.slice(7, 9), 16) : 255];
  });
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const c = rgba[codes[i]];
    out[i * 4] = c[0];
    out[i * 4 + 1] = c[1];
    out[i * 4 + 2] = c[2];
    out[i * 4 + 3] = c[3];
  }
  return out;
}

function channelColors(table: TableLike, base: string, channels: string[]): Uint8Array {
  const n = table.numRows;
  const out = new Uint8Array(n * 4).fill(255);
  channels.forEach((suffix, c) => {
    const name = `${base}_${suffix}`;
    const v = table.getChild(name)!;
    const values = numericColumn(v, name, `color channel of property ${base}`);
    const bad = collectBad(n, (i) => {
      const x = values[i];
      return !(Number.isInteger(x) && x >= 0 && x <= 255);
    });
    if (bad.count) {
      const first = values[bad.rows[0]];
      throw new ExportError(
        `Column ${JSON.stringify(name)}: ${bad.count} value(s) are not color channel integers from 0 to 255 (${describeRows(bad.rows, bad.count)}; first: ${Number.isNaN(first) ? 'empty' : first})`,
        { column: name, rows: bad.rows, value: first, expected: 'integers 0..255' },
      );
    }
    for (let i = 0; i < n; i++) out[i * 4 + c] = values[i];
  });
  return out;
}

/** Checks that numeric values fit `type` exactly; integer types reject fractions and out-of-range values. */
function checkFits(values: Float64Array, type: PropertyType, column: string): void {
  const n = values.length;
  if (type === 'float32') {
    const bad = collectBad(n, (i) => Number.isFinite(values[i]) && !Number.isFinite(Math.fround(values[i])));
    if (bad.count) {
      throw new ExportError(
        `Column ${JSON.stringify(column)}: ${bad.count} value(s) are too large for float32 (${describeRows(bad.rows, bad.count)}; first: ${values[bad.rows[0]]})`,
        { column, rows: bad.rows, expected: 'float32' },
      );
    }
    return;
  }
  const range = INT_RANGES.find(([t]) => t === type);
  if (!range) throw new ExportError(`Property type ${type} is not numeric`);
  const [, lo, hi] = range;
  const bad = collectBad(n, (i) => {
    const x = values[i];
    return !(Number.isInteger(x) && x >= lo && x <= hi);
  });
  if (bad.count) {
    const first = values[bad.rows[0]];
    throw new ExportError(
      `Column ${JSON.stringify(column)}: ${bad.count} value(s) do not fit property type ${type} (${lo} to ${hi}) (${describeRows(bad.rows, bad.count)}; first: ${Number.isNaN(first) ? 'empty' : first})`,
      { column, rows: bad.rows, value: first, expected: type },
    );
  }
}

/**
 * neuroglancer refuses an info whose enum_values do not fit the property type, or that has
 * enum_values without enum_labels; it silently truncates fractions (parseInt), so those are refused here.
 */
function checkEnumValues(spec: PropertySpec): void {
  const values = spec.enum_values as unknown;
  if (values === undefined || spec.type === 'rgb' || spec.type === 'rgba') return;
  const where = `Property ${JSON.stringify(spec.id)}`;
  if (!Array.isArray(values)) throw new ExportError(`${where}: enum_values must be a list of numbers`);
  if (spec.enum_labels === undefined) throw new ExportError(`${where}: enum_values needs enum_labels (one label per value)`);
  const range = INT_RANGES.find(([t]) => t === spec.type);
  for (const v of values) {
    const ok =
      typeof v === 'number' &&
      (range ? Number.isInteger(v) && v >= range[1] && v <= range[2] : Number.isFinite(Math.fround(v)));
    if (!ok) {
      throw new ExportError(
        `${where}: enum value ${JSON.stringify(v)} does not fit type ${spec.type}${range ? ` (whole numbers ${range[1]} to ${range[2]})` : ''}`,
        { column: spec.id, value: v, expected: spec.type },
      );
    }
  }
}

/** Smallest integer type holding every value (uint8, int8, uint16, int16, uint32, int32), or null. */
export function narrowIntegerType(values: Float64Array): PropertyType | null {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (!Number.isInteger(x)) return null;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (values.length === 0) return 'uint8';
  for (const [t, lo, hi] of INT_RANGES) if (min >= lo && max <= hi) return t;
  return null;
}

function int64Values(v: Vector): Float64Array {
  // Number(b) rounds only beyond 2^53, where every integer type rejects the value anyway; an explicit
  // float32 type rounds it further, as it would any large number.
  const n = v.length;
  const out = new Float64Array(n);
  let row = 0;
  for (const d of v.data) {
    const src = d.values as BigInt64Array | BigUint64Array;
    for (let i = 0; i < d.length; i++, row++) {
      if (d.nullCount > 0 && !d.getValid(i)) {
        out[row] = NaN;
        continue;
      }
      const b = src[i];
      out[row] = Number(b);
    }
  }
  return out;
}

function requireNoNulls(v: Vector, column: string, what: string): void {
  if (v.nullCount === 0) return;
  const bad = collectBad(v.length, (i) => !v.isValid(i));
  throw new ExportError(`Column ${JSON.stringify(column)} (${what}) has ${bad.count} empty value(s) (${describeRows(bad.rows, bad.count)})`, {
    column,
    rows: bad.rows,
    expected: 'a value in every row',
  });
}

/** A property from color channel columns `<id>_r`, `_g`, `_b` (and `_a`), or null when there are none. */
function channelsPlan(table: TableLike, id: string, user: UserSpec | undefined): PropertyPlan | null {
  const userType = user?.type;
  const has = (s: string) => table.getChild(`${id}_${s}`) !== null;
  if (!(has('r') && has('g') && has('b'))) return null;
  const alpha = has('a');
  const type: PropertyType = alpha ? 'rgba' : 'rgb';
  if (userType !== undefined && userType !== 'rgb' && userType !== 'rgba') {
    throw new ExportError(`Property ${JSON.stringify(id)} comes from color channel columns ${id}_r/_g/_b; its type must be rgb or rgba, not ${userType}`);
  }
  // An explicit rgba without an alpha column is opaque (channels start at 255).
  const finalType = userType ?? type;
  const channels = alpha ? ['r', 'g', 'b', 'a'] : ['r', 'g', 'b'];
  return {
    spec: { ...{ id, type }, ...user, id, type: finalType } as PropertySpec,
    colors: channelColors(table, id, channels),
    columns: channels.map((c) => `${id}_${c}`),
  };
}

/** What one column's values say about its property: a spec, and its values as numbers or colors. */
interface Inferred {
  inferred: PropertySpec;
  numbers?: Float64Array;
  colors?: Uint8Array;
  /** Enum labels when the values are strings to look up. */
  labelsForStrings?: string[];
  /** A string column's codes. */
  text?: { codes: Int32Array; labels: string[] };
}

/** Infers a property's spec from its column's type and values (`userType` only decides between readings). */
function inferProperty(column: Vector, id: string, n: number, userType: PropertyType | undefined): Inferred {
  const kind = columnKind(column.type);
  if (kind === 'int' || kind === 'float') {
    const numbers = numericColumn(column, id, `property ${id}`);
    if (kind === 'int') {
      const t = column.type as { bitWidth: number; isSigned: boolean };
      return { numbers, inferred: { id, type: `${t.isSigned ? 'int' : 'uint'}${t.bitWidth}` as PropertyType } };
    }
    return { numbers, inferred: { id, type: 'float32' } };
  }
  if (kind === 'int64') {
    const numbers = int64Values(column);
    const t = narrowIntegerType(numbers.filter((x) => !Number.isNaN(x)));
    if (t === null && userType === undefined) {
      throw new ExportError(
        `Property ${JSON.stringify(id)}: 64-bit integer values beyond the int32/uint32 range cannot be stored (neuroglancer has no 64-bit property types); choose float32 explicitly or scale the values`,
        { column: id },
      );
    }
    return { numbers, inferred: { id, type: t ?? (userType as PropertyType) } };
  }
  if (kind === 'bool') {
    requireNoNulls(column, id, `property ${id}`);
    const numbers = new Float64Array(n);
    for (let i = 0; i < n; i++) numbers[i] = column.get(i) ? 1 : 0;
    return { numbers, inferred: { id, type: 'uint8', enum_values: [0, 1], enum_labels: ['false', 'true'] } };
  }
  if (kind === 'dictionary') {
    requireNoNulls(column, id, `enum property ${id}`);
    let codes: Int32Array;
    let labels: string[];
    try {
      ({ codes, labels } = dictionaryColumn(column));
    } catch (e) {
      if (!(e instanceof DictionaryMismatch)) throw e;
      const strings = stringValues(column);
      labels = [...new Set(strings as string[])].sort();
      const index = new Map(labels.map((l, i) => [l, i]));
      codes = Int32Array.from(strings, (s) => index.get(s!)!);
    }
    // labelsForStrings: user labels may list the categories in another order
    return { numbers: Float64Array.from(codes), inferred: { id, type: smallestEnumType(labels.length), enum_values: labels.map((_, i) => i), enum_labels: labels }, labelsForStrings: labels };
  }
  if (kind === 'string') {
    // Codes into the distinct values: every test below runs once per distinct value, not per row.
    const text = stringCodes(column);
    const distinct = text.labels;
    const allHex = distinct.length > 0 && distinct.every((s) => HEX6.test(s.trim()) || HEX8.test(s.trim()));
    // An explicit colour type parses every cell, so a malformed one is named with its row.
    if ((allHex && userType === undefined) || userType === 'rgb' || userType === 'rgba') {
      const anyAlpha = distinct.some((s) => HEX8.test(s.trim()));
      return { text, colors: parseHexColors(text, id), inferred: { id, type: anyAlpha ? 'rgba' : 'rgb' } };
    }
    requireNoNulls(column, id, `enum property ${id}`);
    const labels = [...distinct].sort();
    const index = new Map(labels.map((l, i) => [l, i]));
    return {
      text,
      inferred: { id, type: smallestEnumType(labels.length), enum_values: labels.map((_, i) => i), enum_labels: labels },
      labelsForStrings: labels,
      numbers: lookUp(text, (label) => index.get(label)!),
    };
  }
  throw new ExportError(`Property ${JSON.stringify(id)}: column type ${typeName(column.type)} is not supported (expected numbers, booleans, strings, categories or #rrggbb colors)`, {
    column: id,
  });
}

/** Builds the plan for one property: its final spec and its encoded values. */
function planProperty(table: TableLike, id: string, user: UserSpec | undefined, warn: (m: string) => void): PropertyPlan {
  const column = table.getChild(id);
  const n = table.numRows;
  const userType = user?.type;
  if (userType !== undefined && !PROPERTY_TYPES.includes(userType)) {
    throw new ExportError(`Property ${JSON.stringify(id)}: unknown type ${JSON.stringify(userType)} (expected one of ${PROPERTY_TYPES.join(', ')})`);
  }
  if (!column) {
    const channels = channelsPlan(table, id, user);
    if (channels) return channels;
    const available = table.schema.fields.map((f) => JSON.stringify(f.name)).join(', ');
    throw new ExportError(`Property ${JSON.stringify(id)} not found: no column ${JSON.stringify(id)} and no color channels ${id}_r, ${id}_g, ${id}_b (columns: ${available})`, {
      column: id,
    });
  }

  const { inferred, colors, labelsForStrings, text, numbers: inferredNumbers } = inferProperty(column, id, n, userType);
  let numbers = inferredNumbers;
  const spec: PropertySpec = { ...inferred, ...(user ?? {}), id } as PropertySpec;
  if (spec.enum_labels !== undefined) spec.enum_labels = spec.enum_labels.map(String);
  // User labels without values number the user's labels 0..n-1; inferred values belong to inferred labels.
  if (user?.enum_labels !== undefined && user.enum_values === undefined) spec.enum_values = spec.enum_labels!.map((_, i) => i);
  if (spec.enum_values !== undefined && spec.enum_labels !== undefined && spec.enum_values.length !== spec.enum_labels.length) {
    throw new ExportError(`Property ${JSON.stringify(id)}: enum_values has ${spec.enum_values.length} entries but enum_labels has ${spec.enum_labels.length}`);
  }
  checkEnumValues(spec);

  if (spec.type === 'rgb' || spec.type === 'rgba') {
    if (!colors) {
      throw new ExportError(`Property ${JSON.stringify(id)}: type ${spec.type} needs #rrggbb strings or ${id}_r/_g/_b columns, but column ${JSON.stringify(id)} has type ${typeName(column.type)}`, {
        column: id,
      });
    }
    return { spec, colors, columns: [id] };
  }
  if (colors) {
    throw new ExportError(`Property ${JSON.stringify(id)}: column holds #rrggbb colors but the spec asks for type ${spec.type}`, { column: id });
  }

  // User-supplied enum labels on a string column: values are looked up among the user's labels.
  if (labelsForStrings && user?.enum_labels) {
    const userLabels = spec.enum_labels!;
    const userValues = spec.enum_values ?? userLabels.map((_, i) => i);
    const index = new Map(userLabels.map((l, i) => [l, userValues[i]]));
    const t = text ?? stringCodes(column);
    const known = t.labels.map((l) => index.has(l));
    const bad = collectBad(n, (i) => t.codes[i] < 0 || !known[t.codes[i]]);
    if (bad.count) {
      const first = t.codes[bad.rows[0]];
      throw new ExportError(
        `Property ${JSON.stringify(id)}: ${bad.count} value(s) are not among enum_labels (${describeRows(bad.rows, bad.count)}; first: ${JSON.stringify(first < 0 ? null : t.labels[first])})`,
        { column: id, rows: bad.rows, expected: `one of ${JSON.stringify(userLabels).slice(0, 200)}` },
      );
    }
    numbers = lookUp(t, (label) => index.get(label)!);
    if (user.enum_values === undefined) spec.enum_values = userValues;
  }

  if (spec.type === 'int8') {
    warn(`Property ${JSON.stringify(id)} has type int8; neuroglancer releases before September 2025 misread int8 properties — use uint8 or int16 if the annotations do not load in an old viewer.`);
  }
  if (spec.type === 'float32') {
    // Nulls in a float column are written as NaN, which neuroglancer shows as NaN.
    checkFits(numbers!, 'float32', id);
  } else {
    checkFits(numbers!, spec.type, id);
  }
  if (spec.type === 'float32' && column.nullCount > 0) {
    warn(`Property ${JSON.stringify(id)}: ${column.nullCount} empty value(s) are written as NaN.`);
  }
  return { spec, numbers, columns: [id] };
}

/** Infers, orders and validates the properties; the order returned is the order of `info.properties`. */
export function planProperties(
  table: TableLike | null,
  requests: Array<{ id: string; user?: UserSpec }>,
  warn: (m: string) => void,
): PropertyPlan[] {
  if (requests.length === 0) return [];
  if (!table) throw new ExportError('Properties were requested but there is no table to read them from');
  const plans = requests.map(({ id, user }) => planProperty(table, id, user, warn));
  // Stable sort by descending width key; Array.prototype.sort is stable.
  const order = plans.map((p, i) => ({ p, i })).sort((a, b) => ORDER_KEY[b.p.spec.type] - ORDER_KEY[a.p.spec.type] || a.i - b.i);
  const sorted = order.map((o) => o.p);
  for (const p of sorted) {
    if (!PROPERTY_ID_PATTERN.test(p.spec.id)) {
      throw new ExportError(
        `Invalid property name ${JSON.stringify(p.spec.id)}: property names start with a lowercase letter and contain only letters, digits and _ (rename the column, or give an explicit spec)`,
        { column: p.columns[0] },
      );
    }
  }
  return sorted;
}

export interface PropertyLayout {
  /** Byte offset of each property (in plan order) from the start of a record whose geometry has the nominal size. */
  offsets: number[];
  /** Total record bytes for the nominal geometry size (geometry + all property groups, each padded to 4). */
  serializedBytes: number;
  /** Bytes after the geometry: serializedBytes - geometryBytes. */
  propertyBytes: number;
}

const MAX_STRIDE = 255;

/**
 * Property offsets exactly as neuroglancer's reader computes them: stable sort by alignment, groups
 * that start a new 4-byte-aligned group when a WebGL stride of 255 bytes would be exceeded.
 */
export function propertyLayout(geometryBytes: number, types: PropertyType[]): PropertyLayout {
  if (types.length === 0) return { offsets: [], serializedBytes: geometryBytes, propertyBytes: 0 };
  const perm = types.map((_, i) => i).sort((a, b) => ALIGNMENT[types[b]] - ALIGNMENT[types[a]]);
  const offsets = new Array<number>(types.length);
  const groupStarts: number[] = [0];
  let groupOffset = geometryBytes;
  let total = 0;
  const nextGroup = () => {
    groupOffset += (4 - (groupOffset % 4)) % 4;
    total += groupOffset;
    groupStarts.push(total);
    groupOffset = 0;
  };
  for (const i of perm) {
    const t = types[i];
    const bytes = PROPERTY_BYTES[t];
    const align = ALIGNMENT[t];
    const pad = (align - (groupOffset % align)) % align;
    const end = groupOffset + pad + bytes;
    if (end + ((4 - (end % 4)) % 4) <= MAX_STRIDE) groupOffset += pad;
    else nextGroup();
    offsets[i] = groupStarts[groupStarts.length - 1] + groupOffset;
    groupOffset += bytes;
  }
  nextGroup();
  return { offsets, serializedBytes: total, propertyBytes: total - geometryBytes };
}

/** Encodes every row's properties into one block of `layout.propertyBytes` bytes per row. */
export function encodePropertyBlock(plans: PropertyPlan[], layout: PropertyLayout, geometryBytes: number, n: number): Uint8Array {
  const block = new Uint8Array(n * layout.propertyBytes);
  writeProperties(plans, layout, n, block, layout.propertyBytes, -geometryBytes);
  return block;
}

/**
 * Writes every row's property values into `out`: property k of row i at i * stride + base +
 * layout.offsets[k]. Records (stride = record size, base 0) are filled in place, without a block.
 */
export function writeProperties(plans: PropertyPlan[], layout: PropertyLayout, n: number, out: Uint8Array, stride: number, base: number): void {
  if (layout.propertyBytes === 0) return;
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  plans.forEach((plan, k) => {
    const off = base + layout.offsets[k];
    const t = plan.spec.type;
    if (t === 'rgb' || t === 'rgba') {
      const c = plan.colors!;
      const w = t === 'rgb' ? 3 : 4;
      for (let i = 0; i < n; i++) for (let j = 0; j < w; j++) out[i * stride + off + j] = c[i * 4 + j];
      return;
    }
    const v = plan.numbers!;
    switch (t) {
      case 'float32':
        for (let i = 0; i < n; i++) dv.setFloat32(i * stride + off, v[i], true);
        break;
      case 'int32':
        for (let i = 0; i < n; i++) dv.setInt32(i * stride + off, v[i], true);
        break;
      case 'uint32':
        for (let i = 0; i < n; i++) dv.setUint32(i * stride + off, v[i], true);
        break;
      case 'int16':
        for (let i = 0; i < n; i++) dv.setInt16(i * stride + off, v[i], true);
        break;
      case 'uint16':
        for (let i = 0; i < n; i++) dv.setUint16(i * stride + off, v[i], true);
        break;
      case 'int8':
        for (let i = 0; i < n; i++) dv.setInt8(i * stride + off, v[i]);
        break;
      case 'uint8':
        for (let i = 0; i < n; i++) dv.setUint8(i * stride + off, v[i]);
        break;
    }
  });
}

/** Columns a plan reads (so the writer can tell which input columns are unused). */
export function planColumns(plans: PropertyPlan[]): string[] {
  return plans.flatMap((p) => p.columns);
}

