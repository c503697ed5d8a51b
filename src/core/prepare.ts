// Turns the input tables into what every index needs: exact ids, one encoded record per annotation
// (geometry as float32 + property block), relationship lists, and the bounds. Everything is validated
// here, before a single byte is written.
import type { AnnotationType, CoordSpace, PropertySpec } from './types';
import { ExportError, describeRows } from './errors';
import { ColumnStore, contiguousValues, getColumn, numericColumn, requireFinite, uint64Column, type TableLike } from './columns';
import { resolveIds, requireUniqueIds, type ResolvedIds } from './ids';
import { pandasIndex } from '../shared/pandas';
import { encodePropertyBlock, normalizePropertyRequests, planColumns, planProperties, propertyLayout, writeProperties } from './properties';
import { normalizeRelationshipRequests, readRelationship, selectRelationshipRows, type RelationshipColumn } from './relationships';
import type { WriteOptions } from './types';
import { sharedBytes, sharedF64 } from './alloc';
import * as path from 'node:path';
import { GeometryError, flattenGeometry, resolveGeometry, type GeometryColumns } from '../shared/geometry';

export interface Prepared {
  type: AnnotationType;
  rank: number;
  n: number;
  ids: BigUint64Array;
  /** Annotation indices in ascending id order, when known (saves sorting the ids again). */
  idOrder?: Uint32Array;
  /** All records back to back; record i is records[recordStart(i) .. recordStart(i+1)). */
  records: Uint8Array;
  /** Fixed record size, or 0 for polylines (then `recordOffsets` is set). */
  recordSize: number;
  recordOffsets?: Float64Array;
  propertySpecs: PropertySpec[];
  relationships: RelationshipColumn[];
  lower: number[];
  upper: number[];
  unusedColumns: string[];
  /** The geometry columns read, per role. */
  geometry: GeometryColumns;
  idSource: { source: ResolvedIds['source']; column?: string };
}

export function recordStart(p: Prepared, i: number): number {
  return p.recordOffsets ? p.recordOffsets[i] : i * p.recordSize;
}

/**
 * The geometry columns of `table` for a type, per role: `options.geometry` if given, else the naming
 * convention for the dimension names, else a recognised pattern (see shared/geometry.ts).
 */
function tableGeometry(type: AnnotationType, coords: CoordSpace, table: TableLike, options: WriteOptions, what = ''): GeometryColumns {
  try {
    return resolveGeometry(type, table.schema.fields.map((f) => f.name), { dims: coords.names, geometry: options.geometry }).geometry;
  } catch (e) {
    if (e instanceof GeometryError) throw new ExportError(`${what}${e.message}`, { column: e.column });
    throw e;
  }
}

/** Bytes of geometry neuroglancer assumes when laying out properties (polyline: one segment + count). */
export function nominalGeometryBytes(type: AnnotationType, rank: number): number {
  return type === 'point' ? 4 * rank : type === 'polyline' ? 8 * rank + 4 : 8 * rank;
}

function requireNonNegative(values: Float64Array, column: string): void {
  for (let i = 0; i < values.length; i++) {
    if (values[i] < 0) {
      const rows: number[] = [];
      let count = 0;
      for (let j = i; j < values.length; j++) if (values[j] < 0) (rows.length < 5 && rows.push(j), count++);
      throw new ExportError(
        `Column ${JSON.stringify(column)} (ellipsoid radius) has ${count} negative value(s) (${describeRows(rows, count)}; first: ${values[rows[0]]})`,
        { column, rows, expected: 'radii >= 0' },
      );
    }
  }
}

function requireFloat32(values: Float64Array, column: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(Math.fround(values[i]))) {
      throw new ExportError(`Column ${JSON.stringify(column)} has a value too large for float32 (${describeRows([i])}: ${values[i]})`, {
        column,
        rows: [i],
        expected: 'finite float32',
      });
    }
  }
}

interface CommonInputs {
  properties: ReturnType<typeof planProperties>;
  relationships: RelationshipColumn[];
  ids: BigUint64Array;
  idOrder: Uint32Array;
  usedColumns: Set<string>;
  idSource: Prepared['idSource'];
}

/** Drops consumed input columns (when the input is a ColumnStore) unless `keep` still needs them. */
function releaseColumns(table: TableLike | null, names: Iterable<string>, keep: Set<string>): void {
  if (!(table instanceof ColumnStore)) return;
  for (const n of names) if (!keep.has(n)) table.release(n);
}

