// Tests for the conformance harness (test/helpers/ngread.ts). The datasets here are built by hand,
// byte by byte, from neuroglancer's format documents (annotations.md, sharded.md, volume.md), not
// with our writer, so these tests show that the harness drives neuroglancer's reader correctly.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ngColor, ngShardHash, ngZIndexCompressed, readDatasetWithNeuroglancer, type NgAnnotation } from './helpers/ngread';

// ---- byte builders (from the spec) ----------------------------------------------------------

type PropType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'rgb' | 'rgba';
interface Prop { type: PropType; value: number | number[] }

const WIDTH: Record<PropType, number> = { float32: 4, uint32: 4, int32: 4, uint16: 2, int16: 2, uint8: 1, int8: 1, rgb: 3, rgba: 4 };
// Layout class: 4-byte numbers first, then 2-byte, then 1-byte and colours, input order within each.
const CLASS: Record<PropType, number> = { float32: 0, uint32: 0, int32: 0, uint16: 1, int16: 1, uint8: 2, int8: 2, rgb: 2, rgba: 2 };

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
const u32 = (v: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return b; };
const u64 = (v: bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, v, true); return b; };
const f32s = (vs: number[]) => { const b = new Uint8Array(4 * vs.length); const dv = new DataView(b.buffer); vs.forEach((v, i) => dv.setFloat32(4 * i, v, true)); return b; };

function props(list: Prop[]): Uint8Array {
  const order = list.map((_, i) => i).sort((a, b) => CLASS[list[a]!.type] - CLASS[list[b]!.type] || a - b);
  const parts: Uint8Array[] = [];
  for (const i of order) {
    const { type, value } = list[i]!;
    const b = new Uint8Array(WIDTH[type]);
    const dv = new DataView(b.buffer);
    const v = value as number;
    switch (type) {
      case 'float32': dv.setFloat32(0, v, true); break;
      case 'uint32': dv.setUint32(0, v, true); break;
      case 'int32': dv.setInt32(0, v, true); break;
      case 'uint16': dv.setUint16(0, v, true); break;
      case 'int16': dv.setInt16(0, v, true); break;
      case 'uint8': dv.setUint8(0, v); break;
      case 'int8': dv.setInt8(0, v); break;
      case 'rgb': case 'rgba': b.set(value as number[]); break;
    }
    parts.push(b);
  }
  const body = concat(...parts);
  return concat(body, new Uint8Array((4 - (body.length % 4)) % 4));
}

/** One record: geometry float32s (or a polyline's vertices) then properties and padding. */
function record(geometry: number[] | { polyline: number[][] }, p: Prop[] = []): Uint8Array {
  const g = Array.isArray(geometry) ? f32s(geometry) : concat(u32(geometry.polyline.length), f32s(geometry.polyline.flat()));
  return concat(g, props(p));
}
const byIdValue = (rec: Uint8Array, rels: bigint[][] = []) => concat(rec, ...rels.flatMap((r) => [u32(r.length), ...r.map(u64)]));
const multiValue = (entries: [bigint, Uint8Array][]) => concat(u64(BigInt(entries.length)), ...entries.map((e) => e[1]), ...entries.map((e) => u64(e[0])));

interface Sharding {
  hash: 'identity' | 'murmurhash3_x86_128';
  preshift_bits: number;
  shard_bits: number;
  minishard_bits: number;
  data_encoding?: 'raw' | 'gzip';
  minishard_index_encoding?: 'raw' | 'gzip';
}
const shardingJson = (s: Sharding) => ({ '@type': 'neuroglancer_uint64_sharded_v1', ...s });

