// Columns mapped to geometry and dimensions, as a new user's first table needs: a CAVE-style synapse
// table (pandas-style Parquet with an `id` column and uint64 root ids > 2^53; a CSV; a semicolon +
// decimal-comma CSV) exported as lines from pre- to post-synaptic point in dimensions x, y, z (nm,
// scales 4, 4, 40), decoded with neuroglancer's own code. The CLI's recognition, its explicit role
// flags, the mapping JSON and the form's guess give byte-identical datasets.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBuilt, runCli, runOk, snapshot } from './helpers/cli';
import { readDatasetWithNeuroglancer } from './helpers/ngread';
import { writeParquet } from './io-fixtures';
import { previewTable } from '../src/io/preview';
import { guessFormState } from '../src/shared/guess';

const N = 40;
const ROOT_BASE = 864691135000000000n; // > 2^53: exact only as uint64
const rows = Array.from({ length: N }, (_, i) => ({
  id: 1000 + 7 * i,
  pre: [100 + i * 10.5, 200 + i * 3.25, 10 + i],
  post: [101 + i * 10.5, 203 + i * 3.25, 11 + i],
  ctr: [100.5 + i * 10.5, 201.5 + i * 3.25, 10.5 + i],
  preRoot: ROOT_BASE + BigInt(i % 5) * 2n ** 40n + 1n,
  postRoot: ROOT_BASE + BigInt(i % 3) * 2n ** 40n + 7n,
  size: 20 + ((i * 37) % 200),
}));
const COLUMNS = [
  'id',
  ...['pre_pt', 'post_pt', 'ctr_pt'].flatMap((p) => ['x', 'y', 'z'].map((a) => `${p}_position_${a}`)),
  'pre_pt_root_id',
  'post_pt_root_id',
  'size',
];
const cells = (r: (typeof rows)[number]) => [String(r.id), ...[...r.pre, ...r.post, ...r.ctr].map(String), String(r.preRoot), String(r.postRoot), String(r.size)];
const A = ['pre_pt_position_x', 'pre_pt_position_y', 'pre_pt_position_z'];
const B = ['post_pt_position_x', 'post_pt_position_y', 'post_pt_position_z'];
const DIMS = ['--dims', 'x,y,z', '--units', 'nm', '--scales', '4,4,40'];
// An explicit property type: Parquet's int32 column and the CSV's inferred uint8 would differ otherwise.
const REST = ['--relationships', 'pre_pt_root_id,post_pt_root_id', '--properties', 'size', '--property-type', 'size=uint16', '--seed', '3', '--quiet'];

let dir: string;
const files: Record<'parquet' | 'csv' | 'eu', string> = { parquet: '', csv: '', eu: '' };

before(async () => {
  ensureBuilt();
  dir = fs.mkdtempSync(path.join(tmpdir(), 'ng-mapping-'));
  files.csv = path.join(dir, 'synapses.csv');
  fs.writeFileSync(files.csv, [COLUMNS.join(','), ...rows.map((r) => cells(r).join(','))].join('\n') + '\n');
  // Spreadsheet software in much of Europe: ';' between fields, a decimal comma.
  files.eu = path.join(dir, 'synapses-eu.csv');
  fs.writeFileSync(files.eu, [COLUMNS.join(';'), ...rows.map((r) => cells(r).map((c) => c.replace('.', ',')).join(';'))].join('\r\n') + '\r\n');
  // As pandas' to_parquet writes it: the columns, and a RangeIndex kept only in the metadata.
  files.parquet = path.join(dir, 'synapses.parquet');
  const values = rows
    .map((r) => `(${r.id}, ${[...r.pre, ...r.post, ...r.ctr].map((v) => `${v}::DOUBLE`).join(', ')}, ${r.preRoot}::UBIGINT, ${r.postRoot}::UBIGINT, ${r.size})`)
    .join(', ');
  const pandas = JSON.stringify({
    index_columns: [{ kind: 'range', name: null, start: 0, stop: N, step: 1 }],
    column_indexes: [],
    columns: COLUMNS.map((name) => ({ name, field_name: name, pandas_type: name.endsWith('root_id') ? 'uint64' : 'float64', numpy_type: 'float64', metadata: null })),
    creator: { library: 'pyarrow', version: '17.0.0' },
    pandas_version: '2.2.2',
  });
  await writeParquet(path.join(dir, 'synapses.parquet'), `SELECT * FROM (VALUES ${values}) t(${COLUMNS.join(', ')})`, { kvMetadata: { pandas } });
});
after(() => { if (!process.env.KEEP_TEST_DIR) fs.rmSync(dir, { recursive: true, force: true }); });

