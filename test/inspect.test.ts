// `inspect` on datasets whose bytes are written here by hand (shards placed with neuroglancer's own
// hash, not ours), one consistent and many broken, plus the writer's real output.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { murmurHash3_x86_128Hash64Bits_Bigint } from 'neuroglancer/unstable/util/hash.js';
import { getPropertyOffsets } from 'neuroglancer/unstable/annotation/index.js';
import { tableFromArrays } from 'apache-arrow';
import { run } from '../src/cli/inspect';
import { inspectDataset } from '../src/inspect/check';
import { layoutProperties } from '../src/inspect/info';
import { mortonDecode } from '../src/inspect/morton';
import { shardOf } from '../src/inspect/sharded';
import { murmurHash3X86_128Low64Big } from '../src/core/murmur';

// ---- byte builders (the format, spelled out) -------------------------------------------------

const f32 = (...v: number[]) => Buffer.from(new Float32Array(v).buffer);
const u32 = (v: number) => Buffer.from(new Uint32Array([v]).buffer);
const u64 = (...v: bigint[]) => Buffer.from(new BigUint64Array(v).buffer);

/** 3-D point record with score:float32, kind:uint8 enum, color:rgb → 12 + 4 + 1 + 3 = 20 bytes. */
function pointRecord(x: number, y: number, z: number, score: number, kind: number, rgb: [number, number, number]): Buffer {
  return Buffer.concat([f32(x, y, z), f32(score), Buffer.from([kind, ...rgb])]);
}
const byIdValue = (rec: Buffer, related: bigint[]) => Buffer.concat([rec, u32(related.length), u64(...related)]);
const multiValue = (recs: Buffer[], ids: bigint[]) => Buffer.concat([u64(BigInt(recs.length)), ...recs, u64(...ids)]);

interface ShardingParams {
  preshift_bits: number;
  shard_bits: number;
  minishard_bits: number;
  hash: 'murmurhash3_x86_128' | 'identity';
  gzip: boolean;
}
const shardingJson = (p: ShardingParams) => ({
  '@type': 'neuroglancer_uint64_sharded_v1',
  hash: p.hash,
  preshift_bits: p.preshift_bits,
  shard_bits: p.shard_bits,
  minishard_bits: p.minishard_bits,
  data_encoding: p.gzip ? 'gzip' : 'raw',
  minishard_index_encoding: p.gzip ? 'gzip' : 'raw',
});

function hashOf(key: bigint, p: ShardingParams): bigint {
  const shifted = key >> BigInt(p.preshift_bits);
  return p.hash === 'identity' ? shifted : murmurHash3_x86_128Hash64Bits_Bigint(0, shifted);
}

/** sharded.md: shard index, then per minishard its chunks and its (delta-encoded) index. */
function buildShards(
  entries: Map<bigint, Buffer>,
  p: ShardingParams,
  misplace?: bigint,
  order: (keys: bigint[]) => bigint[] = (k) => k,
): Map<string, Buffer> {
  const byShard = new Map<bigint, Map<bigint, bigint[]>>();
  for (const key of [...entries.keys()].sort((a, b) => (a < b ? -1 : 1))) {
    const h = hashOf(key, p);
    let minishard = h & ((1n << BigInt(p.minishard_bits)) - 1n);
    const shard = (h >> BigInt(p.minishard_bits)) & ((1n << BigInt(p.shard_bits)) - 1n);
    if (key === misplace) minishard ^= 1n;
    if (!byShard.has(shard)) byShard.set(shard, new Map());
    const m = byShard.get(shard)!;
    if (!m.has(minishard)) m.set(minishard, []);
    m.get(minishard)!.push(key);
  }
  const files = new Map<string, Buffer>();
  const enc = (b: Buffer) => (p.gzip ? gzipSync(b) : b);
  for (const [shard, minishards] of byShard) {
    const n = 1 << p.minishard_bits;
    const index = Buffer.alloc(16 * n);
    const body: Buffer[] = [];
    let at = 0;
    for (let ms = 0; ms < n; ms++) {
      const listed = minishards.get(BigInt(ms));
      if (!listed) continue;
      const keys = order(listed);
      const ids: bigint[] = [];
      const starts: bigint[] = [];
      const sizes: bigint[] = [];
      let prevKey = 0n;
      let prevEnd = 0;
      for (const k of keys) {
        const data = enc(entries.get(k)!);
        ids.push(BigInt.asUintN(64, k - prevKey)); // wraps for unsorted ids, as uint64 deltas do
        starts.push(BigInt(at - prevEnd));
        sizes.push(BigInt(data.length));
        body.push(data);
        prevKey = k;
        at += data.length;
        prevEnd = at;
      }
      const mi = enc(u64(...ids, ...starts, ...sizes));
      index.writeBigUInt64LE(BigInt(at), 16 * ms);
      index.writeBigUInt64LE(BigInt(at + mi.length), 16 * ms + 8);
      body.push(mi);
      at += mi.length;
    }
    files.set(shard.toString(16).padStart(Math.ceil(p.shard_bits / 4), '0') + '.shard', Buffer.concat([index, ...body]));
  }
  return files;
}

