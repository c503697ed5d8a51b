// Annotation layers held inline in a neuroglancer JSON state → the tables the exporter reads.
// A state comes as a file, a viewer link `https://…/#!{…}` (URL-encoded JSON) or `#!https://…/state.json`.
// Kept per annotation: id (decimal uint64 ids as they are; neuroglancer's random hex ids are
// numbered 1..N in layer order), geometry, description (as an enum property, the only way the
// precomputed format can carry text), related segments (one relationship per entry of the layer's
// `annotationRelationships`, default "segments"), and the layer's `annotationProperties` with each
// annotation's `props` (colors normalised to #rrggbb / #rrggbbaa).
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Field, List, Table, Uint64, Utf8, makeVector, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';
import type { Mapping } from '../shared/mapping';
import { ANNOTATION_TYPES, PROPERTY_TYPES, type AnnotationType, type PropertySpec, type PropertyType } from '../core/types';
import { geometryColumns } from '../shared/guess';
import { smallestEnumType } from '../core/properties';
import { UserError } from '../shared/errors';

export class StateError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'StateError';
  }
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

async function fetchJson(url: string, fetchImpl: typeof fetch): Promise<unknown> {
  if (!/^https?:\/\//i.test(url)) {
    throw new StateError(`${url}: cannot fetch a state from this kind of URL (http(s) URLs and local files are supported)`);
  }
  let r: Response;
  try {
    r = await fetchImpl(url);
  } catch (e) {
    throw new StateError(`${url}: cannot fetch the state: ${(e as Error).message}`);
  }
  if (!r.ok) throw new StateError(`${url}: cannot fetch the state: HTTP ${r.status}`);
  const text = await r.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new StateError(`${url} is not a JSON state: ${(e as Error).message}`);
  }
}