async function exportTo(name: string, args: string[]): Promise<string> {
  const out = path.join(dir, name);
  await runOk([...args, '--out', out]);
  return out;
}

function assertSameBytes(a: string, b: string): void {
  const x = snapshot(a);
  const y = snapshot(b);
  assert.deepEqual([...x.keys()], [...y.keys()], `${a} and ${b} hold different files`);
  for (const [k, v] of x) assert.ok(v.equals(y.get(k)!), `${k} differs between ${path.basename(a)} and ${path.basename(b)}`);
}

describe('a CAVE synapse table, exported as lines in x, y, z', { concurrency: 1 }, () => {
  const outs: Record<string, string> = {};

  it('Parquet (pandas-style): neuroglancer reads lines pre → post, ids from "id", exact uint64 root ids', async () => {
    const r = await runOk(['export', files.parquet, '--type', 'line', ...DIMS, '--relationships', 'pre_pt_root_id,post_pt_root_id', '--properties', 'size', '--out', path.join(dir, 'pq-summary')]);
    assert.match(r.stdout, /geometry: line endpoint a pre_pt_position_x,pre_pt_position_y,pre_pt_position_z; line endpoint b post_pt_position_x/);
    assert.match(r.stdout, /ids: column "id" \(unique integers named "id"; --no-id-column for row numbers\)/);
    outs.parquet = await exportTo('pq', ['export', files.parquet, '--type', 'line', ...DIMS, ...REST]);
    const ds = await readDatasetWithNeuroglancer(outs.parquet);
    assert.equal(ds.type, 'line');
    assert.deepEqual(ds.raw.dimensions, { x: [4e-9, 'm'], y: [4e-9, 'm'], z: [4e-8, 'm'] });
    assert.deepEqual(ds.relationships, ['pre_pt_root_id', 'post_pt_root_id']);
    for (const row of [rows[0]!, rows[17]!, rows[N - 1]!]) {
      const a = await ds.getById(BigInt(row.id));
      assert.ok(a, `annotation ${row.id} is in by_id`);
      assert.deepEqual(a.pointA, row.pre.map(Math.fround));
      assert.deepEqual(a.pointB, row.post.map(Math.fround));
      assert.deepEqual(a.relationships, [[row.preRoot], [row.postRoot]]);
      assert.equal(a.properties[0], row.size);
    }
    assert.equal(await ds.getById(0n), undefined, 'ids are not row numbers');
    const linked = await ds.getByRelationship('pre_pt_root_id', rows[3]!.preRoot);
    assert.deepEqual(
      linked?.map((x) => x.id).sort((p, q) => Number(p - q)),
      rows.filter((r) => r.preRoot === rows[3]!.preRoot).map((r) => BigInt(r.id)),
    );
  });

  it('the same table as CSV, and as ";"-separated CSV with decimal commas: the same bytes', async () => {
    outs.csv = await exportTo('csv', ['export', files.csv, '--type', 'line', ...DIMS, ...REST]);
    outs.eu = await exportTo('eu', ['export', files.eu, '--type', 'line', '--decimal-comma', ...DIMS, ...REST]);
    assertSameBytes(outs.csv, outs.eu);
    assertSameBytes(outs.parquet!, outs.csv);
    const r = await runOk(['export', files.eu, '--type', 'line', '--decimal-comma', ...DIMS, '--out', path.join(dir, 'eu-summary')]);
    assert.match(r.stdout, /read as: ";"-separated \(sniffed; --delimiter to choose\), decimal comma/);
  });

  it('explicit roles (--a/--b), a neuroglancer coordinate space, and the mapping JSON: the same bytes', async () => {
    const explicit = await exportTo('explicit', ['export', files.parquet, '--type', 'line', '--a', A.join(','), '--b', B.join(','), '--id-column', 'id', ...DIMS, ...REST]);
    assertSameBytes(outs.parquet!, explicit);
    const space = await exportTo('space', ['export', files.parquet, '--type', 'line', '--dims', '{"x": [4, "nm"], "y": [4, "nm"], "z": [40, "nm"]}', ...REST]);
    assertSameBytes(outs.parquet!, space);
    const mapping = {
      version: 1,
      input: 'synapses.parquet',
      annotationType: 'line',
      coords: ['x', 'y', 'z'],
      units: ['nm', 'nm', 'nm'],
      scales: [4, 4, 40],
      geometry: { a: A, b: B },
      idColumn: 'id',
      properties: [{ id: 'size', type: 'uint16' }],
      relationships: ['pre_pt_root_id', 'post_pt_root_id'],
      seed: 3,
    };
    fs.writeFileSync(path.join(dir, 'm.json'), JSON.stringify(mapping));
    const viaJson = await exportTo('json', ['export', '--config', path.join(dir, 'm.json'), '--quiet']);
    assertSameBytes(outs.parquet!, viaJson);
  });

  it("the form's guess for this table, replayed by the CLI: the same bytes", async () => {
    const preview = await previewTable(files.parquet, 20);
    const state = guessFormState(preview, files.parquet, path.join(dir, 'form'));
    assert.equal(state.mapping.annotationType, 'line');
    assert.deepEqual(state.mapping.geometry, { a: A, b: B });
    assert.equal(state.mapping.idColumn, 'id');
    const m = { ...state.mapping, units: ['nm', 'nm', 'nm'], scales: [4, 4, 40], properties: [{ id: 'size', type: 'uint16' }], relationships: ['pre_pt_root_id', 'post_pt_root_id'], seed: 3 };
    fs.writeFileSync(path.join(dir, 'form.json'), JSON.stringify(m));
    await runOk(['export', '--config', path.join(dir, 'form.json'), '--quiet']);
    assertSameBytes(outs.parquet!, path.join(dir, 'form'));
  });

  it('--no-id-column numbers the rows', async () => {
    const out = await exportTo('rownumbers', ['export', files.csv, '--type', 'line', '--no-id-column', ...DIMS, '--quiet']);
    const ds = await readDatasetWithNeuroglancer(out);
    assert.deepEqual((await ds.getById(0n))?.pointA, rows[0]!.pre.map(Math.fround));
    assert.equal(await ds.getById(1000n), undefined);
  });

  it('errors name the role and the columns; a wrong delimiter or a decimal comma is suggested', async () => {
    const q = await runCli(['export', files.parquet, '--type', 'line', '--a', A.join(','), '--b', 'post_pt_position_x,post_pt_position_y,post_pt_position_q', '--out', path.join(dir, 'bad')]);
    assert.equal(q.code, 1);
    assert.match(q.stderr, /^error: synapses\.parquet: line endpoint b: column "post_pt_position_q" not found; columns are "id", "pre_pt_position_x"/);
    const short = await runCli(['export', files.parquet, '--type', 'line', '--a', 'pre_pt_position_x,pre_pt_position_y', '--b', B.join(','), '--dims', 'x,y,z', '--out', path.join(dir, 'bad')]);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /--a: expected 3 column names, one per dimension \(x, y, z\), got 2/);
    const role = await runCli(['export', files.parquet, '--type', 'point', '--a', A.join(','), '--out', path.join(dir, 'bad')]);
    assert.equal(role.code, 2);
    assert.match(role.stderr, /--a is not a role of --type point \(it has --point\)/);
    const none = await runCli(['export', files.csv, '--type', 'ellipsoid', '--out', path.join(dir, 'bad')]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /ellipsoid center: column "x" not found; columns are .*give them with --center X,Y,Z --radii X,Y,Z/);
    const delim = await runCli(['export', files.eu, '--type', 'line', '--delimiter', ',', '--out', path.join(dir, 'bad')]);
    assert.equal(delim.code, 1);
    assert.match(delim.stderr, /fields look ";"-separated: give the delimiter, e\.g\. --delimiter ';'/);
    const comma = await runCli(['export', files.eu, '--type', 'line', '--out', path.join(dir, 'bad')]);
    assert.equal(comma.code, 1);
    assert.match(comma.stderr, /holds text: .*first: "\d+,5"\).*--decimal-comma/);
    const dup = path.join(dir, 'dup.csv');
    fs.writeFileSync(dup, 'id,x,y,z\n1,0,0,0\n2,1,1,1\n' + Array.from({ length: 30 }, (_, i) => `${3 + i},${i},${i},${i}`).join('\n') + '\n1,5,5,5\n');
    const d = await runCli(['export', dup, '--type', 'point', '--out', path.join(dir, 'bad')]);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /id 1 appears more than once in column "id".*taken as the id column because of its name; --no-id-column/);
  });
});
