// Conformance: property kinds, relationships, coordinate spaces and ids, as neuroglancer 2.41.2 decodes
// what our writer produced (test/helpers/ngread.ts).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  Bool,
  Dictionary,
  Float32,
  Int16,
  Int32,
  Int8,
  Table,
  Uint16,
  Uint32,
  Uint8,
  Utf8,
  makeVector,
  vectorFromArray,
} from 'apache-arrow';
import { ngColor } from './helpers/ngread';
import {
  checkById,
  checkByRelationship,
  checkSpatial,
  checkGridsAndQuotas,
  f32,
  rng,
  tempRoot,
  u64List,
  u64Scalar,
  writeAndRead,
  type Expected,
} from './helpers/conformance';

const tmp = tempRoot('props');
after(() => tmp.cleanup());

const f64 = (v: number[]) => makeVector(Float64Array.from(v));

describe('property kinds', () => {
  test('every numeric type, enums from strings / dictionary / bool, rgb and rgba from #hex and from channel columns', async () => {
    const n = 300;
    const rand = rng(11);
    const ints = (lo: number, hi: number, extremes: number[]) =>
      Array.from({ length: n }, (_, i) => (i < extremes.length ? extremes[i]! : lo + Math.floor(rand() * (hi - lo + 1))));
    const u8 = ints(0, 255, [0, 255]);
    const i8 = ints(-128, 127, [-128, 127]);
    const u16 = ints(0, 65535, [0, 65535]);
    const i16 = ints(-32768, 32767, [-32768, 32767]);
    const u32 = ints(0, 4294967295, [0, 4294967295]);
    const i32 = ints(-2147483648, 2147483647, [-2147483648, 2147483647]);
    const fl = Array.from({ length: n }, () => (rand() - 0.5) * 1e6);
    const words = ['pre', 'post', 'gap', 'axon'];
    const str = Array.from({ length: n }, () => words[Math.floor(rand() * words.length)]!);
    const dictValues = ['zeta', 'alpha', 'mid'];
    const dict = Array.from({ length: n }, (_, i) => dictValues[i < 3 ? i : Math.floor(rand() * 3)]!);
    const flag = Array.from({ length: n }, () => rand() < 0.5);
    const byte = () => Math.floor(rand() * 256);
    const hex = (c: number[]) => '#' + c.map((x) => x.toString(16).padStart(2, '0')).join('');
    const rgbHex = Array.from({ length: n }, () => [byte(), byte(), byte()]);
    const rgbaHex = Array.from({ length: n }, () => [byte(), byte(), byte(), byte()]);
    const rgbCh = Array.from({ length: n }, () => [byte(), byte(), byte()]);
    const rgbaCh = Array.from({ length: n }, () => [byte(), byte(), byte(), byte()]);
    const x = Array.from({ length: n }, () => rand() * 10);
    const y = Array.from({ length: n }, () => rand() * 10);
    const z = Array.from({ length: n }, () => rand() * 10);
    const table = new Table({
      x: f64(x),
      y: f64(y),
      z: f64(z),
      p_u8: vectorFromArray(u8, new Uint8()),
      p_i8: vectorFromArray(i8, new Int8()),
      p_u16: vectorFromArray(u16, new Uint16()),
      p_i16: vectorFromArray(i16, new Int16()),
      p_u32: vectorFromArray(u32, new Uint32()),
      p_i32: vectorFromArray(i32, new Int32()),
      p_f32: vectorFromArray(fl, new Float32()),
      p_str: vectorFromArray(str, new Utf8()),
      p_dict: vectorFromArray(dict, new Dictionary(new Utf8(), new Int32())),
      p_bool: vectorFromArray(flag, new Bool()),
      hexrgb: vectorFromArray(rgbHex.map(hex), new Utf8()),
      hexrgba: vectorFromArray(rgbaHex.map(hex), new Utf8()),
      ch_r: vectorFromArray(rgbCh.map((c) => c[0]!), new Uint8()),
      ch_g: vectorFromArray(rgbCh.map((c) => c[1]!), new Uint8()),
      ch_b: vectorFromArray(rgbCh.map((c) => c[2]!), new Uint8()),
      cha_r: f64(rgbaCh.map((c) => c[0]!)), // float64 channel columns holding integers
      cha_g: f64(rgbaCh.map((c) => c[1]!)),
      cha_b: f64(rgbaCh.map((c) => c[2]!)),
      cha_a: f64(rgbaCh.map((c) => c[3]!)),
    });
    const names = ['p_u8', 'p_i8', 'p_u16', 'p_i16', 'p_u32', 'p_i32', 'p_f32', 'p_str', 'p_dict', 'p_bool', 'hexrgb', 'hexrgba', 'ch', 'cha'];
    for (const sharded of [true, false]) {
      const { ds, warnings } = await writeAndRead(tmp.dir('kinds'), table, 'xyz', 'point', { properties: names, writeSharded: sharded, targetChunkLimit: 40, numSpatialLevels: 3 });
      // info order: the reference's stable width sort (float32/int32, then uint32, 16-bit, 8-bit/colours).
      assert.deepEqual(
        ds.raw.properties.map((p: { id: string }) => p.id),
        ['p_i32', 'p_f32', 'p_u32', 'p_u16', 'p_i16', 'p_u8', 'p_i8', 'p_str', 'p_dict', 'p_bool', 'hexrgb', 'hexrgba', 'ch', 'cha'],
      );
      const spec = new Map(ds.properties.map((p) => [p.identifier, p]));
      const types = Object.fromEntries(ds.properties.map((p) => [p.identifier, p.type]));
      assert.deepEqual(types, {
        p_u8: 'uint8', p_i8: 'int8', p_u16: 'uint16', p_i16: 'int16', p_u32: 'uint32', p_i32: 'int32', p_f32: 'float32',
        p_str: 'uint8', p_dict: 'uint8', p_bool: 'uint8', hexrgb: 'rgb', hexrgba: 'rgba', ch: 'rgb', cha: 'rgba',
      });
      const sortedWords = [...words].sort();
      assert.deepEqual(spec.get('p_str')!.enumLabels, sortedWords, 'string enum labels: sorted unique strings');
      assert.deepEqual(spec.get('p_str')!.enumValues, [0, 1, 2, 3]);
      assert.deepEqual(spec.get('p_dict')!.enumLabels, dictValues, 'dictionary enum labels: dictionary order');
      assert.deepEqual(spec.get('p_dict')!.enumValues, [0, 1, 2]);
      assert.deepEqual(spec.get('p_bool')!.enumLabels, ['false', 'true']);
      assert.deepEqual(spec.get('p_bool')!.enumValues, [0, 1]);
      assert.equal(spec.get('p_u8')!.enumLabels, undefined);
      const int8Warnings = warnings.filter((w) => /\bint8\b/.test(w));
      assert.equal(int8Warnings.length, 1, `one int8 warning: ${JSON.stringify(warnings)}`);
      assert.match(int8Warnings[0]!, /p_i8/);

      const expected: Expected[] = Array.from({ length: n }, (_, i) => ({
        id: BigInt(i),
        geometry: { point: f32([x[i]!, y[i]!, z[i]!]) },
        properties: {
          p_u8: u8[i]!, p_i8: i8[i]!, p_u16: u16[i]!, p_i16: i16[i]!, p_u32: u32[i]!, p_i32: i32[i]!,
          p_f32: Math.fround(fl[i]!),
          p_str: sortedWords.indexOf(str[i]!),
          p_dict: dictValues.indexOf(dict[i]!),
          p_bool: flag[i] ? 1 : 0,
          // neuroglancer: rgb = r | g<<8 | b<<16, rgba = uint32le of r,g,b,a; compared channel-wise below
          hexrgb: 0, hexrgba: 0, ch: 0, cha: 0,
        },
        relationships: [],
      }));
      const colorIndex = (id: string) => ds.properties.findIndex((p) => p.identifier === id);
      for (let i = 0; i < n; i++) {
        const got = await ds.getById(BigInt(i));
        assert.ok(got);
        const colors = { hexrgb: [rgbHex[i]!, 3], hexrgba: [rgbaHex[i]!, 4], ch: [rgbCh[i]!, 3], cha: [rgbaCh[i]!, 4] } as const;
        for (const [id, [want, channels]] of Object.entries(colors)) {
          assert.deepEqual(ngColor(got.properties[colorIndex(id)]!, channels), want, `id ${i} ${id}`);
          // Put the decoded colour into the expectation so the remaining fields compare as a whole.
          expected[i]!.properties[id] = got.properties[colorIndex(id)]!;
        }
      }
      await checkById(ds, expected);
      checkGridsAndQuotas(ds, await checkSpatial(ds, expected, 40), 3, 40, n);
    }
  });

  test('record layout: 4-, 2- and 1-byte properties after an ellipsoid geometry', async () => {
    // One property of each width after a 24-byte ellipsoid geometry: neuroglancer's offsets must match.
    const n = 64;
    const rand = rng(5);
    const c = Array.from({ length: 3 }, () => Array.from({ length: n }, () => rand() * 50));
    const r = Array.from({ length: 3 }, () => Array.from({ length: n }, () => 1 + rand() * 5));
    const a = Array.from({ length: n }, (_, i) => i % 256);
    const b = Array.from({ length: n }, (_, i) => 0 - i * 100);
    const cc = Array.from({ length: n }, (_, i) => i * 1000 + 0.25);
    const table = new Table({
      x: f64(c[0]!), y: f64(c[1]!), z: f64(c[2]!), rx: f64(r[0]!), ry: f64(r[1]!), rz: f64(r[2]!),
      a: vectorFromArray(a, new Uint8()),
      b: vectorFromArray(b, new Int16()),
      c: vectorFromArray(cc, new Float32()),
    });
    const { ds } = await writeAndRead(tmp.dir('layout'), table, 'xyz', 'ellipsoid', { properties: ['a', 'b', 'c'], writeSharded: false });
    assert.deepEqual(ds.properties.map((p) => p.identifier), ['c', 'b', 'a'], 'info order: 4-byte, 2-byte, 1-byte');
    const expected: Expected[] = Array.from({ length: n }, (_, i) => ({
      id: BigInt(i),
      geometry: { center: f32([c[0]![i]!, c[1]![i]!, c[2]![i]!]), radii: f32([r[0]![i]!, r[1]![i]!, r[2]![i]!]) },
      properties: { a: a[i]!, b: b[i]!, c: Math.fround(cc[i]!) },
      relationships: [],
    }));
    await checkById(ds, expected);
    await checkSpatial(ds, expected, 10_000);
  });
});

