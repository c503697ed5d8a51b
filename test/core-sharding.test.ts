// neuroglancer_uint64_sharded_v1 (reference-behaviour.md (h), neuroglancer's sharded.md): the
// parameter chooser, shard file names, key → shard/minishard with neuroglancer's hash, and the
// byte layout of a shard file (shard index, chunk data, minishard indexes).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  assignShards,
  buildShard,
  chooseShardingParams,
  collectShard,
  concatBytes,
  encodeChunks,
  layoutShardParts,
  makeShardingSpec,
  planShards,
  shardFileName,
  valueSourceOf,
  type ShardingSpec,
} from '../src/core/sharding';
import { writePrecomputedAnnotations } from '../src/export/run';
import { ngPrimitives, readDatasetWithNeuroglancer } from './helpers/ngread';
import { col, hex, table, tempDir, testRandom } from './helpers/coretables';

const tmp = tempDir();
after(tmp.cleanup);
const U64_MAX = (1n << 64n) - 1n;

function spec(preshift: number, shardBits: number, minishardBits: number, enc: 'gzip' | 'raw' = 'raw', hash: ShardingSpec['hash'] = 'murmurhash3_x86_128'): ShardingSpec {
  return { ...makeShardingSpec({ preshift_bits: preshift, shard_bits: shardBits, minishard_bits: minishardBits }, enc, enc), hash };
}

/** Shard and minishard of a key as sharded.md defines them, hashing with neuroglancer's function. */
async function ngLocator(): Promise<(key: bigint, s: ShardingSpec) => { shard: number; minishard: number }> {
  const ng = await ngPrimitives();
  return (key, s) => {
    const shifted = key >> BigInt(s.preshift_bits);
    const h = s.hash === 'identity' ? shifted : ng.shardHash(shifted);
    const minishard = Number(h & ((1n << BigInt(s.minishard_bits)) - 1n));
    const shard = Number((h >> BigInt(s.minishard_bits)) & ((1n << BigInt(s.shard_bits)) - 1n));
    return { shard, minishard };
  };
}

describe('sharding parameters (reference-behaviour.md (h))', () => {
  test('(count, bytes, max_key) → (preshift, shard_bits, minishard_bits): every listed row', () => {
    const rows: Array<[number, number, bigint, [number, number, number]]> = [
      [192, 14e9, 511n, [0, 9, 0]],
      [192, 14e9, U64_MAX, [10, 9, 0]],
      [3e8, 3e10, 2n ** 40n, [10, 10, 9]],
      [3, 36, 2n, [2, 0, 0]],
      [1, 16, 0n, [0, 0, 0]],
      [3, 96, 30n, [5, 0, 0]],
      [100, 2000, 99n, [7, 0, 0]],
      [1000, 5e7, 999n, [10, 0, 0]],
      [1001, 50_000_001, 1000n, [9, 1, 0]],
      [5000, 60000, 9_999_999n, [10, 0, 3]],
      [192, 1.92e8, 191n, [6, 2, 0]],
      [100000, 2.4e6, 99999n, [10, 0, 7]],
      [1e6, 1e10, 999999n, [10, 8, 2]],
      [0, 0, 0n, [0, 0, 0]],
    ];
    for (const [count, bytes, maxKey, [preshift_bits, shard_bits, minishard_bits]] of rows) {
      assert.deepEqual(chooseShardingParams(count, bytes, maxKey), { preshift_bits, shard_bits, minishard_bits }, `(${count}, ${bytes}, ${maxKey})`);
    }
  });

  test('without max_key the key space is taken as 64 bits (preshift 10)', () => {
    assert.deepEqual(chooseShardingParams(192, 14e9), { preshift_bits: 10, shard_bits: 9, minishard_bits: 0 });
  });

  test('the spec object: murmurhash3_x86_128, gzip, keys in the reference order', () => {
    const s = makeShardingSpec({ preshift_bits: 1, shard_bits: 2, minishard_bits: 3 }, 'gzip');
    assert.deepEqual(Object.keys(s), ['@type', 'hash', 'preshift_bits', 'shard_bits', 'minishard_bits', 'data_encoding', 'minishard_index_encoding']);
    assert.deepEqual(Object.values(s), ['neuroglancer_uint64_sharded_v1', 'murmurhash3_x86_128', 1, 2, 3, 'gzip', 'gzip']);
  });

  test('shard file names: lower-case hex, zero-padded to ceil(shard_bits / 4) digits, at least one', () => {
    const names: Array<[number, number, string]> = [
      [0, 0, '0.shard'],
      [1, 1, '1.shard'],
      [10, 4, 'a.shard'],
      [0, 5, '00.shard'],
      [0x1f, 5, '1f.shard'],
      [3, 9, '003.shard'],
      [0, 10, '000.shard'],
      [0x3ff, 10, '3ff.shard'],
      [0xabcde, 20, 'abcde.shard'],
    ];
    for (const [shard, bits, name] of names) assert.equal(shardFileName(shard, bits), name, `shard ${shard} of ${bits} bits`);
  });
});

