// Conformance at the edges: several minishards, property groups beyond neuroglancer's 255-byte
// stride, rank 1, dropped polylines, narrowed/nullable columns, options that leave indexes out, and
// input errors that must name the column and row. Read back with neuroglancer 2.41.2.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, describe, test } from 'node:test';
import { Dictionary, Float32, Float64, Int32, Table, Uint8, Utf8, makeVector, tableFromArrays, vectorFromArray } from 'apache-arrow';
import { writePrecomputedAnnotations } from '../src/export/run';
import { ExportError } from '../src/core/errors';
import { ngColor } from './helpers/ngread';
import { checkById, checkByRelationship, checkSpatial, f32, randomIds, rng, tempRoot, u64List, writeAndRead, type Expected } from './helpers/conformance';

const tmp = tempRoot('edge');
after(() => tmp.cleanup());

const f64 = (v: number[]) => makeVector(Float64Array.from(v));

describe('sharded layouts with several minishards', () => {
  test('by_id, by_rel and a spatial level with more than 1000 keys each', async () => {
    const n = 2500;
    const rand = rng(77);
    const ids = randomIds(n, rand);
    const xyz = [0, 1, 2].map(() => Array.from({ length: n }, () => rand() * 16));
    const rel = ids.map((_, i) => [BigInt(i % 1200) * 12345678901n]);
    const table = new Table({
      annotation_id: makeVector(BigUint64Array.from(ids)),
      x: f64(xyz[0]!),
      y: f64(xyz[1]!),
      z: f64(xyz[2]!),
      seg: u64List(rel),
    });
    const { ds } = await writeAndRead(tmp.dir('mini'), table, 'xyz', 'point', {
      relationships: ['seg'],
      numSpatialLevels: 5,
      targetChunkLimit: 1,
    });
    assert.ok(ds.raw.by_id.sharding.minishard_bits > 0, JSON.stringify(ds.raw.by_id.sharding));
    assert.ok(ds.raw.relationships[0].sharding.minishard_bits > 0, JSON.stringify(ds.raw.relationships[0].sharding));
    const last = ds.raw.spatial[ds.raw.spatial.length - 1];
    assert.deepEqual(last.grid_shape, [16, 16, 16]);
    assert.ok(last.sharding.minishard_bits > 0, JSON.stringify(last.sharding));
    const expected: Expected[] = ids.map((id, i) => ({ id, geometry: { point: f32([xyz[0]![i]!, xyz[1]![i]!, xyz[2]![i]!]) }, properties: {}, relationships: [rel[i]!] }));
    await checkById(ds, expected);
    await checkByRelationship(ds, expected);
    await checkSpatial(ds, expected, 1);
  });
});

describe('records', () => {
  test('more than 255 bytes of properties (neuroglancer splits them into groups)', async () => {
    const n = 120;
    const cols: Record<string, Float64Array | Float32Array | Uint8Array> = {
      x: Float64Array.from({ length: n }, (_, i) => i),
      y: Float64Array.from({ length: n }, (_, i) => (i * 7) % 11),
      z: Float64Array.from({ length: n }, (_, i) => i % 3),
    };
    const names: string[] = [];
    for (let k = 0; k < 70; k++) {
      names.push(`p${k}`);
      cols[`p${k}`] = Float32Array.from({ length: n }, (_, i) => i * 100 + k + 0.5);
    }
    cols.tiny = Uint8Array.from({ length: n }, (_, i) => 255 - i);
    names.push('tiny');
    for (const sharded of [true, false]) {
      const { ds } = await writeAndRead(tmp.dir('groups'), tableFromArrays(cols), 'xyz', 'point', { properties: names, writeSharded: sharded, targetChunkLimit: 5, numSpatialLevels: 3 });
      assert.ok(ds.serializedBytes > 255, `record ${ds.serializedBytes} bytes`);
      const expected = Array.from({ length: n }, (_, i) => ({
        id: BigInt(i),
        geometry: { point: [i, (i * 7) % 11, i % 3] },
        properties: Object.fromEntries([...names.slice(0, 70).map((nm, k) => [nm, i * 100 + k + 0.5]), ['tiny', 255 - i]]),
        relationships: [],
      }));
      await checkById(ds, expected);
      await checkSpatial(ds, expected, 5);
    }
  });

  test('rank 1', async () => {
    const xs = [1, 5, 9, 2.5, 7.25, 3.1];
    const { ds } = await writeAndRead(tmp.dir('r1'), tableFromArrays({ xa: Float64Array.from(xs), xb: Float64Array.from(xs.map((x) => 10 - x)) }), 'x', 'line', {
      targetChunkLimit: 1,
      numSpatialLevels: 3,
    });
    assert.equal(ds.rank, 1);
    assert.deepEqual(ds.levels.map((l) => l.gridShape), [[1], [2], [4]]);
    const expected = xs.map((x, i) => ({ id: BigInt(i), geometry: { pointA: f32([x]), pointB: f32([10 - x]) }, properties: {}, relationships: [] }));
    await checkById(ds, expected);
    await checkSpatial(ds, expected, 1);
  });
});