/** Shard files per sharded.md: per shard, [shard index][minishard 0 data, index][minishard 1 …]. */
async function shardFiles(entries: Map<bigint, Uint8Array>, s: Sharding): Promise<Map<string, Uint8Array>> {
  const mask = (bits: number) => (1n << BigInt(bits)) - 1n;
  const shards = new Map<bigint, Map<bigint, [bigint, Uint8Array][]>>();
  for (const [key, value] of entries) {
    const shifted = key >> BigInt(s.preshift_bits);
    const h = s.hash === 'identity' ? shifted : await ngShardHash(shifted);
    const minishard = h & mask(s.minishard_bits);
    const shard = (h >> BigInt(s.minishard_bits)) & mask(s.shard_bits);
    const m = shards.get(shard) ?? new Map();
    shards.set(shard, m);
    const list = m.get(minishard) ?? [];
    m.set(minishard, list);
    list.push([key, s.data_encoding === 'gzip' ? new Uint8Array(gzipSync(value)) : value]);
  }
  const files = new Map<string, Uint8Array>();
  const numMinishards = 1 << s.minishard_bits;
  for (const [shard, minishards] of shards) {
    const indexBytes = new Uint8Array(16 * numMinishards);
    const idx = new DataView(indexBytes.buffer);
    const body: Uint8Array[] = [];
    let offset = 0n; // relative to the end of the shard index
    for (let m = 0; m < numMinishards; ++m) {
      const list = (minishards.get(BigInt(m)) ?? []).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      if (list.length === 0) continue; // start == end == 0: empty minishard
      const keys: bigint[] = [];
      const starts: bigint[] = [];
      const sizes: bigint[] = [];
      let prevKey = 0n;
      let prevEnd = 0n;
      for (const [key, value] of list) {
        keys.push(key - prevKey);
        starts.push(offset - prevEnd);
        sizes.push(BigInt(value.length));
        body.push(value);
        prevKey = key;
        offset += BigInt(value.length);
        prevEnd = offset;
      }
      let minishardIndex = concat(...[...keys, ...starts, ...sizes].map(u64));
      if (s.minishard_index_encoding === 'gzip') minishardIndex = new Uint8Array(gzipSync(minishardIndex));
      idx.setBigUint64(16 * m, offset, true);
      idx.setBigUint64(16 * m + 8, offset + BigInt(minishardIndex.length), true);
      body.push(minishardIndex);
      offset += BigInt(minishardIndex.length);
    }
    const name = `${shard.toString(16).padStart(Math.ceil(s.shard_bits / 4), '0')}.shard`;
    files.set(name, concat(indexBytes, ...body));
  }
  return files;
}

// ---- dataset directories ----------------------------------------------------------------------

let root: string;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ngread-'));
});
after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

let counter = 0;
function makeDir(): string {
  const dir = path.join(root, `ds${counter++}`);
  fs.mkdirSync(dir);
  return dir;
}
function put(dir: string, rel: string, bytes: Uint8Array | string) {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
}
/** Writes an index: unsharded → one file per key; sharded → shard files. */
async function putIndex(dir: string, key: string, entries: Map<bigint | string, Uint8Array>, s?: Sharding) {
  if (s === undefined) {
    for (const [k, v] of entries) put(dir, `${key}/${k}`, v);
    return;
  }
  const files = await shardFiles(new Map([...entries].map(([k, v]) => [BigInt(k), v])), s);
  for (const [name, bytes] of files) put(dir, `${key}/${name}`, bytes);
}

function info(o: {
  dims: string[];
  lower: number[];
  upper: number[];
  type: string;
  properties?: object[];
  relationships?: object[];
  byId?: object;
  spatial: object[];
}) {
  return JSON.stringify({
    '@type': 'neuroglancer_annotations_v1',
    dimensions: Object.fromEntries(o.dims.map((d) => [d, [1e-9, 'm']])),
    lower_bound: o.lower,
    upper_bound: o.upper,
    annotation_type: o.type,
    properties: o.properties ?? [],
    relationships: o.relationships ?? [],
    by_id: o.byId ?? { key: 'by_id' },
    spatial: o.spatial,
  });
}

const MAX_U64 = (1n << 64n) - 1n;
const fr = (xs: number[]) => xs.map(Math.fround);

// ---- hash and Morton vectors -------------------------------------------------------------------

describe('neuroglancer primitives', () => {
  test('murmurhash3_x86_128 (seed 0, low 64 bits) known vectors', async () => {
    assert.equal(await ngShardHash(0n), 0x4772b084e028ae41n);
    assert.equal(await ngShardHash(1n), 0xe8bd67d616d4ce9an);
    assert.equal(await ngShardHash(42n), 0xc20b94f95119f47an);
  });

  test('compressed Morton code', async () => {
    assert.equal(await ngZIndexCompressed([1, 1, 1], [0, 0, 0]), 0n);
    assert.equal(await ngZIndexCompressed([2, 2, 2], [1, 0, 0]), 1n);
    assert.equal(await ngZIndexCompressed([2, 2, 2], [0, 1, 0]), 2n);
    assert.equal(await ngZIndexCompressed([2, 2, 2], [0, 0, 1]), 4n);
    // x has 3 bits, y 2, z 1: bit0 x,y,z = 1,1,1; bit1 x,y = 0,1; bit2 x = 1 → 0b110111
    assert.equal(await ngZIndexCompressed([8, 4, 2], [5, 3, 1]), 0b110111n);
    // A dimension of extent 1 contributes no bits.
    assert.equal(await ngZIndexCompressed([1, 4, 1], [0, 3, 0]), 3n);
  });
});

