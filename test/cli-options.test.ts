// Every `export` option as a user passes it, plus --help/--version, --config and `demo`, checked on
// what lands on disk (and what neuroglancer decodes from it).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Bool, Dictionary, Float64, Int32, Int64, Int8, RecordBatch, Schema, Table, Uint16, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { runSyncWithin } from './helpers/bounded';
import { CLI, ROOT, arrowTable, assertNoTemporaries, ensureBuilt, listTree, runCli, runOk, snapshot, toText, writeParquetFile, type Column } from './helpers/cli';
import { PROPS, RELS, checkDataset, idsFor, makeFixture, rng, type AnnType } from './helpers/cli-data';
import { readDatasetWithNeuroglancer } from './helpers/ngread';
import { compressedIpcTable, duckdb } from './io-fixtures';
import { version } from '../package.json';

const tmp = fs.mkdtempSync(path.join(tmpdir(), 'ng-cli-opt-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const caseDir = (label: string) => fs.mkdtempSync(path.join(tmp, `${label}-`));
const readInfo = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'info'), 'utf8'));

const small = makeFixture('point', 40, 7);
const big = makeFixture('point', 300, 8);
let smallCsv = '';
let bigCsv = '';
before(() => {
  ensureBuilt();
  smallCsv = path.join(tmp, 'points.csv');
  fs.writeFileSync(smallCsv, toText(small.main, ','));
  bigCsv = path.join(tmp, 'big.csv');
  fs.writeFileSync(bigCsv, toText(big.main, ','));
});

const withName = (cols: Column[], from: string, to: string) => cols.map((c) => (c.name === from ? { ...c, name: to } : c));