// ---- a small consistent dataset ---------------------------------------------------------------

interface Ann {
  id: bigint;
  p: [number, number, number];
  score: number;
  kind: number;
  rgb: [number, number, number];
  seg: bigint[];
  level: number;
}
// Bounds [0,10]×[0,10]×[0,2]; level 0: grid 1×1×1; level 1: grid 2×2×1 (chunk 5×5×2).
const ANNS: Ann[] = [
  { id: 1n, p: [1, 1, 1], score: 0.5, kind: 0, rgb: [255, 0, 0], seg: [100n], level: 0 },
  { id: 2n, p: [9, 9, 1], score: 1.5, kind: 1, rgb: [0, 255, 0], seg: [100n, 200n], level: 0 },
  { id: 3n, p: [2, 8, 0], score: -1, kind: 1, rgb: [0, 0, 255], seg: [], level: 1 },
  { id: 2n ** 64n - 1n, p: [7, 2, 2], score: 3, kind: 0, rgb: [1, 2, 3], seg: [200n], level: 1 },
  { id: 2n ** 53n + 1n, p: [10, 10, 2], score: 4, kind: 0, rgb: [9, 9, 9], seg: [2n ** 63n], level: 1 },
];
const rec = (a: Ann) => pointRecord(...a.p, a.score, a.kind, a.rgb);

function info(sharding?: ShardingParams, extra: Record<string, unknown> = {}) {
  const sh = (o: Record<string, unknown>) => (sharding ? { ...o, sharding: shardingJson(sharding) } : o);
  return {
    '@type': 'neuroglancer_annotations_v1',
    dimensions: { x: [8, 'nm'], y: [8, 'nm'], z: [40, 'nm'] },
    lower_bound: [0, 0, 0],
    upper_bound: [10, 10, 2],
    annotation_type: 'point',
    properties: [
      { id: 'kind', type: 'uint8', enum_values: [0, 1], enum_labels: ['a', 'b'] },
      { id: 'color', type: 'rgb' },
      { id: 'score', type: 'float32' },
    ],
    by_id: sh({ key: 'by_id' }),
    relationships: [sh({ id: 'seg', key: 'by_rel_seg' })],
    spatial: [
      sh({ key: 'by_spatial_level_0', grid_shape: [1, 1, 1], chunk_size: [10, 10, 2], limit: 2 }),
      sh({ key: 'by_spatial_level_1', grid_shape: [2, 2, 1], chunk_size: [5, 5, 2], limit: 1 }),
    ],
    ...extra,
  };
}

/** Cells an annotation is stored in at its level (points on a cell face go to both cells). */
function cellsOf(a: Ann): number[][] {
  if (a.level === 0) return [[0, 0, 0]];
  return [[Math.min(1, Math.floor(a.p[0] / 5)), Math.min(1, Math.floor(a.p[1] / 5)), 0]];
}
const morton2x2x1 = ([x, y]: number[]) => BigInt(x | (y << 1));

interface Contents {
  byId: Map<bigint, Buffer>;
  rel: Map<bigint, Buffer>;
  levels: Map<string, { cell: number[]; value: Buffer }>[];
}

function contents(anns: Ann[] = ANNS): Contents {
  const byId = new Map(anns.map((a) => [a.id, byIdValue(rec(a), a.seg)]));
  const relIds = new Map<bigint, Ann[]>();
  for (const a of anns) for (const s of a.seg) relIds.set(s, [...(relIds.get(s) ?? []), a]);
  const rel = new Map([...relIds].map(([s, as]) => [s, multiValue(as.map(rec), as.map((a) => a.id))]));
  const levels = [0, 1].map((level) => {
    const cells = new Map<string, Ann[]>();
    for (const a of anns.filter((a) => a.level === level)) for (const c of cellsOf(a)) cells.set(c.join('_'), [...(cells.get(c.join('_')) ?? []), a]);
    return new Map([...cells].map(([k, as]) => [k, { cell: k.split('_').map(Number), value: multiValue(as.map(rec), as.map((a) => a.id)) }]));
  });
  return { byId, rel, levels };
}