// ---- unsharded --------------------------------------------------------------------------------

describe('unsharded point dataset', () => {
  let dir: string;
  const id = MAX_U64;
  const rec = record([1.5, 2, -3]);
  before(async () => {
    dir = makeDir();
    put(dir, 'info', info({
      dims: ['x', 'y', 'z'], lower: [0, 0, -4], upper: [4, 4, 0], type: 'point',
      relationships: [{ id: 'seg', key: 'by_rel_seg' }],
      spatial: [{ key: 'spatial0', grid_shape: [1, 1, 1], chunk_size: [4, 4, 4], limit: 1 }],
    }));
    put(dir, `by_id/${id}`, byIdValue(rec, [[7n, MAX_U64 - 1n]]));
    put(dir, 'by_rel_seg/7', multiValue([[id, rec]]));
    put(dir, `by_rel_seg/${MAX_U64 - 1n}`, multiValue([[id, rec]]));
    put(dir, 'spatial0/0_0_0', multiValue([[id, rec]]));
  });

  test('metadata parsed by neuroglancer', async () => {
    const ds = await readDatasetWithNeuroglancer(dir);
    assert.equal(ds.type, 'point');
    assert.equal(ds.rank, 3);
    assert.deepEqual(ds.relationships, ['seg']);
    assert.deepEqual(ds.levels.map((l) => ({ ...l, url: undefined })), [
      { index: 0, url: undefined, gridShape: [1, 1, 1], chunkSize: [4, 4, 4], limit: 1, sharded: false },
    ]);
    assert.deepEqual(Array.from(ds.metadata.coordinateSpace.names), ['x', 'y', 'z']);
    assert.equal(ds.serializedBytes, 12);
  });

  test('by_id keeps a uint64 id above 2^53 exact, with relationships', async () => {
    const ds = await readDatasetWithNeuroglancer(dir);
    const a = await ds.getById(id);
    assert.deepEqual(a, { id, type: 'point', point: [1.5, 2, -3], properties: [], relationships: [[7n, MAX_U64 - 1n]] } satisfies NgAnnotation);
    assert.equal(await ds.getById(id - 1n), undefined);
  });

  test('by_rel and spatial', async () => {
    const ds = await readDatasetWithNeuroglancer(dir);
    const expected: NgAnnotation[] = [{ id, type: 'point', point: [1.5, 2, -3], properties: [] }];
    assert.deepEqual(await ds.getByRelationship('seg', 7n), expected);
    assert.deepEqual(await ds.getByRelationship('seg', MAX_U64 - 1n), expected);
    assert.equal(await ds.getByRelationship('seg', 8n), undefined);
    assert.deepEqual(await ds.getSpatialChunk(0, [0, 0, 0]), expected);
    assert.deepEqual(await ds.allSpatial(0), new Map([['0_0_0', expected]]));
    assert.equal(ds.spatialKey(0, [0, 0, 0]), '0_0_0');
    assert.deepEqual(await ds.unrequestedSpatialFiles(0), []);
    await assert.rejects(ds.getByRelationship('nope', 7n), /no relationship "nope"/);
  });

  test('a wrong byte count is an error, not a silent misread', async () => {
    const bad = makeDir();
    fs.cpSync(dir, bad, { recursive: true });
    put(bad, `by_id/${id}`, concat(byIdValue(rec, [[7n, MAX_U64 - 1n]]), new Uint8Array(4)));
    put(bad, 'spatial0/0_0_0', concat(multiValue([[id, rec]]), new Uint8Array(1)));
    const ds = await readDatasetWithNeuroglancer(bad);
    await assert.rejects(ds.getById(id), /Expected 32 bytes, but received: 36/);
    await assert.rejects(ds.getSpatialChunk(0, [0, 0, 0]), /Expected 28 bytes, but received: 29/);
  });
});

