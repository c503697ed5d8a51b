// Deterministic annotation tables for the CLI tests, with what neuroglancer must decode from them,
// and the check that a written dataset decodes to exactly those values.
import assert from 'node:assert/strict';
import type { Column } from './cli';
import { ngColor, readDatasetWithNeuroglancer, type NgAnnotation, type NgDataset } from './ngread';
export { rng } from './common';
import { rng } from './common';

export type AnnType = 'point' | 'line' | 'axis_aligned_bounding_box' | 'ellipsoid' | 'polyline';
export const TYPES: AnnType[] = ['point', 'line', 'axis_aligned_bounding_box', 'ellipsoid', 'polyline'];


export interface Expected {
  type: AnnType;
  ids: bigint[];
  /** Per row, the geometry as neuroglancer names it (point / pointA,pointB / center,radii / points). */
  geometry: Array<Record<string, number[] | number[][]>>;
  /** Property name → per-row input value (number, or the string of an enum/colour). */
  props: Record<string, Array<number | string>>;
  rels: Record<string, bigint[][]>;
}

/** uint64 extremes first: they must survive every reader exactly. */
export function idsFor(n: number): bigint[] {
  const special = [0n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(i < special.length ? special[i] : 1000n + BigInt(i) * 7919n);
  return out;
}

const REL_POOL = [1n, 2n, 3n, 2n ** 53n + 1n, 2n ** 64n - 1n, 77n];
const KINDS = ['soma', 'axon', 'dendrite', 'spine'];

const coord = (r: () => number) => Math.round(r() * 100000) / 100; // 0..1000, 2 decimals (not all float32-exact)

export interface Fixture {
  /** Main table (for polylines: ids, properties and relationships only). */
  main: Column[];
  /** Polyline vertices: annotation_id + x,y,z, vertices of different polylines interleaved. */
  vertices?: Column[];
  expected: Expected;
}

export const PROPS = ['score', 'kind', 'level', 'color'];
export const RELS = ['pre', 'partners'];

export function makeFixture(type: AnnType, n: number, seed: number): Fixture {
  const r = rng(seed);
  const ids = idsFor(n);
  const geometry: Expected['geometry'] = [];
  const geomCols: Record<string, number[]> = {};
  const names =
    type === 'point'
      ? ['x', 'y', 'z']
      : type === 'line' || type === 'axis_aligned_bounding_box'
        ? ['xa', 'ya', 'za', 'xb', 'yb', 'zb']
        : type === 'ellipsoid'
          ? ['x', 'y', 'z', 'rx', 'ry', 'rz']
          : [];
  for (const nm of names) geomCols[nm] = [];
  let vertices: Column[] | undefined;
  if (type === 'polyline') {
    const lists: number[][][] = [];
    for (let i = 0; i < n; i++) {
      const k = 2 + Math.floor(r() * 4);
      lists.push(Array.from({ length: k }, () => [coord(r), coord(r), coord(r)]));
      geometry.push({ points: lists[i] });
    }
    // Interleave: round-robin over polylines, so each id's vertices are not contiguous rows.
    const vid: bigint[] = [];
    const vx: number[] = [];
    const vy: number[] = [];
    const vz: number[] = [];
    for (let j = 0; j < 5; j++) {
      for (let i = 0; i < n; i++) {
        const p = lists[i][j];
        if (!p) continue;
        vid.push(ids[i]);
        vx.push(p[0]);
        vy.push(p[1]);
        vz.push(p[2]);
      }
    }
    vertices = [
      { name: 'annotation_id', kind: 'u64', values: vid },
      { name: 'x', kind: 'f64', values: vx },
      { name: 'y', kind: 'f64', values: vy },
      { name: 'z', kind: 'f64', values: vz },
    ];
  } else {
    for (let i = 0; i < n; i++) {
      const v = names.map((nm) => (/^r[xyz]$/.test(nm) ? 1 + Math.round(r() * 5000) / 100 : coord(r)));
      names.forEach((nm, d) => geomCols[nm].push(v[d]));
      if (type === 'point') geometry.push({ point: v });
      else if (type === 'ellipsoid') geometry.push({ center: v.slice(0, 3), radii: v.slice(3) });
      else geometry.push({ pointA: v.slice(0, 3), pointB: v.slice(3) });
    }
  }
  const score: number[] = [];
  const kind: string[] = [];
  const level: number[] = [];
  const color: string[] = [];
  const pre: Array<bigint | null> = [];
  const partners: bigint[][] = [];
  for (let i = 0; i < n; i++) {
    score.push(Math.round(r() * 1000) / 1000);
    kind.push(KINDS[Math.floor(r() * KINDS.length)]);
    level.push(i === 0 ? -5 : i === 1 ? 200 : Math.floor(r() * 100));
    color.push('#' + Array.from({ length: 3 }, () => Math.floor(r() * 256).toString(16).padStart(2, '0')).join(''));
    pre.push(i % 5 === 3 ? null : REL_POOL[Math.floor(r() * REL_POOL.length)]);
    const k = i % 4; // 0..3 partners, distinct
    const pool = [...REL_POOL];
    const l: bigint[] = [];
    for (let j = 0; j < k; j++) l.push(pool.splice(Math.floor(r() * pool.length), 1)[0]);
    partners.push(l);
  }
  const main: Column[] = [
    { name: 'annotation_id', kind: 'u64', values: ids },
    ...names.map((nm): Column => ({ name: nm, kind: 'f64', values: geomCols[nm] })),
    { name: 'score', kind: 'f64', values: score },
    { name: 'kind', kind: 'str', values: kind },
    { name: 'level', kind: 'i32', values: level },
    { name: 'color', kind: 'str', values: color },
    { name: 'pre', kind: 'u64', values: pre },
    { name: 'partners', kind: 'u64list', values: partners },
  ];
  return {
    main,
    vertices,
    expected: {
      type,
      ids,
      geometry,
      props: { score, kind, level, color },
      rels: { pre: pre.map((p) => (p === null ? [] : [p])), partners },
    },
  };
}

const f32 = (v: number[]) => v.map((x) => Math.fround(x));

function checkGeometry(a: NgAnnotation, g: Record<string, number[] | number[][]>, where: string): void {
  for (const [k, v] of Object.entries(g)) {
    const want = k === 'points' ? (v as number[][]).map(f32) : f32(v as number[]);
    assert.deepEqual((a as unknown as Record<string, unknown>)[k], want, `${where}: ${k}`);
  }
}

function checkProperties(ds: NgDataset, a: NgAnnotation, e: Expected, row: number, where: string): void {
  ds.properties.forEach((spec, k) => {
    const want = e.props[spec.identifier]?.[row];
    assert.notEqual(want, undefined, `${where}: unexpected property ${spec.identifier}`);
    const got = a.properties[k];
    if (spec.enumLabels) {
      const label = spec.enumLabels[spec.enumValues!.indexOf(got)];
      assert.equal(label, String(want), `${where}: property ${spec.identifier}`);
    } else if (spec.type === 'rgb' || spec.type === 'rgba') {
      const hex = String(want);
      const bytes = (hex.slice(1).match(/../g) ?? []).map((h) => parseInt(h, 16));
      assert.deepEqual(ngColor(got, spec.type === 'rgb' ? 3 : 4), bytes, `${where}: property ${spec.identifier}`);
    } else if (spec.type === 'float32') {
      assert.equal(got, Math.fround(Number(want)), `${where}: property ${spec.identifier}`);
    } else {
      assert.equal(got, Number(want), `${where}: property ${spec.identifier}`);
    }
  });
}

export interface CheckOptions {
  properties?: string[];
  relationships?: string[];
  byRelationship?: boolean;
  spatial?: boolean;
  rank?: number;
}

/**
 * Reads `dir` with neuroglancer's own code and asserts it holds exactly `e`: every id in by_id with its
 * geometry, properties and relationships; every related id in by_rel_* with exactly its annotations;
 * and every annotation in exactly one spatial level.
 */
export async function checkDataset(dir: string, e: Expected, o: CheckOptions = {}): Promise<NgDataset> {
  const ds = await readDatasetWithNeuroglancer(dir);
  const props = o.properties ?? [];
  const rels = o.relationships ?? [];
  assert.equal(ds.type, e.type);
  assert.equal(ds.rank, o.rank ?? 3);
  // The info lists properties stable-sorted by width (4-byte, uint32, 16-bit, 8-bit), as the reference writer does.
  const width = (t: string) => ({ float32: 4, int32: 4, uint32: 3, uint16: 2, int16: 2 })[t] ?? 1;
  const typeOf = new Map(ds.properties.map((p) => [p.identifier, p.type]));
  assert.deepEqual([...typeOf.keys()].sort(), [...props].sort(), 'properties');
  const sorted = [...props].sort((a, b) => width(typeOf.get(b)!) - width(typeOf.get(a)!));
  assert.deepEqual(ds.properties.map((p) => p.identifier), sorted, 'property order in info');
  assert.deepEqual(ds.relationships, rels);
  for (let i = 0; i < e.ids.length; i++) {
    const where = `row ${i + 1} (id ${e.ids[i]})`;
    const a = await ds.getById(e.ids[i]);
    assert.ok(a, `${where}: missing from by_id`);
    assert.equal(a.id, e.ids[i]);
    checkGeometry(a, e.geometry[i], where);
    checkProperties(ds, a, e, i, where);
    assert.deepEqual(a.relationships, rels.map((r) => e.rels[r][i]), `${where}: relationships`);
  }
  if (o.byRelationship ?? true) {
    for (const r of rels) {
      const bySegment = new Map<bigint, bigint[]>();
      e.rels[r].forEach((l, i) => {
        for (const s of l) bySegment.set(s, [...(bySegment.get(s) ?? []), e.ids[i]]);
      });
      for (const [seg, want] of bySegment) {
        const got = await ds.getByRelationship(r, seg);
        assert.ok(got, `by_rel_${r}: no entry for ${seg}`);
        assert.deepEqual(got.map((a) => a.id).sort(cmp), [...want].sort(cmp), `by_rel_${r} ${seg}`);
        for (const a of got) checkGeometry(a, e.geometry[e.ids.indexOf(a.id)], `by_rel_${r} ${seg} id ${a.id}`);
      }
      assert.equal(await ds.getByRelationship(r, 424242n), undefined, `by_rel_${r}: entry for an unrelated id`);
    }
  }
  if (o.spatial ?? true) {
    assert.ok(ds.levels.length >= 1, 'no spatial level');
    const levelOf = new Map<bigint, number>();
    for (const l of ds.levels) {
      for (const [cell, anns] of await ds.allSpatial(l.index)) {
        for (const a of anns) {
          const prev = levelOf.get(a.id);
          assert.ok(prev === undefined || prev === l.index, `id ${a.id} in levels ${prev} and ${l.index}`);
          levelOf.set(a.id, l.index);
          const i = e.ids.indexOf(a.id);
          assert.ok(i >= 0, `spatial level ${l.index} cell ${cell}: unknown id ${a.id}`);
          checkGeometry(a, e.geometry[i], `spatial level ${l.index} cell ${cell} id ${a.id}`);
          checkProperties(ds, a, e, i, `spatial level ${l.index} cell ${cell} id ${a.id}`);
        }
      }
    }
    assert.deepEqual([...levelOf.keys()].sort(cmp), [...e.ids].sort(cmp), 'ids in the spatial index');
  } else {
    assert.equal(ds.levels.length, 0);
  }
  return ds;
}

export const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