/** Ids, relationships and the property plan; `later` names the columns still needed afterwards. */
function commonInputs(table: TableLike | null, n: number, options: WriteOptions, warn: (m: string) => void, later: string[] = []): CommonInputs {
  const propReq = normalizePropertyRequests(options.properties);
  const relReq = normalizeRelationshipRequests(options.relationships);
  if (!table && propReq.length) throw new ExportError('Cannot use properties without a main table (the polyline vertices table alone has none)');
  if (!table && relReq.length) throw new ExportError('Cannot use relationships without a main table (the polyline vertices table alone has none)');
  const properties = planProperties(table, propReq, warn);
  // The plans hold the values they need: the property columns can go now unless read again below.
  const idCandidates = options.idColumn === null ? [] : options.idColumn !== undefined ? [options.idColumn] : ['annotation_id', ...(table ? [pandasIndex(table)?.column ?? ''] : [])];
  const keep = new Set([...later, ...relReq, ...idCandidates]);
  releaseColumns(table, planColumns(properties), keep);
  const relationships = table
    ? relReq.map((r) => {
        const rel = readRelationship(table, r);
        releaseColumns(table, [r], keep);
        return rel;
      })
    : [];
  const resolved = resolveIds(table, n, options.idColumn);
  if (resolved.column) releaseColumns(table, [resolved.column], keep);
  const idOrder = requireUniqueIds(resolved.ids, resolved.column);
  const usedColumns = new Set<string>([...planColumns(properties), ...relReq]);
  if (resolved.column) usedColumns.add(resolved.column);
  return { properties, relationships, ids: resolved.ids, idOrder, usedColumns, idSource: { source: resolved.source, column: resolved.column } };
}

/**
 * What is known once the ids and relationship lists are checked, before the geometry and properties
 * go into the records: enough to start planning the relationship indexes (write.ts does, on a worker).
 * The callee may replace `ids`, `idOrder` and the relationship arrays with copies in shared memory;
 * the Prepared result carries the replacements.
 */
export interface EarlyInputs {
  n: number;
  recordSize: number;
  ids: BigUint64Array;
  idOrder: Uint32Array;
  relationships: RelationshipColumn[];
}

export function prepare(
  table: TableLike | null,
  points: TableLike | null,
  coords: CoordSpace,
  type: AnnotationType,
  options: WriteOptions,
  warn: (m: string) => void,
  onEarly?: (early: EarlyInputs) => void,
): Prepared {
  const rank = coords.names.length;
  if (type === 'polyline') return preparePolylines(table, points, coords, options, warn);
  if (!table) throw new ExportError(`A table is required for ${type} annotations`);
  const n = table.numRows;
  if (n === 0) throw new ExportError('The table has no rows: there are no annotations to write');
  const geometry = tableGeometry(type, coords, table, options);
  const geomNames = flattenGeometry(type, geometry);
  const common = commonInputs(table, n, options, warn, geomNames);
  const geomBytes = nominalGeometryBytes(type, rank);
  const layout = propertyLayout(geomBytes, common.properties.map((p) => p.spec.type));
  const recordSize = layout.serializedBytes;
  if (onEarly) {
    const early: EarlyInputs = { n, recordSize, ids: common.ids, idOrder: common.idOrder, relationships: common.relationships };
    onEarly(early);
    Object.assign(common, { ids: early.ids, idOrder: early.idOrder, relationships: early.relationships });
  }
  const records = sharedBytes(n * recordSize);
  const f32 = new Float32Array(records.buffer);
  const stride = recordSize / 4;
  const lower = new Array<number>(rank).fill(Infinity);
  const upper = new Array<number>(rank).fill(-Infinity);
  const keep = new Set<string>(); // the property plans already hold their values

  // One geometry column at a time (a center with its radius for ellipsoids), each dropped once it
  // is in the records: at most two float64 copies are alive, not all of them.
  const read = (c: number) => {
    const name = geomNames[c];
    const column = getColumn(table, name, 'geometry');
    // float64 in one buffer (the Parquet reader's) is read in place: no 8-byte-per-row copy.
    const v = contiguousValues(column, Float64Array) ?? numericColumn(column, name, 'geometry');
    requireFinite(v, name, 'geometry');
    requireFloat32(v, name);
    return v;
  };
  const fill = (c: number, v: Float64Array) => {
    for (let i = 0; i < n; i++) f32[i * stride + c] = v[i];
  };
  // Bounds from the input values (float64), as the reference does.
  if (type === 'ellipsoid') {
    for (let d = 0; d < rank; d++) {
      const c = read(d);
      const r = read(rank + d);
      requireNonNegative(r, geomNames[rank + d]);
      fill(d, c);
      fill(rank + d, r);
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < n; i++) {
        if (c[i] - r[i] < lo) lo = c[i] - r[i];
        if (c[i] + r[i] > hi) hi = c[i] + r[i];
      }
      lower[d] = lo;
      upper[d] = hi;
      releaseColumns(table, [geomNames[d], geomNames[rank + d]], keep);
    }
  } else {
    // Points: one column per axis; lines and boxes: two (the corners), both within the bounds.
    for (let c = 0; c < geomNames.length; c++) {
      const a = read(c);
      fill(c, a);
      const d = c % rank;
      let lo = lower[d];
      let hi = upper[d];
      for (let i = 0; i < n; i++) {
        if (a[i] < lo) lo = a[i];
        if (a[i] > hi) hi = a[i];
      }
      lower[d] = lo;
      upper[d] = hi;
      releaseColumns(table, [geomNames[c]], keep);
    }
  }
  // Property values straight into the records (no n × P block beside them).
  writeProperties(common.properties, layout, n, records, recordSize, 0);
  for (const c of geomNames) common.usedColumns.add(c);
  return {
    type,
    rank,
    n,
    ids: common.ids,
    idOrder: common.idOrder,
    records,
    recordSize,
    propertySpecs: common.properties.map((p) => p.spec),
    relationships: common.relationships,
    lower,
    upper,
    unusedColumns: table.schema.fields.map((f) => f.name).filter((c) => !common.usedColumns.has(c)),
    geometry,
    idSource: common.idSource,
  };
}

