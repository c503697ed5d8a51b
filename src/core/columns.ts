// Reading Arrow columns into flat typed arrays, chunk by chunk, with nulls reported as row numbers.
// 64-bit integers stay BigInt; nothing that may be an id passes through a JS number.
import { DataType, type Schema, type Table, type Vector, type Data } from 'apache-arrow';
import { ExportError, describeRows } from './errors';
import { shortenValue } from '../shared/errors';
import { sharedU64 } from './alloc';

export type ColumnKind = 'int' | 'int64' | 'float' | 'bool' | 'string' | 'dictionary' | 'list' | 'other';

export function columnKind(type: DataType): ColumnKind {
  if (DataType.isDictionary(type)) return 'dictionary';
  if (DataType.isInt(type)) return type.bitWidth === 64 ? 'int64' : 'int';
  if (DataType.isFloat(type)) return 'float';
  if (DataType.isBool(type)) return 'bool';
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isUtf8View(type)) return 'string';
  if (DataType.isList(type) || DataType.isLargeList(type) || DataType.isFixedSizeList(type)) return 'list';
  return 'other';
}

export function typeName(type: DataType): string {
  return String(type);
}

/** What the core reads of an input table: its row count, schema and columns by name. */
export interface TableLike {
  readonly numRows: number;
  readonly schema: Schema;
  getChild(name: string): Vector | null;
}

/**
 * A table's columns, held one by one instead of through the table, so that each can be dropped
 * once it has been consumed: on large inputs the encoded records then grow while the input shrinks,
 * instead of both being held to the end.
 */
export class ColumnStore implements TableLike {
  readonly numRows: number;
  readonly schema: Schema;
  private columns = new Map<string, Vector | null>();

  constructor(table: Table) {
    this.numRows = table.numRows;
    this.schema = table.schema;
    // By index: apache-arrow's getChild(name) searches the fields, which made this loop quadratic in
    // the column count (a 10^6-column CSV spent many minutes here).
    table.schema.fields.forEach((f, i) => this.columns.set(f.name, table.getChildAt(i)));
  }

  getChild(name: string): Vector | null {
    const v = this.columns.get(name);
    if (v === null && this.columns.has(name)) throw new Error(`internal: column ${JSON.stringify(name)} was read after being released`);
    return v ?? null;
  }

  /** Drops columns that will not be read again. */
  release(...names: string[]): void {
    for (const n of names) if (this.columns.has(n)) this.columns.set(n, null);
  }
}

/** Column names for a message: the first `max` quoted, then how many more (a wide table would otherwise make a message of megabytes). */
export function quoteNames(names: readonly string[], max = 20): string {
  const shown = names.slice(0, max).map((n) => JSON.stringify(shortenValue(n)));
  return names.length > max ? `${shown.join(', ')} and ${names.length - max} more` : shown.join(', ');
}

export function getColumn(table: TableLike, name: string, what: string): Vector {
  const v = table.getChild(name);
  if (!v) {
    const available = table.schema.fields.map((f) => f.name);
    throw new ExportError(
      `Missing ${what} column ${JSON.stringify(name)}; the table has ${available.length ? quoteNames(available) : 'no columns'}`,
      { column: name },
    );
  }
  return v;
}

/** Rows (0-based) where the column is null, at most `limit` of them, and their total count. */
export function nullRows(v: Vector, limit = 10): { rows: number[]; count: number } {
  const rows: number[] = [];
  let count = 0;
  if (v.nullCount === 0) return { rows, count };
  let base = 0;
  for (const d of v.data) {
    if (d.nullCount > 0) {
      for (let i = 0; i < d.length; i++) {
        if (!d.getValid(i)) {
          if (rows.length < limit) rows.push(base + i);
          count++;
        }
      }
    }
    base += d.length;
  }
  return { rows, count };
}

/** Visits each chunk's values array (already sliced to the chunk) with its starting row. */
function eachChunk(v: Vector, fn: (d: Data, start: number) => void): void {
  let start = 0;
  for (const d of v.data) {
    fn(d, start);
    start += d.length;
  }
}

/**
 * A numeric column as float64 values (ints, 64-bit ints, floats, or bools). Nulls become NaN and are
 * returned in `nulls` (so callers can name the rows). Non-numeric columns throw.
 */