describe('export options', { concurrency: 4 }, () => {
  it('--coords, --units and --scales set the dimensions', async () => {
    const d = caseDir('coords');
    let cols = small.main;
    for (const [a, b] of [['x', 'u'], ['y', 'v'], ['z', 'w']]) cols = withName(cols, a, b);
    const input = path.join(d, 'uvw.csv');
    fs.writeFileSync(input, toText(cols, ','));
    const out = path.join(d, 'out');
    await runOk(['export', input, '--type', 'point', '--out', out, '--coords', 'u,v,w', '--units', 'um,um,nm', '--scales', '8,8,40', '--quiet']);
    assert.deepEqual(readInfo(out).dimensions, { u: [8e-6, 'm'], v: [8e-6, 'm'], w: [4e-8, 'm'] });
    await checkDataset(out, small.expected);
    // One unit / one scale applies to every dimension.
    const out2 = path.join(d, 'out2');
    await runOk(['export', input, '--type', 'point', '--out', out2, '--coords', 'u,v,w', '--units', 'nm', '--scales', '4', '--quiet']);
    assert.deepEqual(readInfo(out2).dimensions, { u: [4e-9, 'm'], v: [4e-9, 'm'], w: [4e-9, 'm'] });
  });

  it('rank 2 (--coords x,y) and default units nm, scale 1', async () => {
    const d = caseDir('rank2');
    const input = path.join(d, 'xy.csv');
    fs.writeFileSync(input, toText(small.main.filter((c) => c.name !== 'z'), ','));
    const out = path.join(d, 'out');
    await runOk(['export', input, '--type', 'point', '--out', out, '--coords', 'x,y', '--quiet']);
    assert.deepEqual(readInfo(out).dimensions, { x: [1e-9, 'm'], y: [1e-9, 'm'] });
    const ds = await readDatasetWithNeuroglancer(out);
    assert.equal(ds.rank, 2);
    for (let i = 0; i < small.expected.ids.length; i++) {
      const a = await ds.getById(small.expected.ids[i]);
      assert.deepEqual(a?.point, (small.expected.geometry[i].point as number[]).slice(0, 2).map(Math.fround));
    }
  });

  it('--property-type overrides inference (and values still decode exactly)', async () => {
    const d = caseDir('ptype');
    const out = path.join(d, 'out');
    await runOk(['export', smallCsv, '--type', 'point', '--out', out, '--properties', 'score,level', '--property-type', 'level=int32', '--property-type', 'score=float32', '--quiet']);
    const ds = await checkDataset(out, small.expected, { properties: ['score', 'level'] });
    assert.deepEqual(Object.fromEntries(ds.properties.map((p) => [p.identifier, p.type])), { score: 'float32', level: 'int32' });
    // A type for a column not in --properties adds it.
    const out2 = path.join(d, 'out2');
    const input = path.join(d, 'count.csv');
    fs.writeFileSync(input, 'x,y,z,a\n1,2,3,0\n4,5,6,200\n');
    await runOk(['export', input, '--type', 'point', '--out', out2, '--property-type', 'a=uint16', '--quiet']);
    const ds2 = await readDatasetWithNeuroglancer(out2);
    assert.deepEqual(ds2.properties.map((p) => [p.identifier, p.type]), [['a', 'uint16']]);
    assert.deepEqual((await ds2.getById(1n))?.properties, [200]);
  });

  it('--id-column picks the ids; without any id column, ids are row numbers', async () => {
    const d = caseDir('ids');
    const other = idsFor(40).map((x) => x ^ 0x5555n);
    const input = path.join(d, 'oid.csv');
    fs.writeFileSync(input, toText([...small.main, { name: 'oid', kind: 'u64', values: other }], ','));
    const out = path.join(d, 'out');
    await runOk(['export', input, '--type', 'point', '--out', out, '--id-column', 'oid', '--quiet']);
    await checkDataset(out, { ...small.expected, ids: other });
    const noIds = path.join(d, 'noids.csv');
    fs.writeFileSync(noIds, toText(small.main.filter((c) => c.name !== 'annotation_id'), ','));
    const out2 = path.join(d, 'out2');
    await runOk(['export', noIds, '--type', 'point', '--out', out2, '--quiet']);
    await checkDataset(out2, { ...small.expected, ids: small.expected.ids.map((_, i) => BigInt(i)) });
  });

  it('--no-by-id, --no-by-relationship, --no-spatial leave those indexes out', async () => {
    const d = caseDir('no-index');
    const base = ['--type', 'point', '--properties', PROPS.join(','), '--relationships', RELS.join(','), '--quiet'];
    const o1 = path.join(d, 'no-by-id');
    await runOk(['export', smallCsv, ...base, '--out', o1, '--no-by-id']);
    assert.ok(!listTree(o1).some((f) => f.startsWith('by_id')), 'no by_id files');
    const ds1 = await readDatasetWithNeuroglancer(o1);
    assert.equal(await ds1.getById(small.expected.ids[0]), undefined);
    assert.ok((await ds1.getByRelationship('partners', 1n)) !== undefined || (await ds1.getByRelationship('pre', 1n)) !== undefined);

    const o3 = path.join(d, 'no-spatial');
    await runOk(['export', smallCsv, ...base, '--out', o3, '--no-spatial']);
    assert.ok(!listTree(o3).some((f) => f.startsWith('by_spatial')), 'no spatial files');
    assert.deepEqual(readInfo(o3).spatial, []);
    await checkDataset(o3, small.expected, { properties: PROPS, relationships: RELS, spatial: false });
  });

  it('--no-by-relationship leaves by_rel out and by_id still decodes', async () => {
    const d = caseDir('no-by-rel');
    const out = path.join(d, 'out');
    await runOk(['export', smallCsv, '--type', 'point', '--properties', PROPS.join(','), '--relationships', RELS.join(','), '--quiet', '--out', out, '--no-by-relationship']);
    assert.ok(!listTree(out).some((f) => f.startsWith('by_rel_')), 'no by_rel_ files');
    // As the reference writer: without by_rel indexes the info lists no relationships (so by_id holds none).
    assert.deepEqual(readInfo(out).relationships, []);
    await checkDataset(out, small.expected, { properties: PROPS, relationships: [] });
  });

  it('--spatial-levels and --chunk-limit bound the levels and the count per cell', async () => {
    const d = caseDir('levels');
    const out = path.join(d, 'out');
    await runOk(['export', bigCsv, '--type', 'point', '--out', out, '--spatial-levels', '3', '--chunk-limit', '5', '--quiet']);
    const info = readInfo(out);
    assert.equal(info.spatial.length, 3);
    const ds = await checkDataset(out, big.expected);
    // Quotas per level are cells × limit annotations; the last level takes the rest (points: one cell each).
    const counts: number[] = [];
    for (const l of ds.levels) counts.push([...(await ds.allSpatial(l.index)).values()].flat().length);
    const cells = (k: number) => (info.spatial[k].grid_shape as number[]).reduce((a, b) => a * b, 1);
    assert.equal(counts[0], 5);
    assert.equal(info.spatial[0].limit, 5);
    assert.equal(counts[1], Math.min(cells(1) * 5, 295));
    assert.equal(counts[2], 300 - counts[0] - counts[1]);
    // One level without subsampling: everything in it.
    const out1 = path.join(d, 'one');
    await runOk(['export', bigCsv, '--type', 'point', '--out', out1, '--spatial-levels', '1', '--chunk-limit', '0', '--quiet']);
    assert.equal(readInfo(out1).spatial.length, 1);
    await checkDataset(out1, big.expected);
  });

  it('--seed gives byte-identical datasets; another seed a different order; --no-shuffle is deterministic', async () => {
    const d = caseDir('seed');
    const run = async (name: string, ...extra: string[]) => {
      const out = path.join(d, name);
      await runOk(['export', bigCsv, '--type', 'point', '--out', out, '--chunk-limit', '20', '--quiet', ...extra]);
      return snapshot(out);
    };
    const [a, b, c, n1, n2] = await Promise.all([run('a', '--seed', '7'), run('b', '--seed', '7'), run('c', '--seed', '8'), run('n1', '--no-shuffle'), run('n2', '--no-shuffle')]);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.deepEqual(n1, n2);
    await checkDataset(path.join(d, 'c'), big.expected);
    await checkDataset(path.join(d, 'n1'), big.expected);
  });

  it('--description, --threads and --gzip-level', async () => {
    const d = caseDir('desc');
    const out = path.join(d, 'out');
    await runOk(['export', smallCsv, '--type', 'point', '--out', out, '--description', 'cells, "quoted" ünïcode', '--threads', '1', '--gzip-level', 'raw', '--quiet']);
    assert.equal(readInfo(out).description, 'cells, "quoted" ünïcode');
    await checkDataset(out, small.expected);
  });

  it('--overwrite replaces an earlier dataset', async () => {
    const d = caseDir('overwrite');
    const out = path.join(d, 'out');
    await runOk(['export', smallCsv, '--type', 'point', '--out', out, '--properties', 'score', '--quiet']);
    await runOk(['export', smallCsv, '--type', 'point', '--out', out, '--properties', 'kind', '--overwrite', '--quiet']);
    await checkDataset(out, small.expected, { properties: ['kind'] });
    assertNoTemporaries(d);
    assert.deepEqual(fs.readdirSync(d), ['out']);
  });

  it('--config replays a mapping JSON (paths relative to it), and flags override it', async () => {
    const d = caseDir('config');
    fs.copyFileSync(smallCsv, path.join(d, 'pts.csv'));
    const mapping = {
      version: 1,
      input: 'pts.csv',
      annotationType: 'point',
      coords: ['x', 'y', 'z'],
      units: ['nm', 'nm', 'um'],
      scales: [4, 4, 40],
      properties: ['score', { id: 'level', type: 'int32' }],
      relationships: ['pre'],
      output: 'from-config',
      sharded: false,
      seed: 3,
    };
    fs.writeFileSync(path.join(d, 'mapping.json'), JSON.stringify(mapping));
    const elsewhere = caseDir('cwd');
    await runOk(['export', '--config', path.join(d, 'mapping.json'), '--quiet'], { cwd: elsewhere });
    const out = path.join(d, 'from-config');
    await checkDataset(out, small.expected, { properties: ['score', 'level'], relationships: ['pre'] });
    assert.deepEqual(readInfo(out).dimensions, { x: [4e-9, 'm'], y: [4e-9, 'm'], z: [4e-5, 'm'] });
    assert.ok(!listTree(out).some((f) => f.endsWith('.shard')), 'sharded: false from the mapping');
    assert.deepEqual(fs.readdirSync(elsewhere), []);
    // Flags win over the mapping.
    const out2 = path.join(d, 'flags');
    await runOk(['export', '--config', path.join(d, 'mapping.json'), '--out', out2, '--properties', 'kind', '--relationships', 'partners', '--units', 'nm', '--quiet']);
    await checkDataset(out2, small.expected, { properties: ['kind'], relationships: ['partners'] });
    assert.deepEqual(readInfo(out2).dimensions, { x: [4e-9, 'm'], y: [4e-9, 'm'], z: [4e-8, 'm'] });
  });

  it('--json prints the summary as JSON; the default prints a readable one', async () => {
    const d = caseDir('json');
    const out = path.join(d, 'out');
    const r = await runOk(['export', smallCsv, '--type', 'point', '--out', out, '--relationships', 'pre', '--json']);
    const s = JSON.parse(r.stdout);
    assert.equal(s.annotations, 40);
    assert.equal(s.annotationType, 'point');
    assert.equal(s.rank, 3);
    assert.equal(path.resolve(s.outputDir), out);
    assert.equal(s.byId.keys, 40);
    assert.deepEqual(s.relationships.map((x: { key: string }) => x.key), ['by_rel_pre']);
    assert.ok(s.spatial.length >= 1);
    const r2 = await runOk(['export', smallCsv, '--type', 'point', '--out', path.join(d, 'out2')]);
    assert.match(r2.stdout, /Wrote 40 point annotation\(s\) \(3-D\) to /);
    assert.equal(r2.stderr, '', 'no progress bar when stderr is not a terminal');
  });

  it('without --out, writes <stem>.precomputed next to the input', async () => {
    const d = caseDir('default-out');
    const input = path.join(d, 'cells.csv');
    fs.copyFileSync(smallCsv, input);
    await runOk(['export', input, '--type', 'POINT', '--quiet'], { cwd: caseDir('cwd') });
    await checkDataset(path.join(d, 'cells.precomputed'), small.expected);
  });

  it('polylines: main-table ids without vertices are dropped with a warning; --quiet silences it', async () => {
    const d = caseDir('poly-warn');
    const main = path.join(d, 'm.csv');
    const verts = path.join(d, 'v.csv');
    fs.writeFileSync(main, 'annotation_id,score\n10,0.5\n20,0.25\n30,1\n');
    fs.writeFileSync(verts, 'annotation_id,x,y,z\n10,0,0,0\n30,9,9,9\n10,1,2,3\n30,8,8,8\n99,5,5,5\n30,7,7,7\n');
    const out = path.join(d, 'out');
    const r = await runOk(['export', main, '--points', verts, '--type', 'polyline', '--properties', 'score', '--out', out]);
    assert.match(r.stderr, /^warning: .*1 of 3 main-table annotations have no vertices/m);
    assert.match(r.stderr, /^warning: .*1 polyline vertex row/m);
    const ds = await readDatasetWithNeuroglancer(out);
    assert.deepEqual((await ds.getById(10n))?.points, [[0, 0, 0], [1, 2, 3]]);
    assert.deepEqual((await ds.getById(30n))?.points, [[9, 9, 9], [8, 8, 8], [7, 7, 7]]);
    assert.deepEqual((await ds.getById(30n))?.properties, [1]);
    assert.equal(await ds.getById(20n), undefined);
    assert.equal(await ds.getById(99n), undefined);
    const q = await runOk(['export', main, '--points', verts, '--type', 'polyline', '--out', path.join(d, 'q'), '--quiet']);
    assert.equal(q.stderr, '');
  });

  it('CSV with BOM, CRLF, quoted header and fields; output folder with missing parents', async () => {
    const d = caseDir('bom');
    const input = path.join(d, 'excel.csv');
    fs.writeFileSync(input, '\ufeff"annotation_id","x","y","z","note"\r\n5,1.5,2,3,"a, ""b"""\r\n6,4,5,6,"line\r\nbreak"\r\n');
    const out = path.join(d, 'deep', 'er', 'out');
    await runOk(['export', input, '--type', 'point', '--properties', 'note', '--out', out, '--quiet']);
    const ds = await readDatasetWithNeuroglancer(out);
    assert.deepEqual((await ds.getById(5n))?.point, [1.5, 2, 3]);
    const labels = ds.properties[0].enumLabels!;
    assert.deepEqual([...labels].sort(), ['a, "b"', 'line\r\nbreak'].sort());
    assert.equal(labels[(await ds.getById(6n))!.properties[0]], 'line\r\nbreak');
  });

  it('other extensions: .pq, .ipc, .arrows (stream), .txt (tab-separated), .tab', async () => {
    const d = caseDir('ext');
    const inputs: string[] = [];
    const add = (name: string, data: string | Uint8Array) => {
      fs.writeFileSync(path.join(d, name), data);
      inputs.push(path.join(d, name));
    };
    await writeParquetFile(path.join(d, 'p.pq'), small.main);
    inputs.push(path.join(d, 'p.pq'));
    add('i.ipc', tableToIPC(arrowTable(small.main), 'file'));
    add('s.arrows', tableToIPC(arrowTable(small.main), 'stream'));
    add('t.txt', toText(small.main, '\t'));
    add('t.tab', toText(small.main, '\t'));
    await Promise.all(
      inputs.map(async (input) => {
        const out = `${input}.out`;
        await runOk(['export', input, '--type', 'point', '--out', out, '--properties', PROPS.join(','), '--relationships', RELS.join(','), '--quiet']);
        await checkDataset(out, small.expected, { properties: PROPS, relationships: RELS });
      }),
    );
  });
});

