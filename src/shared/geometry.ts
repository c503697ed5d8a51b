// Which table columns hold an annotation's geometry, by role: one model for the library, the CLI,
// the mapping JSON and the VS Code form. A role is a list of columns, one per dimension, in
// dimension order: point (`point`), line/box (`a`, `b`), ellipsoid (`center`, `radii`), polyline
// (`vertex`, in the vertices table). Dimension names (and units, scales) are separate: columns
// `pre_pt_position_x/y/z` can be dimensions `x, y, z`.
// Pure (no node, no vscode): the webview bundle imports it too.
import type { AnnotationType } from './types';
import { UserError } from './errors';

export type GeometryRole = 'point' | 'a' | 'b' | 'center' | 'radii' | 'vertex';
/** Columns per role, one per dimension, in dimension order. */
export type GeometryColumns = Partial<Record<GeometryRole, string[]>>;

export const GEOMETRY_ROLES: Record<AnnotationType, readonly GeometryRole[]> = {
  point: ['point'],
  line: ['a', 'b'],
  axis_aligned_bounding_box: ['a', 'b'],
  ellipsoid: ['center', 'radii'],
  polyline: ['vertex'],
};
export const ALL_ROLES: readonly GeometryRole[] = ['point', 'a', 'b', 'center', 'radii', 'vertex'];

/** "line endpoint b", "box corner a", "ellipsoid radii": how messages name a role. */
export function roleLabel(type: AnnotationType, role: GeometryRole): string {
  switch (role) {
    case 'point':
      return 'point';
    case 'a':
    case 'b':
      return type === 'axis_aligned_bounding_box' ? `box corner ${role}` : `line endpoint ${role}`;
    case 'center':
      return 'ellipsoid center';
    case 'radii':
      return 'ellipsoid radii';
    case 'vertex':
      return 'polyline vertex';
  }
}

/** The naming convention: point `x`; line/box `xa`, `xb`; ellipsoid `x`, `rx`; polyline vertex `x`. */
export function conventionalColumns(type: AnnotationType, dims: readonly string[]): GeometryColumns {
  switch (type) {
    case 'point':
      return { point: [...dims] };
    case 'line':
    case 'axis_aligned_bounding_box':
      return { a: dims.map((d) => `${d}a`), b: dims.map((d) => `${d}b`) };
    case 'ellipsoid':
      return { center: [...dims], radii: dims.map((d) => `r${d}`) };
    case 'polyline':
      return { vertex: [...dims] };
  }
}

/** The type's roles only, in encoding order. */
export function rolesOf(type: AnnotationType, g: GeometryColumns): GeometryColumns {
  const out: GeometryColumns = {};
  for (const r of GEOMETRY_ROLES[type]) if (g[r]) out[r] = [...g[r]!];
  return out;
}

/** Geometry columns in encoding order (roles in order, each in dimension order). */
export function flattenGeometry(type: AnnotationType, g: GeometryColumns): string[] {
  return GEOMETRY_ROLES[type].flatMap((r) => g[r] ?? []);
}

function listColumns(columns: readonly string[]): string {
  const shown = columns.slice(0, 40).map((c) => JSON.stringify(c));
  return shown.join(', ') + (columns.length > 40 ? `, … (${columns.length} in all)` : '');
}

/**
 * Checks that `g` gives every role of `type` with `rank` columns that exist in `columns` (when
 * known). Returns the first problem as a message naming the role and the columns, or null.
 */
export function geometryProblem(type: AnnotationType, rank: number, g: GeometryColumns, columns?: readonly string[]): { role: GeometryRole; column?: string; message: string } | null {
  for (const k of Object.keys(g) as GeometryRole[]) {
    if (!GEOMETRY_ROLES[type].includes(k)) {
      return { role: k, message: `${k}: not a role of ${type} annotations (they have ${GEOMETRY_ROLES[type].join(', ')})` };
    }
  }
  for (const role of GEOMETRY_ROLES[type]) {
    const cols = g[role];
    const label = roleLabel(type, role);
    if (!cols || cols.length === 0) return { role, message: `${label}: no columns given` };
    if (cols.length !== rank) {
      return { role, message: `${label}: ${cols.length} column(s) (${cols.join(', ')}) for ${rank} dimension(s); give one column per dimension` };
    }
    if (columns) {
      const set = new Set(columns);
      const missing = cols.find((c) => !set.has(c));
      if (missing !== undefined) {
        return { role, column: missing, message: `${label}: column ${JSON.stringify(missing)} not found; columns are ${listColumns(columns)}` };
      }
    }
  }
  return null;
}

// ---- recognising common column names ------------------------------------------------------------

const AXES = ['x', 'y', 'z'] as const;

