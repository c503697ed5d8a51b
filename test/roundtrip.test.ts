// Round trips: export → readPrecomputedAnnotations / to-table → export gives the same bytes; a
// neuroglancer state's annotation layers → from-state → a dataset that neuroglancer's own reader
// decodes to the state's annotations; and the one-line errors of both commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Dictionary, Field, Float32, Int32, List, Table, Uint64, Utf8, makeVector, vectorFromArray, type Vector } from 'apache-arrow';
import { writePrecomputedAnnotations } from '../src/export/run';
import { geometryColumns } from '../src/shared/guess';
import type { AnnotationType, PropertySpec, WriteOptions } from '../src/core/types';
import { exportArgsOf, readPrecomputedAnnotations, streamPrecomputedAnnotations } from '../src/index';
import { writeTableFiles } from '../src/roundtrip/tableFile';
import { mappingCoordSpace, mappingToWriteOptions, parseMapping } from '../src/shared/mapping';
import { resolveMappingPaths } from '../src/export/mappingPaths';
import { main } from '../src/cli/main';
import { readTree, rng } from './helpers/common';
import { tempRoot } from './helpers/conformance';
import { ngColor, readDatasetWithNeuroglancer } from './helpers/ngread';
import { ensureBuilt, runCli } from './helpers/cli';

const root = tempRoot('ng-roundtrip-');
test.after(() => root.cleanup());

const TYPES: AnnotationType[] = ['point', 'line', 'axis_aligned_bounding_box', 'ellipsoid', 'polyline'];
const NAMES = ['x', 'y', 'z', 't'];

interface Generated {
  table: Table;
  vertices?: Table;
  coords: { names: string[]; units: string[]; scales: number[] };
  options: WriteOptions;
  ids: bigint[];
}

/** n annotations of `type` in `rank` dimensions with every property type, two relationships and ids above 2^53. */
function generate(type: AnnotationType, rank: number, n: number, seed: number, sorted = true): Generated {
  const rand = rng(seed);
  const big = () => (1n << 53n) + BigInt(Math.floor(rand() * 2 ** 32)) * BigInt(Math.floor(rand() * 2 ** 31) + 1);
  const idSet = new Set<bigint>();
  while (idSet.size < n) idSet.add(rand() < 0.05 ? (1n << 64n) - 1n - BigInt(idSet.size) : big());
  const ids = [...idSet];
  if (sorted) ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const names = NAMES.slice(0, rank);
  const f = () => Math.fround(rand() * 1000 - 200);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const cols: Record<string, Vector> = { annotation_id: makeVector(BigUint64Array.from(ids)) };
  const geom = geometryColumns(type, names);
  geom.forEach((g) => {
    const radius = type === 'ellipsoid' && g.startsWith('r') && names.includes(g.slice(1));
    cols[g] = makeVector(Float32Array.from({ length: n }, () => (radius ? Math.fround(rand() * 30) : f())));
  });
  const typed = <T extends { from(a: ArrayLike<number>): ArrayLike<number> }>(T: T, lo: number, hi: number) => makeVector(T.from(Array.from({ length: n }, () => int(lo, hi))) as never);
  cols.p_u8 = typed(Uint8Array, 0, 255);
  cols.p_i8 = typed(Int8Array, -128, 127);
  cols.p_u16 = typed(Uint16Array, 0, 65535);
  cols.p_i16 = typed(Int16Array, -32768, 32767);
  cols.p_u32 = typed(Uint32Array, 0, 4294967295);
  cols.p_i32 = typed(Int32Array, -2147483648, 2147483647);
  cols.p_f32 = makeVector(Float32Array.from({ length: n }, f));
  const kinds = ['hi', 'lo', 'mid'];
  cols.kind = vectorFromArray(Array.from({ length: n }, () => kinds[int(0, 2)]), new Dictionary(new Utf8(), new Int32()));
  const hex = () => int(0, 255).toString(16).padStart(2, '0');
  cols.color = vectorFromArray(Array.from({ length: n }, () => `#${hex()}${hex()}${hex()}`), new Utf8());
  for (const c of ['r', 'g', 'b', 'a']) cols[`tint_${c}`] = typed(Uint8Array, 0, 255);
  cols.pre = vectorFromArray(Array.from({ length: n }, () => Array.from({ length: int(0, 3) }, big)), new List(new Field('item', new Uint64(), true)));
  cols.post = vectorFromArray(Array.from({ length: n }, () => (rand() < 0.2 ? null : big())), new Uint64());
  const properties: Array<string | PropertySpec> = [
    'p_u8', 'p_i8', 'p_u16', 'p_i16', 'p_u32', 'p_i32', 'p_f32',
    // Values neither 0.. nor in label order, and a description: all must survive.
    { id: 'kind', type: 'uint16', enum_values: [40, 2, 9], enum_labels: ['hi', 'lo', 'mid'], description: 'what kind' },
    'color', 'tint',
  ];
  const out: Generated = {
    table: new Table(cols),
    coords: { names, units: names.map((_, d) => (d === 3 ? 's' : 'nm')), scales: names.map((_, d) => [4, 4, 40, 0.5][d]) },
    options: { properties, relationships: ['pre', 'post'], description: `${type} ${rank}-D` },
    ids,
  };
  if (type === 'polyline') {
    const vid: bigint[] = [];
    const vc = names.map(() => [] as number[]);
    for (const id of ids) {
      for (let k = int(2, 5); k > 0; k--) {
        vid.push(id);
        vc.forEach((c) => c.push(f()));
      }
    }
    const v: Record<string, Vector> = { annotation_id: makeVector(BigUint64Array.from(vid)) };
    names.forEach((name, d) => (v[name] = makeVector(Float32Array.from(vc[d]))));
    out.vertices = new Table(v);
    out.options.polylinePoints = out.vertices;
  }
  return out;
}

