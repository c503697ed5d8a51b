// Guesses a mapping from a table's column names and first rows: what the VS Code form opens with,
// and the defaults the CLI fills in (the `id` column). One module for the webview, the extension
// host and the CLI: pure (no vscode, no node), so the webview can re-guess when the user changes
// the annotation type.
import type { AnnotationType } from './types';
import type { Mapping } from './mapping';
import type { FormState, TablePreview } from './protocol';
import { conventionalColumns, flattenGeometry, recogniseGeometry, resolveGeometry, type GeometryColumns } from './geometry';

/** Property ids neuroglancer accepts (the writer rejects others). */
export const PROPERTY_ID = /^[a-z][a-zA-Z0-9_]*$/;
const AXES = ['x', 'y', 'z', 't'];

/** `pos_x` → [pos, x]; `PositionX` → [position, x]; `x_nm` → [x, nm]. */
function splitWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

function findCoords(names: string[], has: (n: string) => boolean): string[] {
  // Prefer the conventional axes, case as written in the file; keep dimension order x, y, z, t.
  const out: string[] = [];
  for (const a of AXES) {
    const n = names.find((c) => c.toLowerCase() === a);
    if (n !== undefined && has(n)) out.push(n);
  }
  return out;
}

/** Which columns carry geometry for this type: the given roles, else the convention for the coordinate names (none for polylines: they are in the vertices file). */
export function geometryColumns(type: AnnotationType, coords: string[], geometry?: GeometryColumns): string[] {
  if (type === 'polyline') return [];
  return flattenGeometry(type, geometry ?? conventionalColumns(type, coords));
}

/**
 * The geometry roles to store for a type and dimension names: none when the convention fits (or
 * nothing fits: the form then shows the missing columns), else a recognised pattern.
 */
export function geometryFor(preview: TablePreview, type: AnnotationType, coords: string[]): GeometryColumns | undefined {
  if (type === 'polyline') return undefined;
  try {
    const r = resolveGeometry(type, preview.columns.map((c) => c.name), { dims: coords });
    return r.how === 'recognised' ? r.geometry : undefined;
  } catch {
    return undefined;
  }
}

/** Rows the form previews and the CLI reads for its guesses (the same rows, so the same guess). */
export const GUESS_ROWS = 20;

/**
 * `id` as the id column when there is no `annotation_id` and `id` is integral, non-negative and
 * unique in the rows seen (the writer checks the whole column).
 */
export function guessIdColumn(preview: TablePreview): string | undefined {
  const names = preview.columns.map((c) => c.name);
  if (names.includes('annotation_id')) return undefined;
  const i = names.findIndex((n) => n.toLowerCase() === 'id');
  if (i < 0 || !/int/i.test(preview.columns[i]!.type)) return undefined;
  const seen = new Set<string>();
  for (const r of preview.rows) {
    const v = r[i] ?? '';
    if (!/^\d+$/.test(v) || seen.has(v)) return undefined;
    seen.add(v);
  }
  return names[i];
}

function idRepeats(preview: TablePreview, col: number): boolean {
  const seen = new Set<string>();
  for (const r of preview.rows) {
    const v = r[col];
    if (v === undefined || v === '') continue;
    if (seen.has(v)) return true;
    seen.add(v);
  }
  return false;
}

/** The annotation type and coordinate names suggested by the column names. */
export function guessGeometry(preview: TablePreview): { type: AnnotationType; coords: string[]; geometry?: GeometryColumns; polylineVertices: boolean } {
  const names = preview.columns.map((c) => c.name);
  const set = new Set(names);
  const line = findCoords(
    names.map((n) => (n.length > 1 && /a$/i.test(n) ? n.slice(0, -1) : '')).filter(Boolean),
    (n) => set.has(`${n}a`) && set.has(`${n}b`),
  );
  if (line.length > 0) return { type: 'line', coords: line, polylineVertices: false };
  const point = findCoords(names, () => true);
  const ellipsoid = point.filter((n) => set.has(`r${n}`));
  if (ellipsoid.length > 0 && ellipsoid.length === point.length) return { type: 'ellipsoid', coords: point, polylineVertices: false };
  const idCol = names.indexOf('annotation_id');
  if (idCol >= 0 && point.length > 0 && idRepeats(preview, idCol)) return { type: 'polyline', coords: point, polylineVertices: true };
  if (point.length > 0) return { type: 'point', coords: point, polylineVertices: false };
  // Common patterns: CAVE's pre_pt_position_x … post_pt_position_z (a line), ctr_pt_position_x…, pos_x…
  for (const type of ['line', 'ellipsoid', 'point'] as const) {
    const r = recogniseGeometry(type, names);
    if (r) return { type, coords: r.dims, geometry: r.geometry, polylineVertices: false };
  }
  // Axis names inside longer numeric column names: `pos_x`, `x_nm`, `center.x`, `PositionX`…
  const numericCols = preview.columns.filter((c) => /int|float|double|decimal/i.test(c.type)).map((c) => c.name);
  const tokened: string[] = [];
  for (const a of AXES) {
    const n = numericCols.find((c) => splitWords(c).includes(a));
    if (n !== undefined && !tokened.includes(n)) tokened.push(n);
  }
  if (tokened.length >= 2) return { type: 'point', coords: tokened, polylineVertices: false };
  // No conventional names: the first numeric columns, at most three.
  return { type: 'point', coords: numericCols.slice(0, 3).length ? numericCols.slice(0, 3) : names.slice(0, 1), polylineVertices: false };
}