/** `pre_pt_position_x` → {prefix: 'pre_pt_position', axis: 'x'}; `x` → {'', 'x'}; `PositionX` → {'Position', 'x'}. */
export function splitAxis(name: string): { prefix: string; axis: string } | null {
  const lower = name.toLowerCase();
  if ((AXES as readonly string[]).includes(lower)) return { prefix: '', axis: lower };
  let m = /^(.+?)[_. -]([xyzXYZ])$/.exec(name);
  if (m) return { prefix: m[1]!, axis: m[2]!.toLowerCase() };
  m = /^(.*[a-z0-9])([XYZ])$/.exec(name);
  if (m) return { prefix: m[1]!, axis: m[2]!.toLowerCase() };
  // `x_nm`, `y_nm`: the axis first, the same suffix.
  m = /^([xyzXYZ])[_. -](.+)$/.exec(name);
  if (m) return { prefix: `*${m[2]!}`, axis: m[1]!.toLowerCase() };
  return null;
}

export interface AxisGroup {
  prefix: string;
  /** Axis letters in dimension order (x, y, z; at least x and y). */
  axes: string[];
  columns: string[];
  /** Position of the group's first column in the table. */
  at: number;
}

/** Column groups that hold one position: `P_x, P_y[, P_z]` with the same prefix P. */
export function axisGroups(names: readonly string[]): AxisGroup[] {
  const by = new Map<string, { cols: Map<string, string>; at: number }>();
  names.forEach((n, i) => {
    const s = splitAxis(n);
    if (!s) return;
    let g = by.get(s.prefix);
    if (!g) by.set(s.prefix, (g = { cols: new Map(), at: i }));
    if (!g.cols.has(s.axis)) g.cols.set(s.axis, n);
  });
  const out: AxisGroup[] = [];
  for (const [prefix, g] of by) {
    const axes = AXES.filter((a) => g.cols.has(a));
    if (!g.cols.has('x') || !g.cols.has('y')) continue;
    out.push({ prefix, axes: [...axes], columns: axes.map((a) => g.cols.get(a)!), at: g.at });
  }
  return out.sort((p, q) => p.at - q.at);
}

function words(prefix: string): string[] {
  return prefix
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** Word pairs naming the two ends of a line (first word = endpoint a) or the two corners of a box. */
const PAIRS: Array<[string, string]> = [
  ['pre', 'post'],
  ['presynaptic', 'postsynaptic'],
  ['start', 'end'],
  ['begin', 'end'],
  ['source', 'target'],
  ['src', 'dst'],
  ['from', 'to'],
  ['min', 'max'],
  ['lower', 'upper'],
  ['lo', 'hi'],
  ['first', 'second'],
  ['a', 'b'],
];

/** 1 when p and q name endpoints a and b, -1 when b and a, 0 when they are not such a pair. */
function pairOrder(p: AxisGroup, q: AxisGroup): number {
  if (p.axes.join() !== q.axes.join()) return 0;
  const a = words(p.prefix);
  const b = words(q.prefix);
  if (a.length !== b.length || a.length === 0) return 0;
  const diff = a.map((w, i) => (w === b[i] ? -1 : i)).filter((i) => i >= 0);
  if (diff.length !== 1) return 0;
  const x = a[diff[0]!]!;
  const y = b[diff[0]!]!;
  for (const [u, v] of PAIRS) {
    if (x === u && y === v) return 1;
    if (x === v && y === u) return -1;
  }
  // `p1`/`p2`, `pt0`/`pt1`: the same word with another number.
  const mx = /^(.*?)(\d+)$/.exec(x);
  const my = /^(.*?)(\d+)$/.exec(y);
  if (mx && my && mx[1] === my[1] && mx[2] !== my[2]) return Number(mx[2]) < Number(my[2]) ? 1 : -1;
  return 0;
}

function isRadius(g: AxisGroup): boolean {
  const w = words(g.prefix);
  return w.length > 0 && ['r', 'radius', 'radii', 'rad', 'semi', 'axes', 'semiaxes'].includes(w[w.length - 1]!);
}

/** The group that is most likely "the" position: plain x/y/z, then a center, then a position. */
function bestPositionGroup(groups: AxisGroup[]): AxisGroup | undefined {
  const rank = (g: AxisGroup) => {
    const w = words(g.prefix);
    if (g.prefix === '') return 0;
    if (w.some((x) => ['ctr', 'center', 'centre', 'centroid'].includes(x))) return 1;
    if (w.some((x) => ['position', 'pos', 'pt', 'point', 'coord', 'coords', 'location', 'loc'].includes(x))) return 2;
    return 3;
  };
  return [...groups].sort((p, q) => rank(p) - rank(q) || p.at - q.at)[0];
}

export interface RecognisedGeometry {
  /** Dimension names: the axis letters of the columns (x, y, z). */
  dims: string[];
  geometry: GeometryColumns;
}

/**
 * Geometry columns for `type` recognised from common naming patterns in `names`: `P_x/P_y/P_z`
 * groups (CAVE's `pre_pt_position_x` … `post_pt_position_z`, `ctr_pt_position_*`, `pos_x`,
 * `PositionX`), endpoints told apart by word pairs (pre/post, start/end, source/target, min/max,
 * p1/p2 …). `dims`, when given, must be the groups' axis letters. Null when nothing fits.
 */
export function recogniseGeometry(type: AnnotationType, names: readonly string[], dims?: readonly string[]): RecognisedGeometry | null {
  let groups = axisGroups(names);
  if (dims) groups = groups.filter((g) => g.axes.join() === dims.join());
  if (groups.length === 0) return null;
  const dimsOf = (g: AxisGroup) => [...g.axes];
  if (type === 'line' || type === 'axis_aligned_bounding_box') {
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) {
        const o = pairOrder(groups[i]!, groups[j]!);
        if (o === 0) continue;
        const [a, b] = o > 0 ? [groups[i]!, groups[j]!] : [groups[j]!, groups[i]!];
        return { dims: dimsOf(a), geometry: { a: a.columns, b: b.columns } };
      }
    }
    const same = groups.filter((g) => g.axes.join() === groups[0]!.axes.join() && !isRadius(g));
    if (same.length === 2) return { dims: dimsOf(same[0]!), geometry: { a: same[0]!.columns, b: same[1]!.columns } };
    return null;
  }
  if (type === 'ellipsoid') {
    const radii = groups.find(isRadius);
    const center = radii && bestPositionGroup(groups.filter((g) => g !== radii && g.axes.join() === radii.axes.join()));
    if (!radii || !center) return null;
    return { dims: dimsOf(center), geometry: { center: center.columns, radii: radii.columns } };
  }
  const best = bestPositionGroup(groups.filter((g) => !isRadius(g)));
  if (!best) return null;
  return { dims: dimsOf(best), geometry: type === 'point' ? { point: best.columns } : { vertex: best.columns } };
}