describe('help, version, demo', { concurrency: 4 }, () => {
  it('--version prints the package version', async () => {
    const r = await runOk(['--version']);
    assert.equal(r.stdout.trim(), version);
  });
  it('--help lists the commands; export --help lists the options', async () => {
    const r = await runOk(['--help']);
    for (const cmd of ['export', 'serve', 'inspect', 'demo']) assert.match(r.stdout, new RegExp(`ng-annotations ${cmd}`));
    const e = await runOk(['export', '--help']);
    for (const flag of ['--type', '--out', '--coords', '--units', '--scales', '--properties', '--property-type', '--relationships', '--id-column', '--points', '--unsharded', '--no-by-id', '--no-by-relationship', '--no-spatial', '--spatial-levels', '--chunk-limit', '--no-shuffle', '--seed', '--threads', '--description', '--overwrite', '--config', '--quiet']) {
      assert.ok(e.stdout.includes(flag), `export --help mentions ${flag}`);
    }
  });
  it('no command: usage on stdout, exit 2; unknown command: exit 2', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /Commands:/);
    const u = await runCli(['frobnicate']);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /unknown command "frobnicate"/);
  });
  it('demo exports the bundled sample', async () => {
    const d = caseDir('demo');
    const r = await runOk(['demo', '--out', 'sample'], { cwd: d });
    assert.match(r.stdout, /Wrote 800 point annotation/);
    const ds = await readDatasetWithNeuroglancer(path.join(d, 'sample'));
    assert.equal(ds.type, 'point');
    assert.deepEqual(ds.relationships, ['pre_body', 'post_body']);
    const a = await ds.getById(1152921504606846976n);
    assert.deepEqual(a?.point, [2331, 2961, 100.5].map(Math.fround));
    // The demo may be run again over its own output.
    await runOk(['demo', '--out', 'sample'], { cwd: d });
  });
});

