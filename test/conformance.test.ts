// Conformance: every annotation type, sharded and unsharded, written by our writer and decoded by
// neuroglancer 2.41.2's own reader (test/helpers/ngread.ts). For every annotation: by_id geometry
// (float32), properties and relationships; by_rel membership and order; and the spatial index
// invariants (one level per annotation, exactly the cells it intersects, limits).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Table, makeVector } from 'apache-arrow';
import type { AnnotationType } from '../src/core/types';
import {
  checkById,
  checkByRelationship,
  checkSpatial,
  checkGridsAndQuotas,
  f32,
  randomIds,
  rng,
  tempRoot,
  u64List,
  u64Scalar,
  writeAndRead,
  type Expected,
  type Geometry,
} from './helpers/conformance';

const tmp = tempRoot('types');
after(() => tmp.cleanup());

const EXTENT = [100, 60, 20];
const NAMES = ['x', 'y', 'z'];

interface RandomInput {
  table: Table;
  points?: Table;
  expected: Expected[];
  /** Per reference-behaviour.md (f): min/max of the float64 inputs (c ± r for ellipsoids; both
   *  endpoints for lines and boxes), and of the float32 vertices for polylines. */
  lower: number[];
  upper: number[];
}

/**
 * n annotations of `type` with random, non-grid-aligned geometry in [0,100)x[0,60)x[0,20) (boxes,
 * lines, ellipsoids and polylines reaching a little beyond), a float32 and a uint16 property, a
 * list relationship (with nulls, empty lists and repeated ids) and a scalar one (with nulls).
 */
function randomInput(type: AnnotationType, n: number, seed: number): RandomInput {
  const rand = rng(seed);
  const ids = randomIds(n, rand);
  const pos = () => EXTENT.map((e) => rand() * e);
  const pool = [0n, 7n, 42n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, ...Array.from({ length: 20 }, (_, i) => 1000n + BigInt(i))];
  const pick = () => pool[Math.floor(rand() * pool.length)]!;
  const geometry: Geometry[] = [];
  const columns: Record<string, number[]> = {};
  const col = (name: string, v: number) => (columns[name] ??= []).push(v);
  const vertexRows: Array<{ id: bigint; p: number[] }[]> = [];
  for (let i = 0; i < n; i++) {
    switch (type) {
      case 'point': {
        const p = pos();
        p.forEach((x, d) => col(NAMES[d]!, x));
        geometry.push({ point: f32(p) });
        break;
      }
      case 'line':
      case 'axis_aligned_bounding_box': {
        const a = pos();
        const b = a.map((x) => x + (rand() - 0.5) * 40);
        a.forEach((x, d) => col(NAMES[d] + 'a', x));
        b.forEach((x, d) => col(NAMES[d] + 'b', x));
        geometry.push({ pointA: f32(a), pointB: f32(b) });
        break;
      }
      case 'ellipsoid': {
        const c = pos();
        const r = c.map(() => 0.5 + rand() * 12);
        c.forEach((x, d) => col(NAMES[d]!, x));
        r.forEach((x, d) => col('r' + NAMES[d], x));
        geometry.push({ center: f32(c), radii: f32(r) });
        break;
      }
      case 'polyline': {
        const count = 2 + Math.floor(rand() * 5);
        const pts: number[][] = [pos()];
        while (pts.length < count) pts.push(pts[pts.length - 1]!.map((x) => x + (rand() - 0.5) * 30));
        vertexRows.push(pts.map((p) => ({ id: ids[i]!, p })));
        geometry.push({ points: pts.map(f32) });
        break;
      }
    }
  }
  const score = Float32Array.from({ length: n }, () => (rand() - 0.5) * 1e4);
  const kind = Uint16Array.from({ length: n }, () => Math.floor(rand() * 65536));
  const partners: Array<bigint[] | null> = [];
  const owner: Array<bigint | null> = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    partners.push(r < 0.1 ? null : r < 0.2 ? [] : Array.from({ length: 1 + Math.floor(rand() * 4) }, pick));
    owner.push(rand() < 0.15 ? null : pick());
  }
  const table = new Table({
    annotation_id: makeVector(BigUint64Array.from(ids)),
    ...Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, makeVector(Float64Array.from(v))])),
    score: makeVector(score),
    kind: makeVector(kind),
    partners: u64List(partners),
    owner: u64Scalar(owner),
  });
  let points: Table | undefined;
  if (type === 'polyline') {
    // Vertices of different polylines interleaved, each polyline's vertices in order.
    const rows: { id: bigint; p: number[] }[] = [];
    for (let v = 0; rows.length < vertexRows.reduce((s, r) => s + r.length, 0); v++) {
      for (const list of vertexRows) if (v < list.length) rows.push(list[v]!);
    }
    points = new Table({
      annotation_id: makeVector(BigUint64Array.from(rows, (r) => r.id)),
      ...Object.fromEntries(NAMES.map((name, d) => [name, makeVector(Float64Array.from(rows, (r) => r.p[d]!))])),
    });
  }
  const expected: Expected[] = ids.map((id, i) => ({
    id,
    geometry: geometry[i]!,
    properties: { score: score[i]!, kind: kind[i]! },
    relationships: [partners[i] ?? [], owner[i] === null ? [] : [owner[i]!]],
  }));
  const lower = NAMES.map(() => Infinity);
  const upper = NAMES.map(() => -Infinity);
  const extend = (d: number, v: number) => ((lower[d] = Math.min(lower[d]!, v)), (upper[d] = Math.max(upper[d]!, v)));
  NAMES.forEach((nm, d) => {
    if (type === 'point') columns[nm]!.forEach((v) => extend(d, v));
    if (type === 'line' || type === 'axis_aligned_bounding_box') for (const v of [...columns[nm + 'a']!, ...columns[nm + 'b']!]) extend(d, v);
    if (type === 'ellipsoid') columns[nm]!.forEach((c, i) => (extend(d, c - columns['r' + nm]![i]!), extend(d, c + columns['r' + nm]![i]!)));
    if (type === 'polyline') for (const g of geometry) for (const p of g.points!) extend(d, p[d]!);
  });
  return { table, points, expected, lower, upper };
}