describe('every property type', () => {
  const specs = [
    { id: 'u8', type: 'uint8', enum_values: [0, 3], enum_labels: ['zero', 'three'] },
    { id: 'i8', type: 'int8' },
    { id: 'u16', type: 'uint16' },
    { id: 'i16', type: 'int16', enum_values: [-2, 5], enum_labels: ['neg', 'pos'], description: 'signed' },
    { id: 'u32', type: 'uint32' },
    { id: 'i32', type: 'int32' },
    { id: 'f32', type: 'float32' },
    { id: 'c3', type: 'rgb' },
    { id: 'c4', type: 'rgba' },
  ] as const;
  const values: Prop[] = [
    { type: 'uint8', value: 3 },
    { type: 'int8', value: -2 },
    { type: 'uint16', value: 65535 },
    { type: 'int16', value: -2 },
    { type: 'uint32', value: 4_000_000_000 },
    { type: 'int32', value: -2_000_000_000 },
    { type: 'float32', value: 0.1 },
    { type: 'rgb', value: [255, 128, 1] },
    { type: 'rgba', value: [1, 2, 3, 250] },
  ];
  const decoded = [3, -2, 65535, -2, 4_000_000_000, -2_000_000_000, Math.fround(0.1), 255 | (128 << 8) | (1 << 16), (1 | (2 << 8) | (3 << 16) | (250 << 24)) >>> 0];

  test('record layout: neuroglancer sorts by alignment and pads to 4', async () => {
    const dir = makeDir();
    // 12 geometry + 4*4 (u32,i32,f32,rgba? no: rgba has alignment 1) ... computed below
    const rec = record([1, 2, 3], values);
    // 12 geometry + u32,i32,f32 (12) + u16,i16 (4) + u8,i8,rgb,rgba (9) = 37 → padded to 40
    assert.equal(rec.length, 40);
    put(dir, 'info', info({
      dims: ['x', 'y', 'z'], lower: [0, 0, 0], upper: [10, 10, 10], type: 'POINT', properties: [...specs],
      spatial: [{ key: 's', grid_shape: [1, 1, 1], chunk_size: [10, 10, 10], limit: 2 }],
    }));
    put(dir, 'by_id/5', byIdValue(rec));
    put(dir, 's/0_0_0', multiValue([[5n, rec], [6n, record([4, 5, 6], values)]]));
    const ds = await readDatasetWithNeuroglancer(dir);
    assert.equal(ds.serializedBytes, 40);
    assert.deepEqual(ds.properties.map((p) => p.identifier), specs.map((s) => s.id));
    assert.deepEqual(ds.properties[0]!.enumValues, [0, 3]);
    assert.deepEqual(ds.properties[0]!.enumLabels, ['zero', 'three']);
    assert.deepEqual(ds.properties[3]!.enumValues, [-2, 5]);
    assert.equal(ds.properties[3]!.description, 'signed');
    assert.deepEqual((await ds.getById(5n))?.properties, decoded);
    assert.deepEqual(ngColor(decoded[7]!, 3), [255, 128, 1]);
    assert.deepEqual(ngColor(decoded[8]!, 4), [1, 2, 3, 250]);
    const chunk = await ds.getSpatialChunk(0, [0, 0, 0]);
    assert.deepEqual(chunk?.map((a) => [a.id, a.point, a.properties]), [
      [5n, [1, 2, 3], decoded],
      [6n, [4, 5, 6], decoded],
    ]);
  });

  test('int8 is one byte in neuroglancer 2.41.2', async () => {
    const dir = makeDir();
    put(dir, 'info', info({
      dims: ['x', 'y'], lower: [0, 0], upper: [1, 1], type: 'point',
      properties: [{ id: 'a', type: 'int8' }, { id: 'b', type: 'int8' }, { id: 'c', type: 'uint8' }],
      spatial: [{ key: 's', grid_shape: [1, 1], chunk_size: [1, 1], limit: 1 }],
    }));
    const rec = record([0.5, 0.25], [{ type: 'int8', value: -128 }, { type: 'int8', value: 127 }, { type: 'uint8', value: 200 }]);
    assert.equal(rec.length, 12);
    put(dir, 'by_id/1', rec);
    const ds = await readDatasetWithNeuroglancer(dir);
    assert.equal(ds.serializedBytes, 12);
    assert.deepEqual((await ds.getById(1n))?.properties, [-128, 127, 200]);
  });
});