const quiet = { onWarning: () => {} };

function assertSameTree(a: string, b: string, only?: (file: string) => boolean): void {
  const A = readTree(a);
  const B = readTree(b);
  const keep = (m: Map<string, Buffer>) => [...m.keys()].filter((k) => !only || only(k)).sort();
  assert.deepEqual(keep(B), keep(A), `${b} has other files than ${a}`);
  for (const k of keep(A)) assert.ok(A.get(k)!.equals(B.get(k)!), `${k} differs between ${a} and ${b}`);
}

/** Exports what `readPrecomputedAnnotations(dir)` gives, with the export options of the run. */
async function reExport(dir: string, out: string, run: WriteOptions): Promise<void> {
  const t = await readPrecomputedAnnotations(dir);
  const a = exportArgsOf(t);
  await writePrecomputedAnnotations(a.table, a.coords, a.type, { ...run, ...a.options, ...quiet, outputDir: out });
}

test('export → readPrecomputedAnnotations → export is byte-identical: every type, rank 2–4, every property type, ids > 2^53', async () => {
  let k = 0;
  for (const type of TYPES) {
    for (const rank of [2, 3, 4]) {
      const g = generate(type, rank, 120, 10 + k);
      // Sharded and unsharded, several spatial levels, gzip or raw.
      const run: WriteOptions = { seed: 7, numSpatialLevels: 3, targetChunkLimit: 16, writeSharded: k % 2 === 0, gzipLevel: k % 3 === 0 ? 'raw' : 1 };
      const a = root.dir(`gen-${type}-${rank}-a`);
      const b = root.dir(`gen-${type}-${rank}-b`);
      await writePrecomputedAnnotations(g.table, g.coords, type, { ...g.options, ...run, ...quiet, outputDir: a });
      const t = await readPrecomputedAnnotations(a);
      assert.equal(t.source, 'by_id');
      // The ids come back exactly, in ascending order (the generated ones are sorted).
      assert.deepEqual([...(t.table.getChild('annotation_id')!.toArray() as BigUint64Array)], g.ids, `${type} ${rank}-D ids`);
      assert.deepEqual(t.table.schema.fields.map((f) => f.name).slice(0, 1 + geometryColumns(type, NAMES.slice(0, rank)).length), ['annotation_id', ...geometryColumns(type, NAMES.slice(0, rank))]);
      assert.equal(String(t.table.getChild('kind')!.type), 'Dictionary<Int32, Utf8>');
      assert.equal(String(t.table.getChild('pre')!.type), 'List<Uint64>');
      await reExport(a, b, run);
      assertSameTree(a, b);
      k++;
    }
  }
});

