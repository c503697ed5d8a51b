// The `info` file (reference-behaviour.md (i)): Python json.dump text (", " and ": ", float repr),
// key order, coordinate-space forms and their normalised dimensions.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { formatPyFloat, pyFloat, pyJson } from '../src/core/pyjson';
import { normalizeCoordSpace } from '../src/core/coords';
import { buildInfo } from '../src/core/info';
import { makeShardingSpec } from '../src/core/sharding';
import { writePrecomputedAnnotations } from '../src/export/run';
import type { CoordSpaceInput } from '../src/core/types';
import { readDatasetWithNeuroglancer } from './helpers/ngread';
import { col, table, tempDir, testRandom, throwsExport } from './helpers/coretables';

const tmp = tempDir();
after(tmp.cleanup);

describe("Python's float repr (json.dump of a float)", () => {
  test('a table of values and the text Python writes for them', () => {
    // value → repr(value) in CPython 3 (shortest round-trip digits; exponent form below 1e-4 and from 1e16)
    const table: Array<[number, string]> = [
      [10, '10.0'],
      [0, '0.0'],
      [-0, '-0.0'],
      [1, '1.0'],
      [-3.5, '-3.5'],
      [12.5, '12.5'],
      [100, '100.0'],
      [1e-9, '1e-09'],
      [8e-9, '8e-09'],
      [4e-8, '4e-08'],
      [1e-6, '1e-06'],
      [Math.fround(0.7), '0.699999988079071'],
      [Math.fround(0.1), '0.10000000149011612'],
      [Math.fround(0.9), '0.8999999761581421'],
      [0.1, '0.1'],
      [0.0001, '0.0001'],
      [0.000123, '0.000123'],
      [0.00001, '1e-05'],
      [1.5e-5, '1.5e-05'],
      [1e15, '1000000000000000.0'],
      [9999999999999998, '9999999999999998.0'],
      [2 ** 53, '9007199254740992.0'],
      [1e16, '1e+16'],
      [1.2345678901234568e17, '1.2345678901234568e+17'],
      [1e22, '1e+22'],
      [1.5e300, '1.5e+300'],
      [Number.MAX_VALUE, '1.7976931348623157e+308'],
      [5e-324, '5e-324'],
      [-2.5e-7, '-2.5e-07'],
      [123456.789, '123456.789'],
      [0.3, '0.3'],
      [1 / 3, '0.3333333333333333'],
      [2 / 3, '0.6666666666666666'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1e100, '1e+100'],
    ];
    for (const [x, want] of table) assert.equal(formatPyFloat(x), want, `repr(${x})`);
  });

  test('random doubles: round-trip, shortest digits (as Number#toString picks them), fixed notation exactly for 1e-4 <= |x| < 1e16', () => {
    const rnd = testRandom(31);
    const buf = new DataView(new ArrayBuffer(8));
    const digits = (s: string) => s.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    for (let i = 0; i < 20000; i++) {
      let x: number;
      if (i % 2) {
        buf.setUint32(0, rnd.u32());
        buf.setUint32(4, rnd.u32());
        x = buf.getFloat64(0);
        if (!Number.isFinite(x) || x === 0) continue;
      } else {
        // values of the sizes that occur in info files
        x = Math.fround((rnd.u32() / 2 ** 32 - 0.5) * 10 ** (rnd.below(24) - 10));
      }
      const text = formatPyFloat(x);
      assert.equal(Number(text), x, `${text} round-trips`);
      assert.equal(digits(text), digits(String(x)), `digits of ${x}`);
      const fixed = Math.abs(x) >= 1e-4 && Math.abs(x) < 1e16;
      assert.match(text, fixed ? /^-?\d+\.\d+$/ : /^-?\d(\.\d+)?e[-+]\d\d+$/, `${x} → ${text}`);
    }
  });

  test('non-finite values are written as json.dump writes them', () => {
    assert.equal(formatPyFloat(NaN), 'NaN');
    assert.equal(formatPyFloat(Infinity), 'Infinity');
    assert.equal(formatPyFloat(-Infinity), '-Infinity');
  });

  test('json.dump separators, integers, and ensure_ascii string escapes', () => {
    assert.equal(pyJson({ a: [1, 2], b: { c: 'x' }, d: pyFloat(2), e: 2.5, f: true, g: null }), '{"a": [1, 2], "b": {"c": "x"}, "d": 2.0, "e": 2.5, "f": true, "g": null}');
    assert.equal(pyJson(18446744073709551615n), '18446744073709551615');
    assert.equal(pyJson('tab\there "q" \\ \n\r\b\f \u0001 \u007f é µ 😀'), '"tab\\there \\"q\\" \\\\ \\n\\r\\b\\f \\u0001 \\u007f \\u00e9 \\u00b5 \\ud83d\\ude00"');
    assert.equal(pyJson([]), '[]');
    assert.equal(pyJson({}), '{}');
  });
});