describe('geometry types and ranks', () => {
  test('polyline (rank 3) in by_id, by_rel and spatial', async () => {
    const dir = makeDir();
    const p1 = [[0, 0, 0], [1, 2, 3], [4, 5, 6.5]];
    const p2 = [[9, 9, 9], [8, 8, 8]];
    const p3 = [[1, 1, 1], [2, 2, 2], [3, 3, 3], [4, 4, 4]];
    const r = (pts: number[][], v: number) => record({ polyline: pts }, [{ type: 'uint16', value: v }, { type: 'float32', value: v / 2 }]);
    put(dir, 'info', info({
      dims: ['x', 'y', 'z'], lower: [0, 0, 0], upper: [10, 10, 10], type: 'polyline',
      properties: [{ id: 'n', type: 'uint16' }, { id: 'w', type: 'float32' }],
      relationships: [{ id: 'cell', key: 'rel_cell' }],
      spatial: [{ key: 'spatial0', grid_shape: [1, 1, 1], chunk_size: [10, 10, 10], limit: 3 }],
    }));
    put(dir, 'by_id/11', byIdValue(r(p1, 1), [[]]));
    put(dir, 'rel_cell/4', multiValue([[11n, r(p1, 1)], [12n, r(p2, 2)]]));
    put(dir, 'spatial0/0_0_0', multiValue([[12n, r(p2, 2)], [11n, r(p1, 1)], [13n, r(p3, 3)]]));
    const ds = await readDatasetWithNeuroglancer(dir);
    assert.equal(ds.type, 'polyline');
    const a = await ds.getById(11n);
    assert.deepEqual(a, { id: 11n, type: 'polyline', points: p1, properties: [1, 0.5], relationships: [[]] });
    const rel = await ds.getByRelationship('cell', 4n);
    assert.deepEqual(rel?.map((x) => [x.id, x.points, x.properties]), [[11n, p1, [1, 0.5]], [12n, p2, [2, 1]]]);
    const chunk = await ds.getSpatialChunk(0, [0, 0, 0]);
    assert.deepEqual(chunk?.map((x) => [x.id, x.points, x.properties]), [[12n, p2, [2, 1]], [11n, p1, [1, 0.5]], [13n, p3, [3, 1.5]]]);
  });

  test('a single-vertex polyline: by_id decodes, a chunk misreads what follows it', async () => {
    const dir = makeDir();
    put(dir, 'info', info({
      dims: ['x', 'y'], lower: [0, 0], upper: [10, 10], type: 'polyline',
      spatial: [{ key: 's', grid_shape: [1, 1], chunk_size: [10, 10], limit: 2 }],
    }));
    put(dir, 'by_id/1', record({ polyline: [[1, 2]] }));
    put(dir, 's/0_0', multiValue([[1n, record({ polyline: [[1, 2]] })], [2n, record({ polyline: [[3, 4], [5, 6]] })]]));
    const ds = await readDatasetWithNeuroglancer(dir);
    assert.deepEqual((await ds.getById(1n))?.points, [[1, 2]]);
    const chunk = await ds.getSpatialChunk(0, [0, 0]);
    // Both ids map to instance 0 (the 1-vertex polyline has no segment), so id 1 reads id 2's geometry.
    assert.deepEqual(chunk?.map((x) => [x.id, x.points]), [[1n, [[3, 4], [5, 6]]], [2n, [[3, 4], [5, 6]]]]);
  });

  test('rank 2 lines', async () => {
    const dir = makeDir();
    put(dir, 'info', info({
      dims: ['x', 'y'], lower: [0, 0], upper: [4, 4], type: 'line',
      properties: [{ id: 'score', type: 'float32' }],
      spatial: [
        { key: 'l0', grid_shape: [1, 1], chunk_size: [4, 4], limit: 1 },
        { key: 'l1', grid_shape: [2, 1], chunk_size: [2, 4], limit: 1 },
      ],
    }));
    const a = record([0, 0, 4, 4], [{ type: 'float32', value: 0.5 }]);
    const b = record([3, 1, 3.5, 0.1], [{ type: 'float32', value: 0.25 }]);
    put(dir, 'by_id/1', a);
    put(dir, 'l0/0_0', multiValue([[1n, a]]));
    put(dir, 'l1/1_0', multiValue([[2n, b]]));
    put(dir, 'l1/0_1', multiValue([[3n, b]])); // outside grid_shape [2,1]: never requested
    const ds = await readDatasetWithNeuroglancer(dir);
    assert.deepEqual(await ds.getById(1n), { id: 1n, type: 'line', pointA: [0, 0], pointB: [4, 4], properties: [0.5], relationships: [] });
    const l1 = await ds.allSpatial(1);
    assert.deepEqual([...l1.keys()], ['1_0']);
    assert.deepEqual(l1.get('1_0'), [{ id: 2n, type: 'line', pointA: [3, 1], pointB: [3.5, Math.fround(0.1)], properties: [0.25] }]);
    assert.deepEqual(await ds.unrequestedSpatialFiles(1), ['0_1']);
    assert.equal(await ds.getSpatialChunk(1, [0, 0]), undefined);
    await assert.rejects(ds.getSpatialChunk(1, [0, 1]), /outside level 1 grid_shape/);
  });

  test('rank 4 ellipsoids and boxes', async () => {
    for (const [type, keyA, keyB] of [['ellipsoid', 'center', 'radii'], ['axis_aligned_bounding_box', 'pointA', 'pointB']] as const) {
      const dir = makeDir();
      put(dir, 'info', info({
        dims: ['x', 'y', 'z', 't'], lower: [0, 0, 0, 0], upper: [8, 8, 8, 2], type,
        properties: [{ id: 'k', type: 'uint8' }],
        spatial: [{ key: 's', grid_shape: [1, 2, 1, 2], chunk_size: [8, 4, 8, 1], limit: 1 }],
      }));
      const g = [1, 5, 2, 1.25, 0.5, 0.5, 0.1, 0.75];
      const rec = record(g, [{ type: 'uint8', value: 9 }]);
      put(dir, 'by_id/3', rec);
      put(dir, 's/0_1_0_1', multiValue([[3n, rec]]));
      const ds = await readDatasetWithNeuroglancer(dir);
      assert.equal(ds.rank, 4);
      const expected = { id: 3n, type, [keyA]: fr(g.slice(0, 4)), [keyB]: fr(g.slice(4)), properties: [9] };
      assert.deepEqual(await ds.getById(3n), { ...expected, relationships: [] });
      assert.deepEqual(await ds.allSpatial(0), new Map([['0_1_0_1', [expected]]]));
    }
  });
});