describe('relationships', () => {
  test('scalar uint64 and List<Uint64> columns: nulls, empty lists, repeats, ids above 2^53 and 2^64-1', async () => {
    const big = [2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];
    const lists: Array<bigint[] | null> = [[100n, 100n, 300n], null, [], [big[0]!, big[2]!], [big[2]!, 0n, big[1]!, big[0]!], [300n], null, [0n]];
    const scalar: Array<bigint | null> = [big[2]!, null, 0n, big[0]!, 5n, null, big[2]!, 5n];
    const ids = [10n, 3n, 2n ** 64n - 1n, 7n, 2n ** 53n + 1n, 0n, 999n, 2n ** 63n];
    const n = ids.length;
    const table = new Table({
      annotation_id: makeVector(BigUint64Array.from(ids)),
      x: f64(ids.map((_, i) => i + 0.5)),
      y: f64(ids.map((_, i) => (i * 7) % 5)),
      partner: u64List(lists),
      owner: u64Scalar(scalar),
    });
    for (const sharded of [true, false]) {
      const { ds } = await writeAndRead(tmp.dir('rel'), table, 'xy', 'point', { relationships: ['partner', 'owner'], writeSharded: sharded });
      const expected: Expected[] = ids.map((id, i) => ({
        id,
        geometry: { point: f32([i + 0.5, (i * 7) % 5]) },
        properties: {},
        relationships: [lists[i] ?? [], scalar[i] === null ? [] : [scalar[i]!]],
      }));
      await checkById(ds, expected);
      // Spelled out once: 100 is listed twice by id 10 → one entry; 2^64-1 by ids 7 and 2^53+1 (ascending).
      assert.deepEqual((await ds.getByRelationship('partner', 100n))?.map((a) => a.id), [10n]);
      assert.deepEqual((await ds.getByRelationship('partner', 300n))?.map((a) => a.id), [10n, 0n].sort((a, b) => (a < b ? -1 : 1)));
      assert.deepEqual((await ds.getByRelationship('partner', 2n ** 64n - 1n))?.map((a) => a.id), [7n, 2n ** 53n + 1n]);
      assert.deepEqual((await ds.getByRelationship('owner', 2n ** 64n - 1n))?.map((a) => a.id), [10n, 999n]);
      assert.deepEqual((await ds.getByRelationship('owner', 5n))?.map((a) => a.id), [2n ** 53n + 1n, 2n ** 63n]);
      await checkByRelationship(ds, expected);
      assert.equal(n, expected.length);
    }
  });

  test('a relationship nobody uses still gives a loadable info', async () => {
    const table = new Table({ x: f64([1, 2]), y: f64([3, 4]), z: f64([5, 6]), owner: u64Scalar([null, null]), partner: u64List([[], null]) });
    for (const sharded of [true, false]) {
      const { ds } = await writeAndRead(tmp.dir('norel'), table, 'xyz', 'point', { relationships: ['owner', 'partner'], writeSharded: sharded });
      assert.deepEqual(ds.relationships, ['owner', 'partner']);
      assert.equal(await ds.getByRelationship('owner', 0n), undefined);
      assert.deepEqual((await ds.getById(1n))?.relationships, [[], []]);
    }
  });
});

