// Reading the input table: property specs inferred from Arrow types (or given), relationship cells,
// and annotation ids (api.md §2, reference-behaviour.md (b)–(d)). Errors name the column and rows.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Table, Vector } from 'apache-arrow';
import { normalizePropertyRequests, planProperties, type PropertyPlan } from '../src/core/properties';
import { parseRelationshipCell, readRelationship } from '../src/core/relationships';
import { resolveIds } from '../src/core/ids';
import { prepare } from '../src/core/prepare';
import { normalizeCoordSpace } from '../src/core/coords';
import { writePrecomputedAnnotations } from '../src/export/run';
import type { PropertySpec, WriteOptions } from '../src/core/types';
import { readDatasetWithNeuroglancer } from './helpers/ngread';
import { col, table, tempDir, testRandom, throwsExport } from './helpers/coretables';

const tmp = tempDir();
after(tmp.cleanup);
const U64_MAX = (1n << 64n) - 1n;

function plan(t: Table, properties: WriteOptions['properties'], warnings: string[] = []): PropertyPlan[] {
  return planProperties(t, normalizePropertyRequests(properties), (m) => warnings.push(m));
}
const specs = (plans: PropertyPlan[]) => plans.map((p) => p.spec);
const values = (p: PropertyPlan) => [...p.numbers!];
const colors = (p: PropertyPlan) => [...p.colors!];