// ---- sharded ----------------------------------------------------------------------------------

describe('sharded datasets', () => {
  const variants: [string, Sharding][] = [
    ['murmurhash, 0 bits, raw', { hash: 'murmurhash3_x86_128', preshift_bits: 0, shard_bits: 0, minishard_bits: 0 }],
    ['murmurhash, 0 bits, gzip data and index', { hash: 'murmurhash3_x86_128', preshift_bits: 0, shard_bits: 0, minishard_bits: 0, data_encoding: 'gzip', minishard_index_encoding: 'gzip' }],
    ['identity, 1 shard bit, 1 minishard bit', { hash: 'identity', preshift_bits: 0, shard_bits: 1, minishard_bits: 1 }],
    ['murmurhash, preshift 1, 5 shard bits, 2 minishard bits, gzip', { hash: 'murmurhash3_x86_128', preshift_bits: 1, shard_bits: 5, minishard_bits: 2, data_encoding: 'gzip', minishard_index_encoding: 'gzip' }],
  ];
  for (const [name, sharding] of variants) {
    test(name, async () => {
      const dir = makeDir();
      const ids = [0n, 1n, 2n, 3n, 5n, 1n << 53n, (1n << 53n) + 1n, MAX_U64];
      const pos = (i: number) => [i % 2, (i >> 1) % 2, i / 8 + 0.25];
      const rec = (i: number) => record(pos(i), [{ type: 'int16', value: -i }]);
      put(dir, 'info', info({
        dims: ['x', 'y', 'z'], lower: [0, 0, 0], upper: [2, 2, 1], type: 'point',
        properties: [{ id: 'v', type: 'int16' }],
        relationships: [{ id: 'seg', key: 'rel', sharding: shardingJson(sharding) }],
        byId: { key: 'by_id', sharding: shardingJson(sharding) },
        spatial: [
          { key: 'l0', grid_shape: [1, 1, 1], chunk_size: [2, 2, 1], limit: 1, sharding: shardingJson(sharding) },
          { key: 'l1', grid_shape: [2, 2, 1], chunk_size: [1, 1, 1], limit: 2, sharding: shardingJson(sharding) },
        ],
      }));
      await putIndex(dir, 'by_id', new Map(ids.map((id, i) => [id, byIdValue(rec(i), [[BigInt(i % 3)]])])), sharding);
      const rel = new Map<bigint, [bigint, Uint8Array][]>();
      ids.forEach((id, i) => rel.set(BigInt(i % 3), [...(rel.get(BigInt(i % 3)) ?? []), [id, rec(i)]]));
      await putIndex(dir, 'rel', new Map([...rel].map(([k, v]) => [k, multiValue(v)])), sharding);
      await putIndex(dir, 'l0', new Map([[0n, multiValue([[ids[0]!, rec(0)]])]]), sharding);
      // Level 1: annotation i goes to cell (i%2, (i>>1)%2, 0), keyed by the Morton code from volume.md.
      const cells = new Map<bigint, [bigint, Uint8Array][]>();
      ids.forEach((id, i) => {
        if (i === 0) return;
        const key = BigInt(i % 2) | (BigInt((i >> 1) % 2) << 1n);
        cells.set(key, [...(cells.get(key) ?? []), [id, rec(i)]]);
      });
      await putIndex(dir, 'l1', new Map([...cells].map(([k, v]) => [k, multiValue(v)])), sharding);
      if (sharding.shard_bits === 1) assert.deepEqual(fs.readdirSync(path.join(dir, 'by_id')).sort(), ['0.shard', '1.shard']);

      const ds = await readDatasetWithNeuroglancer(dir);
      const expectAnn = (i: number): NgAnnotation => ({ id: ids[i]!, type: 'point', point: fr(pos(i)), properties: [i === 0 ? 0 : -i] });
      for (let i = 0; i < ids.length; ++i) {
        assert.deepEqual(await ds.getById(ids[i]!), { ...expectAnn(i), relationships: [[BigInt(i % 3)]] });
      }
      assert.equal(await ds.getById(4n), undefined);
      assert.equal(await ds.getById(MAX_U64 - 1n), undefined);
      for (const seg of [0n, 1n, 2n]) {
        assert.deepEqual(await ds.getByRelationship('seg', seg), ids.map((_, i) => i).filter((i) => BigInt(i % 3) === seg).map(expectAnn));
      }
      assert.equal(await ds.getByRelationship('seg', 3n), undefined);
      assert.deepEqual(await ds.allSpatial(0), new Map([['0_0_0', [expectAnn(0)]]]));
      assert.equal(ds.spatialKey(1, [1, 1, 0]), 3n);
      const l1 = await ds.allSpatial(1);
      assert.deepEqual([...l1.keys()].sort(), ['0_0_0', '0_1_0', '1_0_0', '1_1_0']);
      for (let i = 1; i < ids.length; ++i) {
        assert.ok(l1.get(`${i % 2}_${(i >> 1) % 2}_0`)!.some((a) => a.id === ids[i]), `annotation ${i} in its level-1 cell`);
      }
    });
  }
});