describe('pandas-style and compressed inputs', { concurrency: 4 }, () => {
  const base = () => arrowTable(small.main.filter((c) => c.name !== 'annotation_id'));
  const withPandas = (t: Table, extra: Column | null, meta: unknown): Table => {
    const cols = extra ? new Table({ ...Object.fromEntries(t.schema.fields.map((f) => [f.name, t.getChild(f.name)!])), [extra.name]: arrowTable([extra]).getChild(extra.name)! }) : t;
    const schema = new Schema(cols.schema.fields, new Map([['pandas', JSON.stringify({ columns: [], ...(meta as object) })]]));
    return new Table(schema, cols.batches.map((b) => new RecordBatch(schema, b.data)));
  };
  const ids = small.expected.ids.map((x) => x ^ 1n); // other ids, still within uint64

  it('Feather: a named pandas index column gives the ids', async () => {
    const d = caseDir('pandas-named');
    const input = path.join(d, 'df.feather');
    fs.writeFileSync(input, tableToIPC(withPandas(base(), { name: 'cell_id', kind: 'u64', values: ids }, { index_columns: ['cell_id'] }), 'file'));
    const out = path.join(d, 'out');
    await runOk(['export', input, '--type', 'point', '--out', out, '--quiet']);
    await checkDataset(out, { ...small.expected, ids });
  });

  it('Feather: __index_level_0__ gives the ids; a RangeIndex gives start + i*step', async () => {
    const d = caseDir('pandas-level0');
    const input = path.join(d, 'df.feather');
    fs.writeFileSync(input, tableToIPC(withPandas(base(), { name: '__index_level_0__', kind: 'u64', values: ids }, { index_columns: ['__index_level_0__'] }), 'file'));
    await runOk(['export', input, '--type', 'point', '--out', path.join(d, 'out'), '--quiet']);
    await checkDataset(path.join(d, 'out'), { ...small.expected, ids });
    const range = path.join(d, 'range.feather');
    fs.writeFileSync(range, tableToIPC(withPandas(base(), null, { index_columns: [{ kind: 'range', name: null, start: 100, stop: 100 + 3 * 40, step: 3 }] }), 'file'));
    await runOk(['export', range, '--type', 'point', '--out', path.join(d, 'range'), '--quiet']);
    await checkDataset(path.join(d, 'range'), { ...small.expected, ids: small.expected.ids.map((_, i) => 100n + 3n * BigInt(i)) });
  });

  it('Parquet: a pandas index column recorded in the metadata gives the ids; annotation_id wins over it', async () => {
    const d = caseDir('pandas-parquet');
    const input = path.join(d, 'df.parquet');
    const cols = [...small.main.filter((c) => c.name !== 'annotation_id'), { name: 'cell_id', kind: 'u64', values: ids } as Column];
    await writeParquetFile(input, cols, { kvMetadata: { pandas: JSON.stringify({ index_columns: ['cell_id'], columns: [] }) } });
    await runOk(['export', input, '--type', 'point', '--out', path.join(d, 'out'), '--quiet']);
    await checkDataset(path.join(d, 'out'), { ...small.expected, ids });
    const both = path.join(d, 'both.parquet');
    await writeParquetFile(both, [...small.main, { name: 'cell_id', kind: 'u64', values: ids }], { kvMetadata: { pandas: JSON.stringify({ index_columns: ['cell_id'], columns: [] }) } });
    await runOk(['export', both, '--type', 'point', '--out', path.join(d, 'both'), '--quiet']);
    await checkDataset(path.join(d, 'both'), small.expected);
  });

  it('signed int64 ids and relationships (as pandas writes them) from Parquet and Arrow', async () => {
    const d = caseDir('int64');
    // Same table, every uint64 value moved into int64's range (and still unique).
    const signed = (x: bigint) => (x === 2n ** 63n ? 2n ** 62n : x & (2n ** 63n - 1n));
    const cols: Column[] = small.main.map((c) =>
      c.kind === 'u64'
        ? { ...c, kind: 'i64', values: c.values.map((v) => (v === null ? null : signed(v as bigint))) }
        : c.kind === 'u64list'
          ? { ...c, kind: 'i64list', values: (c.values as bigint[][]).map((l) => l.map(signed)) }
          : c,
    );
    const e = small.expected;
    const expected = { ...e, ids: e.ids.map(signed), rels: Object.fromEntries(Object.entries(e.rels).map(([k, v]) => [k, v.map((l) => l.map(signed))])) };
    const pq = path.join(d, 't.parquet');
    await writeParquetFile(pq, cols);
    const arrow = path.join(d, 't.arrow');
    fs.writeFileSync(arrow, tableToIPC(arrowTable(cols), 'file'));
    for (const input of [pq, arrow]) {
      const out = `${input}.out`;
      await runOk(['export', input, '--type', 'point', '--properties', PROPS.join(','), '--relationships', RELS.join(','), '--out', out, '--quiet']);
      await checkDataset(out, expected, { properties: PROPS, relationships: RELS });
    }
  });

  for (const codec of ['uncompressed', 'snappy', 'gzip', 'zstd', 'brotli', 'lz4', 'lz4_raw']) {
    it(`Parquet compressed with ${codec} (written by DuckDB)`, async () => {
      const d = caseDir(`codec-${codec}`);
      const input = path.join(d, 't.parquet');
      await writeParquetFile(input, small.main, { codec });
      const out = path.join(d, 'out');
      await runOk(['export', input, '--type', 'point', '--properties', PROPS.join(','), '--relationships', RELS.join(','), '--out', out, '--quiet']);
      await checkDataset(out, small.expected, { properties: PROPS, relationships: RELS });
    });
  }

  for (const fixture of ['lz4.feather', 'zstd.feather', 'zstd.arrows']) {
    it(`compressed Arrow IPC (${fixture}, compressed by the lz4/zstd tools)`, async () => {
      const d = caseDir('compressed');
      const out = path.join(d, 'out');
      await runOk(['export', path.join(ROOT, 'test', 'fixtures', fixture), '--type', 'point', '--coords', 'x', '--id-column', 'id', '--properties', 'kind', '--out', out, '--quiet']);
      const t = compressedIpcTable();
      const ds = await readDatasetWithNeuroglancer(out);
      assert.equal(ds.rank, 1);
      const labels = ds.properties[0].enumLabels!;
      for (const i of [0, 1, 2, 3, 4, 500, 999]) {
        const a = await ds.getById(t.getChild('id')!.get(i) as bigint);
        assert.deepEqual(a?.point, [Math.fround(t.getChild('x')!.get(i) as number)], `row ${i + 1}`);
        assert.equal(labels[a!.properties[0]], t.getChild('kind')!.get(i));
      }
    });
  }
});