describe('coordinate spaces (reference-behaviour.md (b))', () => {
  const dims = (input: CoordSpaceInput) => {
    const c = normalizeCoordSpace(input);
    return c.names.map((n, d) => `${n}: [${formatPyFloat(c.scales[d])}, ${JSON.stringify(c.units[d])}]`).join(', ');
  };

  test('"xyz", a list and {names} default to 1 nm → [1e-09, "m"]', () => {
    const want = 'x: [1e-09, "m"], y: [1e-09, "m"], z: [1e-09, "m"]';
    assert.equal(dims('xyz'), want);
    assert.equal(dims(['x', 'y', 'z']), want);
    assert.equal(dims({ names: ['x', 'y', 'z'] }), want);
    assert.equal(dims(['ch', 't']), 'ch: [1e-09, "m"], t: [1e-09, "m"]');
  });

  test('{names, units, scales}: SI prefixes fold into the scale', () => {
    assert.equal(dims({ names: ['x', 'y', 'z'], units: ['nm', 'nm', 'nm'], scales: [8, 8, 40] }), 'x: [8e-09, "m"], y: [8e-09, "m"], z: [4e-08, "m"]');
    assert.equal(dims({ names: ['x', 'y', 't'], units: ['um', 'm', 'ms'], scales: [1, 100, 2] }), 'x: [1e-06, "m"], y: [100.0, "m"], t: [0.002, "s"]');
    assert.equal(dims({ names: ['c'], units: [''], scales: [1] }), 'c: [1.0, ""]');
    assert.equal(dims({ names: ['t', 'f', 'w', 'v'], units: ['ms', 'kHz', 'mrad/s', 'cm'], scales: [1, 2, 5, 1] }), 't: [0.001, "s"], f: [2000.0, "Hz"], w: [0.005, "rad/s"], v: [0.01, "m"]');
    // negative powers divide, as neuroglancer's Python does: 3 / 10**9, not 3 * 1e-9 (3.0000000000000004e-09)
    assert.equal(dims({ names: ['x', 'y', 'z'], units: ['nm', 'nm', 'µm'], scales: [3, 12, 7] }), 'x: [3e-09, "m"], y: [1.2e-08, "m"], z: [7e-06, "m"]');
  });

  test('the neuroglancer JSON form {x: [8, "nm"], ...} keeps key order and is normalised the same way', () => {
    assert.equal(dims({ z: [40, 'nm'], y: [8, 'nm'], x: [8, 'nm'] }), 'z: [4e-08, "m"], y: [8e-09, "m"], x: [8e-09, "m"]');
    assert.equal(dims({ x: [1, 'nm'] }), 'x: [1e-09, "m"]');
  });

  test('invalid forms are rejected', () => {
    const bad: unknown[] = [
      42,
      null,
      '',
      'xx',
      [],
      ['x', 'x'],
      ['1x'],
      { names: ['x'], foo: 1 },
      { names: 'xyz' },
      { names: ['x', 'y'], units: ['nm'] },
      { names: ['x'], scales: [0] },
      { names: ['x'], scales: [-1] },
      { names: ['x'], units: ['px'] },
      { x: [8] },
      { x: [8, 'nm', 1] },
      { x: ['8', 'nm'] },
      { x: [8, 'furlongs'] },
    ];
    for (const b of bad) throwsExport(() => normalizeCoordSpace(b as CoordSpaceInput), /coordinate|scale|unit|name/i);
  });
});