describe('polylines', () => {
  test('main-table rows without vertices are dropped; the others keep their own properties and relationships', async () => {
    const ids = [50n, 2n ** 64n - 1n, 7n, 900n, 3n];
    const main = new Table({
      annotation_id: makeVector(BigUint64Array.from(ids)),
      weight: vectorFromArray([0.5, 1.5, 2.5, 3.5, 4.5], new Float32()),
      kind: vectorFromArray(['b', 'a', 'c', 'a', 'b'], new Utf8()),
      seg: u64List([[1n], [2n, 3n], [4n], null, [5n, 1n]]),
    });
    // Vertices for 3, 2^64-1 and 900 only, in another order than the main table, interleaved.
    const vid = [3n, 900n, 2n ** 64n - 1n, 3n, 900n, 2n ** 64n - 1n, 3n];
    const vx = [0, 10, 20, 1, 11, 21, 2];
    const points = new Table({ annotation_id: makeVector(BigUint64Array.from(vid)), x: f64(vx), y: f64(vx.map((x) => x * 2)) });
    for (const sharded of [true, false]) {
      const { ds, warnings, summary } = await writeAndRead(tmp.dir('drop'), main, 'xy', 'polyline', {
        polylinePoints: points,
        properties: ['weight', 'kind'],
        relationships: ['seg'],
        writeSharded: sharded,
      });
      assert.equal(summary.annotations, 3);
      assert.ok(warnings.some((w) => /2 of 5/.test(w)), JSON.stringify(warnings));
      assert.equal(await ds.getById(50n), undefined);
      assert.equal(await ds.getById(7n), undefined);
      const labels = ds.properties.find((p) => p.identifier === 'kind')!.enumLabels!;
      const expected: Expected[] = [
        { id: 2n ** 64n - 1n, geometry: { points: [[20, 40], [21, 42]] }, properties: { weight: 1.5, kind: labels.indexOf('a') }, relationships: [[2n, 3n]] },
        { id: 900n, geometry: { points: [[10, 20], [11, 22]] }, properties: { weight: 3.5, kind: labels.indexOf('a') }, relationships: [[]] },
        { id: 3n, geometry: { points: [[0, 0], [1, 2], [2, 4]] }, properties: { weight: 4.5, kind: labels.indexOf('b') }, relationships: [[5n, 1n]] },
      ];
      await checkById(ds, expected);
      await checkByRelationship(ds, expected);
      assert.equal(await ds.getByRelationship('seg', 4n), undefined, 'only dropped polyline 7 listed 4');
      await checkSpatial(ds, expected, 10_000);
      assert.deepEqual(ds.raw.lower_bound, [0, 0]);
      assert.deepEqual(ds.raw.upper_bound, [21, 42]);
    }
  });
});