describe('keys → shards and minishards', () => {
  test("assignShards matches sharded.md with neuroglancer's hash, for preshifts 0…63 and keys up to 2^64-1", async () => {
    const locate = await ngLocator();
    const rnd = testRandom(21);
    const keys = [0n, 1n, 1023n, 1024n, 2n ** 53n + 1n, 2n ** 63n, U64_MAX];
    for (let i = 0; i < 300; i++) keys.push(i % 3 === 0 ? BigInt(rnd.u32()) : rnd.u64());
    const k = BigUint64Array.from(keys);
    for (const [p, sb, mb] of [[0, 0, 0], [10, 0, 3], [3, 4, 3], [0, 9, 0], [31, 5, 6], [32, 2, 2], [40, 3, 1], [63, 1, 1], [0, 30, 22]]) {
      for (const hash of ['murmurhash3_x86_128', 'identity'] as const) {
        const s = spec(p, sb, mb, 'raw', hash);
        const { shard, minishard } = assignShards(k, s);
        keys.forEach((key, i) => {
          assert.deepEqual({ shard: shard[i], minishard: minishard[i] }, locate(key, s), `key ${key}, ${hash}, preshift ${p}, bits ${sb}/${mb}`);
        });
      }
    }
  });

  test('planShards orders keys by (shard, minishard, key) and lists each occupied shard once', async () => {
    const locate = await ngLocator();
    const rnd = testRandom(22);
    // The second spec has 2^30 buckets, which takes planShards' comparison-sort path.
    for (const s of [spec(3, 4, 3), spec(0, 20, 10), spec(10, 0, 3)]) {
      const keys = BigUint64Array.from({ length: 2000 }, (_, i) => (i % 2 ? rnd.u64() : BigInt(rnd.below(5000))));
      const unique = BigUint64Array.from(new Set(keys));
      const plan = planShards(unique, s);
      assert.equal(plan.order.length, unique.length);
      assert.deepEqual([...plan.order].sort((a, b) => a - b), Array.from({ length: unique.length }, (_, i) => i), 'a permutation');
      const located = [...plan.order].map((i) => ({ key: unique[i], ...locate(unique[i], s) }));
      for (let j = 1; j < located.length; j++) {
        const a = located[j - 1];
        const b = located[j];
        const ordered = a.shard < b.shard || (a.shard === b.shard && (a.minishard < b.minishard || (a.minishard === b.minishard && a.key < b.key)));
        assert.ok(ordered, `position ${j}: (${a.shard},${a.minishard},${a.key}) before (${b.shard},${b.minishard},${b.key})`);
      }
      const shards = [...new Set(located.map((l) => l.shard))];
      assert.deepEqual(plan.shards, shards);
      assert.equal(plan.shardStart.length, shards.length + 1);
      plan.shards.forEach((sh, t) => {
        for (let j = plan.shardStart[t]; j < plan.shardStart[t + 1]; j++) assert.equal(located[j].shard, sh);
      });
      unique.forEach((key, i) => assert.equal(plan.minishard[i], locate(key, s).minishard));
    }
  });
});