describe('degenerate geometry still exports and indexes every annotation', { concurrency: 4 }, () => {
  const cases: Array<[string, string, string]> = [
    ['one point', 'point', 'x,y,z\n5,6,7\n'],
    ['points on a plane (z extent 0)', 'point', 'x,y,z\n0,0,0\n10,0,0\n0,10,0\n10,10,0\n5,5,0\n'],
    ['zero-length and axis-parallel lines', 'line', 'xa,ya,za,xb,yb,zb\n1,1,1,1,1,1\n0,0,0,10,0,0\n10,10,0,0,10,0\n0,10,0,10,0,0\n'],
    ['flat boxes, corners in either order', 'axis_aligned_bounding_box', 'xa,ya,za,xb,yb,zb\n0,0,0,10,10,0\n10,10,0,5,5,0\n3,3,0,3,3,0\n'],
    ['ellipsoids with a zero radius', 'ellipsoid', 'x,y,z,rx,ry,rz\n0,0,0,1,1,0\n10,10,0,2,0,0\n5,5,0,0,0,0\n'],
    ['polyline with repeated vertices', 'polyline', 'annotation_id,x,y,z\n7,0,0,0\n7,0,0,0\n8,1,1,1\n8,2,2,1\n8,2,2,1\n'],
  ];
  for (const [name, type, csv] of cases) {
    it(name, async () => {
      const d = caseDir('degenerate');
      const input = path.join(d, 't.csv');
      fs.writeFileSync(input, csv);
      const out = path.join(d, 'out');
      await runOk(['export', input, '--type', type, '--out', out, '--quiet']);
      const ds = await readDatasetWithNeuroglancer(out);
      const rows = csv.trim().split('\n').slice(1);
      const ids = type === 'polyline' ? [...new Set(rows.map((r) => BigInt(r.split(',')[0])))] : rows.map((_, i) => BigInt(i));
      for (const id of ids) assert.ok(await ds.getById(id), `id ${id} in by_id`);
      const seen: bigint[] = [];
      for (const l of ds.levels) {
        const ids = new Set([...(await ds.allSpatial(l.index)).values()].flat().map((a) => a.id));
        seen.push(...ids);
      }
      assert.deepEqual(seen.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), ids, 'every annotation in exactly one spatial level');
    });
  }
});