// ---- what neuroglancer accepts in the info ------------------------------------------------------

describe('info acceptance (facts for the writer)', () => {
  const base = {
    dims: ['x', 'y'], lower: [0, 0], upper: [1, 1], type: 'point',
    spatial: [{ key: 's', grid_shape: [1, 1], chunk_size: [1, 1], limit: 1 }],
  };
  async function open(mutate: (o: Record<string, unknown>) => void) {
    const dir = makeDir();
    const o = JSON.parse(info(base));
    mutate(o);
    put(dir, 'info', JSON.stringify(o));
    return readDatasetWithNeuroglancer(dir);
  }

  test('by_id without sharding is accepted; "sharding": null is not', async () => {
    const ds = await open(() => {});
    assert.equal(ds.metadata.parameters.byId.sharding, undefined);
    await assert.rejects(open((o) => { o.by_id = { key: 'by_id', sharding: null }; }), /by_id/);
  });

  test('index keys are paths relative to the info directory ("../" allowed)', async () => {
    const parent = makeDir();
    const dir = path.join(parent, 'ann');
    fs.mkdirSync(dir);
    put(dir, 'info', info({ ...base, byId: { key: '../elsewhere/ids' } }));
    put(parent, 'elsewhere/ids/9', record([0.5, 0.5]));
    const ds = await readDatasetWithNeuroglancer(dir);
    assert.deepEqual((await ds.getById(9n))?.point, [0.5, 0.5]);
  });

  test('limit must be a positive integer', async () => {
    await assert.rejects(open((o) => { (o.spatial as { limit: number }[])[0]!.limit = 0; }), /limit.*positive integer/s);
  });

  test('properties may be omitted; relationships, by_id and spatial may not', async () => {
    assert.deepEqual((await open((o) => { delete o.properties; })).properties, []);
    for (const key of ['relationships', 'by_id', 'spatial']) {
      await assert.rejects(open((o) => { delete o[key]; }), new RegExp(key));
    }
  });

  // [name, mutation, undefined = accepted | RegExp of neuroglancer's error]
  const cases: [string, (o: any) => void, RegExp | undefined][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
    ['SI-prefixed units', (o) => { o.dimensions = { x: [4, 'nm'], y: [1, 'um'] }; }, undefined],
    ['unitless', (o) => { o.dimensions = { x: [1, ''], y: [2, ''] }; }, undefined],
    ['unit px', (o) => { o.dimensions = { x: [1, 'px'], y: [1, 'm'] }; }, /Invalid unit: "px"/],
    ['scale 0', (o) => { o.dimensions = { x: [0, 'm'], y: [1, 'm'] }; }, /positive finite/],
    ['dimension name starting with a digit', (o) => { o.dimensions = { x: [1, 'm'], '1y': [1, 'm'] }; }, /Invalid dimension name/],
    ['missing @type', (o) => { delete o['@type']; }, /data_type/],
    ['annotation_type in capitals', (o) => { o.annotation_type = 'POLYLINE'; }, undefined],
    ['empty spatial list', (o) => { o.spatial = []; }, undefined],
    ['unknown members', (o) => { o.extra = 1; o.spatial[0].extra = 2; }, undefined],
    ['lower_bound of wrong length', (o) => { o.lower_bound = [0]; }, /lower_bound.*Expected length 2/s],
    ['lower above upper', (o) => { o.lower_bound = [2, 2]; }, undefined],
    ['grid_shape 0', (o) => { o.spatial[0].grid_shape = [0, 1]; }, /grid_shape.*positive integer/s],
    ['grid_shape 1.5 (truncated by parseInt)', (o) => { o.spatial[0].grid_shape = [1.5, 1]; }, undefined],
    ['chunk_size 0', (o) => { o.spatial[0].chunk_size = [0, 1]; }, /chunk_size.*positive finite/s],
    ['property id with a capital', (o) => { o.properties = [{ id: 'Abc', type: 'uint8' }]; }, /Invalid property identifier/],
    ['duplicate property id', (o) => { o.properties = [{ id: 'a', type: 'uint8' }, { id: 'a', type: 'int8' }]; }, /Duplicate property identifier/],
    ['property type float64', (o) => { o.properties = [{ id: 'a', type: 'float64' }]; }, /Unsupported property type/],
    ['enum_values without enum_labels', (o) => { o.properties = [{ id: 'a', type: 'uint8', enum_values: [1] }]; }, /enum_labels/],
    ['enum value outside uint8', (o) => { o.properties = [{ id: 'a', type: 'uint8', enum_values: [300], enum_labels: ['x'] }]; }, /Invalid uint8 value/],
    ['negative enum value for uint8', (o) => { o.properties = [{ id: 'a', type: 'uint8', enum_values: [-1], enum_labels: ['x'] }]; }, /Invalid uint8 value/],
    ['relationship id with spaces', (o) => { o.relationships = [{ id: 'pre synaptic', key: 'rel' }]; }, undefined],
    ['relationship without key', (o) => { o.relationships = [{ id: 'r' }]; }, /key/],
    ['sharding encodings omitted, hash in capitals', (o) => { o.by_id.sharding = { '@type': 'neuroglancer_uint64_sharded_v1', hash: 'Identity', preshift_bits: 0, shard_bits: 0, minishard_bits: 0 }; }, undefined],
    ['sharding without preshift_bits', (o) => { o.by_id.sharding = { '@type': 'neuroglancer_uint64_sharded_v1', hash: 'identity', shard_bits: 0, minishard_bits: 0 }; }, /preshift_bits/],
  ];
  for (const [name, mutate, error] of cases) {
    test(`${error === undefined ? 'accepts' : 'rejects'}: ${name}`, async () => {
      if (error === undefined) await open(mutate);
      else await assert.rejects(open(mutate), error);
    });
  }

  test('unknown sharding @type is rejected', async () => {
    await assert.rejects(
      open((o) => { o.by_id = { key: 'by_id', sharding: { '@type': 'other', hash: 'identity', preshift_bits: 0, shard_bits: 0, minishard_bits: 0 } }; }),
      /Unsupported sharding format/,
    );
  });
});