describe('property inference (api.md §2)', () => {
  test('int8, uint8, int16, uint16, int32, uint32 and float32 columns keep their type', () => {
    const t = table({
      a: col.i8([-128, 127]),
      b: col.u8([0, 255]),
      c: col.i16([-32768, 32767]),
      d: col.u16([0, 65535]),
      e: col.i32([-2147483648, 2147483647]),
      f: col.u32([0, 4294967295]),
      g: col.f32([0.5, -1e30]),
    });
    const p = plan(t, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    assert.deepEqual(
      Object.fromEntries(p.map((x) => [x.spec.id, x.spec.type])),
      { a: 'int8', b: 'uint8', c: 'int16', d: 'uint16', e: 'int32', f: 'uint32', g: 'float32' },
    );
    assert.deepEqual(values(p.find((x) => x.spec.id === 'f')!), [0, 4294967295]);
  });

  test('int64 and uint64 narrow to the first of uint8, int8, uint16, int16, uint32, int32 that holds every value', () => {
    const t = table({
      u8: col.i64([0n, 255n]),
      i8: col.i64([-1n, 127n]),
      u16: col.i64([0n, 256n]),
      i16: col.i64([-1n, 128n]),
      u32: col.u64([0n, 4294967295n]),
      i32: col.i64([-2147483648n, 40000n]),
      alsoU8: col.u64([3n, 200n]),
    });
    const p = plan(t, ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'alsoU8']);
    for (const x of p) assert.equal(x.spec.type, x.spec.id === 'alsoU8' ? 'uint8' : x.spec.id.replace('u', 'uint').replace(/^i/, 'int'), x.spec.id);
    assert.deepEqual(values(p.find((x) => x.spec.id === 'i32')!), [-2147483648, 40000]);
  });

  test('int64 and uint64 values beyond int32/uint32 are rejected unless a type is given', () => {
    throwsExport(() => plan(table({ big: col.i64([0n, 2n ** 32n]) }), ['big']), /64-bit/, { column: 'big' });
    throwsExport(() => plan(table({ big: col.u64([2n ** 63n]) }), ['big']), /64-bit/, { column: 'big' });
    throwsExport(() => plan(table({ big: col.i64([-2147483649n]) }), ['big']), /64-bit/, { column: 'big' });
  });

  test('int64 values beyond 32 bits with an explicit float32 type are stored as float32 numbers', () => {
    const p = plan(table({ big: col.i64([0n, 2n ** 40n, -(2n ** 35n)]) }), [{ id: 'big', type: 'float32' }]);
    assert.equal(p[0].spec.type, 'float32');
    assert.deepEqual(values(p[0]), [0, 2 ** 40, -(2 ** 35)]);
    // an explicit integer type still has to hold the values
    throwsExport(() => plan(table({ big: col.i64([1n, 2n ** 40n]) }), [{ id: 'big', type: 'uint32' }]), /uint32.*row 2/, { column: 'big', rows: [1] });
    throwsExport(() => plan(table({ big: col.u64([U64_MAX]) }), [{ id: 'big', type: 'int32' }]), /int32.*row 1/, { column: 'big', rows: [0] });
  });

  test('float64 becomes float32; values too large for float32 are an error naming the rows', () => {
    const p = plan(table({ w: col.f64([0.1, 1e30, -2.5]) }), ['w']);
    assert.deepEqual(p[0].spec, { id: 'w', type: 'float32' });
    throwsExport(() => plan(table({ w: col.f64([1, 2, 1e39, -1e40]) }), ['w']), /float32.*rows 3, 4/, { column: 'w', rows: [2, 3] });
  });

  test('dictionary columns become enums in dictionary order, in the smallest unsigned type', () => {
    const p = plan(table({ kind: col.dict(['zeta', 'alpha', 'zeta', 'mid']) }), ['kind']);
    assert.deepEqual(p[0].spec, { id: 'kind', type: 'uint8', enum_values: [0, 1, 2], enum_labels: ['zeta', 'alpha', 'mid'] });
    assert.deepEqual(values(p[0]), [0, 1, 0, 2]);
    const many = Array.from({ length: 300 }, (_, i) => `label${i}`);
    const q = plan(table({ kind: col.dict(many) }), ['kind']);
    assert.equal(q[0].spec.type, 'uint16');
    assert.deepEqual(q[0].spec.enum_labels, many);
    throwsExport(() => plan(table({ kind: col.dict(['a', null, 'b']) }), ['kind']), /empty.*row 2/, { column: 'kind', rows: [1] });
  });

  test('string columns become enums with sorted labels, in the smallest unsigned type', () => {
    const p = plan(table({ kind: col.str(['b', 'a', 'c', 'a']) }), ['kind']);
    assert.deepEqual(p[0].spec, { id: 'kind', type: 'uint8', enum_values: [0, 1, 2], enum_labels: ['a', 'b', 'c'] });
    assert.deepEqual(values(p[0]), [1, 0, 2, 0]);
    const labels = Array.from({ length: 256 }, (_, i) => `v${String(i).padStart(3, '0')}`);
    assert.equal(plan(table({ kind: col.str(labels) }), ['kind'])[0].spec.type, 'uint8', '256 labels fit uint8');
    assert.equal(plan(table({ kind: col.str([...labels, 'v256']) }), ['kind'])[0].spec.type, 'uint16', '257 labels need uint16');
    throwsExport(() => plan(table({ kind: col.str(['a', 'b', null]) }), ['kind']), /empty.*row 3/, { column: 'kind', rows: [2] });
  });

  test('booleans become a uint8 enum false/true', () => {
    const p = plan(table({ ok: col.bool([true, false, true]) }), ['ok']);
    assert.deepEqual(p[0].spec, { id: 'ok', type: 'uint8', enum_values: [0, 1], enum_labels: ['false', 'true'] });
    assert.deepEqual(values(p[0]), [1, 0, 1]);
  });

  test('#rrggbb strings become rgb, #rrggbbaa strings rgba', () => {
    const rgb = plan(table({ c: col.str(['#ff8000', '#00FF7f']) }), ['c']);
    assert.deepEqual(rgb[0].spec, { id: 'c', type: 'rgb' });
    assert.deepEqual(colors(rgb[0]), [255, 128, 0, 255, 0, 255, 127, 255]);
    const rgba = plan(table({ c: col.str(['#ff800040', '#000000ff']) }), ['c']);
    assert.deepEqual(rgba[0].spec, { id: 'c', type: 'rgba' });
    assert.deepEqual(colors(rgba[0]), [255, 128, 0, 64, 0, 0, 0, 255]);
    throwsExport(() => plan(table({ c: col.str(['#ff8000', null]) }), ['c']), /colors.*row 2/, { column: 'c', rows: [1] });
    // an explicit colour type on text that is not all colours names the first bad row and value
    throwsExport(() => plan(table({ c: col.str(['#ff0000', '#12345', 'red']) }), { c: { type: 'rgb' } }), /"c".*rows 2, 3; first: "#12345"/, { column: 'c', rows: [1, 2] });
    throwsExport(() => plan(table({ c: col.str(['#ff000080', 'x']) }), { c: { type: 'rgba' } }), /row 2; first: "x"/, { column: 'c', rows: [1] });
  });

  test('_r/_g/_b columns make an rgb property, with _a an rgba one; channels must be integers 0..255', () => {
    const rgb = plan(table({ c_r: col.u8([1, 2]), c_g: col.i32([3, 4]), c_b: col.i64([5n, 6n]) }), ['c']);
    assert.deepEqual(rgb[0].spec, { id: 'c', type: 'rgb' });
    assert.deepEqual(rgb[0].columns, ['c_r', 'c_g', 'c_b']);
    assert.deepEqual(colors(rgb[0]).filter((_, i) => i % 4 < 3), [1, 3, 5, 2, 4, 6]);
    const rgba = plan(table({ c_r: col.u8([1]), c_g: col.u8([2]), c_b: col.u8([3]), c_a: col.u8([4]) }), ['c']);
    assert.deepEqual(rgba[0].spec, { id: 'c', type: 'rgba' });
    assert.deepEqual(colors(rgba[0]), [1, 2, 3, 4]);
    throwsExport(() => plan(table({ c_r: col.i32([0, 256]), c_g: col.u8([0, 0]), c_b: col.u8([0, 0]) }), ['c']), /c_r.*row 2/, { column: 'c_r', rows: [1] });
    throwsExport(() => plan(table({ c_r: col.f64([0.5]), c_g: col.u8([0]), c_b: col.u8([0]) }), ['c']), /c_r/, { column: 'c_r', rows: [0] });
    throwsExport(() => plan(table({ c_r: col.u8([0]), c_g: col.u8([0]) }), ['c']), /not found/, { column: 'c' });
  });

  test('properties forms: names, spec objects, a mapping, one string; a repeated name keeps its first place and last spec', () => {
    const t = table({ a: col.u8([1]), b: col.i32([2]), c: col.u16([3]) });
    const ids = (props: WriteOptions['properties']) => specs(plan(t, props)).map((s) => `${s.id}:${s.type}`);
    assert.deepEqual(ids('a'), ['a:uint8']);
    assert.deepEqual(ids(['c', { id: 'a', type: 'uint16' }]), ['c:uint16', 'a:uint16']);
    assert.deepEqual(ids({ b: {}, a: { type: 'int16' } }), ['b:int32', 'a:int16']);
    assert.deepEqual(normalizePropertyRequests(['a', 'b', { id: 'a', type: 'uint32' }]), [{ id: 'a', user: { id: 'a', type: 'uint32' } }, { id: 'b' }]);
    throwsExport(() => normalizePropertyRequests({ a: { id: 'b' } }), /does not match/);
    throwsExport(() => normalizePropertyRequests([42 as never]), /Invalid property spec/);
    throwsExport(() => plan(t, ['nope']), /"nope" not found/, { column: 'nope' });
  });

  test('an explicit spec overrides inference; extra keys are kept after the inferred ones', () => {
    const p = plan(table({ n: col.i32([1, 300]) }), [{ id: 'n', type: 'uint16', description: 'count' }]);
    assert.deepEqual(p[0].spec, { id: 'n', type: 'uint16', description: 'count' });
    assert.deepEqual(Object.keys(p[0].spec), ['id', 'type', 'description']);
    const q = plan(table({ n: col.i32([1, 300]) }), { n: { type: 'int16' } });
    assert.deepEqual(q[0].spec, { id: 'n', type: 'int16' });
  });

  test('user enum_labels on a numeric column: values are encoded as their numbers', () => {
    const user: PropertySpec = { id: 'u', type: 'uint8', enum_values: [0, 1, 2], enum_labels: ['zero', 'one', 'two'] };
    const p = plan(table({ u: col.u8([0, 2, 1, 2]) }), [user]);
    assert.deepEqual(p[0].spec, user);
    assert.deepEqual(values(p[0]), [0, 2, 1, 2]);
    const q = plan(table({ u: col.i64([10n, 20n]) }), { u: { enum_values: [10, 20], enum_labels: ['ten', 'twenty'] } });
    assert.deepEqual(q[0].spec, { id: 'u', type: 'uint8', enum_values: [10, 20], enum_labels: ['ten', 'twenty'] });
    assert.deepEqual(values(q[0]), [10, 20]);
    // labels alone: the values are their positions
    const r = plan(table({ u: col.u8([1, 0]) }), { u: { enum_labels: ['no', 'yes'] } });
    assert.deepEqual(r[0].spec, { id: 'u', type: 'uint8', enum_labels: ['no', 'yes'], enum_values: [0, 1] });
    assert.deepEqual(values(r[0]), [1, 0]);
  });

  test('user enum_labels on a string column: values are looked up among the given labels', () => {
    const p = plan(table({ kind: col.str(['y', 'z', 'y']) }), { kind: { enum_labels: ['x', 'y', 'z'] } });
    assert.deepEqual(p[0].spec, { id: 'kind', type: 'uint8', enum_values: [0, 1, 2], enum_labels: ['x', 'y', 'z'] });
    assert.deepEqual(values(p[0]), [1, 2, 1]);
    // a dictionary whose order differs from the user's labels: values follow the user's labels
    const d = plan(table({ kind: col.dict(['b', 'a', 'b']) }), { kind: { enum_labels: ['a', 'b'] } });
    assert.deepEqual(d[0].spec, { id: 'kind', type: 'uint8', enum_values: [0, 1], enum_labels: ['a', 'b'] });
    assert.deepEqual(values(d[0]), [1, 0, 1]);
    const q = plan(table({ kind: col.str(['y', 'z']) }), { kind: { enum_values: [5, 9, 7], enum_labels: ['x', 'y', 'z'] } });
    assert.deepEqual(values(q[0]), [9, 7]);
    throwsExport(() => plan(table({ kind: col.str(['y', 'w', 'x', 'v']) }), { kind: { enum_labels: ['x', 'y'] } }), /enum_labels.*rows 2, 4/, {
      column: 'kind',
      rows: [1, 3],
    });
  });

  test('enum_values that neuroglancer would refuse (or truncate) are an error, even when no row uses them', () => {
    const bad: Array<[Table, Partial<PropertySpec>, RegExp]> = [
      [table({ k: col.str(['a']) }), { enum_values: [0, 300], enum_labels: ['a', 'b'] }, /enum value 300 does not fit type uint8/],
      [table({ k: col.u8([0]) }), { enum_values: [0, -1], enum_labels: ['a', 'b'] }, /enum value -1 does not fit type uint8/],
      [table({ k: col.u8([0]) }), { enum_values: [0, 1.5], enum_labels: ['a', 'b'] }, /enum value 1.5 does not fit/],
      [table({ k: col.u8([0]) }), { enum_values: ['0', 1] as never, enum_labels: ['a', 'b'] }, /enum value "0" does not fit/],
      [table({ k: col.i16([0]) }), { enum_values: [0, 40000], enum_labels: ['a', 'b'] }, /40000 does not fit type int16/],
      [table({ k: col.u8([0]) }), { enum_values: [0, 1] }, /enum_values needs enum_labels/],
    ];
    for (const [t, user, message] of bad) throwsExport(() => plan(t, { k: user }), message);
    assert.deepEqual(plan(table({ k: col.i8([0]) }), { k: { enum_values: [0, -1], enum_labels: ['a', 'b'] } })[0].spec.enum_values, [0, -1]);
    assert.deepEqual(plan(table({ k: col.f32([0]) }), { k: { enum_values: [0, 1.5], enum_labels: ['a', 'b'] } })[0].spec.enum_values, [0, 1.5]);
  });

  test('values that do not fit the declared type are an error naming the rows, never wrapped', () => {
    throwsExport(() => plan(table({ n: col.i32([1, 300, -5]) }), [{ id: 'n', type: 'uint8' }]), /uint8.*rows 2, 3/, { column: 'n', rows: [1, 2] });
    throwsExport(() => plan(table({ n: col.f64([1, 1.5]) }), [{ id: 'n', type: 'int16' }]), /int16.*row 2/, { column: 'n', rows: [1] });
    throwsExport(() => plan(table({ n: col.u32([4294967295]) }), [{ id: 'n', type: 'int32' }]), /int32.*row 1/, { column: 'n', rows: [0] });
    throwsExport(() => plan(table({ n: col.i32([1, null]) }), [{ id: 'n', type: 'int32' }]), /row 2/, { column: 'n', rows: [1] });
  });

  test('invalid property names are an error', () => {
    for (const name of ['Kind', '1x', 'a-b', '_x', 'é']) {
      throwsExport(() => plan(table({ [name]: col.u8([1]) }), [name]), /Invalid property name/, { column: name });
    }
  });

  test('order: stable by width key — float32/int32, then uint32, then 16-bit, then 8-bit and colours', () => {
    const t = table({
      a: col.u8([1]),
      b: col.u32([1]),
      c: col.i32([1]),
      d: col.f32([1]),
      e: col.u16([1]),
      f: col.str(['#010203']),
      g: col.i16([1]),
      h: col.i8([1]),
    });
    assert.deepEqual(specs(plan(t, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'])).map((s) => s.id), ['c', 'd', 'b', 'e', 'g', 'a', 'f', 'h']);
  });
});

describe('geometry columns', () => {
  test('a coordinate column holding text names the first rows that are not numbers, and the value', () => {
    const t = table({ x: col.f64([1, 2, 3, 4]), y: col.str(['2', 'five', '8', '']) });
    throwsExport(() => prepare(t, null, normalizeCoordSpace('xy'), 'point', {}, () => {}), /"y".*rows 2, 4; first: "five"/, { column: 'y', rows: [1, 3], value: 'five' });
    const u = table({ x: col.f64([1]), y: col.bool([true]) });
    throwsExport(() => prepare(u, null, normalizeCoordSpace('xy'), 'point', {}, () => {}), /"y".*Bool/, { column: 'y' });
  });
});

describe('relationships (reference-behaviour.md (d))', () => {
  const lists = (t: Table, name: string) => {
    const r = readRelationship(t, name);
    return Array.from({ length: t.numRows }, (_, i) => [...r.ids.subarray(r.offsets[i], r.offsets[i + 1])]);
  };

  test('scalar columns: one id per row, null = none, 0 is an id; ids above 2^53 exact', () => {
    assert.deepEqual(lists(table({ r: col.i64([100n, null, 0n]) }), 'r'), [[100n], [], [0n]]);
    assert.deepEqual(lists(table({ r: col.u64([2n ** 53n + 1n, U64_MAX]) }), 'r'), [[2n ** 53n + 1n], [U64_MAX]]);
    assert.deepEqual(lists(table({ r: col.i32([5, 6]) }), 'r'), [[5n], [6n]]);
    throwsExport(() => lists(table({ r: col.i64([1n, -1n]) }), 'r'), /row 2/, { column: 'r', rows: [1] });
  });

  test('list columns: kept as given, duplicates included; empty and null lists are none', () => {
    assert.deepEqual(lists(table({ r: col.listI64([[10n, 11n], [], null, [100n, 100n, 300n]]) }), 'r'), [[10n, 11n], [], [], [100n, 100n, 300n]]);
    throwsExport(() => lists(table({ r: col.listI64([[1n], [2n, -3n]]) }), 'r'), /row 2/, { column: 'r', rows: [1] });
  });

  test('text cells: 100, [10, 11], 10;11, empty', () => {
    assert.deepEqual(lists(table({ r: col.str(['100', '[10, 11]', '10;11', '', null, '[]', ' 7 ', '18446744073709551615']) }), 'r'), [
      [100n],
      [10n, 11n],
      [10n, 11n],
      [],
      [],
      [],
      [7n],
      [U64_MAX],
    ]);
    assert.equal(parseRelationshipCell('18446744073709551616'), null);
    throwsExport(() => lists(table({ r: col.str(['1', 'abc', '2', '-4']) }), 'r'), /rows 2, 4/, { column: 'r', rows: [1, 3] });
  });

  // Annotation ids deliberately not in row order: by_rel lists follow the id order.
  const relTable = () =>
    table({
      annotation_id: col.u64([30n, 10n, 20n, 40n]),
      x: col.f64([0, 1, 2, 3]),
      y: col.f64([0, 1, 2, 3]),
      partners: col.listI64([[100n, 100n, 300n], [100n], [], null]),
      pre: col.i64([7n, null, 7n, 8n]),
      text: col.str(['[5, 6]', '', '5', '6;5']),
    });
  const u32le = (b: Buffer, at: number) => b.readUInt32LE(at);

  test('by_id: per relationship a uint32 count and the ids as given (duplicates kept, null and empty → 0)', async () => {
    const out = join(tmp.dir, 'rel-by-id');
    await writePrecomputedAnnotations(relTable(), 'xy', 'point', {
      relationships: ['partners', 'pre', 'text'],
      outputDir: out,
      writeSharded: false,
      writeBySpatialChunk: false,
    });
    const value = (id: bigint) => {
      const b = readFileSync(join(out, 'by_id', String(id)));
      const lists: bigint[][] = [];
      let at = 8; // the 2-D point record
      for (let r = 0; r < 3; r++) {
        const n = u32le(b, at);
        at += 4;
        lists.push(Array.from({ length: n }, (_, j) => b.readBigUInt64LE(at + 8 * j)));
        at += 8 * n;
      }
      assert.equal(at, b.length, 'nothing after the relationships');
      return lists;
    };
    assert.deepEqual(value(30n), [[100n, 100n, 300n], [7n], [5n, 6n]]);
    assert.deepEqual(value(10n), [[100n], [], []]);
    assert.deepEqual(value(20n), [[], [7n], [5n]]);
    assert.deepEqual(value(40n), [[], [8n], [6n, 5n]]);
    const ds = await readDatasetWithNeuroglancer(out);
    assert.deepEqual((await ds.getById(30n))?.relationships, [[100n, 100n, 300n], [7n], [5n, 6n]]);
  });

  test('by_rel: each related id lists its annotations once, in ascending annotation id order', async () => {
    const out = join(tmp.dir, 'rel-by-rel');
    await writePrecomputedAnnotations(relTable(), 'xy', 'point', {
      relationships: ['partners', 'pre', 'text'],
      outputDir: out,
      writeSharded: false,
      writeBySpatialChunk: false,
    });
    const members = (rel: string, key: bigint) => {
      const b = readFileSync(join(out, `by_rel_${rel}`, String(key)));
      const n = Number(b.readBigUInt64LE(0));
      assert.equal(b.length, 8 + n * (8 + 8), 'count, records, ids');
      return Array.from({ length: n }, (_, j) => b.readBigUInt64LE(8 + 8 * n + 8 * j));
    };
    assert.deepEqual(members('partners', 100n), [10n, 30n]);
    assert.deepEqual(members('partners', 300n), [30n]);
    assert.deepEqual(members('pre', 7n), [20n, 30n]);
    assert.deepEqual(members('pre', 8n), [40n]);
    assert.deepEqual(members('text', 5n), [20n, 30n, 40n]);
    assert.deepEqual(members('text', 6n), [30n, 40n]);
    const ds = await readDatasetWithNeuroglancer(out);
    assert.deepEqual((await ds.getByRelationship('partners', 100n))?.map((a) => [a.id, a.point]), [
      [10n, [1, 1]],
      [30n, [0, 0]],
    ]);
  });
});

describe('relationships at scale', () => {
  test('by_rel over 600 annotations with ids across the whole uint64 range: each list is the sorted distinct ids', async () => {
    const rnd = testRandom(41);
    const n = 600;
    const idSet = new Set<bigint>();
    while (idSet.size < n) {
      const kind = rnd.below(4);
      idSet.add(kind === 0 ? BigInt(rnd.u32()) : kind === 1 ? (1n << 53n) + BigInt(rnd.u32()) : kind === 2 ? U64_MAX - BigInt(rnd.below(1000)) : rnd.u64());
    }
    const ids = [...idSet];
    const related = [0n, 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, U64_MAX, ...Array.from({ length: 14 }, () => rnd.u64())];
    const lists = ids.map(() => (rnd.below(5) === 0 ? null : Array.from({ length: rnd.below(5) }, () => related[rnd.below(related.length)])));
    const want = new Map<bigint, bigint[]>();
    lists.forEach((l, i) => {
      for (const r of new Set(l ?? [])) want.set(r, [...(want.get(r) ?? []), ids[i]]);
    });
    for (const v of want.values()) v.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const out = join(tmp.dir, 'rel-scale');
    await writePrecomputedAnnotations(
      table({ annotation_id: col.u64(ids), x: col.f64(ids.map((_, i) => i)), y: col.f64(ids.map(() => 0)), seg: col.listU64(lists) }),
      'xy',
      'point',
      { relationships: ['seg'], outputDir: out, writeSharded: false, writeBySpatialChunk: false },
    );
    const files = readdirSync(join(out, 'by_rel_seg')).map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    assert.deepEqual(files, [...want.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const [r, members] of want) {
      const b = readFileSync(join(out, 'by_rel_seg', String(r)));
      const count = Number(b.readBigUInt64LE(0));
      const got = Array.from({ length: count }, (_, j) => b.readBigUInt64LE(8 + 8 * count + 8 * j));
      assert.deepEqual(got, members, `related id ${r}`);
    }
  });
});

describe('tables in several record batches (as readers produce them)', () => {
  test('a table split into sliced batches prepares exactly like the same table in one batch', () => {
    const n = 9;
    const rows = Array.from({ length: n }, (_, i) => i);
    const whole = table({
      annotation_id: col.u64(rows.map((i) => 2n ** 60n + BigInt(i * 7))),
      x: col.f64(rows.map((i) => i * 1.5)),
      y: col.f64(rows.map((i) => -i)),
      n64: col.i64(rows.map((i) => (i === 4 ? -3n : BigInt(i * 100)))),
      kind: col.dict(rows.map((i) => ['p', 'q', 'r'][i % 3])),
      name: col.str(rows.map((i) => `s${i % 4}`)),
      w: col.f64(rows.map((i) => i / 3)),
      ok: col.bool(rows.map((i) => i % 2 === 0)),
      c: col.str(rows.map((i) => `#0${i}a0b0`)),
      partners: col.listI64(rows.map((i) => (i % 3 === 0 ? null : Array.from({ length: i % 4 }, (_, j) => BigInt(i + j))))),
      pre: col.i64(rows.map((i) => (i % 2 ? BigInt(i) : null))),
    });
    const split = whole.slice(0, 2).concat(whole.slice(2, 3), whole.slice(3, 7), whole.slice(7));
    assert.equal(split.batches.length, 4);
    const opts: WriteOptions = { properties: ['n64', 'kind', 'name', 'w', 'ok', 'c'], relationships: ['partners', 'pre'] };
    const a = prepare(whole, null, normalizeCoordSpace('xy'), 'point', opts, () => {});
    const b = prepare(split, null, normalizeCoordSpace('xy'), 'point', opts, () => {});
    assert.deepEqual(b.ids, a.ids);
    assert.deepEqual(b.propertySpecs, a.propertySpecs);
    assert.deepEqual(b.records, a.records);
    assert.deepEqual(b.relationships, a.relationships);
    assert.deepEqual([b.lower, b.upper], [a.lower, a.upper]);
    assert.equal(a.propertySpecs.find((s) => s.id === 'n64')?.type, 'int16');
    assert.deepEqual(a.propertySpecs.find((s) => s.id === 'kind')?.enum_labels, ['p', 'q', 'r']);
  });
});

describe('annotation ids (api.md §2)', () => {
  const xy = (n: number) => ({ x: col.f64(new Array(n).fill(0)), y: col.f64(new Array(n).fill(0)) });
  const ids = (t: Table, idColumn?: string) => {
    const p = prepare(t, null, normalizeCoordSpace('xy'), 'point', { idColumn }, () => {});
    return [...p.ids];
  };
  const withPandas = (t: Table, meta: unknown) => {
    t.schema.metadata.set('pandas', JSON.stringify(meta));
    return t;
  };

  test('idColumn wins, then a column named annotation_id', () => {
    const t = table({ ...xy(2), annotation_id: col.u64([5n, 6n]), mine: col.i32([8, 9]) });
    assert.deepEqual(ids(t, 'mine'), [8n, 9n]);
    assert.deepEqual(ids(t), [5n, 6n]);
    assert.equal(resolveIds(t, 2, undefined).source, 'annotation_id');
    throwsExport(() => ids(t, 'nope'), /Missing id column "nope"/, { column: 'nope' });
  });

  test('the pandas index from the schema metadata: a named index column, or a RangeIndex start/step', () => {
    const named = withPandas(table({ ...xy(3), body: col.i64([11n, 12n, 13n]) }), { index_columns: ['body'] });
    assert.deepEqual(ids(named), [11n, 12n, 13n]);
    assert.equal(resolveIds(named, 3, undefined).source, 'pandas index');
    const anon = withPandas(table({ ...xy(2), __index_level_0__: col.i64([4n, 2n]) }), { index_columns: ['__index_level_0__'] });
    assert.deepEqual(ids(anon), [4n, 2n]);
    const range = withPandas(table({ ...xy(3) }), { index_columns: [{ kind: 'range', name: null, start: 100, stop: 115, step: 5 }] });
    assert.deepEqual(ids(range), [100n, 105n, 110n]);
    assert.equal(resolveIds(range, 3, undefined).source, 'pandas range index');
    // an annotation_id column still wins over the pandas index
    const both = withPandas(table({ ...xy(2), body: col.i64([1n, 2n]), annotation_id: col.u64([7n, 8n]) }), { index_columns: ['body'] });
    assert.deepEqual(ids(both), [7n, 8n]);
  });

  test('otherwise row numbers 0..n-1', () => {
    assert.deepEqual(ids(table(xy(4))), [0n, 1n, 2n, 3n]);
    assert.equal(resolveIds(table(xy(4)), 4, undefined).source, 'row numbers');
  });

  test('ids above 2^53 stay exact (uint64 and text columns)', () => {
    assert.deepEqual(ids(table({ ...xy(3), annotation_id: col.u64([2n ** 53n + 1n, U64_MAX, 2n ** 63n + 3n]) })), [2n ** 53n + 1n, U64_MAX, 2n ** 63n + 3n]);
    assert.deepEqual(ids(table({ ...xy(2), annotation_id: col.str(['9007199254740993', '18446744073709551615']) })), [9007199254740993n, U64_MAX]);
    assert.deepEqual(ids(table({ ...xy(2), annotation_id: col.i64([2n ** 62n + 1n, 0n]) })), [2n ** 62n + 1n, 0n]);
  });

  test('duplicates, negatives, fractions, nulls and values above 2^64-1 are rejected, naming the rows', () => {
    const t = (v: Vector) => table({ ...xy(v.length), annotation_id: v });
    throwsExport(() => ids(t(col.u64([1n, 2n, 1n, 3n]))), /unique.*id 1 .*rows 1, 3/, { column: 'annotation_id', rows: [0, 2] });
    throwsExport(() => ids(t(col.i64([1n, -2n, 3n, -4n]))), /not uint64.*rows 2, 4/, { column: 'annotation_id', rows: [1, 3] });
    throwsExport(() => ids(t(col.f64([1, 2.5, 3]))), /not uint64.*row 2/, { column: 'annotation_id', rows: [1] });
    throwsExport(() => ids(t(col.f64([1, 2 ** 53 + 2]))), /not uint64.*row 2/, { column: 'annotation_id', rows: [1] });
    throwsExport(() => ids(t(col.u64([1n, null, 3n]))), /empty.*row 2/, { column: 'annotation_id', rows: [1] });
    throwsExport(() => ids(t(col.f64([1, NaN]))), /row 2/, { column: 'annotation_id', rows: [1] });
    throwsExport(() => ids(t(col.str(['1', '18446744073709551616']))), /not uint64.*row 2/, { column: 'annotation_id', rows: [1] });
    throwsExport(() => ids(t(col.str(['1', '-1', 'x', '1.0']))), /3 value.*rows 2, 3, 4/, { column: 'annotation_id', rows: [1, 2, 3] });
    // many bad rows: the first five are named (1-based) and the rest counted
    const many = col.i64(Array.from({ length: 14 }, (_, i) => (i < 2 ? BigInt(i) : -BigInt(i))));
    throwsExport(() => ids(t(many)), /12 value\(s\).*rows 3, 4, 5, 6, 7 and 7 more; first: -2/, { rows: [2, 3, 4, 5, 6] });
    const negRange = withPandas(table({ ...xy(3) }), { index_columns: [{ kind: 'range', start: 1, step: -1 }] });
    throwsExport(() => ids(negRange), /negative.*row 3/);
  });
});
