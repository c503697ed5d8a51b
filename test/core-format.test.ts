// The byte-level building blocks of the format, checked against the vectors in
// reference-behaviour.md and against neuroglancer 2.41.2's own functions: the shard hash, the
// compressed Morton code, annotation records, the property layout and the by_id value.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Vector } from 'apache-arrow';
import { getPropertyOffsets } from 'neuroglancer/unstable/annotation/index.js';
import { murmurHash3X86_128Low64, murmurHash3X86_128Low64Big } from '../src/core/murmur';
import { MortonEncoder, mortonBits, mortonCodeBig, mortonDecode } from '../src/core/morton';
import { normalizeCoordSpace } from '../src/core/coords';
import { prepare, recordStart } from '../src/core/prepare';
import { PROPERTY_TYPES, type PropertyType } from '../src/core/types';
import { propertyLayout } from '../src/core/properties';
import { writePrecomputedAnnotations } from '../src/export/run';
import { ngPrimitives, readDatasetWithNeuroglancer } from './helpers/ngread';
import { col, compact, hex, table, tempDir, testRandom } from './helpers/coretables';

const tmp = tempDir();
after(tmp.cleanup);
const U64_MAX = (1n << 64n) - 1n;

describe('murmurhash3_x86_128, low 64 bits, seed 0 (the shard hash)', () => {
  test('golden vectors from the spec: 0, 1, 42', () => {
    assert.equal(murmurHash3X86_128Low64Big(0n), 0x4772b084e028ae41n);
    assert.equal(murmurHash3X86_128Low64Big(1n), 0xe8bd67d616d4ce9an);
    assert.equal(murmurHash3X86_128Low64Big(42n), 0xc20b94f95119f47an);
  });

  test('the word-level form gives the same value as the BigInt form', () => {
    const out = new Uint32Array(2);
    murmurHash3X86_128Low64(42, 0, out);
    assert.equal((BigInt(out[1]) << 32n) | BigInt(out[0]), 0xc20b94f95119f47an);
  });

  test("equals neuroglancer's murmurHash3_x86_128Hash64Bits on 1000 random keys and the edge keys", async () => {
    const ng = await ngPrimitives();
    const rnd = testRandom(7);
    const keys = [0n, 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, U64_MAX];
    for (let i = 0; i < 1000; i++) keys.push(rnd.u64());
    for (const k of keys) assert.equal(murmurHash3X86_128Low64Big(k), ng.shardHash(k), `key ${k}`);
  });
});

describe('compressed Morton code (volume.md)', () => {
  // (shape, cell, code), x first, all listed in reference-behaviour.md (h).
  const vectors: Array<[number[], number[], number]> = [
    [[5, 16, 3], [3, 5, 1], 143],
    [[5, 16, 3], [4, 3, 2], 114],
    [[4, 2, 1], [3, 1, 0], 7],
    [[2, 2, 2], [1, 0, 0], 1],
    [[2, 2, 2], [0, 1, 0], 2],
    [[2, 2, 2], [0, 0, 1], 4],
    [[2, 2, 2], [1, 1, 1], 7],
    [[4, 4, 4], [2, 0, 0], 8],
    [[8, 4, 2], [5, 3, 1], 55],
    [[2, 4, 1], [1, 2, 0], 5],
  ];

  test('spec vectors: mortonCodeBig, MortonEncoder and mortonDecode', () => {
    for (const [shape, cell, code] of vectors) {
      assert.equal(mortonCodeBig(shape, cell), BigInt(code), `${shape} ${cell}`);
      assert.equal(new MortonEncoder(shape).encode(cell), code, `${shape} ${cell}`);
      assert.deepEqual(mortonDecode(shape, code), cell, `${shape} ${code}`);
    }
  });

  test('bits per dimension are ceil(log2(shape)), 0 for a shape of 1', () => {
    assert.deepEqual(mortonBits([1, 2, 3, 4, 5, 16, 17]), [0, 1, 2, 2, 3, 4, 5]);
  });

  test("equals neuroglancer's encodeZIndexCompressed on random grids, and decodes back", async () => {
    const ng = await ngPrimitives();
    const rnd = testRandom(11);
    for (let g = 0; g < 200; g++) {
      const rank = 1 + rnd.below(5);
      let shape: number[];
      do shape = Array.from({ length: rank }, () => 1 + rnd.below(2 ** (1 + rnd.below(12))));
      while (mortonBits(shape).reduce((a, b) => a + b, 0) > 53);
      const enc = new MortonEncoder(shape);
      for (let c = 0; c < 20; c++) {
        const cell = shape.map((s) => rnd.below(s));
        // the far corner exercises every bit
        if (c === 0) shape.forEach((s, d) => (cell[d] = s - 1));
        const want = ng.zIndexCompressed(shape, cell);
        assert.equal(mortonCodeBig(shape, cell), want, `shape ${shape} cell ${cell}`);
        assert.equal(BigInt(enc.encode(cell)), want, `encoder, shape ${shape} cell ${cell}`);
        assert.deepEqual(mortonDecode(shape, Number(want)), cell, `decode, shape ${shape} cell ${cell}`);
      }
    }
  });
});