describe('column kinds that are narrowed or converted', () => {
  test('float64 → float32 (rounded), int64/uint64 → smallest integer type, integer dictionary → string labels, float nulls → NaN', async () => {
    const table = new Table({
      x: f64([1, 2, 3]),
      y: f64([4, 5, 6]),
      d: f64([0.1, 1e10, -3]),
      i: makeVector(BigInt64Array.from([-5n, 100n, 300n])),
      u: makeVector(BigUint64Array.from([1n, 70000n, 3n])),
      cat: vectorFromArray([30, 10, 30], new Dictionary(new Int32(), new Int32())),
      maybe: vectorFromArray([1.5, null, 2], new Float32()),
    });
    const { ds, warnings } = await writeAndRead(tmp.dir('narrow'), table, 'xy', 'point', { properties: ['d', 'i', 'u', 'cat', 'maybe'] });
    const spec = Object.fromEntries(ds.properties.map((p) => [p.identifier, p]));
    assert.deepEqual(
      Object.fromEntries(ds.properties.map((p) => [p.identifier, p.type])),
      { d: 'float32', i: 'int16', u: 'uint32', cat: 'uint8', maybe: 'float32' },
    );
    assert.deepEqual(spec.cat!.enumLabels, ['30', '10']);
    assert.ok(warnings.some((w) => /maybe/.test(w) && /NaN/.test(w)), JSON.stringify(warnings));
    const got = await Promise.all([0n, 1n, 2n].map((id) => ds.getById(id)));
    const byName = (a: (typeof got)[number]) => Object.fromEntries(ds.properties.map((p, k) => [p.identifier, a!.properties[k]]));
    assert.deepEqual(byName(got[0]), { d: Math.fround(0.1), i: -5, u: 1, cat: 0, maybe: 1.5 });
    assert.deepEqual(byName(got[1]), { d: Math.fround(1e10), i: 100, u: 70000, cat: 1, maybe: NaN });
    assert.deepEqual(byName(got[2]), { d: -3, i: 300, u: 3, cat: 0, maybe: 2 });
  });

  test('geometry from int32, float32, int64, uint8, int16 and uint64 columns', async () => {
    const table = tableFromArrays({
      x: Int32Array.from([1, -2, 3]),
      y: Float32Array.from([0.1, 2.5, 3]),
      z: BigInt64Array.from([5n, -6n, 7n]),
      rx: Uint8Array.from([1, 2, 3]),
      ry: Int16Array.from([1, 0, 3]),
      rz: BigUint64Array.from([1n, 2n, 3n]),
    });
    const { ds } = await writeAndRead(tmp.dir('geomtypes'), table, 'xyz', 'ellipsoid');
    const expected = [0, 1, 2].map((i) => ({
      id: BigInt(i),
      geometry: { center: f32([[1, -2, 3][i]!, [0.1, 2.5, 3][i]!, [5, -6, 7][i]!]), radii: [[1, 2, 3][i]!, [1, 0, 3][i]!, [1, 2, 3][i]!] },
      properties: {},
      relationships: [],
    }));
    await checkById(ds, expected);
    await checkSpatial(ds, expected, 10_000);
  });

  test('integer ids in a float64 column are accepted exactly', async () => {
    const { ds } = await writeAndRead(tmp.dir('fid'), tableFromArrays({ x: Float64Array.from([1, 2]), y: Float64Array.from([3, 4]), annotation_id: Float64Array.from([2 ** 53 - 1, 17]) }), 'xy', 'point');
    await checkById(ds, [
      { id: 2n ** 53n - 1n, geometry: { point: [1, 3] }, properties: {}, relationships: [] },
      { id: 17n, geometry: { point: [2, 4] }, properties: {}, relationships: [] },
    ]);
  });
});