describe('coordinate spaces', () => {
  for (const rank of [2, 4]) {
    for (const type of ['point', 'line', 'axis_aligned_bounding_box', 'ellipsoid', 'polyline'] as const) {
      test(`rank ${rank}: ${type}`, async () => {
        const names = rank === 2 ? ['x', 'y'] : ['x', 'y', 'z', 't'];
        const extent = rank === 2 ? [80, 30] : [40, 40, 10, 6];
        const rand = rng(rank * 10 + type.length);
        const n = 250;
        const cols: Record<string, number[]> = {};
        const push = (k: string, v: number) => (cols[k] ??= []).push(v);
        const expected: Expected[] = [];
        const vertices: Array<[bigint, number[]]> = [];
        for (let i = 0; i < n; i++) {
          const p = extent.map((e) => rand() * e);
          const q = p.map((v, d) => v + (rand() - 0.5) * extent[d]! * 0.4);
          const r = extent.map((e) => 0.2 + rand() * e * 0.1);
          const id = BigInt(i);
          if (type === 'point') {
            names.forEach((nm, d) => push(nm, p[d]!));
            expected.push({ id, geometry: { point: f32(p) }, properties: {}, relationships: [] });
          } else if (type === 'ellipsoid') {
            names.forEach((nm, d) => (push(nm, p[d]!), push('r' + nm, r[d]!)));
            expected.push({ id, geometry: { center: f32(p), radii: f32(r) }, properties: {}, relationships: [] });
          } else if (type === 'polyline') {
            const m = p.map((v, d) => (v + q[d]!) / 2 + rand());
            for (const v of [p, m, q]) vertices.push([id, v]);
            expected.push({ id, geometry: { points: [f32(p), f32(m), f32(q)] }, properties: {}, relationships: [] });
          } else {
            names.forEach((nm, d) => (push(nm + 'a', p[d]!), push(nm + 'b', q[d]!)));
            expected.push({ id, geometry: { pointA: f32(p), pointB: f32(q) }, properties: {}, relationships: [] });
          }
        }
        const table =
          type === 'polyline'
            ? new Table({
                annotation_id: makeVector(BigUint64Array.from(vertices, (v) => v[0])),
                ...Object.fromEntries(names.map((nm, d) => [nm, f64(vertices.map((v) => v[1][d]!))])),
              })
            : new Table(Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, f64(v)])));
        const units = rank === 2 ? ['nm', 'um'] : ['nm', 'nm', 'um', 's'];
        const scales = rank === 2 ? [4, 0.5] : [8, 8, 0.04, 2];
        const { ds } = await writeAndRead(tmp.dir(`rank${rank}`), table, { names, units, scales }, type, {
          numSpatialLevels: 5,
          targetChunkLimit: 6,
          writeSharded: type.length % 2 === 0,
        });
        assert.equal(ds.rank, rank);
        const cs = ds.metadata.coordinateSpace;
        assert.deepEqual(cs.names, names);
        const wantUnits = units.map((u) => (u === 's' ? 's' : 'm'));
        const wantScales = units.map((u, d) => scales[d]! * (u === 'nm' ? 1e-9 : u === 'um' ? 1e-6 : 1));
        assert.deepEqual(cs.units, wantUnits);
        Array.from(cs.scales as Float64Array).forEach((s, d) => assert.ok(Math.abs(s - wantScales[d]!) <= 1e-12 * wantScales[d]!, `scale ${d}: ${s} vs ${wantScales[d]}`));
        assert.ok(ds.levels.length >= 3, `levels: ${ds.levels.length}`);
        await checkById(ds, expected);
        checkGridsAndQuotas(ds, await checkSpatial(ds, expected, 6), 5, 6, n);
      });
    }
  }
});