describe('annotation records (reference-behaviour.md (e))', () => {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);

  test('golden 28-byte point record: properties sorted score, big, n, kind, c, neg', () => {
    warnings.length = 0;
    // Row 1 is the spec's example; row 0 only gives the dictionary its first label 'a'.
    const t = table({
      x: col.f64([0, 1.5]),
      y: col.f64([0, 2.0]),
      z: col.f64([0, -3.0]),
      kind: col.dict(['a', 'b']),
      n: col.u16([1, 7]),
      score: col.f32([0, 0.5]),
      c_r: col.u8([0, 255]),
      c_g: col.u8([0, 128]),
      c_b: col.u8([0, 0]),
      big: col.u32([0, 4000000000]),
      neg: col.i8([0, -2]),
    });
    const p = prepare(t, null, normalizeCoordSpace('xyz'), 'point', { properties: ['kind', 'n', 'score', 'c', 'big', 'neg'] }, warn);
    assert.deepEqual(
      p.propertySpecs.map((s) => `${s.id}:${s.type}`),
      ['score:float32', 'big:uint32', 'n:uint16', 'kind:uint8', 'c:rgb', 'neg:int8'],
    );
    assert.deepEqual(p.propertySpecs[3], { id: 'kind', type: 'uint8', enum_values: [0, 1], enum_labels: ['a', 'b'] });
    assert.equal(p.recordSize, 28);
    const rec = p.records.subarray(recordStart(p, 1), recordStart(p, 1) + 28);
    assert.equal(hex(rec), compact('0000c03f 00000040 000040c0 0000003f 00286bee 0700 01 ff8000 fe 00'));
    assert.equal(warnings.filter((w) => /int8/.test(w)).length, 1, 'one int8 warning');
  });

  test('the golden point record reads back through neuroglancer with the same values', async () => {
    const out = join(tmp.dir, 'golden-point');
    const t = table({
      x: col.f64([0, 1.5]),
      y: col.f64([0, 2.0]),
      z: col.f64([0, -3.0]),
      kind: col.dict(['a', 'b']),
      n: col.u16([1, 7]),
      score: col.f32([0, 0.5]),
      c: col.str(['#000000', '#ff8000']),
      big: col.u32([0, 4000000000]),
      neg: col.i8([0, -2]),
    });
    await writePrecomputedAnnotations(t, 'xyz', 'point', {
      properties: ['kind', 'n', 'score', 'c', 'big', 'neg'],
      outputDir: out,
      writeSharded: false,
      numSpatialLevels: 1,
      seed: 1,
    });
    assert.equal(hex(readFileSync(join(out, 'by_id', '1'))), compact('0000c03f 00000040 000040c0 0000003f 00286bee 0700 01 ff8000 fe 00'));
    const ds = await readDatasetWithNeuroglancer(out);
    assert.deepEqual(ds.properties.map((s) => s.identifier), ['score', 'big', 'n', 'kind', 'c', 'neg']);
    const a = await ds.getById(1n);
    assert.deepEqual(a?.point, [1.5, 2, -3]);
    assert.deepEqual(a?.properties, [0.5, 4000000000, 7, 1, 0xff | (0x80 << 8), -2]);
  });

  test('polyline record: uint32 vertex count, vertices in row order per id, properties, padding', () => {
    // Vertex rows of the two polylines are interleaved; each keeps its own row order.
    const points = table({
      annotation_id: col.u64([9n, 5n, 9n, 5n, 5n]),
      x: col.f64([10, 1, 11, 2, 3]),
      y: col.f64([20, 4, 21, 5, 6]),
      z: col.f64([30, 7, 31, 8, 9]),
    });
    const main = table({ annotation_id: col.u64([5n, 9n]), w: col.f32([0.25, -1]), n: col.u16([7, 258]) });
    const p = prepare(main, points, normalizeCoordSpace('xyz'), 'polyline', { properties: ['n', 'w'] }, () => {});
    assert.deepEqual(p.propertySpecs.map((s) => s.id), ['w', 'n']);
    assert.deepEqual([...p.ids], [5n, 9n]);
    const rec = (i: number) => hex(p.records.subarray(p.recordOffsets![i], p.recordOffsets![i + 1]));
    const f = (...xs: number[]) => hex(new Uint8Array(Float32Array.from(xs).buffer));
    assert.equal(rec(0), '03000000' + f(1, 4, 7, 2, 5, 8, 3, 6, 9) + f(0.25) + '0700' + '0000');
    assert.equal(rec(1), '02000000' + f(10, 20, 30, 11, 21, 31) + f(-1) + '0201' + '0000');
    // bounds come from the vertices
    assert.deepEqual(p.lower, [1, 4, 7]);
    assert.deepEqual(p.upper, [11, 21, 31]);
  });

  test("propertyLayout equals neuroglancer's getPropertyOffsets, including records over 255 bytes split into groups", () => {
    const rnd = testRandom(5);
    const cases: Array<{ rank: number; geometry: number; types: PropertyType[] }> = [
      { rank: 3, geometry: 12, types: ['uint8', 'float32', 'rgb'] },
      { rank: 3, geometry: 12, types: ['int8', 'rgba', 'uint16', 'rgb', 'uint32'] },
      // 70 float32 = 280 bytes: over the 255-byte stride, so neuroglancer opens a second group
      { rank: 3, geometry: 12, types: new Array<PropertyType>(70).fill('float32') },
      { rank: 2, geometry: 16, types: [...new Array<PropertyType>(60).fill('float32'), 'uint8', 'uint16', 'rgb', ...new Array<PropertyType>(10).fill('int32')] },
    ];
    for (let i = 0; i < 300; i++) {
      const rank = 1 + rnd.below(4);
      const geometry = [4 * rank, 8 * rank, 8 * rank + 4][rnd.below(3)];
      const count = rnd.below(i < 250 ? 12 : 120);
      cases.push({ rank, geometry, types: Array.from({ length: count }, () => PROPERTY_TYPES[rnd.below(PROPERTY_TYPES.length)]) });
    }
    let split = 0;
    for (const { rank, geometry, types } of cases) {
      const ours = propertyLayout(geometry, types);
      if (types.length === 0) {
        assert.equal(ours.serializedBytes, geometry);
        continue;
      }
      const ng = getPropertyOffsets(rank, geometry, types.map((type) => ({ type, identifier: 'p', default: 0 }) as never));
      if (ng.propertyGroupBytes.length > 1) split++;
      const groupStart = ng.propertyGroupBytes.map((_, g) => ng.propertyGroupBytes.slice(0, g).reduce((a, b) => a + b, 0));
      const want = ng.offsets.map((o) => groupStart[o.group] + o.offset);
      assert.equal(ours.serializedBytes, ng.serializedBytes, `serializedBytes of ${types}`);
      assert.deepEqual(ours.offsets, want, `offsets of ${types}`);
      assert.equal(ours.propertyBytes, ng.serializedBytes - geometry);
    }
    assert.ok(split >= 2, `the table exercised ${split} multi-group layouts`);
  });

  test('a record over 255 bytes (two property groups) reads back through neuroglancer, alone and in a chunk', async () => {
    const out = join(tmp.dir, 'wide');
    const cols: Record<string, Vector> = { x: col.f64([0, 1]), y: col.f64([0, 1]), k: col.u8([3, 4]) };
    const names = Array.from({ length: 70 }, (_, j) => `p${j}`);
    names.forEach((nm, j) => (cols[nm] = col.f32([j, -j])));
    await writePrecomputedAnnotations(table(cols), 'xy', 'point', {
      properties: ['k', ...names],
      outputDir: out,
      numSpatialLevels: 1,
      targetChunkLimit: 0,
      shuffleBeforeAssigningSpatialLevels: false,
    });
    const ds = await readDatasetWithNeuroglancer(out);
    assert.equal(ds.serializedBytes, 8 + 280 + 4, 'geometry, 70 float32, the uint8 padded to 4');
    const want = (i: number) => [...names.map((_, j) => (i === 0 ? j : -j)), 3 + i];
    assert.deepEqual((await ds.getById(1n))?.properties, want(1));
    const chunk = await ds.getSpatialChunk(0, [0, 0]);
    assert.deepEqual(chunk?.map((a) => [a.id, a.point, a.properties]), [
      [0n, [0, 0], want(0)],
      [1n, [1, 1], want(1)],
    ]);
  });
});