export function numericColumn(v: Vector, name: string, what: string): Float64Array {
  const kind = columnKind(v.type);
  if (kind === 'string') requireNumericText(v, name, what);
  if (kind !== 'int' && kind !== 'int64' && kind !== 'float') {
    throw new ExportError(`Column ${JSON.stringify(name)} (${what}) has type ${typeName(v.type)}; expected numbers`, {
      column: name,
      expected: 'numbers',
    });
  }
  const out = new Float64Array(v.length);
  eachChunk(v, (d, start) => {
    const values = d.values as ArrayLike<number | bigint>;
    const hasNulls = d.nullCount > 0;
    if (kind === 'int64') {
      for (let i = 0; i < d.length; i++) out[start + i] = hasNulls && !d.getValid(i) ? NaN : Number(values[i] as bigint);
    } else if (DataType.isFloat(v.type) && (v.type as { precision: number }).precision === 0) {
      // float16: arrow stores raw uint16 halves
      for (let i = 0; i < d.length; i++) out[start + i] = hasNulls && !d.getValid(i) ? NaN : (v.get(start + i) as number);
    } else {
      for (let i = 0; i < d.length; i++) out[start + i] = hasNulls && !d.getValid(i) ? NaN : (values[i] as number);
    }
  });
  return out;
}

/** A text column where numbers are needed: names the rows (and first value) that are not numbers. */
function requireNumericText(v: Vector, name: string, what: string): void {
  const rows: number[] = [];
  let count = 0;
  let first: string | null = null;
  for (let i = 0; i < v.length; i++) {
    const s = v.get(i) as string | null;
    const t = s === null ? '' : s.trim();
    if (t === '' || !Number.isFinite(Number(t))) {
      if (rows.length < 5) rows.push(i);
      if (count === 0) first = s;
      count++;
    }
  }
  if (count > 0) {
    throw new ExportError(
      `Column ${JSON.stringify(name)} (${what}) holds text: ${count} value(s) are not numbers (${describeRows(rows, count)}; first: ${JSON.stringify(first)})${
        first !== null && /^\s*[-+]?\d*,\d+\s*$/.test(first) ? ' (numbers with a decimal comma? read the file with decimalComma / --decimal-comma)' : ''
      }`,
      { column: name, rows, value: first, expected: 'numbers' },
    );
  }
}

/** Throws naming the rows where `values` is not finite (null, NaN or ±Infinity). */
export function requireFinite(values: Float64Array, name: string, what: string): void {
  const bad: number[] = [];
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      if (bad.length < 5) bad.push(i);
      count++;
    }
  }
  if (count > 0) {
    const first = values[bad[0]];
    const shown = Number.isNaN(first) ? 'NaN or empty' : String(first);
    throw new ExportError(
      `Column ${JSON.stringify(name)} (${what}) has ${count} value(s) that are not finite numbers (${describeRows(bad, count)}; first: ${shown})`,
      { column: name, rows: bad, expected: 'finite numbers' },
    );
  }
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * An integer column as exact uint64 values. Accepts any integer type, and float columns whose values
 * are whole numbers no larger than 2^53 (pandas turns integer columns with gaps into floats).
 * `nulls` marks rows without a value; `allowNull` decides whether that is an error.
 */
/**
 * The column's values as one typed array without copying, when its chunks have no nulls and lie back
 * to back in one buffer (the Parquet reader's numeric columns do); otherwise null.
 */
export function contiguousValues<T extends Float64Array | BigUint64Array>(v: Vector, Ctor: { new (b: ArrayBufferLike, at: number, n: number): T }): T | null {
  if (v.nullCount > 0 || v.data.length === 0) return null;
  let buffer: ArrayBufferLike | null = null;
  let first = 0;
  let next = 0;
  for (const d of v.data) {
    const a = d.values as ArrayBufferView;
    if (!(a instanceof (Ctor as unknown as typeof Float64Array | typeof BigUint64Array))) return null;
    if (buffer === null) {
      buffer = a.buffer;
      first = next = a.byteOffset;
    } else if (a.buffer !== buffer || a.byteOffset !== next) return null;
    next += (a as Float64Array).length * 8;
  }
  return new Ctor(buffer!, first, v.length);
}