/**
 * Errors in the vertices say so, with the file's name when it has one: with a main table beside it,
 * "row 4" alone would not say which file.
 */
function inVertices<T>(options: WriteOptions, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof ExportError) || options.polylinePoints === undefined || options.polylinePoints === null) throw e;
    const file = typeof options.polylinePoints === 'string' ? ` (${path.basename(options.polylinePoints)})` : '';
    throw new ExportError(`In the polyline vertices table${file}: ${e.message}`, e.details);
  }
}

function preparePolylines(
  table: TableLike | null,
  points: TableLike | null,
  coords: CoordSpace,
  options: WriteOptions,
  warn: (m: string) => void,
): Prepared {
  const rank = coords.names.length;
  if (!points) throw new ExportError('Polyline annotations need a vertices table (polylinePoints / --points) with annotation_id and coordinate columns');
  const m = points.numRows;
  if (!points.getChild('annotation_id')) {
    throw new ExportError(
      `The polyline vertices table must have an "annotation_id" column; it has ${points.schema.fields.map((f) => JSON.stringify(f.name)).join(', ')}`,
      { column: 'annotation_id' },
    );
  }
  const geometry = tableGeometry('polyline', coords, points, options, 'The polyline vertices table: ');
  const { vertexIds, vcols } = inVertices(options, () => ({
    vertexIds: uint64Column(points.getChild('annotation_id')!, 'annotation_id', 'polyline vertex annotation ids', false).values,
    vcols: geometry.vertex!.map((name) => {
      const v = numericColumn(points.getChild(name)!, name, 'polyline vertex coordinate');
      requireFinite(v, name, 'polyline vertex coordinate');
      requireFloat32(v, name);
      return v;
    }),
  }));

  // Main table rows (or, without one, the distinct vertex ids in order of first appearance).
  let n: number;
  let mainIds: BigUint64Array;
  let common: CommonInputs;
  if (table) {
    n = table.numRows;
    common = commonInputs(table, n, options, warn);
    mainIds = common.ids;
  } else {
    const seen = new Set<bigint>();
    const order: bigint[] = [];
    for (let i = 0; i < m; i++) {
      const id = vertexIds[i];
      if (!seen.has(id)) {
        seen.add(id);
        order.push(id);
      }
    }
    n = order.length;
    mainIds = BigUint64Array.from(order);
    common = { ...commonInputs(null, n, { ...options, idColumn: undefined }, warn), ids: mainIds };
  }
  if (n === 0 || m === 0) throw new ExportError('There are no polylines to write (no rows in the table or no vertices)');
  const index = new Map<bigint, number>();
  for (let i = 0; i < n; i++) index.set(mainIds[i], i);
  const counts = new Uint32Array(n);
  const owner = new Int32Array(m);
  let orphans = 0;
  for (let j = 0; j < m; j++) {
    const i = index.get(vertexIds[j]);
    if (i === undefined) {
      owner[j] = -1;
      orphans++;
    } else {
      owner[j] = i;
      counts[i]++;
    }
  }
  if (orphans) warn(`${orphans} polyline vertex row(s) have an annotation_id that is not in the main table; they are ignored.`);
  const keepList: number[] = [];
  for (let i = 0; i < n; i++) if (counts[i] > 0) keepList.push(i);
  if (keepList.length < n) {
    warn(`${n - keepList.length} of ${n} main-table annotations have no vertices in the polyline vertices table; they are dropped.`);
  }
  if (keepList.length === 0) throw new ExportError('No annotation in the main table has any polyline vertex');
  // neuroglancer draws a polyline as its segments; with one vertex there is no segment, and in a
  // spatial chunk every later polyline would be read with the wrong geometry.
  const single = keepList.filter((i) => counts[i] === 1);
  if (single.length) {
    throw new ExportError(
      `${single.length} polyline(s) have only one vertex (annotation_id ${mainIds[single[0]]}${single.length > 1 ? `, ${mainIds[single[1]]}` : ''}${single.length > 2 ? ', …' : ''}); a polyline needs at least 2 vertices`,
      { column: 'annotation_id', value: mainIds[single[0]], expected: 'at least 2 vertices per polyline' },
    );
  }
  const keep = Uint32Array.from(keepList);
  const geomBytes = nominalGeometryBytes('polyline', rank);
  const layout = propertyLayout(geomBytes, common.properties.map((p) => p.spec.type));
  const P = layout.propertyBytes;
  const block = encodePropertyBlock(common.properties, layout, geomBytes, n);
  const k = keep.length;
  const recordOffsets = sharedF64(k + 1);
  const newIndex = new Int32Array(n).fill(-1);
  for (let r = 0; r < k; r++) {
    newIndex[keep[r]] = r;
    recordOffsets[r + 1] = recordOffsets[r] + 4 + 4 * rank * counts[keep[r]] + P;
  }
  const records = sharedBytes(recordOffsets[k]);
  const dv = new DataView(records.buffer);
  // Vertex cursor per kept polyline: vertices stay in input order within each polyline.
  const cursor = new Float64Array(k);
  for (let r = 0; r < k; r++) {
    dv.setUint32(recordOffsets[r], counts[keep[r]], true);
    cursor[r] = recordOffsets[r] + 4;
    if (P) records.set(block.subarray(keep[r] * P, (keep[r] + 1) * P), recordOffsets[r + 1] - P);
  }
  const lower = new Array<number>(rank).fill(Infinity);
  const upper = new Array<number>(rank).fill(-Infinity);
  for (let j = 0; j < m; j++) {
    if (owner[j] < 0) continue;
    const r = newIndex[owner[j]];
    let at = cursor[r];
    for (let d = 0; d < rank; d++) {
      const x = Math.fround(vcols[d][j]);
      dv.setFloat32(at, x, true);
      at += 4;
      if (x < lower[d]) lower[d] = x;
      if (x > upper[d]) upper[d] = x;
    }
    cursor[r] = at;
  }
  const ids = keep.length === n ? mainIds : mainIds.filter((_, i) => counts[i] > 0);
  const relationships = keep.length === n ? common.relationships : common.relationships.map((rel) => selectRelationshipRows(rel, keep));
  return {
    type: 'polyline',
    rank,
    n: k,
    ids,
    // Dropped rows would leave holes in the order; the indexes sort again in that case.
    idOrder: keep.length === n ? common.idOrder : undefined,
    records,
    recordSize: 0,
    recordOffsets,
    propertySpecs: common.properties.map((p) => p.spec),
    relationships,
    lower,
    upper,
    unusedColumns: table ? table.schema.fields.map((f) => f.name).filter((c) => !common.usedColumns.has(c)) : [],
    geometry,
    idSource: table ? common.idSource : { source: 'annotation_id', column: 'annotation_id' },
  };
}