describe('grids follow reference-behaviour.md (g) 1, in physical units', () => {
  test('bounds [-3.5,2,7]–[12.25,3,7.5] with scales [8,8,40] nm', async () => {
    const rand = rng(8);
    const lo = [-3.5, 2, 7];
    const hi = [12.25, 3, 7.5];
    const pts = [lo, hi];
    while (pts.length < 400) pts.push(lo.map((l, d) => l + rand() * (hi[d]! - l)));
    const table = new Table(Object.fromEntries(['x', 'y', 'z'].map((nm, d) => [nm, f64(pts.map((p) => p[d]!))])));
    const { ds } = await writeAndRead(tmp.dir('aniso'), table, { names: ['x', 'y', 'z'], units: ['nm', 'nm', 'nm'], scales: [8, 8, 40] }, 'point', {
      numSpatialLevels: 7,
      targetChunkLimit: 1,
    });
    assert.deepEqual(ds.levels.map((l) => l.gridShape), [[1, 1, 1], [2, 1, 1], [4, 1, 1], [8, 1, 1], [16, 1, 2], [32, 2, 4], [64, 4, 8]]);
    assert.deepEqual(ds.levels[0]!.chunkSize, [15.75, 1, 0.5]);
    assert.deepEqual(ds.levels[4]!.chunkSize, [0.984375, 1, 0.25]);
    assert.deepEqual(ds.levels[5]!.chunkSize, [0.4921875, 0.5, 0.125]);
    assert.deepEqual(ds.levels[6]!.chunkSize, [0.24609375, 0.25, 0.0625]);
    const expected = pts.map((p, i) => ({ id: BigInt(i), geometry: { point: f32(p) }, properties: {}, relationships: [] }));
    checkGridsAndQuotas(ds, await checkSpatial(ds, expected, 1), 7, 1, pts.length);
  });

  test('4-D bounds [0,0,0,0]–[10,10,10,1]', async () => {
    const rand = rng(4);
    const pts = [[0, 0, 0, 0], [10, 10, 10, 1]];
    while (pts.length < 100) pts.push([rand() * 10, rand() * 10, rand() * 10, rand()]);
    const names = ['x', 'y', 'z', 't'];
    const table = new Table(Object.fromEntries(names.map((nm, d) => [nm, f64(pts.map((p) => p[d]!))])));
    const { ds } = await writeAndRead(tmp.dir('4d'), table, names, 'point', { numSpatialLevels: 4, targetChunkLimit: 1 });
    assert.deepEqual(ds.levels.map((l) => l.gridShape), [[1, 1, 1, 1], [2, 2, 2, 1], [4, 4, 4, 1], [8, 8, 8, 1]]);
    const expected = pts.map((p, i) => ({ id: BigInt(i), geometry: { point: f32(p) }, properties: {}, relationships: [] }));
    checkGridsAndQuotas(ds, await checkSpatial(ds, expected, 1), 4, 1, pts.length);
  });
});