/**
 * An uncompressed shard file written from sharded.md alone: shard index (2^minishard_bits × [start,
 * end) uint64le, relative to the end of the index, 0/0 when empty), then per minishard in increasing
 * order its chunks in increasing key order and its minishard index (key deltas, offset deltas from the
 * previous chunk's end, sizes; uint64le).
 */
function specRawShard(entries: Array<{ key: bigint; minishard: number; value: Uint8Array }>, s: ShardingSpec): Uint8Array {
  const nm = 2 ** s.minishard_bits;
  const index = new BigUint64Array(2 * nm);
  const body: Uint8Array[] = [];
  let pos = 0;
  for (let m = 0; m < nm; m++) {
    const mine = entries.filter((e) => e.minishard === m).sort((a, b) => (a.key < b.key ? -1 : 1));
    if (mine.length === 0) continue;
    const msIndex = new BigUint64Array(3 * mine.length);
    let prevKey = 0n;
    let prevEnd = 0;
    mine.forEach((e, t) => {
      msIndex[t] = e.key - prevKey;
      msIndex[mine.length + t] = BigInt(pos - prevEnd);
      msIndex[2 * mine.length + t] = BigInt(e.value.length);
      body.push(e.value);
      pos += e.value.length;
      prevKey = e.key;
      prevEnd = pos;
    });
    index[2 * m] = BigInt(pos);
    index[2 * m + 1] = BigInt(pos + msIndex.byteLength);
    body.push(new Uint8Array(msIndex.buffer));
    pos += msIndex.byteLength;
  }
  return new Uint8Array(Buffer.concat([new Uint8Array(index.buffer), ...body]));
}

/**
 * Walks a shard file as sharded.md describes it, decoding gzip where the spec says so, and checks
 * that it is laid out without gaps: per non-empty minishard, in increasing order, its chunks then its
 * index, ending exactly at the end of the file. Returns each minishard's (key, value) list.
 */
function walkShard(shard: Uint8Array, s: ShardingSpec): Map<number, Array<[bigint, Uint8Array]>> {
  const dec = (b: Uint8Array, e: string) => (e === 'gzip' ? new Uint8Array(gunzipSync(b)) : b);
  const dv = new DataView(shard.buffer, shard.byteOffset, shard.byteLength);
  const base = 16 * 2 ** s.minishard_bits;
  const out = new Map<number, Array<[bigint, Uint8Array]>>();
  let pos = 0; // expected next byte, relative to the end of the shard index
  for (let m = 0; m < 2 ** s.minishard_bits; m++) {
    const start = Number(dv.getBigUint64(16 * m, true));
    const end = Number(dv.getBigUint64(16 * m + 8, true));
    if (start === end) {
      assert.equal(start, 0, `empty minishard ${m} is 0/0`);
      continue;
    }
    const raw = dec(shard.slice(base + start, base + end), s.minishard_index_encoding);
    const idx = new BigUint64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8);
    const n = idx.length / 3;
    assert.equal(n, Math.floor(n), 'minishard index is [3, n] uint64');
    const entries: Array<[bigint, Uint8Array]> = [];
    let key = 0n;
    let prevEnd = 0;
    for (let t = 0; t < n; t++) {
      key += idx[t];
      const at = prevEnd + Number(idx[n + t]);
      const size = Number(idx[2 * n + t]);
      assert.equal(at, pos, `minishard ${m} chunk ${t} starts where the previous part ended`);
      entries.push([key, dec(shard.slice(base + at, base + at + size), s.data_encoding)]);
      prevEnd = at + size;
      pos = prevEnd;
    }
    assert.equal(start, pos, `minishard ${m} index follows its chunks`);
    pos = end;
    out.set(m, entries);
  }
  assert.equal(base + pos, shard.length, 'nothing after the last minishard index');
  return out;
}