function writeDataset(dir: string, c: Contents, sharding?: ShardingParams, infoJson: unknown = info(sharding), misplace?: bigint): void {
  mkdirSync(dir, { recursive: true });
  const put = (key: string, files: Map<string, Buffer>) => {
    mkdirSync(path.join(dir, key), { recursive: true });
    for (const [name, data] of files) writeFileSync(path.join(dir, key, name), data);
  };
  const uint64Index = (m: Map<bigint, Buffer>) =>
    sharding ? buildShards(m, sharding, misplace) : new Map([...m].map(([k, v]) => [k.toString(), v]));
  put('by_id', uint64Index(c.byId));
  put('by_rel_seg', uint64Index(c.rel));
  c.levels.forEach((cells, level) => {
    const files = sharding
      ? buildShards(new Map([...cells.values()].map(({ cell, value }) => [level === 0 ? 0n : morton2x2x1(cell), value])), sharding)
      : new Map([...cells].map(([k, { value }]) => [k, value]));
    put(`by_spatial_level_${level}`, files);
  });
  if (infoJson !== undefined) writeFileSync(path.join(dir, 'info'), JSON.stringify(infoJson));
}

async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await run(argv, { out: (s) => (out += s), err: (s) => (out += s) });
  return { code, out };
}

const SHARDED: ShardingParams = { preshift_bits: 0, shard_bits: 1, minishard_bits: 1, hash: 'murmurhash3_x86_128', gzip: true };

// ---- tests ----------------------------------------------------------------------------------

describe('format primitives', () => {
  test('murmurhash3_x86_128 low 64 bits: spec vectors and neuroglancer agree', () => {
    assert.equal(murmurHash3X86_128Low64Big(0n), 0x4772b084e028ae41n);
    assert.equal(murmurHash3X86_128Low64Big(1n), 0xe8bd67d616d4ce9an);
    assert.equal(murmurHash3X86_128Low64Big(42n), 0xc20b94f95119f47an);
    let k = 0x9e3779b97f4a7c15n;
    for (let i = 0; i < 200; i++) {
      k = BigInt.asUintN(64, k * 6364136223846793005n + 1442695040888963407n);
      assert.equal(murmurHash3X86_128Low64Big(k), murmurHash3_x86_128Hash64Bits_Bigint(0, k), `key ${k}`);
    }
  });

  test('shardOf follows sharded.md (preshift, minishard = low bits, shard = next bits)', () => {
    const p = { preshiftBits: 2, hash: 'murmurhash3_x86_128' as const, minishardBits: 3, shardBits: 4, minishardIndexEncoding: 'gzip' as const, dataEncoding: 'gzip' as const };
    for (const key of [0n, 5n, 1000n, 2n ** 64n - 1n]) {
      const h = murmurHash3_x86_128Hash64Bits_Bigint(0, key >> 2n);
      assert.deepEqual(shardOf(key, p), { minishard: h & 7n, shard: (h >> 3n) & 15n });
    }
    assert.deepEqual(shardOf(0b1101_101n, { ...p, hash: 'identity', preshiftBits: 0 }), { minishard: 0b101n, shard: 0b1101n });
  });

  test('compressed Morton decode: examples from volume.md / reference (h)', () => {
    assert.deepEqual(mortonDecode(143n, [5, 16, 3]), [3, 5, 1]);
    assert.deepEqual(mortonDecode(114n, [5, 16, 3]), [4, 3, 2]);
    assert.deepEqual(mortonDecode(7n, [4, 2, 1]), [3, 1, 0]);
    assert.deepEqual(mortonDecode(4n, [2, 2, 2]), [0, 0, 1]);
    assert.deepEqual(mortonDecode(8n, [4, 4, 4]), [2, 0, 0]);
    assert.deepEqual(mortonDecode(55n, [8, 4, 2]), [5, 3, 1]);
    assert.deepEqual(mortonDecode(5n, [2, 4, 1]), [1, 2, 0]);
    assert.equal(mortonDecode(8n, [2, 2, 2]), undefined); // a bit no cell uses
    assert.equal(mortonDecode(4n, [3, 1, 1]), undefined); // beyond the grid
  });

  test('property layout: widest first, stable, padded to 4 (reference (e) example → 16 bytes of properties)', () => {
    const props = [
      { type: 'float32' as const }, { type: 'uint32' as const }, { type: 'uint16' as const },
      { type: 'uint8' as const }, { type: 'rgb' as const }, { type: 'int8' as const },
    ];
    assert.deepEqual(layoutProperties(props, 12), { offsets: [0, 4, 8, 10, 11, 14], bytes: 16 });
    assert.deepEqual(layoutProperties([{ type: 'uint8' }, { type: 'float32' }], 12), { offsets: [4, 0], bytes: 8 });
    assert.deepEqual(layoutProperties([], 12), { offsets: [], bytes: 0 });
  });

  test("property layout equals neuroglancer's getPropertyOffsets, including >255-byte records split into groups", () => {
    const types = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'rgb', 'rgba'] as const;
    let s = 7;
    const rnd = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n);
    for (let trial = 0; trial < 300; trial++) {
      const rank = 1 + rnd(4);
      const geometry = [4 * rank, 8 * rank, 4 + 8 * rank][rnd(3)];
      const props = Array.from({ length: rnd(trial < 150 ? 12 : 120) }, () => ({ type: types[rnd(types.length)] }));
      const ng = getPropertyOffsets(rank, geometry, props as never);
      const starts = [0];
      for (const g of ng.propertyGroupBytes) starts.push(starts[starts.length - 1] + g);
      const ours = layoutProperties(props, geometry);
      assert.equal(ours.bytes, ng.serializedBytes - geometry, JSON.stringify(props));
      assert.deepEqual(ours.offsets, ng.offsets.map((o) => starts[o.group] + o.offset - geometry), JSON.stringify(props));
    }
  });
});