/** Dimension names from explicitly given columns: their axis letters if they are `P_x, P_y…`, else the names themselves. */
export function dimsFromColumns(columns: readonly string[]): string[] {
  const split = columns.map(splitAxis);
  const axes = split.map((s) => s?.axis);
  if (axes.every((a) => a !== undefined) && new Set(axes).size === axes.length) return axes as string[];
  return [...columns];
}

export interface ResolvedGeometry {
  dims: string[];
  geometry: GeometryColumns;
  /** given: from the caller; convention: `x`/`xa`/`xb`/`rx` names; recognised: a common naming pattern. */
  how: 'given' | 'convention' | 'recognised';
}

export class GeometryError extends UserError {
  constructor(
    message: string,
    readonly role?: GeometryRole,
    column?: string,
  ) {
    super(message, { column });
    this.name = 'GeometryError';
  }
}

const DEFAULT_DIMS = ['x', 'y', 'z'];

/**
 * Decides the geometry columns and dimension names: roles given by the caller win; then the naming
 * convention for the dimension names (default x, y, z); then a recognised pattern (`columns`
 * known). Throws GeometryError naming the role and the columns.
 */
export function resolveGeometry(type: AnnotationType, columns: readonly string[] | null, opts: { dims?: readonly string[]; geometry?: GeometryColumns } = {}): ResolvedGeometry {
  const given = opts.geometry ? rolesOf(type, opts.geometry) : {};
  const extra = opts.geometry ? (Object.keys(opts.geometry) as GeometryRole[]).filter((r) => !GEOMETRY_ROLES[type].includes(r) && opts.geometry![r]?.length) : [];
  if (extra.length) {
    throw new GeometryError(`${extra.join(', ')}: not a role of ${type} annotations (they have ${GEOMETRY_ROLES[type].join(', ')})`, extra[0]);
  }
  const roles = GEOMETRY_ROLES[type];
  const have = roles.filter((r) => given[r]?.length);
  if (have.length > 0) {
    const missing = roles.find((r) => !given[r]?.length);
    if (missing) throw new GeometryError(`${roleLabel(type, missing)}: no columns given (${type} annotations need ${roles.join(' and ')})`, missing);
    const dims = opts.dims ? [...opts.dims] : dimsFromColumns(given[roles[0]!]!);
    const p = geometryProblem(type, dims.length, given, columns ?? undefined);
    if (p) throw new GeometryError(p.message, p.role, p.column);
    return { dims, geometry: given, how: 'given' };
  }
  const dims = opts.dims ? [...opts.dims] : DEFAULT_DIMS;
  const conv = conventionalColumns(type, dims);
  if (!columns) return { dims, geometry: conv, how: 'convention' };
  if (!geometryProblem(type, dims.length, conv, columns)) return { dims, geometry: conv, how: 'convention' };
  const rec = recogniseGeometry(type, columns, opts.dims);
  if (rec) return { ...rec, how: 'recognised' };
  if (!opts.dims) {
    // A 2-D table with plain x, y columns, and so on.
    const plain = recogniseGeometry(type, columns);
    if (plain) return { ...plain, how: 'recognised' };
  }
  const p = geometryProblem(type, dims.length, conv, columns)!;
  throw new GeometryError(
    `${p.message}. No ${type} geometry found for dimensions ${dims.join(', ')}: give the columns per role (${roles.join(', ')}), ` +
      `or name them ${flattenGeometry(type, conv).slice(0, 6).join(', ')}`,
    p.role,
    p.column,
  );
}
