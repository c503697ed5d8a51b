// Types one text column once all its cells are known (see README "Column typing"):
//   empty everywhere → Float64 of nulls (as pandas reads it);
//   all integers → smallest int type (exact, BigInt past 2^53); beyond int64/uint64 → Utf8 (exact text);
//   other numbers (decimals, exponents, nan, inf) → Float64;
//   true/false → Bool; relationship cells (ints mixed with `[1, 2]` / `1;2`) → List<Uint64>;
//   anything else → Utf8, including list columns with a malformed cell (the core's relationship
//   parser then names the row; with `relationship: true` we name it here, with its file line).
//   Empty cells are nulls.
import {
  type Data,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
} from 'apache-arrow';
import { boolData, listData, numericData, utf8Data } from './arrowData.js';
import { type Cells, CellColumn, cellsOf } from './cells.js';
import { InputError } from './errors.js';
import { RELATIONSHIP_CELL_HELP, relationshipCellForm, relationshipCellIds } from '../shared/relationshipCell';

export { RELATIONSHIP_CELL_HELP };

export interface ColumnContext {
  file: string;
  column: string;
  /** Parse relationship cells strictly: a bad cell is an error instead of making the column text. */
  relationship?: boolean;
  /** Maps a 0-based data index to the 1-based row and file line for messages. */
  where: (index: number) => { row: number; line?: number };
}

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const NONFINITE = /^[+-]?(?:nan|inf|infinity)$/i;
const BOOL = /^(?:true|false)$/i;

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

export function typeTextColumn(cells: Cells, ctx: ColumnContext): Data {
  const n = cells.length;
  let nonEmpty = 0;
  let allInt = true;
  let allNum = true;
  let allBool = true;
  let allRel = true; // every non-empty cell is an integer or a well-formed list
  let anyList = false;
  let firstBadRel = -1;
  // Numbers are parsed in this same pass while the column still looks numeric, so a numeric
  // column is decoded once. Integers of up to 15 characters are exact as JS numbers; longer ones
  // are re-read with BigInt below.
  let nums: Float64Array | null = new Float64Array(n);
  const valid = new Uint8Array(n);
  let longInts = false;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const c = cells.get(i).trim();
    if (c === '') continue;
    valid[i] = 1;
    nonEmpty++;
    const isInt = allInt && INT.test(c);
    if (isInt) {
      if (c.length > 15) longInts = true;
      else {
        const v = Number(c);
        nums![i] = v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
    } else {
      allInt = false;
      if (nums) {
        if (FLOAT.test(c) || NONFINITE.test(c)) nums[i] = parseFloatCell(c);
        else {
          nums = null;
          allNum = false;
        }
      }
    }
    if (allBool && !BOOL.test(c)) allBool = false;
    if (allRel || ctx.relationship) {
      const form = relationshipCellForm(c);
      if (form === 'list') anyList = true;
      if (form === null) {
        allRel = false;
        if (firstBadRel < 0) firstBadRel = i;
      }
    }
  }

  if (ctx.relationship && !allRel && !allInt) failCell(cells, firstBadRel, ctx);
  const isValid = (i: number) => valid[i] === 1;
  if (nonEmpty === 0) return numericData(new Float64(), new Float64Array(n), () => false);
  if (allInt) return integerColumn(cells, nums!, isValid, longInts, min, max);
  if (anyList && allRel) return relationshipColumn(cells);
  if (allNum) {
    // A mix of long integers and decimals: the long ones were not parsed yet.
    if (longInts) for (let i = 0; i < n; i++) if (valid[i] && nums![i] === 0) nums![i] = parseFloatCell(cells.get(i).trim());
    return numericData(new Float64(), nums!, isValid);
  }
  if (allBool) {
    const flags = new Array<boolean | null>(n);
    for (let i = 0; i < n; i++) {
      const c = cells.get(i).trim();
      flags[i] = c === '' ? null : c.toLowerCase() === 'true';
    }
    return boolData(flags);
  }
  return textColumn(cells);
}

function textColumn(cells: Cells): Data {
  if (cells instanceof CellColumn) return cells.toUtf8();
  const strings = new Array<string | null>(cells.length);
  for (let i = 0; i < cells.length; i++) strings[i] = cells.get(i) || null;
  return utf8Data(strings);
}

