// Annotation ids: an explicit id column, else `annotation_id`, else the pandas index recorded in the
// file's metadata, else row numbers. Always exact uint64 (BigUint64Array), unique.
import type { Table } from 'apache-arrow';
import { ExportError, describeRows } from './errors';
import { getColumn, uint64Column } from './columns';
import { argsortU64, words } from './radix';

export interface ResolvedIds {
  ids: BigUint64Array;
  /** The column the ids came from, if any (it is then not an unused column). */
  column?: string;
  source: 'idColumn' | 'annotation_id' | 'pandas index' | 'pandas range index' | 'row numbers';
}

/** The pandas index recorded in Parquet/Feather schema metadata, if any. */
export function pandasIndex(table: Table): { column?: string; range?: { start: bigint; step: bigint } } | null {
  const raw = table.schema.metadata.get('pandas');
  if (!raw) return null;
  let meta: unknown;
  try {
    meta = JSON.parse(raw);
  } catch {
    return null;
  }
  const cols = (meta as { index_columns?: unknown }).index_columns;
  if (!Array.isArray(cols) || cols.length !== 1) return null; // a MultiIndex cannot be one id
  const c = cols[0];
  if (typeof c === 'string') return table.getChild(c) ? { column: c } : null;
  if (typeof c === 'object' && c !== null && (c as { kind?: unknown }).kind === 'range') {
    const { start, step } = c as { start?: unknown; step?: unknown };
    if (typeof start === 'number' && typeof step === 'number' && Number.isSafeInteger(start) && Number.isSafeInteger(step)) {
      return { range: { start: BigInt(start), step: BigInt(step) } };
    }
  }
  return null;
}

export function resolveIds(table: Table | null, n: number, idColumn: string | undefined): ResolvedIds {
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
  const ids = new BigUint64Array(n);
  if (pandas?.range) {
    const { start, step } = pandas.range;
    for (let i = 0; i < n; i++) {
      const id = start + BigInt(i) * step;
      if (id < 0n) throw new ExportError(`The table's pandas RangeIndex gives a negative annotation id (${id}) at ${describeRows([i])}`);
      ids[i] = id;
    }
    return { ids, source: 'pandas range index' };
  }
  for (let i = 0; i < n; i++) ids[i] = BigInt(i);
  return { ids, source: 'row numbers' };
}

/** Throws naming the rows of the first duplicated ids. */
export function requireUniqueIds(ids: BigUint64Array, column: string | undefined): void {
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
  if (first === undefined) return;
  const rows: number[] = [];
  for (let i = 0; i < ids.length && rows.length < 5; i++) if (ids[i] === first) rows.push(i);
  throw new ExportError(
    `Annotation ids must be unique, but id ${first} appears more than once${column ? ` in column ${JSON.stringify(column)}` : ''} (${describeRows(rows)})`,
    { column, rows, value: first, expected: 'unique ids' },
  );
}