export function uint64Column(
  v: Vector,
  name: string,
  what: string,
  allowNull: boolean,
): { values: BigUint64Array; valid: Uint8Array | null } {
  const kind = columnKind(v.type);
  const n = v.length;
  // Unsigned 64-bit without nulls in one buffer: the ids are the input's own (no copy, no BigInts).
  const view = kind === 'int64' && !(v.type as { isSigned: boolean }).isSigned ? contiguousValues(v, BigUint64Array) : null;
  if (view) return { values: view, valid: null };
  const values = sharedU64(n);
  const words = new Uint32Array(values.buffer);
  const valid = v.nullCount > 0 || kind === 'string' ? new Uint8Array(n) : null;
  const bad: number[] = [];
  let badCount = 0;
  let badValue: unknown;
  const fail = (row: number, value: unknown) => {
    if (bad.length < 5) bad.push(row);
    if (badCount === 0) badValue = value;
    badCount++;
  };
  if (kind === 'string') {
    // Text that holds integers exactly (e.g. a CSV column with values beyond int64).
    for (let i = 0; i < n; i++) {
      const s = v.get(i) as string | null;
      if (s === null || s === '') {
        if (valid) valid[i] = 0;
        continue;
      }
      if (valid) valid[i] = 1;
      const t = s.trim();
      if (!/^\+?\d+$/.test(t)) {
        fail(i, s);
        continue;
      }
      const b = BigInt(t);
      if (b > U64_MAX) fail(i, s);
      else values[i] = b;
    }
  } else if (kind === 'int' || kind === 'int64') {
    const signed = (v.type as { isSigned: boolean }).isSigned;
    eachChunk(v, (d, start) => {
      const src = d.values as ArrayLike<number | bigint>;
      if (kind === 'int64') {
        // By 32-bit words: a BigInt per value is slow at 1e8 rows. A set sign bit is negative.
        const a = d.values as BigInt64Array | BigUint64Array;
        const w = new Uint32Array(a.buffer, a.byteOffset, 2 * d.length);
        for (let i = 0; i < d.length; i++) {
          if (valid) {
            const ok = d.getValid(i);
            valid[start + i] = ok ? 1 : 0;
            if (!ok) continue;
          }
          if (signed && w[2 * i + 1] >= 0x80000000) {
            fail(start + i, a[i]);
            continue;
          }
          words[2 * (start + i)] = w[2 * i];
          words[2 * (start + i) + 1] = w[2 * i + 1];
        }
        return;
      }
      for (let i = 0; i < d.length; i++) {
        if (valid) {
          const ok = d.getValid(i);
          valid[start + i] = ok ? 1 : 0;
          if (!ok) continue;
        }
        const x = src[i];
        if (signed && (x as number) < 0) {
          fail(start + i, x);
          continue;
        }
        values[start + i] = typeof x === 'bigint' ? BigInt.asUintN(64, x) : BigInt(x);
      }
    });
  } else if (kind === 'float') {
    const f = numericColumn(v, name, what);
    for (let i = 0; i < n; i++) {
      const x = f[i];
      if (Number.isNaN(x)) {
        if (valid) valid[i] = 0;
        else fail(i, x);
        continue;
      }
      if (valid) valid[i] = 1;
      if (!Number.isInteger(x) || x < 0 || x > Number.MAX_SAFE_INTEGER) fail(i, x);
      else values[i] = BigInt(x);
    }
  } else {
    throw new ExportError(`Column ${JSON.stringify(name)} (${what}) has type ${typeName(v.type)}; expected non-negative integers (uint64)`, {
      column: name,
      expected: 'uint64',
    });
  }
  if (badCount > 0) {
    throw new ExportError(
      `Column ${JSON.stringify(name)} (${what}) has ${badCount} value(s) that are not uint64 integers (0 to 2^64-1) (${describeRows(bad, badCount)}; first: ${String(badValue)})`,
      { column: name, rows: bad, value: badValue, expected: 'uint64' },
    );
  }
  if (!allowNull && valid) {
    const rows: number[] = [];
    let c = 0;
    for (let i = 0; i < n; i++) {
      if (!valid[i]) {
        if (rows.length < 5) rows.push(i);
        c++;
      }
    }
    if (c > 0) {
      throw new ExportError(`Column ${JSON.stringify(name)} (${what}) has ${c} empty value(s) (${describeRows(rows, c)})`, {
        column: name,
        rows,
        expected: 'a value in every row',
      });
    }
  }
  return { values, valid };
}

/** Dictionary column: integer codes per row (-1 for null) and the dictionary's labels as strings. */
export function dictionaryColumn(v: Vector): { codes: Int32Array; labels: string[] } {
  const codes = new Int32Array(v.length);
  let labels: string[] | null = null;
  eachChunk(v, (d, start) => {
    const dict = d.dictionary;
    const these = dict ? Array.from({ length: dict.length }, (_, i) => String(dict.get(i))) : [];
    if (labels === null) labels = these;
    else if (these.length !== labels.length || these.some((l, i) => l !== labels![i])) {
      // Chunks with different dictionaries (rare; e.g. concatenated files): fall back to label lookup.
      labels = null;
      throw new DictionaryMismatch();
    }
    const src = d.values as ArrayLike<number | bigint>;
    for (let i = 0; i < d.length; i++) {
      codes[start + i] = d.nullCount > 0 && !d.getValid(i) ? -1 : Number(src[i]);
    }
  });
  return { codes, labels: labels ?? [] };
}