function failCell(cells: Cells, i: number, ctx: ColumnContext): never {
  const { row, line } = ctx.where(i);
  throw new InputError('malformed relationship cell', {
    file: ctx.file,
    column: ctx.column,
    row,
    line,
    value: cells.get(i),
    expected: RELATIONSHIP_CELL_HELP,
  });
}

type SmallInt = Int8 | Uint8 | Int16 | Uint16 | Int32 | Uint32;
type SmallIntArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

function integerColumn(
  cells: Cells,
  nums: Float64Array,
  valid: (i: number) => boolean,
  longInts: boolean,
  min: number,
  max: number,
): Data {
  const n = cells.length;
  let lo = Number.isFinite(min) ? BigInt(min) : null;
  let hi = Number.isFinite(max) ? BigInt(max) : null;
  let big: (bigint | null)[] | null = null;
  if (longInts) {
    big = new Array<bigint | null>(n).fill(null);
    for (let i = 0; i < n; i++) {
      if (!valid(i)) continue;
      const c = cells.get(i).trim();
      if (c.length <= 15) continue;
      const v = BigInt(c);
      big[i] = v;
      if (lo === null || v < lo) lo = v;
      if (hi === null || v > hi) hi = v;
    }
  }
  const low = lo!;
  const high = hi!;
  const small = (type: SmallInt, out: SmallIntArray) => {
    out.set(nums); // every value fits the type, and nulls are 0
    return numericData(type, out as never, valid);
  };
  // Preference order as in api.md §2: unsigned first when both fit.
  if (!longInts) {
    if (low >= 0n && high <= 0xffn) return small(new Uint8(), new Uint8Array(n));
    if (low >= -0x80n && high <= 0x7fn) return small(new Int8(), new Int8Array(n));
    if (low >= 0n && high <= 0xffffn) return small(new Uint16(), new Uint16Array(n));
    if (low >= -0x8000n && high <= 0x7fffn) return small(new Int16(), new Int16Array(n));
    if (low >= 0n && high <= 0xffffffffn) return small(new Uint32(), new Uint32Array(n));
    if (low >= -0x80000000n && high <= 0x7fffffffn) return small(new Int32(), new Int32Array(n));
  }
  const fill = (out: BigUint64Array | BigInt64Array) => {
    for (let i = 0; i < n; i++) if (valid(i)) out[i] = big?.[i] ?? BigInt(nums[i]);
    return out;
  };
  if (low >= 0n && high <= UINT64_MAX) return numericData(new Uint64(), fill(new BigUint64Array(n)) as BigUint64Array, valid);
  if (low >= INT64_MIN && high <= INT64_MAX) return numericData(new Int64(), fill(new BigInt64Array(n)) as BigInt64Array, valid);
  // Beyond 64 bits (or negatives mixed with values above int64): keep the exact text, so an id or
  // relationship check downstream can quote the value as written.
  return textColumn(cells);
}

function parseFloatCell(c: string): number {
  const lower = c.toLowerCase();
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  return Number(c); // nan → NaN
}

function relationshipColumn(cells: Cells): Data {
  const n = cells.length;
  const offsets = new Int32Array(n + 1);
  const split = relationshipCellIds;
  // Two passes (count, then fill) so no per-row arrays are kept.
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + split(cells.get(i).trim()).length;
  const values = new BigUint64Array(offsets[n]);
  for (let i = 0, k = 0; i < n; i++) for (const s of split(cells.get(i).trim())) values[k++] = BigInt(s);
  const child = numericData(new Uint64(), values);
  return listData(child, offsets, (i) => cells.get(i).trim() !== '');
}

/**
 * Parses a text column's cells as relationship cells, strictly (as the readers do for a column named
 * as a relationship): a malformed cell is an InputError naming its row.
 */
export function parseRelationshipCells(
  cells: ArrayLike<string | null | undefined>,
  ctx: Omit<ColumnContext, 'relationship'>,
): Data {
  return typeTextColumn(cellsOf(cells), { ...ctx, relationship: true });
}