/** The state's JSON from a file, a `…#!{json}` link or a `…#!https://…/state.json` link. */
export async function loadState(arg: string, fetchImpl: typeof fetch = fetch): Promise<unknown> {
  const hash = arg.indexOf('#!');
  if (hash >= 0) {
    const frag = arg.slice(hash + 2);
    let decoded: string;
    try {
      decoded = decodeURIComponent(frag);
    } catch {
      throw new StateError(`the state in the link is not URL-encoded JSON (a bad % escape)`);
    }
    if (decoded.trimStart().startsWith('{')) {
      try {
        return JSON.parse(decoded);
      } catch (e) {
        throw new StateError(`the state in the link is not valid JSON: ${(e as Error).message}`);
      }
    }
    return fetchJson(decoded.trim(), fetchImpl);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) return fetchJson(arg, fetchImpl);
  let text: string;
  try {
    text = await readFile(arg, 'utf8');
  } catch (e) {
    throw new StateError(`cannot read ${arg}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new StateError(`${arg} is not a JSON state: ${(e as Error).message}`);
  }
}

export interface StateLayerInfo {
  name: string;
  /** Inline annotations by type. */
  counts: Partial<Record<AnnotationType, number>>;
  /** Where the layer reads its annotations from when they are not inline (e.g. precomputed://…). */
  externalSource?: string;
}

function sourceUrl(source: unknown): string | undefined {
  const one = Array.isArray(source) ? source[0] : source;
  if (typeof one === 'string') return one;
  if (isObj(one) && typeof one.url === 'string') return one.url;
  return undefined;
}

function layersOf(state: unknown): Json[] {
  if (!isObj(state)) throw new StateError('the state is not a JSON object');
  const layers = state.layers;
  // Old states keep layers as an object keyed by name.
  if (isObj(layers)) return Object.entries(layers).map(([name, l]) => (isObj(l) ? { name, ...l } : { name }));
  return Array.isArray(layers) ? layers.filter(isObj) : [];
}

/** The state's annotation layers (`type: "annotation"`), with what they hold. */
export function annotationLayers(state: unknown): StateLayerInfo[] {
  return layersOf(state)
    .filter((l) => l.type === 'annotation')
    .map((l, i) => {
      const counts: StateLayerInfo['counts'] = {};
      for (const a of Array.isArray(l.annotations) ? l.annotations : []) {
        const t = isObj(a) && typeof a.type === 'string' ? (a.type.toLowerCase() as AnnotationType) : undefined;
        if (t && ANNOTATION_TYPES.includes(t)) counts[t] = (counts[t] ?? 0) + 1;
      }
      const url = sourceUrl(l.source);
      const info: StateLayerInfo = { name: typeof l.name === 'string' ? l.name : `layer ${i + 1}`, counts };
      if (url !== undefined && !url.startsWith('local://')) info.externalSource = url;
      return info;
    });
}

export interface StateTables {
  layer: string;
  annotationType: AnnotationType;
  coords: { names: string[]; units: string[]; scales: number[] };
  table: Table;
  vertices: Table | null;
  properties: PropertySpec[];
  relationships: string[];
  warnings: string[];
}

const U64_MAX = (1n << 64n) - 1n;

/** #rgb, #rrggbb, #rrggbbaa, rgb(r, g, b) and rgba(r, g, b, a) (a from 0 to 1) → #rrggbb[aa]; undefined if none of these. */
export function normaliseColor(v: unknown, alpha: boolean): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  const hex = (n: number) => Math.min(255, Math.max(0, Math.round(n))).toString(16).padStart(2, '0');
  let rgba: number[] | undefined;
  let m: RegExpExecArray | null;
  if ((m = /^#([0-9a-f]{3})$/.exec(s))) rgba = [...m[1]].map((c) => parseInt(c + c, 16)).concat(255);
  else if ((m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/.exec(s))) {
    rgba = [0, 2, 4].map((i) => parseInt(m![1].slice(i, i + 2), 16)).concat(m[2] ? parseInt(m[2], 16) : 255);
  } else if ((m = /^rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)$/.exec(s))) {
    rgba = [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 255 : Number(m[4]) * 255];
    if (rgba.some((x) => !Number.isFinite(x))) return undefined;
  }
  if (!rgba) return undefined;
  return '#' + rgba.slice(0, alpha ? 4 : 3).map(hex).join('');
}

const GEOMETRY_KEYS: Record<AnnotationType, string[]> = {
  point: ['point'],
  line: ['pointA', 'pointB'],
  axis_aligned_bounding_box: ['pointA', 'pointB'],
  ellipsoid: ['center', 'radii'],
  polyline: ['points'],
};

function coordSpaceOf(state: Json, layer: Json, warnings: string[]): { names: string[]; units: string[]; scales: number[] } {
  const src = Array.isArray(layer.source) ? layer.source[0] : layer.source;
  const transform = isObj(src) && isObj(src.transform) ? src.transform : undefined;
  const dims = (transform && (isObj(transform.inputDimensions) ? transform.inputDimensions : isObj(transform.outputDimensions) ? transform.outputDimensions : undefined)) ?? state.dimensions;
  if (!isObj(dims) || Object.keys(dims).length === 0) {
    throw new StateError(`layer ${JSON.stringify(layer.name)}: no coordinate space (neither the layer's source transform nor the state has "dimensions")`);
  }
  const names: string[] = [];
  const units: string[] = [];
  const scales: number[] = [];
  for (const [name, v] of Object.entries(dims)) {
    if (!Array.isArray(v) || typeof v[0] !== 'number' || typeof v[1] !== 'string') {
      throw new StateError(`dimension ${JSON.stringify(name)} is ${JSON.stringify(v)}, expected [scale, unit]`);
    }
    names.push(name);
    scales.push(v[0]);
    units.push(v[1]);
  }
  if (transform && Array.isArray(transform.matrix)) {
    const m = transform.matrix as number[][];
    const identity = m.every((row, i) => Array.isArray(row) && row.every((x, j) => x === (i === j ? 1 : 0)));
    if (!identity) warnings.push(`layer ${JSON.stringify(layer.name)}: its source transform matrix is not applied; coordinates are written as the state stores them`);
  }
  return { names, units, scales };
}

function propertySpecs(layer: Json): PropertySpec[] {
  const raw = layer.annotationProperties;
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new StateError(`layer ${JSON.stringify(layer.name)}: "annotationProperties" must be a list`);
  return raw.map((p, i) => {
    if (!isObj(p) || typeof p.id !== 'string' || !PROPERTY_TYPES.includes(p.type as PropertyType)) {
      throw new StateError(`layer ${JSON.stringify(layer.name)}: annotationProperties[${i}] needs an "id" and a "type" (one of ${PROPERTY_TYPES.join(', ')}), got ${JSON.stringify(p)}`);
    }
    const spec: PropertySpec = { id: p.id, type: p.type as PropertyType };
    if (typeof p.description === 'string') spec.description = p.description;
    if (Array.isArray(p.enum_values)) spec.enum_values = p.enum_values as number[];
    if (Array.isArray(p.enum_labels)) spec.enum_labels = p.enum_labels as string[];
    if (p.default !== undefined) spec.default = p.default;
    return spec;
  });
}

/** The tables of one annotation layer (`layerName`, or the only one), optionally of one annotation type. */
export function stateLayerTables(state: unknown, layerName?: string, onlyType?: AnnotationType): StateTables {
  const all = layersOf(state);
  const layers = annotationLayers(state);
  if (layers.length === 0) {
    const kinds = [...new Set(all.map((l) => String(l.type)))];
    throw new StateError(`the state has no annotation layers${kinds.length ? ` (its layers are of type ${kinds.join(', ')})` : ''}`);
  }
  const names = layers.map((l) => JSON.stringify(l.name)).join(', ');
  let index: number;
  if (layerName === undefined) {
    if (layers.length > 1) throw new StateError(`the state has ${layers.length} annotation layers (${names}); choose one with --layer`);
    index = 0;
  } else {
    index = layers.findIndex((l) => l.name === layerName);
    if (index < 0) throw new StateError(`no annotation layer named ${JSON.stringify(layerName)}; the annotation layers are ${names}`);
  }
  const info = layers[index];
  const layer = all.filter((l) => l.type === 'annotation')[index];
  const where = `layer ${JSON.stringify(info.name)}`;
  const types = Object.keys(info.counts) as AnnotationType[];
  if (types.length === 0) {
    throw new StateError(info.externalSource ? `${where} reads its annotations from ${info.externalSource}, not from the state (use to-table on that dataset)` : `${where} has no annotations`);
  }
  const countList = types.map((t) => `${info.counts[t]} ${t}`).join(', ');
  let type: AnnotationType;
  if (onlyType !== undefined) {
    if (!info.counts[onlyType]) throw new StateError(`${where} has no ${onlyType} annotations (it has ${countList})`);
    type = onlyType;
  } else if (types.length > 1) {
    throw new StateError(`${where} mixes annotation types (${countList}); a precomputed dataset holds one: choose it with --type`);
  } else type = types[0];

  const warnings: string[] = [];
  const coords = coordSpaceOf(state as Json, layer, warnings);
  const rank = coords.names.length;
  const annotations = (layer.annotations as unknown[]).filter((a): a is Json => isObj(a) && typeof a.type === 'string' && a.type.toLowerCase() === type);
  const skipped = (layer.annotations as unknown[]).length - annotations.length;
  if (skipped) warnings.push(`${where}: ${skipped} annotation(s) of other types are not written (only ${type})`);
  const n = annotations.length;
  const at = (i: number) => `${where}, annotation ${i + 1} (id ${JSON.stringify(annotations[i].id)})`;

  // Ids: decimal uint64 ids are kept; otherwise (neuroglancer's random hex ids) 1..N in layer order.
  const rawIds = annotations.map((a) => a.id);
  const decimal = rawIds.every((x) => typeof x === 'string' && /^\d+$/.test(x) && BigInt(x) <= U64_MAX);
  const ids = new BigUint64Array(n);
  if (decimal && new Set(rawIds).size === n) rawIds.forEach((x, i) => (ids[i] = BigInt(x as string)));
  else {
    for (let i = 0; i < n; i++) ids[i] = BigInt(i + 1);
    warnings.push(`${where}: annotation ids are not distinct decimal uint64 values (neuroglancer makes random hex ids); they are numbered 1..${n} in layer order`);
  }

  // Geometry.
  const vec = (v: unknown, what: string, i: number): number[] => {
    if (!Array.isArray(v) || v.length !== rank || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new StateError(`${at(i)}: ${what} must be ${rank} finite numbers (${coords.names.join(', ')}), got ${JSON.stringify(v)}`);
    }
    return v as number[];
  };
  const geom = (a: Json, key: string, i: number) => vec(a[key], `"${key}"`, i);
  const columns: Record<string, Vector> = { annotation_id: makeVector(ids) };
  let vertices: Table | null = null;
  if (type === 'polyline') {
    const vid: bigint[] = [];
    const vc = coords.names.map(() => [] as number[]);
    annotations.forEach((a, i) => {
      const pts = a.points;
      if (!Array.isArray(pts)) throw new StateError(`${at(i)}: "points" must be a list of ${rank}-D points`);
      pts.forEach((p, k) => {
        const xyz = vec(p, `"points"[${k}]`, i);
        vid.push(ids[i]);
        xyz.forEach((x, d) => vc[d].push(x));
      });
    });
    const v: Record<string, Vector> = { annotation_id: makeVector(BigUint64Array.from(vid)) };
    coords.names.forEach((name, d) => (v[name] = makeVector(Float64Array.from(vc[d]))));
    vertices = new Table(v);
  } else {
    const keys = GEOMETRY_KEYS[type];
    const values = annotations.map((a, i) => keys.flatMap((k) => geom(a, k, i)));
    geometryColumns(type, coords.names).forEach((name, c) => (columns[name] = makeVector(Float64Array.from(values, (row) => row[c]))));
  }

  // Properties: the layer's specs, each annotation's `props` (or the defaults).
  const specs = propertySpecs(layer);
  specs.forEach((spec, k) => {
    const def = spec.default;
    delete spec.default;
    const raw = annotations.map((a, i) => {
      const props = a.props;
      if (props === undefined) return def ?? (spec.type === 'rgb' || spec.type === 'rgba' ? '#ffffff' : 0);
      if (!Array.isArray(props) || props.length !== specs.length) throw new StateError(`${at(i)}: "props" must list ${specs.length} value(s), one per annotationProperties entry`);
      return props[k];
    });
    if (spec.type === 'rgb' || spec.type === 'rgba') {
      const text = raw.map((v, i) => {
        const c = normaliseColor(v, spec.type === 'rgba');
        if (c === undefined) throw new StateError(`${at(i)}: property ${spec.id} = ${JSON.stringify(v)} is not a color like #rrggbb or rgba(r, g, b, a)`);
        return c;
      });
      columns[spec.id] = vectorFromArray(text, new Utf8());
    } else {
      const nums = raw.map((v, i) => {
        if (typeof v !== 'number' || Number.isNaN(v) && spec.type !== 'float32') throw new StateError(`${at(i)}: property ${spec.id} = ${JSON.stringify(v)} is not a number`);
        return v;
      });
      columns[spec.id] = makeVector(Float64Array.from(nums));
    }
  });

  // Descriptions: an enum property of the distinct texts ("" for none).
  if (annotations.some((a) => typeof a.description === 'string' && a.description !== '')) {
    let id = 'description';
    while (specs.some((s) => s.id === id)) id += '_';
    const texts = annotations.map((a) => (typeof a.description === 'string' ? a.description : ''));
    const labels = [...new Set(texts)].sort();
    const code = new Map(labels.map((l, i) => [l, i]));
    specs.push({ id, type: smallestEnumType(labels.length), enum_values: labels.map((_, i) => i), enum_labels: labels, description: 'annotation description' });
    columns[id] = makeVector(Float64Array.from(texts, (t) => code.get(t)!));
  }

  // Related segments: one list per relationship of the layer.
  const rels = Array.isArray(layer.annotationRelationships) ? (layer.annotationRelationships as unknown[]).map(String) : ['segments'];
  const lists = rels.map(() => [] as bigint[][]);
  let anySegments = false;
  annotations.forEach((a, i) => {
    const seg = a.segments;
    let perRel: unknown[][];
    if (seg === undefined || (Array.isArray(seg) && seg.length === 0)) perRel = rels.map(() => []);
    else if (!Array.isArray(seg)) throw new StateError(`${at(i)}: "segments" must be a list`);
    else if (rels.length === 1 && !Array.isArray(seg[0])) perRel = [seg];
    else if (seg.length === rels.length && seg.every(Array.isArray)) perRel = seg as unknown[][];
    else throw new StateError(`${at(i)}: "segments" must hold ${rels.length} list(s), one per relationship (${rels.join(', ')})`);
    perRel.forEach((ids, r) => {
      lists[r].push(ids.map((x) => {
        const s = typeof x === 'number' && Number.isSafeInteger(x) ? String(x) : x;
        if (typeof s !== 'string' || !/^\d+$/.test(s) || BigInt(s) > U64_MAX) throw new StateError(`${at(i)}: segment id ${JSON.stringify(x)} is not a uint64`);
        anySegments = true;
        return BigInt(s);
      }));
    });
  });
  const relationships: string[] = [];
  if (anySegments) {
    const listType = new List(new Field('item', new Uint64(), true));
    rels.forEach((r, k) => {
      if (columns[r] !== undefined) throw new StateError(`${where}: relationship ${JSON.stringify(r)} has the name of a column already in use`);
      columns[r] = vectorFromArray(lists[k], listType);
      relationships.push(r);
    });
  }
  return { layer: info.name, annotationType: type, coords, table: new Table(columns), vertices, properties: specs, relationships, warnings };
}

/**
 * Writes a layer's tables as Arrow files into `dir` and returns the mapping that exports them
 * (the CLI's from-state and the extension's "Convert State to Precomputed" both run this mapping).
 */
export async function writeStateTables(t: StateTables, dir: string, output: string): Promise<Mapping> {
  const base = t.layer.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^\.+/, '') || 'layer';
  const mapping: Mapping = {
    version: 1,
    input: path.join(dir, `${base}.arrow`),
    annotationType: t.annotationType,
    coords: t.coords.names,
    units: t.coords.units,
    scales: t.coords.scales,
    idColumn: 'annotation_id',
    output,
  };
  if (t.properties.length) mapping.properties = t.properties;
  if (t.relationships.length) mapping.relationships = t.relationships;
  await writeFile(mapping.input!, tableToIPC(t.table, 'file'));
  if (t.vertices) {
    mapping.points = path.join(dir, `${base}.vertices.arrow`);
    await writeFile(mapping.points, tableToIPC(t.vertices, 'file'));
  }
  return mapping;
}

/** `<layer>.precomputed`, the default dataset name for a layer. */
export function defaultOutputName(layer: string): string {
  return `${layer.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^\.+/, '') || 'layer'}.precomputed`;
}