describe('inspect on hand-made datasets', () => {
  let base: string;
  let n = 0;
  const fresh = () => path.join(base, `ds${n++}`);
  before(() => {
    base = mkdtempSync(path.join(tmpdir(), 'nginspect-'));
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  test('consistent sharded dataset (murmur, 2 shards × 2 minishards, gzip): exit 0 and a full summary', async () => {
    const dir = fresh();
    writeDataset(dir, contents(), SHARDED);
    const r = await inspectDataset(dir);
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    const s = r.summary!;
    assert.equal(s.annotationType, 'point');
    assert.equal(s.rank, 3);
    assert.equal(s.byId!.annotations, 5);
    assert.deepEqual(
      s.relationships.map((x) => [x.id, x.relatedIds, x.entries]),
      [['seg', 3, 5]],
    );
    assert.deepEqual(
      s.spatial.map((l) => [l.level, l.gridShape, l.chunks, l.entries, l.limit]),
      [[0, [1, 1, 1], 1, 2, 2], [1, [2, 2, 1], 3, 3, 1]],
    );
    assert.equal(s.byId!.sharding!.shard_bits, 1);
    assert.deepEqual(s.properties[0], { id: 'kind', type: 'uint8', enum: { a: 0, b: 1 } });
    const c = await cli([dir]);
    assert.equal(c.code, 0, c.out);
    assert.match(c.out, /type\s+point, rank 3/);
    assert.match(c.out, /5 annotations in by_id\//);
    assert.match(c.out, /seg: 3 related ids/);
    assert.match(c.out, /level 1 \(by_spatial_level_1\/\): grid 2×2×1, chunk 5×5×2, limit 1; 3 non-empty cells, 3 entries/);
    assert.match(c.out, /sharded \(murmurhash3_x86_128, preshift 0, shard bits 1, minishard bits 1, data gzip, index gzip\)/);
    assert.match(c.out, /OK: consistent/);
    const j = await cli([dir, '--json']);
    assert.equal(j.code, 0);
    assert.equal(JSON.parse(j.out).summary.byId.annotations, 5);
  });

  test('consistent unsharded dataset and identity-hash raw shards: exit 0', async () => {
    const a = fresh();
    writeDataset(a, contents());
    assert.deepEqual((await inspectDataset(a)).problems, []);
    const b = fresh();
    writeDataset(b, contents(), { preshift_bits: 1, shard_bits: 2, minishard_bits: 0, hash: 'identity', gzip: false });
    assert.deepEqual((await inspectDataset(b)).problems, []);
  });

  test('progress: each index announced in reading order', async () => {
    const dir = fresh();
    writeDataset(dir, contents(), SHARDED);
    const seen: string[] = [];
    await inspectDataset(dir, { onProgress: ({ index, values }) => values === 0 && seen.push(index) });
    assert.deepEqual(seen, ['by_id', 'by_rel_seg', 'by_spatial_level_0', 'by_spatial_level_1']);
  });

  test('missing info → exit 1', async () => {
    const dir = fresh();
    writeDataset(dir, contents(), undefined, null);
    rmSync(path.join(dir, 'info'));
    const c = await cli([dir]);
    assert.equal(c.code, 1);
    assert.match(c.out, /error: info: missing/);
  });

  test('invalid info: wrong @type, bad property id, bad type, bad grid → exit 1 naming each', async () => {
    const dir = fresh();
    writeDataset(dir, contents(), undefined, { ...info(), '@type': 'neuroglancer_multiscale_volume' });
    assert.match((await cli([dir])).out, /"@type" is "neuroglancer_multiscale_volume"/);
    const bad = info();
    bad.properties = [{ id: 'Bad', type: 'uint8' } as never, { id: 'ok', type: 'uint64' } as never];
    (bad.spatial[1] as Record<string, unknown>).grid_shape = [2, 2];
    bad.annotation_type = 'sphere';
    writeFileSync(path.join(dir, 'info'), JSON.stringify(bad));
    const c = await cli([dir]);
    assert.equal(c.code, 1);
    assert.match(c.out, /annotation_type" is "sphere"/);
    assert.match(c.out, /id "Bad" does not match/);
    assert.match(c.out, /unknown type "uint64"/);
    assert.match(c.out, /spatial\[1\]: needs grid_shape/);
  });

  test("info that neuroglancer's reader refuses: missing arrays, by_id without key, unknown unit → exit 1", async () => {
    const dir = fresh();
    writeDataset(dir, contents());
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ properties: undefined }, /"properties" must be an array \(neuroglancer requires it/],
      [{ relationships: undefined }, /"relationships" must be an array/],
      [{ spatial: undefined }, /"spatial" must be an array/],
      [{ by_id: {} }, /"by_id" must be an object with a "key"/],
      [{ dimensions: { x: [8, 'nm'], y: [8, 'nanometer'], z: [40, 'nm'] } }, /does not know the unit "nanometer"/],
    ];
    for (const [patch, re] of cases) {
      writeFileSync(path.join(dir, 'info'), JSON.stringify({ ...info(), ...patch }));
      const c = await cli([dir]);
      assert.equal(c.code, 1, JSON.stringify(patch));
      assert.match(c.out, re);
    }
    // Units neuroglancer accepts: SI prefixes (also u for micro) on m, s, Hz, rad/s, or none.
    writeFileSync(path.join(dir, 'info'), JSON.stringify({ ...info(), dimensions: { x: [1, 'um'], y: [2, ''], z: [3, 'ms'] } }));
    assert.equal((await cli([dir])).code, 0);
  });

  test('truncated shard → exit 1', async () => {
    const dir = fresh();
    writeDataset(dir, contents(), SHARDED);
    const shard = path.join(dir, 'by_id', readdirFirstShard(path.join(dir, 'by_id')));
    truncateSync(shard, readFileSync(shard).length - 7);
    const c = await cli([dir]);
    assert.equal(c.code, 1);
    assert.match(c.out, /by_id\/\w+\.shard: minishard \d: index range .* outside the \d+-byte file/);
    // The annotations in the lost minishard are then missing from by_id.
    assert.match(c.out, /is not in by_id|in no spatial level/);
    const tiny = fresh();
    writeDataset(tiny, contents(), SHARDED);
    const s2 = path.join(tiny, 'by_id', readdirFirstShard(path.join(tiny, 'by_id')));
    truncateSync(s2, 20);
    assert.match((await cli([tiny])).out, /truncated: 20 bytes, shorter than its 32-byte shard index/);
  });

  test('corrupt gzip in a shard → exit 1', async () => {
    const dir = fresh();
    writeDataset(dir, contents(), SHARDED);
    const shard = path.join(dir, 'by_rel_seg', readdirFirstShard(path.join(dir, 'by_rel_seg')));
    const b = readFileSync(shard);
    b[32 + 12] ^= 0xff; // inside the first chunk's gzip stream
    writeFileSync(shard, b);
    const c = await cli([dir]);
    assert.equal(c.code, 1);
    assert.match(c.out, /does not decode \(gzip\)/);
  });

  test('key in the wrong minishard → exit 1 naming the key and where its hash puts it', async () => {
    const dir = fresh();
    writeDataset(dir, contents(), SHARDED, info(SHARDED), 3n);
    const c = await cli([dir]);
    assert.equal(c.code, 1);
    assert.match(c.out, /key 3: stored in shard \d minishard (\d), but its hash puts it in shard \d minishard (?!\1)\d; neuroglancer will not find it/);
  });

  test('minishard ids out of order → warning only; a key stored twice → exit 1', async () => {
    const one: ShardingParams = { preshift_bits: 0, shard_bits: 0, minishard_bits: 0, hash: 'murmurhash3_x86_128', gzip: false };
    const c = contents();
    const dir = fresh();
    mkdirSync(path.join(dir, 'by_id'), { recursive: true });
    writeDataset(dir, c, one);
    const put = (files: Map<string, Buffer>) => writeFileSync(path.join(dir, 'by_id', '0.shard'), files.get('0.shard')!);
    put(buildShards(c.byId, one, undefined, (k) => [...k].reverse()));
    const r = await cli([dir]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /warning: by_id\/0\.shard: minishard 0, key \d+: chunk ids not in increasing order/);
    put(buildShards(c.byId, one, undefined, (k) => [k[0], ...k]));
    const d = await cli([dir]);
    assert.equal(d.code, 1);
    assert.match(d.out, /key 1: key appears twice in this shard; neuroglancer reads only the first/);
  });

  test('record size mismatch in by_id, by_rel and spatial → exit 1', async () => {
    const c = contents();
    c.byId.set(3n, Buffer.concat([c.byId.get(3n)!, Buffer.from([0])]));
    const rel = c.rel.get(100n)!;
    c.rel.set(100n, rel.subarray(0, rel.length - 1));
    const [k0, v0] = [...c.levels[1]][0];
    const bad = Buffer.from(v0.value);
    bad.writeUInt32LE(2, 0); // count says 2, one record present
    c.levels[1].set(k0, { ...v0, value: bad });
    const dir = fresh();
    writeDataset(dir, c);
    const r = await cli([dir]);
    assert.equal(r.code, 1);
    assert.match(r.out, /by_id\/3: by_id value of 3: 1 unexpected trailing bytes/);
    assert.match(r.out, /by_rel_seg\/100: related id 100: 63 bytes, expected 64 for 2 records of 20 bytes/);
    assert.match(r.out, /by_spatial_level_1\/\d_\d_0: cell \d_\d_0: 36 bytes, expected 64 for 2 records of 20 bytes/);
  });

  test('ids that disagree between indexes → exit 1', async () => {
    const c = contents();
    // id 3 vanishes from the spatial index; id 77 appears only there; id 1 also sits in level 1.
    const extra: Ann = { ...ANNS[0], id: 77n, level: 1 };
    const l1 = contents([...ANNS.filter((a) => a.id !== 3n && a.level === 1), extra, { ...ANNS[0], level: 1 }]).levels[1];
    c.levels[1] = l1;
    const dir = fresh();
    writeDataset(dir, c);
    const r = await cli([dir]);
    assert.equal(r.code, 1);
    assert.match(r.out, /annotation 3 is in by_id but in no spatial level/);
    assert.match(r.out, /annotation 77 \(spatial level 1\) is not in by_id/);
    assert.match(r.out, /annotation 1 is in spatial levels 0 and 1/);
  });

  test('relationship index disagreeing with by_id, and a record that differs between indexes → exit 1', async () => {
    const c = contents();
    const a = ANNS[0];
    c.rel.set(200n, multiValue([rec(ANNS[1])], [ANNS[1].id])); // drops the 2^64-1 member
    c.rel.set(100n, multiValue([pointRecord(1, 1, 1, 0.25, a.kind, a.rgb), rec(ANNS[1])], [a.id, ANNS[1].id]));
    const dir = fresh();
    writeDataset(dir, c);
    const r = await cli([dir]);
    assert.equal(r.code, 1);
    assert.match(r.out, /related id 200: by_id lists 2 annotation\(s\) \[2, 18446744073709551615\] but by_rel_seg holds 1 \[2\]/);
    assert.match(r.out, /annotation 1 \(related to seg 100\) has other geometry\/property bytes than in by_id/);
  });

  test('annotation stored in a cell it does not touch → exit 1', async () => {
    const c = contents();
    const moved = new Map<string, { cell: number[]; value: Buffer }>();
    for (const [k, v] of c.levels[1]) {
      const cell = [1 - v.cell[0], v.cell[1], 0];
      moved.set(cell.join('_'), { cell, value: v.value });
    }
    c.levels[1] = moved;
    const dir = fresh();
    writeDataset(dir, c);
    const r = await cli([dir]);
    assert.equal(r.code, 1);
    assert.match(r.out, /annotation 3 spans \[2, 2\] on x, which does not touch cell 1_1_0 \(\[5, 10\]\)/);
  });

  test('unexpected files and names neuroglancer never requests → exit 1; stray top-level file → warning', async () => {
    const dir = fresh();
    writeDataset(dir, contents());
    writeFileSync(path.join(dir, 'by_id', '007'), 'x');
    writeFileSync(path.join(dir, 'by_spatial_level_1', '0_0'), 'x');
    writeFileSync(path.join(dir, 'by_spatial_level_1', '2_0_0'), 'x');
    writeFileSync(path.join(dir, 'README'), 'notes');
    const r = await cli([dir]);
    assert.equal(r.code, 1);
    assert.match(r.out, /error: by_id\/007: unexpected file: ids are named in canonical decimal/);
    assert.match(r.out, /error: by_spatial_level_1\/0_0: unexpected file: cells are named/);
    assert.match(r.out, /error: by_spatial_level_1\/2_0_0: unexpected file/);
    assert.match(r.out, /warning: README: unexpected entry/);
    const s = fresh();
    writeDataset(s, contents(), SHARDED);
    writeFileSync(path.join(s, 'by_id', '2.shard'), 'x'); // shard_bits 1 → only 0.shard and 1.shard exist
    writeFileSync(path.join(s, 'by_id', '0.shard.tmp'), 'x');
    const rs = await cli([s]);
    assert.equal(rs.code, 1);
    assert.match(rs.out, /by_id\/2\.shard: unexpected file: with shard_bits 1/);
    assert.match(rs.out, /by_id\/0\.shard\.tmp: unexpected file/);
  });

  test('polyline dataset (unsharded, 2-D): consistent, then a vertex count that overruns', async () => {
    const dir = fresh();
    mkdirSync(path.join(dir, 'by_id'), { recursive: true });
    mkdirSync(path.join(dir, 'sp'));
    const pl = (pts: number[][]) => Buffer.concat([u32(pts.length), f32(...pts.flat()), Buffer.from([7, 0, 0, 0])]);
    const a = pl([[0, 0], [4, 4], [4, 0]]);
    const b = pl([[1, 3], [2, 3]]);
    writeFileSync(path.join(dir, 'by_id', '10'), a);
    writeFileSync(path.join(dir, 'by_id', '11'), b);
    writeFileSync(path.join(dir, 'sp', '0_0'), multiValue([a, b], [10n, 11n]));
    writeFileSync(
      path.join(dir, 'info'),
      JSON.stringify({
        '@type': 'neuroglancer_annotations_v1',
        dimensions: { x: [1, 'um'], y: [1, 'um'] },
        lower_bound: [0, 0],
        upper_bound: [4, 4],
        annotation_type: 'POLYLINE',
        properties: [{ id: 'n', type: 'uint8' }],
        relationships: [],
        by_id: { key: 'by_id' },
        spatial: [{ key: 'sp', grid_shape: [1, 1], chunk_size: [4, 4], limit: 2 }],
      }),
    );
    const ok = await inspectDataset(dir);
    assert.deepEqual(ok.problems, []);
    assert.equal(ok.summary!.byId!.annotations, 2);
    const broken = Buffer.from(a);
    broken.writeUInt32LE(4, 0);
    writeFileSync(path.join(dir, 'by_id', '10'), broken);
    const r = await cli([dir]);
    assert.equal(r.code, 1);
    assert.match(r.out, /by_id\/10: by_id value of 10: record at byte 0 needs 40 bytes, only 32 left/);
  });

  test('usage errors → exit 2', async () => {
    assert.equal((await cli([])).code, 2);
    assert.equal((await cli(['a', 'b'])).code, 2);
    const r = await cli(['--bogus', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.out, /ng-annotations inspect: unknown option --bogus\nsee 'ng-annotations inspect --help'/);
  });
});

function readdirFirstShard(dir: string): string {
  for (const name of ['0.shard', '1.shard']) if (existsSync(path.join(dir, name))) return name;
  throw new Error(`no shard in ${dir}`);
}

describe("inspect on the writer's output", () => {
  let base: string;
  before(() => {
    base = mkdtempSync(path.join(tmpdir(), 'nginspectw-'));
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  const writerPath = path.resolve(__dirname, '../src/core/write.ts');
  const skip = existsSync(writerPath) ? false : 'the writer (src/core/write.ts) is not there yet';

  for (const opts of [{ writeById: false }, { writeByRelationship: false }, { writeBySpatialChunk: false }]) {
    test(`indexes left out on purpose (${JSON.stringify(opts)}): consistent`, { skip }, async () => {
      const { writePrecomputedAnnotations } = await import('../src/export/run');
      const n = 200;
      const col = () => Float32Array.from({ length: n }, (_, i) => (i * 37) % 101);
      const table = tableFromArrays({ x: col(), y: col(), z: col(), seg: BigUint64Array.from({ length: n }, (_, i) => BigInt(i % 7)) });
      const out = path.join(base, `partial-${Object.keys(opts)[0]}`);
      await writePrecomputedAnnotations(table, 'xyz', 'point', { outputDir: out, relationships: ['seg'], writeSharded: false, ...opts });
      const r = await inspectDataset(out);
      assert.deepEqual(r.problems.filter((p) => p.severity === 'error'), []);
      assert.equal(r.ok, true);
    });
  }

  for (const type of ['point', 'line', 'axis_aligned_bounding_box', 'ellipsoid', 'polyline'] as const) {
    for (const sharded of [true, false]) {
      test(`${type}, ${sharded ? 'sharded' : 'unsharded'}: consistent`, { skip }, async () => {
        const { writePrecomputedAnnotations } = await import('../src/export/run');
        // Unsharded output is one file per key: keep it small so the suite stays fast.
        const n = sharded ? 3000 : 400;
        let s = 12345;
        const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 1000;
        const col = () => Float32Array.from({ length: n }, rnd);
        const cols: Record<string, unknown> = {
          annotation_id: BigUint64Array.from({ length: n }, (_, i) => BigInt(i) * 7919n + 2n ** 60n),
          score: Float32Array.from({ length: n }, (_, i) => i / 7),
          kind: Uint8Array.from({ length: n }, (_, i) => i % 3),
          seg: BigUint64Array.from({ length: n }, (_, i) => BigInt(i % 50) + 2n ** 63n),
        };
        const geom: Record<string, string[]> = {
          point: ['x', 'y', 'z'],
          line: ['xa', 'ya', 'za', 'xb', 'yb', 'zb'],
          axis_aligned_bounding_box: ['xa', 'ya', 'za', 'xb', 'yb', 'zb'],
          ellipsoid: ['x', 'y', 'z', 'rx', 'ry', 'rz'],
          polyline: [],
        };
        for (const g of geom[type]) cols[g] = g.startsWith('r') ? Float32Array.from({ length: n }, () => rnd() / 50) : col();
        const table = tableFromArrays(cols as Parameters<typeof tableFromArrays>[0]);
        let points;
        if (type === 'polyline') {
          const ids: bigint[] = [];
          const xs: number[] = [];
          for (let i = 0; i < n; i++) for (let v = 0; v < 2 + (i % 4); v++) ids.push(BigInt(i) * 7919n + 2n ** 60n), xs.push(rnd());
          points = tableFromArrays({
            annotation_id: BigUint64Array.from(ids),
            x: Float32Array.from(xs),
            y: Float32Array.from(xs, () => rnd()),
            z: Float32Array.from(xs, () => rnd()),
          });
        }
        const out = path.join(base, `${type}-${sharded}`);
        await writePrecomputedAnnotations(table, 'xyz', type, {
          outputDir: out,
          properties: ['score', 'kind'],
          relationships: ['seg'],
          writeSharded: sharded,
          targetChunkLimit: sharded ? 200 : 40,
          polylinePoints: points,
          seed: 1,
        });
        const r = await inspectDataset(out);
        assert.deepEqual(r.problems.filter((p) => p.severity === 'error'), []);
        assert.equal(r.ok, true);
        assert.equal(r.summary!.byId!.annotations, n);
        assert.equal(r.summary!.relationships[0].relatedIds, 50);
        assert.ok(r.summary!.spatial.length >= 2, 'several spatial levels');
      });
    }
  }
});

describe('inspect never crashes on damaged bytes (bounded fuzz)', () => {
  let base: string;
  before(() => {
    base = mkdtempSync(path.join(tmpdir(), 'nginspectf-'));
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  test('random byte flips, truncations and extensions of shard and unsharded files', async () => {
    let s = 99;
    const rnd = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n);
    const sharded = path.join(base, 'sharded');
    const plain = path.join(base, 'plain');
    writeDataset(sharded, contents(), SHARDED);
    writeDataset(plain, contents());
    const files = [
      ...['by_id', 'by_rel_seg', 'by_spatial_level_0', 'by_spatial_level_1'].flatMap((k) =>
        ['0.shard', '1.shard'].map((f) => path.join(sharded, k, f)).filter((f) => existsSync(f)),
      ),
      path.join(plain, 'by_id', '3'),
      path.join(plain, 'by_rel_seg', '200'),
      path.join(plain, 'by_spatial_level_0', '0_0_0'),
    ];
    const originals = new Map(files.map((f) => [f, readFileSync(f)]));
    let broken = 0;
    let changed = 0;
    for (let i = 0; i < 150; i++) {
      const f = files[rnd(files.length)];
      const b = Buffer.from(originals.get(f)!);
      let mutated: Buffer;
      switch (rnd(4)) {
        case 0: // flip a few bytes
          for (let k = 0; k <= rnd(4); k++) b[rnd(b.length)] ^= 1 << rnd(8);
          mutated = b;
          break;
        case 1: {
          // huge values where counts and offsets live
          const at = rnd(b.length);
          b.fill(0xff, at, Math.min(b.length, at + 8));
          mutated = b;
          break;
        }
        case 2:
          mutated = b.subarray(0, rnd(b.length));
          break;
        default:
          mutated = Buffer.concat([b, Buffer.alloc(1 + rnd(30), rnd(256))]);
      }
      if (mutated.equals(originals.get(f)!)) continue;
      changed++;
      writeFileSync(f, mutated);
      const dir = f.startsWith(sharded) ? sharded : plain;
      const r = await inspectDataset(dir); // must resolve, never throw
      if (!r.ok) broken++;
      assert.ok(r.ok || r.problems.some((p) => p.severity === 'error'));
      writeFileSync(f, originals.get(f)!);
    }
    assert.ok(broken > 0.8 * changed, `most mutations are detected (${broken}/${changed})`);
  });

  test('random damage to info values', async () => {
    const dir = path.join(base, 'info');
    writeDataset(dir, contents(), SHARDED);
    const good = info(SHARDED) as Record<string, unknown>;
    const junk = [null, -1, 0, 1.5, 'x', [], {}, [1], { key: 1 }, 2 ** 70, true];
    let s = 5;
    const rnd = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n);
    const keys = Object.keys(good);
    for (let i = 0; i < 100; i++) {
      const bad = structuredClone(good);
      const k = keys[rnd(keys.length)];
      const v = bad[k];
      if (Array.isArray(v) && v.length && typeof v[0] === 'object' && rnd(2)) {
        const item = v[rnd(v.length)] as Record<string, unknown>;
        const ik = Object.keys(item);
        const sub = ik[rnd(ik.length)];
        if (sub === 'sharding' && rnd(2)) {
          const sh = item.sharding as Record<string, unknown>;
          const sk = Object.keys(sh);
          sh[sk[rnd(sk.length)]] = junk[rnd(junk.length)];
        } else item[sub] = junk[rnd(junk.length)];
      } else bad[k] = junk[rnd(junk.length)];
      writeFileSync(path.join(dir, 'info'), JSON.stringify(bad));
      await inspectDataset(dir); // must resolve
    }
  });
});