describe('property types from binary column types', () => {
  it('Arrow: dictionary → enum in dictionary order, bool → uint8 false/true, int64 narrowed, int8/uint16 kept', async () => {
    const d = caseDir('arrow-types');
    const t = new Table({
      x: vectorFromArray([1, 2, 3], new Float64()),
      y: vectorFromArray([1, 2, 3], new Float64()),
      z: vectorFromArray([1, 2, 3], new Float64()),
      cat: vectorFromArray(['soma', 'axon', 'soma'], new Dictionary(new Utf8(), new Int32())),
      flag: vectorFromArray([true, false, true], new Bool()),
      wide: vectorFromArray([0n, 70000n, 5n], new Int64()),
      small: vectorFromArray([-3, 0, 100], new Int8()),
      mid: vectorFromArray([0, 1, 65535], new Uint16()),
    });
    const input = path.join(d, 't.arrow');
    fs.writeFileSync(input, tableToIPC(t, 'file'));
    const out = path.join(d, 'out');
    await runOk(['export', input, '--type', 'point', '--properties', 'cat,flag,wide,small,mid', '--out', out, '--quiet']);
    const ds = await readDatasetWithNeuroglancer(out);
    const spec = Object.fromEntries(ds.properties.map((p, i) => [p.identifier, { ...p, i }]));
    assert.deepEqual(spec.cat.enumLabels, ['soma', 'axon']);
    assert.equal(spec.cat.type, 'uint8');
    assert.deepEqual(spec.flag.enumLabels, ['false', 'true']);
    assert.equal(spec.flag.type, 'uint8');
    assert.equal(spec.wide.type, 'uint32');
    assert.equal(spec.small.type, 'int8');
    assert.equal(spec.mid.type, 'uint16');
    const want = [
      { cat: 'soma', flag: 'true', wide: 0, small: -3, mid: 0 },
      { cat: 'axon', flag: 'false', wide: 70000, small: 0, mid: 1 },
      { cat: 'soma', flag: 'true', wide: 5, small: 100, mid: 65535 },
    ];
    for (let r = 0; r < 3; r++) {
      const a = (await ds.getById(BigInt(r)))!;
      const got: Record<string, unknown> = {};
      for (const [k, s] of Object.entries(spec)) got[k] = s.enumLabels ? s.enumLabels[s.enumValues!.indexOf(a.properties[s.i])] : a.properties[s.i];
      assert.deepEqual(got, want[r], `row ${r + 1}`);
    }
  });
});