describe('explicit specs and other coordinate forms', () => {
  test('description, user enum labels/values on a string column, rgba over r/g/b channels', async () => {
    const table = new Table({
      x: f64([1, 2, 3]),
      y: f64([1, 2, 3]),
      kind: vectorFromArray(['a', 'z', 'a'], new Utf8()),
      c_r: vectorFromArray([1, 2, 3], new Uint8()),
      c_g: vectorFromArray([4, 5, 6], new Uint8()),
      c_b: vectorFromArray([7, 8, 9], new Uint8()),
    });
    const { ds } = await writeAndRead(tmp.dir('spec'), table, 'xy', 'point', {
      properties: [
        { id: 'kind', type: 'uint8', description: 'Kind of thing', enum_labels: ['z', 'a'], enum_values: [5, 7] },
        { id: 'c', type: 'rgba', description: 'colour' },
      ],
    });
    const [kind, c] = [ds.properties.find((p) => p.identifier === 'kind')!, ds.properties.find((p) => p.identifier === 'c')!];
    assert.deepEqual([kind.type, kind.description, kind.enumValues, kind.enumLabels], ['uint8', 'Kind of thing', [5, 7], ['z', 'a']]);
    assert.deepEqual([c.type, c.description], ['rgba', 'colour']);
    const iKind = ds.properties.indexOf(kind);
    const iC = ds.properties.indexOf(c);
    const want = [[7, [1, 4, 7, 255]], [5, [2, 5, 8, 255]], [7, [3, 6, 9, 255]]];
    for (let i = 0; i < 3; i++) {
      const a = await ds.getById(BigInt(i));
      assert.deepEqual([a!.properties[iKind], ngColor(a!.properties[iC]!, 4)], want[i]);
    }
  });

  test("neuroglancer's JSON coordinate form {x: [8, 'nm'], y: [2, 'um']}", async () => {
    const { ds } = await writeAndRead(tmp.dir('jsoncs'), tableFromArrays({ x: Float64Array.from([1, 2]), y: Float64Array.from([1, 2]) }), { x: [8, 'nm'], y: [2, 'um'] }, 'point');
    assert.deepEqual(ds.metadata.coordinateSpace.names, ['x', 'y']);
    assert.deepEqual(Array.from(ds.metadata.coordinateSpace.scales as Float64Array), [8e-9, 2e-6]);
    assert.deepEqual(ds.metadata.coordinateSpace.units, ['m', 'm']);
  });

  test('coordinates far from the origin (float32 spacing comparable to the cells)', async () => {
    const rand = rng(3);
    const n = 300;
    const a = Array.from({ length: n }, () => [1e6 + rand() * 100, -2e7 + rand() * 50, rand() * 3]);
    const b = a.map((p) => [p[0]! + (rand() - 0.5) * 30, p[1]! + (rand() - 0.5) * 20, p[2]! + rand()]);
    const names = ['x', 'y', 'z'];
    const cols = Object.fromEntries(names.flatMap((nm, d) => [[nm + 'a', Float64Array.from(a.map((p) => p[d]!))], [nm + 'b', Float64Array.from(b.map((p) => p[d]!))]]));
    const { ds } = await writeAndRead(tmp.dir('far'), tableFromArrays(cols), 'xyz', 'line', { numSpatialLevels: 5, targetChunkLimit: 4 });
    const expected = a.map((p, i) => ({ id: BigInt(i), geometry: { pointA: f32(p), pointB: f32(b[i]!) }, properties: {}, relationships: [] }));
    await checkById(ds, expected);
    await checkSpatial(ds, expected, 4);
  });
});

