// Annotation ids: an explicit id column, else `annotation_id`, else the pandas index recorded in the
// file's metadata, else row numbers. Always exact uint64 (BigUint64Array), unique.
import { ExportError, describeRows } from './errors';
import { getColumn, uint64Column, type TableLike } from './columns';
import { argsortU64, words } from './radix';
import { sharedU64 } from './alloc';
import { pandasIndex } from '../shared/pandas';

export interface ResolvedIds {
  ids: BigUint64Array;
  /** The column the ids came from, if any (it is then not an unused column). */
  column?: string;
  source: 'idColumn' | 'annotation_id' | 'pandas index' | 'pandas range index' | 'row numbers';
}

export function resolveIds(table: TableLike | null, n: number, idColumn: string | null | undefined): ResolvedIds {
  if (idColumn === null) return { ids: generatedIds({ start: 0n, step: 1n }, 0, n), source: 'row numbers' };
  if (table && idColumn !== undefined) {
    const v = getColumn(table, idColumn, 'id');
    return { ids: uint64Column(v, idColumn, 'annotation ids', false).values, column: idColumn, source: 'idColumn' };
  }
  if (table && table.getChild('annotation_id')) {
    const v = table.getChild('annotation_id')!;
    return { ids: uint64Column(v, 'annotation_id', 'annotation ids', false).values, column: 'annotation_id', source: 'annotation_id' };
  }
  const pandas = table ? pandasIndex(table) : null;
  if (table && pandas?.column) {
    const v = table.getChild(pandas.column)!;
    return { ids: uint64Column(v, pandas.column, 'annotation ids (pandas index)', false).values, column: pandas.column, source: 'pandas index' };
  }
  if (pandas?.range) return { ids: generatedIds(pandas.range, 0, n), source: 'pandas range index' };
  return { ids: generatedIds({ start: 0n, step: 1n }, 0, n), source: 'row numbers' };
}

/**
 * Ids of rows [base, base + count) from a pandas RangeIndex (`start + row * step`), or row numbers
 * (start 0, step 1), in shared memory.
 */
export function generatedIds(range: { start: bigint; step: bigint }, base: number, count: number): BigUint64Array {
  const out = sharedU64(count);
  if (range.start === 0n && range.step === 1n) {
    // Row numbers, by words: no BigInt per row.
    const w = words(out);
    for (let i = 0; i < count; i++) {
      w[2 * i] = (base + i) >>> 0;
      w[2 * i + 1] = Math.floor((base + i) / 4294967296);
    }
    return out;
  }
  for (let i = 0; i < count; i++) {
    const id = range.start + BigInt(base + i) * range.step;
    if (id < 0n) throw new ExportError(`The table's pandas RangeIndex gives a negative annotation id (${id}) at ${describeRows([base + i])}`);
    out[i] = id;
  }
  return out;
}

/** Checks that ids are unique (naming the rows of the first duplicate if not); returns the indices in ascending id order (the indexes reuse it). */
export function requireUniqueIds(ids: BigUint64Array, column: string | undefined): Uint32Array {
  const order = argsortU64(ids);
  const w = words(ids);
  let first: bigint | undefined;
  for (let t = 1; t < order.length; t++) {
    const a = order[t - 1];
    const b = order[t];
    if (w[2 * a] === w[2 * b] && w[2 * a + 1] === w[2 * b + 1]) {
      first = ids[b];
      break;
    }
  }
  if (first === undefined) return order;
  const rows: number[] = [];
  for (let i = 0; i < ids.length && rows.length < 5; i++) if (ids[i] === first) rows.push(i);
  throw new ExportError(
    `Annotation ids must be unique, but id ${first} appears more than once${column ? ` in column ${JSON.stringify(column)}` : ''} (${describeRows(rows)})`,
    { column, rows, value: first, expected: 'unique ids' },
  );
}