describe('by_id value (reference-behaviour.md (e))', () => {
  test('golden 2-D line with float32 score, uint8 enum kind and a scalar relationship', async () => {
    const out = join(tmp.dir, 'golden-line');
    const t = table({
      xa: col.f64([0]),
      ya: col.f64([0]),
      xb: col.f64([4]),
      yb: col.f64([4]),
      score: col.f64([0.5]),
      kind: col.str(['a']),
      pre: col.i64([7n]),
    });
    await writePrecomputedAnnotations(t, 'xy', 'line', {
      properties: ['score', 'kind'],
      relationships: ['pre'],
      outputDir: out,
      writeSharded: false,
      numSpatialLevels: 1,
      seed: 1,
    });
    const bytes = readFileSync(join(out, 'by_id', '0'));
    assert.equal(hex(bytes), compact('00000000 00000000 00008040 00008040 0000003f 00 000000 01000000 0700000000000000'));
    const ds = await readDatasetWithNeuroglancer(out);
    const a = await ds.getById(0n);
    assert.deepEqual(a?.pointA, [0, 0]);
    assert.deepEqual(a?.pointB, [4, 4]);
    assert.deepEqual(a?.properties, [0.5, 0]);
    assert.deepEqual(a?.relationships, [[7n]]);
  });
});
