// The pandas index that pandas' to_parquet / to_feather record in the schema metadata: read by the
// id rules (core/ids.ts) and offered to reader users (io/pandas.ts). Schema metadata only, no data.
import type { Schema } from 'apache-arrow';

export interface PandasIndexInfo {
  /** Column holding the index (a named index, or `__index_level_0__`). */
  column?: string;
  /** A RangeIndex stored only as a descriptor: id of row i = start + i*step. */
  range?: { start: bigint; step: bigint };
}

interface PandasMetadata {
  index_columns?: Array<string | { kind?: string; name?: string | null; start?: number; stop?: number; step?: number }>;
}

/**
 * The single-level pandas index of `table`, or null when there is none, it is a MultiIndex, or
 * the metadata does not parse. A named index column must exist in the table.
 */
export function pandasIndex(table: { schema: Schema } | Schema): PandasIndexInfo | null {
  const schema = 'schema' in table ? table.schema : table;
  const raw = schema.metadata.get('pandas');
  if (!raw) return null;
  let meta: PandasMetadata;
  try {
    meta = JSON.parse(raw) as PandasMetadata;
  } catch {
    return null;
  }
  const idx = meta.index_columns;
  if (!Array.isArray(idx) || idx.length !== 1) return null;
  const only = idx[0];
  if (typeof only === 'string') {
    return schema.fields.some((f) => f.name === only) ? { column: only } : null;
  }
  if (only && typeof only === 'object' && only.kind === 'range') {
    const start = Number.isSafeInteger(only.start) ? BigInt(only.start!) : 0n;
    const step = Number.isSafeInteger(only.step) ? BigInt(only.step!) : 1n;
    return { range: { start, step } };
  }
  return null;
}