describe('spatial order (reference-behaviour.md (g) 3 and 6)', () => {
  const rand = rng(44);
  const n = 400;
  const pts = Array.from({ length: n }, () => [rand() * 20, rand() * 20]);
  const ids = randomIds(n, rand);
  const table = new Table({
    annotation_id: makeVector(BigUint64Array.from(ids)),
    x: f64(pts.map((p) => p[0]!)),
    y: f64(pts.map((p) => p[1]!)),
  });
  const row = new Map(ids.map((id, i) => [id, i]));

  test('with shuffling, a chunk lists its annotations in random order (neuroglancer draws a prefix)', async () => {
    const orders: bigint[][] = [];
    for (const seed of [1, 2]) {
      const { ds } = await writeAndRead(tmp.dir('order'), table, 'xy', 'point', { numSpatialLevels: 1, targetChunkLimit: 10_000, seed });
      const chunk = (await ds.getSpatialChunk(0, [0, 0]))!.map((a) => a.id);
      assert.deepEqual([...chunk].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      const rows = chunk.map((id) => row.get(id)!);
      // Far from input order: fewer than 60% of neighbours ascending (input order gives 100%).
      const ascending = rows.slice(1).filter((r, k) => r > rows[k]!).length;
      assert.ok(ascending < 0.6 * n && ascending > 0.4 * n, `${ascending} of ${n - 1} neighbours ascending`);
      orders.push(chunk);
    }
    assert.notDeepEqual(orders[0], orders[1], 'another seed, another order');
  });

  test('without shuffling, rows fill the levels in input order and chunks keep input order', async () => {
    for (const sharded of [true, false]) {
      const { ds } = await writeAndRead(tmp.dir('noshuffle'), table, 'xy', 'point', {
        numSpatialLevels: 4,
        targetChunkLimit: 3,
        shuffleBeforeAssigningSpatialLevels: false,
        writeSharded: sharded,
      });
      const expected = ids.map((id, i) => ({ id, geometry: { point: f32(pts[i]!) }, properties: {}, relationships: [] }));
      const result = await checkSpatial(ds, expected, 3);
      // Level of each row, in row order, never decreases.
      const levels = ids.map((id) => result.placement.get(id)!.level);
      assert.ok(levels.every((l, i) => i === 0 || l >= levels[i - 1]!), 'levels in row order');
      assert.ok(new Set(levels).size >= 3);
      for (const level of ds.levels) {
        for (const [cell, list] of await ds.allSpatial(level.index)) {
          const rows = list.map((a) => row.get(a.id)!);
          assert.deepEqual(rows, [...rows].sort((a, b) => a - b), `level ${level.index} cell ${cell}: input order`);
        }
      }
    }
  });
});

describe('options that leave indexes out', () => {
  test('targetChunkLimit 0 with one level: one chunk with everything, limit 1 (neuroglancer rejects 0)', async () => {
    const n = 50;
    const rand = rng(2);
    const xs = Array.from({ length: n }, () => rand() * 9);
    for (const sharded of [true, false]) {
      const { ds } = await writeAndRead(tmp.dir('l0'), tableFromArrays({ x: Float64Array.from(xs), y: Float64Array.from(xs.map((x) => 9 - x)) }), 'xy', 'point', {
        targetChunkLimit: 0,
        numSpatialLevels: 1,
        writeSharded: sharded,
      });
      assert.equal(ds.levels.length, 1);
      assert.equal(ds.levels[0]!.limit, 1);
      const chunk = await ds.getSpatialChunk(0, [0, 0]);
      assert.deepEqual(chunk?.map((a) => a.id).sort((a, b) => (a < b ? -1 : 1)), xs.map((_, i) => BigInt(i)));
    }
  });

  test('no spatial index and a description: the info still loads', async () => {
    const table = new Table({ x: f64([1, 2]), y: f64([3, 4]), seg: u64List([[1n], [2n]]) });
    const { ds } = await writeAndRead(tmp.dir('none'), table, 'xy', 'point', {
      writeBySpatialChunk: false,
      relationships: ['seg'],
      description: 'synapses "v2" — µm',
    });
    assert.deepEqual(ds.raw.spatial, []);
    assert.equal(ds.raw.description, 'synapses "v2" — µm');
    assert.equal(ds.levels.length, 0);
    assert.deepEqual((await ds.getById(1n))?.point, [2, 4]);
    assert.deepEqual((await ds.getByRelationship('seg', 2n))?.map((a) => a.id), [1n]);
  });

  // With writeByRelationship false the info lists no relationships (as the reference does), so
  // by_id values must not carry relationship lists: neuroglancer reads a by_id value as exactly the
  // record plus one list per *info* relationship and throws on the extra bytes.
  test('writeByRelationship: false with relationships given: by_id matches the info', async () => {
    const table = new Table({ x: f64([1, 2]), y: f64([3, 4]), seg: u64List([[1n], [2n]]) });
    for (const sharded of [true, false]) {
      const { ds } = await writeAndRead(tmp.dir('norel'), table, 'xy', 'point', { writeByRelationship: false, relationships: ['seg'], writeSharded: sharded });
      assert.deepEqual(ds.raw.relationships, []);
      await checkById(ds, [
        { id: 0n, geometry: { point: [1, 3] }, properties: {}, relationships: [] },
        { id: 1n, geometry: { point: [2, 4] }, properties: {}, relationships: [] },
      ]);
    }
  });

  test("gzipLevel 'raw' and 0 write readable sharded indexes", async () => {
    const table = new Table({ x: f64([1, 2, 3]), y: f64([3, 4, 5]), seg: u64List([[1n], [2n], [1n]]) });
    for (const gzipLevel of ['raw', 0, 9] as const) {
      const { ds } = await writeAndRead(tmp.dir('raw'), table, 'xy', 'point', { gzipLevel, dataEncoding: 'gzip', relationships: ['seg'] });
      assert.equal(ds.raw.by_id.sharding.data_encoding, gzipLevel === 'raw' ? 'raw' : 'gzip');
      const expected = [1, 2, 3].map((x, i) => ({ id: BigInt(i), geometry: { point: [x, x + 2] }, properties: {}, relationships: [[[1n], [2n], [1n]][i]!] }));
      await checkById(ds, expected);
      await checkByRelationship(ds, expected);
      await checkSpatial(ds, expected, 10_000);
    }
  });
});

describe('input errors name the column and row, and write nothing', () => {
  const xy = { x: Float64Array.from([1, 2, 3]), y: Float64Array.from([1, 2, 3]) };
  const cases: Array<[string, Table, object, RegExp]> = [
    ['NaN geometry', tableFromArrays({ x: Float64Array.from([1, NaN, 3]), y: xy.y }), {}, /"x"[\s\S]*row 2/],
    ['infinite geometry', tableFromArrays({ x: xy.x, y: Float64Array.from([1, 2, -Infinity]) }), {}, /"y"[\s\S]*row 3/],
    ['null geometry', new Table({ x: vectorFromArray([1, null, 3], new Float64()), y: makeVector(xy.y) }), {}, /"x"[\s\S]*row 2/],
    ['fractional id', tableFromArrays({ ...xy, annotation_id: Float64Array.from([1, 2.5, 3]) }), {}, /"annotation_id"[\s\S]*row 2[\s\S]*2\.5/],
    ['null in a string enum', new Table({ x: makeVector(xy.x), y: makeVector(xy.y), v: vectorFromArray(['a', null, 'b'], new Utf8()) }), { properties: ['v'] }, /"v"[\s\S]*row 2/],
    ['int64 property beyond 32 bits', tableFromArrays({ ...xy, v: BigInt64Array.from([1n, 2n ** 40n, 3n]) }), { properties: ['v'] }, /"v"[\s\S]*64-bit/],
    ['value that does not fit an explicit type', tableFromArrays({ ...xy, v: Int32Array.from([1, 300, 3]) }), { properties: [{ id: 'v', type: 'uint8' }] }, /"v"[\s\S]*row 2[\s\S]*300/],
    ['missing geometry column', tableFromArrays({ x: xy.x }), {}, /"y"/],
    ['geometry beyond float32', tableFromArrays({ x: Float64Array.from([1, 2, 1e39]), y: xy.y }), {}, /"x"[\s\S]*float32[\s\S]*row 3/],
  ];
  for (const [what, table, options, message] of cases) {
    test(what, async () => {
      const dir = tmp.dir('err');
      await assert.rejects(writePrecomputedAnnotations(table, 'xy', 'point', { ...options, outputDir: dir }), (e: Error) => {
        assert.ok(e instanceof ExportError, `${e.name}: ${e.message}`);
        assert.match(e.message, message);
        return true;
      });
      assert.equal(fs.existsSync(dir), false);
    });
  }
});