describe('shard file layout (reference-behaviour.md (h), sharded.md)', () => {
  const keys = BigUint64Array.from([5n, 1n, 100n, 2n ** 63n, U64_MAX, 42n, 7n, 0n, 2n ** 53n + 1n]);
  const value = (i: number) => new TextEncoder().encode(`value of key ${keys[i]} ` + 'x'.repeat(i * 3));

  for (const enc of ['raw', 'gzip'] as const) {
    test(`${enc}: buildShard lays out the shard index, chunks and minishard indexes as sharded.md says`, () => {
      const s = spec(0, 0, 3, enc);
      const plan = planShards(keys, s);
      assert.deepEqual(plan.shards, [0]);
      const occupied = new Set(plan.minishard);
      assert.ok(occupied.size >= 2 && occupied.size < 8, `the keys fill ${occupied.size} of 8 minishards (some empty, some shared)`);
      const built = buildShard(s, keys, plan.order, plan.minishard, value, 6);
      const want = new Map<number, Array<[bigint, Uint8Array]>>();
      [...keys]
        .map((key, i) => ({ key, i, m: plan.minishard[i] }))
        .sort((a, b) => a.m - b.m || (a.key < b.key ? -1 : 1))
        .forEach(({ key, i, m }) => want.set(m, [...(want.get(m) ?? []), [key, value(i)]]));
      assert.deepEqual(walkShard(built, s), want);
      if (enc === 'raw') {
        const entries = [...keys].map((key, i) => ({ key, minishard: plan.minishard[i], value: value(i) }));
        assert.equal(hex(built), hex(specRawShard(entries, s)), 'byte for byte');
      }
    });
  }

  test('a shard laid out from encoded slices (as the workers return them) is the one-buffer shard, wherever the slices split', () => {
    for (const enc of ['raw', 'gzip'] as const) {
      const s = spec(0, 0, 2, enc);
      const plan = planShards(keys, s);
      const whole = buildShard(s, keys, plan.order, plan.minishard, value, 6);
      const chunks = collectShard(keys, plan.order, plan.minishard, valueSourceOf(value));
      // Encode each slice of the chunks on its own, as a worker does, and lay the slices out in place.
      const sliceAt = (from: number, to: number) => {
        const skip = chunks.sizes.subarray(0, from).reduce((a, b) => a + b, 0);
        const len = chunks.sizes.subarray(from, to).reduce((a, b) => a + b, 0);
        return encodeChunks(enc, 6, chunks.data.slice(skip, skip + len), chunks.sizes.slice(from, to));
      };
      const m = keys.length;
      for (let a = 0; a <= m; a++) {
        for (let b = a; b <= m; b++) {
          const parts = layoutShardParts(s, 6, chunks, [sliceAt(0, a), sliceAt(a, b), sliceAt(b, m)]);
          assert.equal(hex(concatBytes(parts)), hex(whole), `${enc}: slices split at ${a} and ${b}`);
        }
      }
    }
  });

  test('a file written in parts (more of them than one writev takes) holds them back to back', async () => {
    const { LocalDirectoryStorage } = await import('../src/core/storage');
    const out = join(tmp.dir, 'parts');
    const storage = await LocalDirectoryStorage.create(out, { overwrite: false });
    const rnd = testRandom(5);
    const parts = Array.from({ length: 3000 }, (_, i) => Uint8Array.from({ length: i % 7 === 0 ? 0 : 1 + (rnd.u32() % 300) }, () => rnd.u32() & 255));
    await storage.write('by_id/0.shard', parts);
    await storage.commit();
    const { readFileSync } = await import('node:fs');
    assert.equal(hex(readFileSync(join(out, 'by_id', '0.shard'))), hex(concatBytes(parts)));
    assert.equal(storage.bytesWritten, concatBytes(parts).length);
  });

  test('per-shard values are copied into one reused shared arena (grown when a source needs more), reading the same', async () => {
    const { SharedArena, sharedSpec, valueSource } = await import('../src/core/values');
    const arena = new SharedArena();
    const make = (m: number, seed: number) => {
      const rnd = testRandom(seed);
      return {
        kind: 'multi' as const,
        records: Uint8Array.from({ length: m * 8 }, () => rnd.u32() & 255),
        recordSize: 8,
        recordOffsets: undefined,
        ids: BigUint64Array.from({ length: m }, () => rnd.u64()),
        start: Uint32Array.from({ length: m + 1 }, (_, k) => k),
        members: Uint32Array.from({ length: m }, (_, k) => m - 1 - k),
      };
    };
    const buffers = new Set<ArrayBufferLike>();
    for (const [m, seed] of [[5, 1], [3, 2], [40, 3], [7, 4]] as const) {
      const v = make(m, seed);
      const placed = sharedSpec(v, arena) as typeof v;
      for (const a of [placed.records, placed.ids, placed.start, placed.members]) {
        assert.ok(a.buffer instanceof SharedArrayBuffer);
        assert.equal(a.byteOffset % 8, 0, 'aligned for 64-bit views');
        buffers.add(a.buffer);
      }
      const want = valueSource(v);
      const got = valueSource(placed);
      for (let k = 0; k < m; k++) {
        const a = new Uint8Array(want.size(k));
        const b = new Uint8Array(got.size(k));
        want.write(k, a, 0);
        got.write(k, b, 0);
        assert.equal(hex(b), hex(a), `source of ${m}, value ${k}`);
      }
    }
    assert.equal(buffers.size, 2, 'one buffer, replaced once when 40 values needed more room');
  });

  test('raw: a hand-checked small shard (one minishard, three keys)', () => {
    const s = spec(0, 0, 0, 'raw');
    const k = BigUint64Array.from([9n, 2n, 4n]);
    const vals = [Uint8Array.of(0xaa), Uint8Array.of(0xbb, 0xbb), Uint8Array.of(0xcc, 0xcc, 0xcc)];
    const plan = planShards(k, s);
    const built = buildShard(s, k, plan.order, plan.minishard, (i) => vals[i], 0);
    const u64 = (...xs: number[]) => xs.map((x) => hex(new Uint8Array(BigUint64Array.of(BigInt(x)).buffer))).join('');
    // data in key order: key 2 (bb bb) at 0, key 4 (cc cc cc) at 2, key 9 (aa) at 5; index at 6..78
    assert.equal(
      hex(built),
      u64(6, 6 + 72) + 'bbbb' + 'cccccc' + 'aa' + u64(2, 2, 5) + u64(0, 0, 0) + u64(2, 3, 1),
    );
  });

  test('a sharded by_id with 5000 ids above 2^53 reads back through neuroglancer (preshift 10, 3 minishard bits)', async () => {
    const rnd = testRandom(23);
    const n = 5000;
    const ids = new Set<bigint>();
    while (ids.size < n) ids.add((1n << 60n) + rnd.u64() % (1n << 60n));
    const idList = [...ids];
    const out = join(tmp.dir, 'sharded-by-id');
    await writePrecomputedAnnotations(
      table({ annotation_id: col.u64(idList), x: col.f64(idList.map((_, i) => i)), y: col.f64(idList.map((_, i) => -i)) }),
      'xy',
      'point',
      { outputDir: out, writeBySpatialChunk: false, seed: 1 },
    );
    const ds = await readDatasetWithNeuroglancer(out);
    assert.deepEqual(
      { preshift: ds.raw.by_id.sharding.preshift_bits, shard: ds.raw.by_id.sharding.shard_bits, minishard: ds.raw.by_id.sharding.minishard_bits },
      { preshift: 10, shard: 0, minishard: 3 },
    );
    for (let i = 0; i < n; i += 97) {
      const a = await ds.getById(idList[i]);
      assert.deepEqual(a?.point, [i, -i], `id ${idList[i]}`);
    }
    assert.equal(await ds.getById(idList[0] + 1n), undefined);
  });
});