describe('annotation ids', () => {
  const big = [0n, 1n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 53n, 12345678901234567890n];
  test('from an annotation_id column (BigUint64Array), exact beyond 2^53', async () => {
    const table = new Table({ annotation_id: makeVector(BigUint64Array.from(big)), x: f64(big.map((_, i) => i)), y: f64(big.map((_, i) => i * i)) });
    for (const sharded of [true, false]) {
      const { ds } = await writeAndRead(tmp.dir('ids'), table, 'xy', 'point', { writeSharded: sharded });
      const expected = big.map((id, i) => ({ id, geometry: { point: [i, i * i] }, properties: {}, relationships: [] }));
      await checkById(ds, expected);
      await checkSpatial(ds, expected, 10_000);
      for (const near of [2n ** 53n + 2n, 2n ** 64n - 2n, 2n ** 63n + 1n]) assert.equal(await ds.getById(near), undefined, `id ${near} must not exist`);
    }
  });

  test('from idColumn (a uint64 column with another name; annotation_id then is an ordinary column)', async () => {
    const table = new Table({
      seg: makeVector(BigUint64Array.from(big)),
      annotation_id: makeVector(BigUint64Array.from(big.map((_, i) => BigInt(i) + 1000n))),
      x: f64(big.map((_, i) => i)),
      y: f64(big.map((_, i) => 2 * i)),
    });
    for (const sharded of [true, false]) {
      const { ds } = await writeAndRead(tmp.dir('idcol'), table, 'xy', 'point', { writeSharded: sharded, idColumn: 'seg' });
      await checkById(ds, big.map((id, i) => ({ id, geometry: { point: [i, 2 * i] }, properties: {}, relationships: [] })));
      assert.equal(await ds.getById(1000n), undefined);
    }
  });

  test('row numbers when there is no id column', async () => {
    const table = new Table({ x: f64([5, 6, 7]), y: f64([1, 1, 2]) });
    const { ds } = await writeAndRead(tmp.dir('rows'), table, 'xy', 'point', {});
    await checkById(ds, [0, 1, 2].map((i) => ({ id: BigInt(i), geometry: { point: [5 + i, [1, 1, 2][i]!] }, properties: {}, relationships: [] })));
  });
});