const TYPES: AnnotationType[] = ['point', 'line', 'axis_aligned_bounding_box', 'ellipsoid', 'polyline'];
const LIMIT = 8;

describe('every annotation type round-trips through neuroglancer', () => {
  TYPES.forEach((type, t) => {
    for (const sharded of [true, false]) {
      test(`${type}, ${sharded ? 'sharded' : 'unsharded'}`, async () => {
        const n = type === 'point' ? 600 : 350;
        const input = randomInput(type, n, 1000 + t);
        const { ds, summary } = await writeAndRead(tmp.dir(type), input.table, { names: NAMES, units: ['nm', 'nm', 'nm'], scales: [1, 1, 1] }, type, {
          properties: ['score', 'kind'],
          relationships: ['partners', 'owner'],
          writeSharded: sharded,
          numSpatialLevels: 6,
          targetChunkLimit: LIMIT,
          polylinePoints: input.points,
          seed: 7,
        });
        assert.equal(ds.type, type);
        assert.equal(ds.raw.annotation_type, type, 'lower-case type in info');
        assert.deepEqual(ds.raw.lower_bound, input.lower, 'lower_bound');
        assert.deepEqual(ds.raw.upper_bound, input.upper, 'upper_bound (inclusive maximum)');
        assert.equal(summary.annotations, n);
        assert.deepEqual(ds.relationships, ['partners', 'owner']);
        assert.deepEqual(
          ds.properties.map((p) => [p.identifier, p.type]),
          [['score', 'float32'], ['kind', 'uint16']],
        );
        assert.equal(ds.metadata.parameters.byId.sharding !== undefined, sharded, 'by_id sharding');
        for (const l of ds.levels) assert.equal(l.sharded, sharded, `level ${l.index} sharding`);
        assert.ok(ds.levels.length >= 3, `expected several spatial levels, got ${ds.levels.length}`);
        await checkById(ds, input.expected);
        await checkByRelationship(ds, input.expected);
        checkGridsAndQuotas(ds, await checkSpatial(ds, input.expected, LIMIT), 6, LIMIT, n);
      });
    }
  });
});