export class DictionaryMismatch extends Error {}

/**
 * Distinct byte strings seen so far, in an open-addressing table keyed by their FNV-1a hash (a Map
 * of hashes cost 86 ns a row at 1e7, most of validating a text column). Each entry keeps its bytes
 * and the code of the text they decode to: different bytes can decode to the same text (invalid
 * UTF-8 becomes U+FFFD), so several entries can share a code.
 */
class ByteStrings {
  private slots = new Int32Array(64); // entry + 1; 0 is empty
  private hashes: number[] = [];
  private bytes: Uint8Array[] = [];
  private codes: number[] = [];

  /** The code of `data[from, to)`, or -1 if those bytes are new. */
  find(h: number, data: Uint8Array, from: number, to: number): number {
    const mask = this.slots.length - 1;
    const len = to - from;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = this.slots[s] - 1;
      if (e < 0) return -1;
      if (this.hashes[e] !== h) continue;
      const own = this.bytes[e];
      if (own.length !== len) continue;
      let b = 0;
      while (b < len && own[b] === data[from + b]) b++;
      if (b === len) return this.codes[e];
    }
  }

  add(h: number, own: Uint8Array, code: number): void {
    const e = this.codes.push(code) - 1;
    this.hashes.push(h);
    this.bytes.push(own);
    if (2 * this.codes.length > this.slots.length) {
      this.slots = new Int32Array(2 * this.slots.length);
      for (let k = 0; k < this.codes.length; k++) this.place(k);
    } else {
      this.place(e);
    }
  }

  private place(e: number): void {
    const mask = this.slots.length - 1;
    let s = this.hashes[e] & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = e + 1;
  }
}

/**
 * A text column as codes into its distinct values (first-seen order; -1 for null). Values are told
 * apart by their UTF-8 bytes and each distinct value is decoded once, so a 100M-row column of a few
 * labels costs 4 bytes a row instead of a JS string a row (which exhausts the JS heap).
 */
export function stringCodes(v: Vector): { codes: Int32Array; labels: string[] } {
  const codes = new Int32Array(v.length);
  const labels: string[] = [];
  const byText = new Map<string, number>();
  const seen = new ByteStrings();
  const decoder = new TextDecoder();
  eachChunk(v, (d, start) => {
    const offsets = d.valueOffsets as unknown;
    const bytes = d.values as unknown;
    if (!(offsets instanceof Int32Array) || !(bytes instanceof Uint8Array)) {
      // Other string layouts (large or view strings): one decoded value per row.
      for (let i = 0; i < d.length; i++) {
        const x = d.getValid(i) ? v.get(start + i) : null;
        if (x === null || x === undefined) {
          codes[start + i] = -1;
          continue;
        }
        const text = String(x);
        let code = byText.get(text);
        if (code === undefined) {
          code = labels.push(text) - 1;
          byText.set(text, code);
        }
        codes[start + i] = code;
      }
      return;
    }
    const hasNulls = d.nullCount > 0;
    // A sliced Data's offsets are already a view from its first row (as its values are elsewhere).
    for (let i = 0; i < d.length; i++) {
      if (hasNulls && !d.getValid(i)) {
        codes[start + i] = -1;
        continue;
      }
      const from = offsets[i];
      const to = offsets[i + 1];
      let h = 0x811c9dc5; // FNV-1a
      for (let b = from; b < to; b++) h = Math.imul(h ^ bytes[b], 0x01000193);
      let code = seen.find(h, bytes, from, to);
      if (code < 0) {
        const own = bytes.slice(from, to);
        const text = decoder.decode(own);
        code = byText.get(text) ?? -1;
        if (code < 0) {
          code = labels.push(text) - 1;
          byText.set(text, code);
        }
        seen.add(h, own, code);
      }
      codes[start + i] = code;
    }
  });
  return { codes, labels };
}

/** Any column as display strings (null for missing), for enums, colors and relationship cells. */
export function stringValues(v: Vector): Array<string | null> {
  const { codes, labels } = stringCodes(v);
  const out = new Array<string | null>(v.length);
  for (let i = 0; i < out.length; i++) out[i] = codes[i] < 0 ? null : labels[codes[i]];
  return out;
}