describe('progress on a terminal', () => {
  // `script` (util-linux) runs the command on a pseudo-terminal, as when a user types it.
  const hasScript = runSyncWithin('script', ['--version'], 10_000).status === 0;
  it('draws a progress bar on a terminal, none with --quiet', { skip: hasScript ? false : 'script(1) is not installed' }, async () => {
    const d = caseDir('tty');
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const cmd = (extra: string[]) => [process.execPath, CLI, 'export', bigCsv, '--type', 'point', '--out', path.join(d, `out${extra.length}`), ...extra].map(quote).join(' ');
    const run = (extra: string[]) => runSyncWithin('script', ['-qec', cmd(extra), '/dev/null'], 120_000);
    const tty = run([]);
    assert.equal(tty.status, 0, tty.stdout);
    assert.match(tty.stdout, /\rWriting by_id +\[#+\] 100%\x1b\[K/);
    assert.match(tty.stdout, /Wrote 300 point annotation/);
    const quiet = run(['--quiet']);
    assert.equal(quiet.status, 0, quiet.stdout);
    assert.equal(quiet.stdout, '');
  });
});

describe('larger exports', () => {
  it('300k points: worker threads (--threads 2) write the same bytes as one thread; many minishards decode', async () => {
    const d = caseDir('large');
    const n = 300_000; // 16-byte records: above the 4 MB where the writer starts worker threads
    const r = rng(5);
    const xs: number[] = [];
    const lines = ['annotation_id,x,y,z,kind'];
    for (let i = 0; i < n; i++) {
      const p = [Math.round(r() * 1e6) / 100, Math.round(r() * 1e6) / 100, Math.round(r() * 1e4) / 100];
      xs.push(...p);
      lines.push(`${BigInt(i) * 48271n + 2n ** 60n},${p.join(',')},${i % 3 === 0 ? 'a' : 'b'}`);
    }
    const input = path.join(d, 'large.csv');
    fs.writeFileSync(input, lines.join('\n') + '\n');
    const run = (threads: string) => runOk(['export', input, '--type', 'point', '--properties', 'kind', '--seed', '11', '--threads', threads, '--out', path.join(d, `t${threads}`), '--json']);
    await run('1');
    const two = await run('2');
    assert.equal(JSON.parse(two.stdout).annotations, n);
    assert.deepEqual(snapshot(path.join(d, 't2')), snapshot(path.join(d, 't1')));
    const ds = await readDatasetWithNeuroglancer(path.join(d, 't2'));
    assert.ok(readInfo(path.join(d, 't2')).by_id.sharding.minishard_bits > 0, 'by_id has several minishards');
    // 60 random ids across the minishards (each lookup through neuroglancer's reader costs ~60 ms
    // idle and several times that on a loaded machine; 300 made this the slowest test by far).
    for (let k = 0; k < 60; k++) {
      const i = Math.floor(r() * n);
      const a = await ds.getById(BigInt(i) * 48271n + 2n ** 60n);
      assert.deepEqual(a?.point, xs.slice(3 * i, 3 * i + 3).map(Math.fround), `row ${i + 1}`);
      assert.equal(ds.properties[0].enumLabels![a!.properties[0]], i % 3 === 0 ? 'a' : 'b');
    }
  });
});

describe('property types from Parquet column types (DuckDB)', () => {
  it('REAL, TINYINT, UTINYINT, SMALLINT, USMALLINT, INTEGER, UINTEGER keep their type; BOOLEAN → enum; BIGINT narrowed', async () => {
    const d = caseDir('pq-types');
    const input = path.join(d, 't.parquet');
    await duckdb(
      `COPY (SELECT * FROM (VALUES
        (0::UBIGINT, 1.5::REAL, 2.25::REAL, 3::REAL, 0.1::REAL, (-128)::TINYINT, 255::UTINYINT, (-32768)::SMALLINT, 65535::USMALLINT, (-2147483648)::INTEGER, 4294967295::UINTEGER, true, 7::BIGINT, 'b'),
        (1::UBIGINT, 4::REAL, 5::REAL, 6::REAL, -2.5::REAL, 127::TINYINT, 0::UTINYINT, 32767::SMALLINT, 0::USMALLINT, 2147483647::INTEGER, 0::UINTEGER, false, 300::BIGINT, 'a')
      ) t(annotation_id, x, y, z, f, i8, u8, i16, u16, i32, u32, flag, big, s)) TO '${input}' (FORMAT parquet)`,
    );
    const out = path.join(d, 'out');
    const props = ['f', 'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'flag', 'big', 's'];
    await runOk(['export', input, '--type', 'point', '--properties', props.join(','), '--out', out, '--quiet']);
    const ds = await readDatasetWithNeuroglancer(out);
    const types = Object.fromEntries(ds.properties.map((p) => [p.identifier, p.type]));
    assert.deepEqual(types, { f: 'float32', i8: 'int8', u8: 'uint8', i16: 'int16', u16: 'uint16', i32: 'int32', u32: 'uint32', flag: 'uint8', big: 'uint16', s: 'uint8' });
    const want = [
      { f: Math.fround(0.1), i8: -128, u8: 255, i16: -32768, u16: 65535, i32: -2147483648, u32: 4294967295, flag: 'true', big: 7, s: 'b' },
      { f: -2.5, i8: 127, u8: 0, i16: 32767, u16: 0, i32: 2147483647, u32: 0, flag: 'false', big: 300, s: 'a' },
    ];
    for (let r = 0; r < 2; r++) {
      const a = (await ds.getById(BigInt(r)))!;
      assert.deepEqual(a.point, [[1.5, 2.25, 3], [4, 5, 6]][r]);
      const got: Record<string, unknown> = {};
      ds.properties.forEach((p, i) => (got[p.identifier] = p.enumLabels ? p.enumLabels[p.enumValues!.indexOf(a.properties[i])] : a.properties[i]));
      assert.deepEqual(got, want[r], `row ${r + 1}`);
    }
  });
});

describe('other ranks', { concurrency: 4 }, () => {
  // Geometry columns follow the coordinate names: <c>a/<c>b for lines and boxes, <c> and r<c> for ellipsoids.
  const rankCases: Array<[string, string[]]> = [
    ['point', ['t', 'x', 'y', 'z']],
    ['line', ['u', 'v']],
    ['axis_aligned_bounding_box', ['t', 'x', 'y', 'z']],
    ['ellipsoid', ['u', 'v']],
    ['polyline', ['t', 'x', 'y', 'z']],
    ['point', ['w']],
  ];
  for (const [type, coords] of rankCases) {
    it(`${type} in ${coords.length}-D (--coords ${coords.join(',')})`, async () => {
      const d = caseDir(`rank-${type}`);
      const r = rng(coords.length * 31 + type.length);
      const n = 25;
      const v = () => Math.round(r() * 10000) / 100;
      const names = type === 'point' || type === 'polyline' ? coords : type === 'ellipsoid' ? [...coords, ...coords.map((c) => `r${c}`)] : [...coords.map((c) => `${c}a`), ...coords.map((c) => `${c}b`)];
      const rows: number[][] = [];
      const lines = [(type === 'polyline' ? ['annotation_id', ...names] : names).join(',')];
      const geometry: Array<Record<string, number[] | number[][]>> = [];
      for (let i = 0; i < n; i++) {
        if (type === 'polyline') {
          const pts = Array.from({ length: 2 + (i % 3) }, () => coords.map(v));
          for (const p of pts) lines.push([i, ...p].join(','));
          geometry.push({ points: pts });
          continue;
        }
        const row = names.map((nm) => (nm.startsWith('r') && type === 'ellipsoid' ? 1 + v() / 10 : v()));
        rows.push(row);
        lines.push(row.join(','));
        const k = coords.length;
        geometry.push(type === 'point' ? { point: row } : type === 'ellipsoid' ? { center: row.slice(0, k), radii: row.slice(k) } : { pointA: row.slice(0, k), pointB: row.slice(k) });
      }
      const input = path.join(d, 't.csv');
      fs.writeFileSync(input, lines.join('\n') + '\n');
      const out = path.join(d, 'out');
      const units = coords.map((c) => (c === 't' ? 's' : 'nm')).join(',');
      await runOk(['export', input, '--type', type, '--coords', coords.join(','), '--units', units, '--out', out, '--quiet']);
      await checkDataset(out, { type: type as AnnType, ids: geometry.map((_, i) => BigInt(i)), geometry, props: {}, rels: {} }, { rank: coords.length });
      assert.deepEqual(Object.keys(readInfo(out).dimensions), coords);
    });
  }
});
