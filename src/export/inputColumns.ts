// The columns of an input table that an export reads, from the table's schema alone (names and the
// pandas metadata): run.ts hands this to the readers, and a Parquet file at a URL fetches only these
// columns' chunks (io/index.ts). A superset is harmless (a few more bytes); when in doubt (polylines,
// a mapping that does not resolve) the answer is null: read everything, and let prepare() report the
// problem as usual.
import type { Schema } from 'apache-arrow';
import type { AnnotationType, CoordSpace, WriteOptions } from '../core/types';
import { flattenGeometry, resolveGeometry } from '../shared/geometry';
import { normalizePropertyRequests } from '../core/properties';
import { normalizeRelationshipRequests } from '../core/relationships';
import { pandasIndex } from '../shared/pandas';

export function columnsUsed(schema: Schema, type: AnnotationType, coords: CoordSpace, options: WriteOptions): string[] | null {
  if (type === 'polyline') return null;
  const names = schema.fields.map((f) => f.name);
  try {
    const used = new Set(flattenGeometry(type, resolveGeometry(type, names, { dims: coords.names, geometry: options.geometry }).geometry));
    // A property is a column of its name, or color channels <name>_r, _g, _b[, _a].
    for (const { id } of normalizePropertyRequests(options.properties)) for (const n of [id, `${id}_r`, `${id}_g`, `${id}_b`, `${id}_a`]) used.add(n);
    for (const r of normalizeRelationshipRequests(options.relationships)) used.add(r);
    if (typeof options.idColumn === 'string') used.add(options.idColumn);
    else if (options.idColumn === undefined) {
      used.add('annotation_id');
      const index = pandasIndex(schema);
      if (index?.column) used.add(index.column);
    }
    return names.filter((n) => used.has(n));
  } catch {
    return null;
  }
}