test('table files (Parquet, CSV, Arrow) with their mapping export the same dataset again', async () => {
  for (const type of ['point', 'polyline'] as const) {
    const g = generate(type, 3, 150, type === 'point' ? 3 : 4);
    const run: WriteOptions = { seed: 2, numSpatialLevels: 2, targetChunkLimit: 40 };
    const a = root.dir(`files-${type}`);
    await writePrecomputedAnnotations(g.table, g.coords, type, { ...g.options, ...run, ...quiet, outputDir: a });
    const t = await readPrecomputedAnnotations(a);
    for (const ext of ['parquet', 'csv', 'arrow']) {
      const file = path.join(root.dir(`files-${type}-${ext}`), `table.${ext}`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const w = await writeTableFiles(t, file);
      // What `export --config table.mapping.json` does.
      const m = resolveMappingPaths(parseMapping(JSON.parse(fs.readFileSync(w.mappingFile, 'utf8'))), path.dirname(file));
      const b = path.join(path.dirname(file), 'out');
      const o = mappingToWriteOptions(m);
      await writePrecomputedAnnotations(m.input!, mappingCoordSpace(m), m.annotationType, { ...o, ...run, ...quiet, outputDir: b });
      assertSameTree(a, b);
      await assert.rejects(writeTableFiles(t, file), /already exists/);
    }
  }
});

test('rows not in id order: by_id, by_rel and info are identical, and the second round trip is a fixed point', async () => {
  const g = generate('line', 3, 200, 5, false);
  const run: WriteOptions = { seed: 11, numSpatialLevels: 3, targetChunkLimit: 20 };
  const a = root.dir('unsorted-a');
  const b = root.dir('unsorted-b');
  const c = root.dir('unsorted-c');
  await writePrecomputedAnnotations(g.table, g.coords, 'line', { ...g.options, ...run, ...quiet, outputDir: a });
  await reExport(a, b, run);
  assertSameTree(a, b, (f) => !f.startsWith('by_spatial') && f !== 'info');
  // The info differs only in each level's limit (its fullest cell), which depends on the row order.
  const info = (d: string) => {
    const j = JSON.parse(fs.readFileSync(path.join(d, 'info'), 'utf8'));
    for (const l of j.spatial) delete l.limit;
    return j;
  };
  assert.deepEqual(info(b), info(a));
  await reExport(b, c, run);
  assertSameTree(b, c);
});

test('without by_id: the spatial levels (deduplicated) and by_rel give the same annotations; streaming gives them all', async () => {
  const g = generate('axis_aligned_bounding_box', 3, 150, 8);
  const a = root.dir('spatial-only');
  await writePrecomputedAnnotations(g.table, g.coords, 'axis_aligned_bounding_box', { ...g.options, seed: 1, numSpatialLevels: 3, targetChunkLimit: 10, writeById: false, ...quiet, outputDir: a });
  const t = await readPrecomputedAnnotations(a);
  assert.equal(t.source, 'spatial');
  // Relationship lists come back sorted (by_rel does not keep their order).
  const rows = (x: Table) => [...x].map((r) => JSON.stringify(r.toJSON(), (_, v) => (typeof v === 'bigint' ? v.toString() : Array.isArray(v) ? v.map(String).sort() : v)));
  const expected = generate('axis_aligned_bounding_box', 3, 150, 8);
  assert.equal(t.table.numRows, expected.ids.length);
  assert.deepEqual(rows(t.table).map((r) => JSON.parse(r).annotation_id), expected.ids.map(String));
  // The same rows as a by_id read of the same data.
  const withId = root.dir('spatial-only-byid');
  await writePrecomputedAnnotations(g.table, g.coords, 'axis_aligned_bounding_box', { ...g.options, seed: 1, numSpatialLevels: 3, targetChunkLimit: 10, ...quiet, outputDir: withId });
  assert.deepEqual(rows(t.table), rows((await readPrecomputedAnnotations(withId)).table));
  let streamed = 0;
  for await (const batch of streamPrecomputedAnnotations(withId, { batchSize: 32 })) {
    assert.ok(batch.annotations.numRows <= 32);
    streamed += batch.annotations.numRows;
  }
  assert.equal(streamed, 150);
});

test('over http(s): a sharded dataset reads the same as from its folder; an unsharded one from its spatial index', async () => {
  const dirs = { sharded: root.dir('http-sharded'), unsharded: root.dir('http-unsharded') };
  const g = generate('point', 3, 100, 21);
  await writePrecomputedAnnotations(g.table, g.coords, 'point', { ...g.options, seed: 1, numSpatialLevels: 2, targetChunkLimit: 30, ...quiet, outputDir: dirs.sharded });
  await writePrecomputedAnnotations(g.table, g.coords, 'point', { ...g.options, seed: 1, numSpatialLevels: 2, targetChunkLimit: 30, writeSharded: false, ...quiet, outputDir: dirs.unsharded });
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const file = path.join(root.root, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (!file.startsWith(root.root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return res.writeHead(404).end();
    const body = fs.readFileSync(file);
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (range) return res.writeHead(206, { 'content-length': Number(range[2]) - Number(range[1]) + 1 }).end(body.subarray(Number(range[1]), Number(range[2]) + 1));
    res.writeHead(200, { 'content-length': body.length }).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const timer = setTimeout(() => server.closeAllConnections(), 20_000);
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const local = await readPrecomputedAnnotations(dirs.sharded);
    const remote = await readPrecomputedAnnotations(`${base}/${path.basename(dirs.sharded)}`);
    assert.equal(remote.source, 'by_id');
    const json = (t: Table, drop: string[] = []) => [...t].map((r) => JSON.stringify(r.toJSON(), (k, v) => (drop.includes(k) ? undefined : typeof v === 'bigint' ? v.toString() : v)));
    assert.deepEqual(json(remote.table), json(local.table));
    const warnings: string[] = [];
    const un = await readPrecomputedAnnotations(`precomputed://${base}/${path.basename(dirs.unsharded)}/`, { onWarning: (w) => warnings.push(w) });
    assert.equal(un.source, 'spatial');
    assert.match(warnings.join('\n'), /by_id cannot be listed over http/);
    // Unsharded by_rel cannot be listed either: geometry and properties only.
    assert.deepEqual(json(un.table, ['pre', 'post']), json(local.table, ['pre', 'post']));
    await assert.rejects(readPrecomputedAnnotations(`${base}/nothing-here`), /is not a precomputed annotation dataset: it has no info file/);
    assert.ok(requests > 0);
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

// ---------------------------------------------------------------------------------------------
// from-state

const STATE_DIMS = { x: [8e-9, 'm'], y: [8e-9, 'm'], z: [4e-8, 'm'] };

function stateFixture() {
  const props = [
    { id: 'color', type: 'rgb', default: '#ffff00' },
    { id: 'tint', type: 'rgba', default: '#00000080' },
    { id: 'score', type: 'float32', description: 'how sure' },
    { id: 'kind', type: 'uint16', enum_values: [3, 700], enum_labels: ['small', 'large'] },
  ];
  const common = (i: number) => ({
    props: [i % 2 ? '#12ab34' : '#f0e', i % 2 ? 'rgba(10, 20, 30, 0.5)' : '#01020304', 0.1 * i + 0.25, i % 2 ? 3 : 700],
    ...(i % 3 ? { description: `note ${i % 2}` } : {}),
    ...(i % 2 ? { segments: [[String((1n << 60n) + BigInt(i)), '7']] } : {}),
  });
  const geometry: Record<string, (i: number) => Record<string, unknown>> = {
    point: (i) => ({ point: [i, i + 0.5, 2 * i] }),
    line: (i) => ({ pointA: [i, 0, 1], pointB: [i + 3, 4.25, 5] }),
    axis_aligned_bounding_box: (i) => ({ pointA: [0, i, 1], pointB: [10, i + 2, 3] }),
    ellipsoid: (i) => ({ center: [i, i, i], radii: [1 + i, 2, 0.5] }),
    polyline: (i) => ({ points: Array.from({ length: 2 + (i % 3) }, (_, k) => [i + k, k * 1.5, 3]) }),
  };
  const layers = TYPES.map((type, t) => ({
    type: 'annotation',
    name: `${type} layer`,
    source: { url: 'local://annotations', transform: { outputDimensions: STATE_DIMS } },
    annotationProperties: props,
    // Decimal uint64 ids in the point layer (kept), neuroglancer's hex ids elsewhere (numbered).
    annotations: Array.from({ length: 6 }, (_, i) => ({
      type,
      id: t === 0 ? String((1n << 63n) + BigInt(i * 1000)) : `${(i * 7919 + t).toString(16)}abcdef`,
      ...geometry[type](i),
      ...common(i),
    })),
  }));
  return { dimensions: STATE_DIMS, layers, other: { type: 'segmentation', name: 'seg', source: 'precomputed://gs://bucket/seg' } };
}

const f32 = (v: number[]) => v.map(Math.fround);
const rgbaOf = (s: string): number[] => {
  const h = s.replace('#', '');
  if (h.length === 3) return [...h].map((c) => parseInt(c + c, 16));
  return Array.from({ length: h.length / 2 }, (_, i) => parseInt(h.slice(2 * i, 2 * i + 2), 16));
};

test('from-state: every annotation type of a state, decoded by neuroglancer, annotation by annotation', async () => {
  const fixture = stateFixture();
  const file = path.join(root.dir('state'), 'state.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ dimensions: fixture.dimensions, layers: [fixture.other, ...fixture.layers] }));
  for (const [t, type] of TYPES.entries()) {
    const layer = fixture.layers[t];
    const out = root.dir(`state-${type}`);
    const code = await main(['from-state', file, '--layer', layer.name, '--out', out, '--quiet', '--seed', '3']);
    assert.equal(code, 0, `from-state ${type}`);
    const ds = await readDatasetWithNeuroglancer(out);
    assert.equal(ds.type, type);
    assert.deepEqual(ds.relationships, ['segments']);
    const pid = ds.properties.map((p) => p.identifier);
    assert.deepEqual([...pid].sort(), ['color', 'description', 'kind', 'score', 'tint']);
    const desc = ds.properties[pid.indexOf('description')];
    for (const [i, a] of layer.annotations.entries()) {
      const id = t === 0 ? BigInt(a.id) : BigInt(i + 1);
      const got = await ds.getById(id);
      assert.ok(got, `${type} annotation ${i} (id ${id}) is in by_id`);
      const A = a as Record<string, unknown>;
      const g = got!;
      if (type === 'point') assert.deepEqual(g.point, f32(A.point as number[]));
      if (type === 'line' || type === 'axis_aligned_bounding_box') {
        assert.deepEqual(g.pointA, f32(A.pointA as number[]));
        assert.deepEqual(g.pointB, f32(A.pointB as number[]));
      }
      if (type === 'ellipsoid') {
        assert.deepEqual(g.center, f32(A.center as number[]));
        assert.deepEqual(g.radii, f32(A.radii as number[]));
      }
      if (type === 'polyline') assert.deepEqual(g.points, (A.points as number[][]).map(f32));
      const prop = (name: string) => g.properties[pid.indexOf(name)];
      const props = A.props as [string, string, number, number];
      assert.deepEqual(ngColor(prop('color'), 3), rgbaOf(props[0]).slice(0, 3));
      const tint = props[1].startsWith('rgba') ? [10, 20, 30, 128] : rgbaOf(props[1]);
      assert.deepEqual(ngColor(prop('tint'), 4), tint);
      assert.equal(prop('score'), Math.fround(props[2]));
      assert.equal(prop('kind'), props[3]);
      const label = desc.enumLabels![desc.enumValues!.indexOf(prop('description'))];
      assert.equal(label, (A.description as string | undefined) ?? '');
      const segs = (A.segments as string[][] | undefined)?.[0] ?? [];
      assert.deepEqual(g.relationships, [segs.map(BigInt)]);
    }
    assert.equal(ds.properties[pid.indexOf('score')].description, 'how sure');
    assert.deepEqual(ds.properties[pid.indexOf('kind')].enumLabels, ['small', 'large']);
  }
});

test('from-state reads a link with URL-encoded JSON and a #!https://…/state.json link; export options apply', async () => {
  const state = { dimensions: STATE_DIMS, layers: [stateFixture().layers[1]] };
  const server = http.createServer((req, res) => {
    if (req.url === '/state.json') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const timer = setTimeout(() => server.closeAllConnections(), 20_000);
  try {
    const port = (server.address() as AddressInfo).port;
    const a = root.dir('link-json');
    const b = root.dir('link-url');
    assert.equal(await main(['from-state', `https://viewer.example/#!${encodeURIComponent(JSON.stringify(state))}`, '--out', a, '--quiet', '--unsharded', '--seed', '1']), 0);
    assert.equal(await main(['from-state', `https://viewer.example/#!http://127.0.0.1:${port}/state.json`, '--out', b, '--quiet', '--unsharded', '--seed', '1']), 0);
    assertSameTree(a, b);
    // --unsharded reached the writer: by_id holds one file per id.
    assert.equal(fs.readdirSync(path.join(a, 'by_id')).length, 6);
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('errors are one line with exit status 1', async () => {
  ensureBuilt();
  const dir = root.dir('errors');
  fs.mkdirSync(path.join(dir, 'v2'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'v2', 'info'), JSON.stringify({ '@type': 'neuroglancer_annotations_v2' }));
  fs.writeFileSync(path.join(dir, 'none.json'), JSON.stringify({ layers: [{ type: 'image', name: 'em', source: 'precomputed://x' }] }));
  const { dimensions, layers, other } = stateFixture();
  fs.writeFileSync(path.join(dir, 'two.json'), JSON.stringify({ dimensions, layers: [other, ...layers] }));
  const cases: Array<[string[], RegExp]> = [
    [['to-table', dir, '--out', path.join(dir, 't.csv')], /^error: .*errors-\d+ is not a precomputed annotation dataset: it has no info file$/],
    [['to-table', path.join(dir, 'v2'), '--out', path.join(dir, 't.csv')], /^error: .*v2: unsupported annotation info version "neuroglancer_annotations_v2" \(this reader knows neuroglancer_annotations_v1\)$/],
    [['from-state', path.join(dir, 'none.json'), '--out', path.join(dir, 'o')], /^error: the state has no annotation layers \(its layers are of type image\)$/],
    [['from-state', path.join(dir, 'two.json'), '--layer', 'nope', '--out', path.join(dir, 'o')], /^error: no annotation layer named "nope"; the annotation layers are "point layer", "line layer", "axis_aligned_bounding_box layer", "ellipsoid layer", "polyline layer"$/],
    [['from-state', path.join(dir, 'two.json'), '--out', path.join(dir, 'o')], /^error: the state has 5 annotation layers .*; choose one with --layer$/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  results.forEach((r, i) => {
    assert.equal(r.code, 1, `${cases[i][0].join(' ')}: exit ${r.code}\n${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `one line: ${r.stderr}`);
    assert.match(lines[0], cases[i][1]);
  });
  assert.ok(!fs.existsSync(path.join(dir, 't.csv')) && !fs.existsSync(path.join(dir, 'o')), 'nothing written');
});

// ---------------------------------------------------------------------------------------------
// The extension's host side (no VS Code needed): "Open as Table" and the state conversion's mapping.

test('Open as Table: the first rows as a static page with no script, cells escaped', async () => {
  const { datasetPreview, tableViewHtml } = await import('../src/extension/tableView');
  const g = generate('polyline', 3, 80, 31);
  // An enum label that is markup: it must show as text.
  (g.options.properties as Array<string | PropertySpec>)[7] = { id: 'kind', type: 'uint8', enum_values: [0, 1, 2], enum_labels: ['hi', '<script>alert(1)</script>', 'mid'] };
  const labels = ['hi', '<script>alert(1)</script>', 'mid'];
  g.table = new Table({ ...Object.fromEntries(g.table.schema.fields.map((f) => [f.name, g.table.getChild(f.name)!])), kind: vectorFromArray(Array.from({ length: 80 }, (_, i) => labels[i % 3]), new Dictionary(new Utf8(), new Int32())) });
  const dir = root.dir('preview');
  await writePrecomputedAnnotations(g.table, g.coords, 'polyline', { ...g.options, seed: 1, writeSharded: false, ...quiet, outputDir: dir });
  const p = await datasetPreview(dir, 25);
  assert.equal(p.annotations.rows.length, 25);
  assert.equal(p.more, true);
  assert.equal(p.annotations.columns[0].name, 'annotation_id');
  // Unsharded by_id is read in id order: the first ids of the dataset.
  assert.deepEqual(p.annotations.rows.map((r) => r[0]), g.ids.slice(0, 25).map(String));
  assert.ok(p.vertices && p.vertices.rows.length >= 50);
  const html = tableViewHtml(p, { cspSource: 'vscode-resource:', cssUri: 'vscode-resource:/dist/webview.css', lang: 'en', text: { title: 'preview', shown: 'First 25', vertices: 'Vertices', convert: 'Convert:' } });
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; style-src vscode-resource:; font-src vscode-resource:"/);
  assert.ok(!/<script/i.test(html), 'no script element, not even from a label');
  assert.ok(html.includes('&#60;script&#62;alert(1)&#60;/script&#62;'));
  assert.equal((html.match(/<tr>/g) ?? []).length, 1 + 25 + 1 + p.vertices!.rows.length);
  await assert.rejects(datasetPreview(root.dir('preview-none')), /is not a precomputed annotation dataset/);
});

test('Convert State to Precomputed: the mapping it runs exports what from-state exports', async () => {
  const { stateLayerTables, writeStateTables } = await import('../src/roundtrip/state');
  const fixture = stateFixture();
  const state = { dimensions: fixture.dimensions, layers: fixture.layers };
  const file = path.join(root.dir('convert'), 'state.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(state));
  const viaCli = root.dir('convert-cli');
  assert.equal(await main(['from-state', file, '--layer', 'ellipsoid layer', '--out', viaCli, '--quiet', '--seed', '5']), 0);
  const tmp = root.dir('convert-tmp');
  fs.mkdirSync(tmp);
  const viaMapping = root.dir('convert-mapping');
  const m = await writeStateTables(stateLayerTables(state, 'ellipsoid layer'), tmp, viaMapping);
  await writePrecomputedAnnotations(m.input!, mappingCoordSpace(m), m.annotationType, { ...mappingToWriteOptions(m), seed: 5, ...quiet });
  assertSameTree(viaCli, viaMapping);
});