/** Color channel triples `<name>_r/_g/_b` (and `_a`) that the writer reads as one rgb/rgba property. */
function colorGroups(names: string[]): Map<string, string[]> {
  const set = new Set(names);
  const out = new Map<string, string[]>();
  for (const n of names) {
    const m = /^(.+)_r$/.exec(n);
    if (!m) continue;
    const base = m[1]!;
    if (set.has(`${base}_g`) && set.has(`${base}_b`)) {
      out.set(base, set.has(`${base}_a`) ? [`${base}_r`, `${base}_g`, `${base}_b`, `${base}_a`] : [`${base}_r`, `${base}_g`, `${base}_b`]);
    }
  }
  return out;
}

/** Columns offered as properties for a geometry: everything that is not geometry or the id. */
export function propertyCandidates(preview: TablePreview, type: AnnotationType, coords: string[], idColumn?: string | null, geometry?: GeometryColumns): string[] {
  const names = preview.columns.map((c) => c.name);
  const taken = new Set([...geometryColumns(type, coords, geometry), idColumn ?? 'annotation_id', 'annotation_id']);
  const groups = colorGroups(names);
  const inGroup = new Set([...groups.values()].flat());
  const out: string[] = [];
  for (const n of names) {
    if (taken.has(n)) continue;
    if (inGroup.has(n)) {
      const base = n.replace(/_[rgba]$/, '');
      if (!out.includes(base) && groups.has(base)) out.push(base);
      continue;
    }
    out.push(n);
  }
  return out;
}

/**
 * Relationship columns hold segment ids: list cells (`[1, 2]`, `1;2`, Arrow lists), or integers too
 * large for any property type (>= 2^32, e.g. `pre_pt_root_id`), which as a property would fail.
 */
function looksLikeRelationship(preview: TablePreview, name: string): boolean {
  const i = preview.columns.findIndex((c) => c.name === name);
  if (i < 0) return false;
  const t = preview.columns[i]!.type;
  if (/list/i.test(t)) return true;
  const cells = preview.rows.map((r) => r[i] ?? '').filter((v) => v !== '');
  if (cells.length === 0) return false;
  if (/int64/i.test(t)) return cells.every((v) => /^\d+$/.test(v)) && cells.some((v) => BigInt(v) >= 2n ** 32n);
  return cells.some((v) => /^\[.*\]$|;/.test(v.trim())) && cells.every((v) => /^\[?[\d\s,;]*\]?$/.test(v.trim()));
}

/** Integers outside every property type (below -2^31, or 2^32 and up, unless they are ids): not offered by default. */
function outOfPropertyRange(preview: TablePreview, name: string): boolean {
  const i = preview.columns.findIndex((c) => c.name === name);
  if (i < 0 || !/int64/i.test(preview.columns[i]!.type)) return false;
  return preview.rows.some((r) => {
    const v = r[i] ?? '';
    return /^-?\d+$/.test(v) && (BigInt(v) < -(2n ** 31n) || BigInt(v) >= 2n ** 32n);
  });
}

/** No value in any preview row: the writer cannot type an all-empty column, so it is not offered by default. */
export function emptyInPreview(preview: TablePreview, name: string): boolean {
  const i = preview.columns.findIndex((c) => c.name === name);
  return i >= 0 && preview.rows.length > 0 && preview.rows.every((r) => (r[i] ?? '') === '');
}

export function fileStem(fileName: string): string {
  const base = fileName.replace(/^.*[\\/]/, '');
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/**
 * The mapping the form opens with. `input` and `output` are absolute paths; `outputDir` is the
 * default output folder (sibling `<stem>.precomputed`).
 */
export function guessFormState(preview: TablePreview, input: string, outputDir: string, defaults: Partial<Mapping> = {}): FormState {
  const g = guessGeometry(preview);
  const names = preview.columns.map((c) => c.name);
  const mapping: Mapping = { version: 1, annotationType: g.type, coords: g.coords, ...(g.geometry ? { geometry: g.geometry } : {}), ...defaults, output: outputDir };
  if (g.polylineVertices) {
    // The file is a vertices table: no per-annotation table, so no properties or relationships.
    mapping.points = input;
    return { mapping, propertyColumns: [] };
  }
  mapping.input = input;
  if (names.includes('annotation_id')) mapping.idColumn = 'annotation_id';
  else {
    const id = guessIdColumn(preview);
    if (id !== undefined) mapping.idColumn = id;
  }
  const candidates = propertyCandidates(preview, g.type, g.coords, mapping.idColumn, g.geometry);
  const relationships = candidates.filter((n) => looksLikeRelationship(preview, n) && /^[A-Za-z0-9_.-]+$/.test(n));
  const properties = candidates.filter(
    (n) => !relationships.includes(n) && PROPERTY_ID.test(n) && !emptyInPreview(preview, n) && !outOfPropertyRange(preview, n),
  );
  if (properties.length) mapping.properties = properties;
  if (relationships.length) mapping.relationships = relationships;
  return { mapping, propertyColumns: candidates };
}