describe('info text (reference-behaviour.md (i))', () => {
  const sharding = (preshift: number, enc: 'gzip' | 'raw' = 'gzip') =>
    `{"@type": "neuroglancer_uint64_sharded_v1", "hash": "murmurhash3_x86_128", "preshift_bits": ${preshift}, "shard_bits": 0, "minishard_bits": 0, "data_encoding": "${enc}", "minishard_index_encoding": "${enc}"}`;

  test('buildInfo: key order, sharding key order, float forms, enum property, description last', () => {
    const text = buildInfo({
      coords: normalizeCoordSpace({ names: ['x', 'y', 'z'], units: ['nm', 'nm', 'nm'], scales: [8, 8, 40] }),
      lower: [-3.5, 0, 0],
      upper: [12.25, 0.7, 2],
      type: 'point',
      properties: [
        { id: 'score', type: 'float32' },
        { id: 'kind', type: 'uint8', enum_values: [0, 1], enum_labels: ['a', 'b'], description: 'kind of thing' },
      ],
      byId: { key: 'by_id', sharding: makeShardingSpec({ preshift_bits: 2, shard_bits: 0, minishard_bits: 0 }, 'gzip') },
      relationships: [{ key: 'by_rel_pre', sharding: makeShardingSpec({ preshift_bits: 4, shard_bits: 0, minishard_bits: 0 }, 'raw', 'raw'), id: 'pre' }],
      spatial: [
        { key: 'by_spatial_level_0', sharding: makeShardingSpec({ preshift_bits: 0, shard_bits: 0, minishard_bits: 0 }, 'gzip'), chunk_size: [15.75, Math.fround(0.7), 2], grid_shape: [1, 1, 1], limit: 3 },
        { key: 'by_spatial_level_1', chunk_size: [7.875, Math.fround(0.7), 2], grid_shape: [2, 1, 1], limit: 2 },
      ],
      description: 'Synapses é',
    });
    assert.equal(
      text,
      '{"@type": "neuroglancer_annotations_v1", ' +
        '"dimensions": {"x": [8e-09, "m"], "y": [8e-09, "m"], "z": [4e-08, "m"]}, ' +
        '"lower_bound": [-3.5, 0.0, 0.0], "upper_bound": [12.25, 0.7, 2.0], ' +
        '"annotation_type": "point", ' +
        '"properties": [{"id": "score", "type": "float32"}, {"id": "kind", "type": "uint8", "enum_values": [0, 1], "enum_labels": ["a", "b"], "description": "kind of thing"}], ' +
        `"by_id": {"key": "by_id", "sharding": ${sharding(2)}}, ` +
        `"relationships": [{"key": "by_rel_pre", "sharding": ${sharding(4, 'raw')}, "id": "pre"}], ` +
        `"spatial": [{"key": "by_spatial_level_0", "sharding": ${sharding(0)}, "chunk_size": [15.75, 0.699999988079071, 2.0], "grid_shape": [1, 1, 1], "limit": 3}, ` +
        '{"key": "by_spatial_level_1", "chunk_size": [7.875, 0.699999988079071, 2.0], "grid_shape": [2, 1, 1], "limit": 2}], ' +
        '"description": "Synapses \\u00e9"}',
    );
  });

  // Three points; properties listed kind, score (info order: score, kind); relationship pre.
  const dataset = () =>
    table({
      x: col.f64([-3.5, 12.25, 0]),
      y: col.f64([0, 0.7, 0.25]),
      z: col.f64([0, 2, 1]),
      score: col.f32([0.5, 1, -2]),
      kind: col.str(['b', 'a', 'b']),
      pre: col.i64([7n, 9n, 7n]),
      unused: col.str(['u', 'v', 'w']),
    });

  test('a written sharded dataset: exact info text (no trailing newline), neuroglancer parses it', async () => {
    const out = join(tmp.dir, 'info-sharded');
    await writePrecomputedAnnotations(dataset(), 'xyz', 'POINT', {
      properties: ['kind', 'score'],
      relationships: ['pre'],
      outputDir: out,
      numSpatialLevels: 2,
      seed: 3,
      description: 'Synapses é',
      dataEncoding: 'gzip', // the text as the reference writes it (the default 'auto' stores by_id raw)
    });
    // by_id: 3 keys, max 2 → preshift 2; by_rel_pre: keys 7, 9 → preshift 4 (bit length of 9);
    // level 0: one chunk, key 0 → preshift 0. Level 1 holds nothing (level 0's quota is 10000) and is omitted.
    const want =
      '{"@type": "neuroglancer_annotations_v1", ' +
      '"dimensions": {"x": [1e-09, "m"], "y": [1e-09, "m"], "z": [1e-09, "m"]}, ' +
      '"lower_bound": [-3.5, 0.0, 0.0], "upper_bound": [12.25, 0.7, 2.0], ' +
      '"annotation_type": "point", ' +
      '"properties": [{"id": "score", "type": "float32"}, {"id": "kind", "type": "uint8", "enum_values": [0, 1], "enum_labels": ["a", "b"]}], ' +
      `"by_id": {"key": "by_id", "sharding": ${sharding(2)}}, ` +
      `"relationships": [{"key": "by_rel_pre", "sharding": ${sharding(4)}, "id": "pre"}], ` +
      `"spatial": [{"key": "by_spatial_level_0", "sharding": ${sharding(0)}, "chunk_size": [15.75, 0.699999988079071, 2.0], "grid_shape": [1, 1, 1], "limit": 3}], ` +
      '"description": "Synapses \\u00e9"}';
    assert.equal(readFileSync(join(out, 'info'), 'utf8'), want);
    const ds = await readDatasetWithNeuroglancer(out);
    assert.equal(ds.type, 'point');
    assert.deepEqual(ds.relationships, ['pre']);
    assert.equal((await ds.getById(1n))?.properties[1], 0, 'kind "a" is enum value 0');
  });

  test("dataEncoding 'gzip' gzips every index's chunk data and minishard indexes (api.md §3's encoding)", async () => {
    const out = join(tmp.dir, 'info-gzip-encoding');
    await writePrecomputedAnnotations(dataset(), 'xyz', 'point', { relationships: ['pre'], outputDir: out, numSpatialLevels: 1, seed: 3, dataEncoding: 'gzip' });
    const info = JSON.parse(readFileSync(join(out, 'info'), 'utf8'));
    for (const index of [info.by_id, ...info.relationships, ...info.spatial]) {
      assert.deepEqual([index.key, index.sharding.data_encoding, index.sharding.minishard_index_encoding], [index.key, 'gzip', 'gzip']);
    }
  });

  test("by default ('auto') by_id's small records are stored raw (gzip would make them bigger); minishard indexes stay gzip", async () => {
    const out = join(tmp.dir, 'info-default-encoding');
    await writePrecomputedAnnotations(dataset(), 'xyz', 'point', { relationships: ['pre'], outputDir: out, numSpatialLevels: 1, seed: 3 });
    const info = JSON.parse(readFileSync(join(out, 'info'), 'utf8'));
    assert.equal(info.by_id.sharding.data_encoding, 'raw');
    for (const index of [info.by_id, ...info.relationships, ...info.spatial]) assert.equal(index.sharding.minishard_index_encoding, 'gzip', index.key);
  });

  test('skipped indexes: by_id keeps its key (the reader requires it), relationships and spatial become []', async () => {
    const out = join(tmp.dir, 'info-skipped');
    await writePrecomputedAnnotations(dataset(), 'xyz', 'point', {
      relationships: ['pre'],
      outputDir: out,
      writeById: false,
      writeByRelationship: false,
      writeBySpatialChunk: false,
    });
    const text = readFileSync(join(out, 'info'), 'utf8');
    assert.ok(text.endsWith('"by_id": {"key": "by_id"}, "relationships": [], "spatial": []}'), text);
    assert.deepEqual(readdirSync(out), ['info']);
    const ds = await readDatasetWithNeuroglancer(out);
    assert.deepEqual(ds.levels, []);
  });

  test('a written unsharded dataset: by_id and spatial objects without sharding', async () => {
    const out = join(tmp.dir, 'info-unsharded');
    await writePrecomputedAnnotations(dataset(), { x: [8, 'nm'], y: [8, 'nm'], z: [40, 'nm'] }, 'point', {
      outputDir: out,
      writeSharded: false,
      numSpatialLevels: 1,
      seed: 3,
    });
    assert.equal(
      readFileSync(join(out, 'info'), 'utf8'),
      '{"@type": "neuroglancer_annotations_v1", ' +
        '"dimensions": {"x": [8e-09, "m"], "y": [8e-09, "m"], "z": [4e-08, "m"]}, ' +
        '"lower_bound": [-3.5, 0.0, 0.0], "upper_bound": [12.25, 0.7, 2.0], ' +
        '"annotation_type": "point", "properties": [], ' +
        '"by_id": {"key": "by_id"}, "relationships": [], ' +
        '"spatial": [{"key": "by_spatial_level_0", "chunk_size": [15.75, 0.699999988079071, 2.0], "grid_shape": [1, 1, 1], "limit": 3}]}',
    );
  });
});
