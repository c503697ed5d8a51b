// Conformance of the output folder as a whole: byte-identical output for a fixed seed, and atomic
// replacement (refusals leave folders untouched; a cancelled export leaves nothing behind).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { Table, makeVector, tableToIPC } from 'apache-arrow';
import { writePrecomputedAnnotations } from '../src/export/run';
import { AbortError, ExportError } from '../src/core/errors';
import { TableHandle, type Phase, type WriteOptions } from '../src/core/types';
import { readDatasetWithNeuroglancer } from './helpers/ngread';
import { checkById, checkSpatial, f32, randomIds, readTree, rng, tempRoot, u64List, writeAndRead, type Expected } from './helpers/conformance';

const tmp = tempRoot('output');
after(() => tmp.cleanup());

function pointInput(n: number, seed: number): { table: Table; expected: Expected[] } {
  const rand = rng(seed);
  const ids = randomIds(n, rand);
  const xyz = [0, 1, 2].map(() => Array.from({ length: n }, () => rand() * 64));
  const rel = ids.map(() => (rand() < 0.2 ? null : [BigInt(Math.floor(rand() * 40))]));
  const table = new Table({
    annotation_id: makeVector(BigUint64Array.from(ids)),
    x: makeVector(Float64Array.from(xyz[0]!)),
    y: makeVector(Float64Array.from(xyz[1]!)),
    z: makeVector(Float64Array.from(xyz[2]!)),
    w: makeVector(Float32Array.from(ids, (_, i) => i / 3)),
    seg: u64List(rel),
  });
  const expected = ids.map((id, i) => ({
    id,
    geometry: { point: f32([xyz[0]![i]!, xyz[1]![i]!, xyz[2]![i]!]) },
    properties: { w: Math.fround(i / 3) },
    relationships: [rel[i] ?? []],
  }));
  return { table, expected };
}

const OPTIONS: WriteOptions = { properties: ['w'], relationships: ['seg'], numSpatialLevels: 4, targetChunkLimit: 6 };

/** Same file names and byte-identical contents. */
function assertSameTree(a: Map<string, Buffer>, b: Map<string, Buffer>, what: string): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${what}: file lists`);
  for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `${what}: ${name} differs`);
}

describe('seed determinism', () => {
  for (const sharded of [true, false]) {
    test(`same input and seed give byte-identical trees; another seed changes only the spatial index (${sharded ? 'sharded' : 'unsharded'})`, async () => {
      // Unsharded output is one file per key, slow to create on this disk: fewer annotations there.
      const { table, expected } = pointInput(sharded ? 700 : 250, 21);
      const opts = { ...OPTIONS, writeSharded: sharded };
      const a = await writeAndRead(tmp.dir('seed'), table, 'xyz', 'point', { ...opts, seed: 42 });
      const b = await writeAndRead(tmp.dir('seed'), table, 'xyz', 'point', { ...opts, seed: 42 });
      const c = await writeAndRead(tmp.dir('seed'), table, 'xyz', 'point', { ...opts, seed: 43 });
      const ta = readTree(a.dir);
      assertSameTree(ta, readTree(b.dir), 'seed 42 twice');
      assert.ok(ta.size > 5);

      const tc = readTree(c.dir);
      const outsideSpatial = (t: Map<string, Buffer>) => new Map([...t].filter(([k]) => !k.startsWith('by_spatial_level_') && k !== 'info'));
      assertSameTree(outsideSpatial(ta), outsideSpatial(tc), 'by_id and by_rel for seeds 42 and 43');
      const spatialDiffers = [...ta].some(([k, v]) => k.startsWith('by_spatial_level_') && !(tc.get(k)?.equals(v) ?? false));
      assert.ok(spatialDiffers, 'another seed gives another spatial order');
      // The info differs at most in what the spatial order decides: each level's limit (and, when
      // the number of occupied cells changes, the shard layout chosen for it).
      const infoA = JSON.parse(ta.get('info')!.toString());
      const infoC = JSON.parse(tc.get('info')!.toString());
      const strip = (info: { spatial: Array<Record<string, unknown>> }) => ({ ...info, spatial: info.spatial.map(({ limit: _l, sharding: _s, ...rest }) => rest) });
      assert.deepEqual(strip(infoC), strip(infoA));
      for (const w of [a, c]) {
        await checkById(w.ds, expected);
        await checkSpatial(w.ds, expected, 6);
      }
      // Same number of annotations per level for both seeds (the quotas do not depend on the seed).
      const perLevel = async (ds: typeof a.ds) =>
        Promise.all(ds.levels.map(async (l) => new Set([...(await ds.allSpatial(l.index)).values()].flat().map((x) => x.id)).size));
      assert.deepEqual(await perLevel(c.ds), await perLevel(a.ds));
    });
  }
});

describe('the same output however the input is given or the work is scheduled', () => {
  test('maxThreads and maxShardsPerTransaction leave the bytes unchanged', async () => {
    const { table } = pointInput(1500, 31);
    const base = { ...OPTIONS, seed: 5 };
    const ref = readTree((await writeAndRead(tmp.dir('sched'), table, 'xyz', 'point', base)).dir);
    for (const extra of [{ maxThreads: 1 }, { maxThreads: 2, maxShardsPerTransaction: 1 }, { maxShardsPerTransaction: 3 }]) {
      const w = await writeAndRead(tmp.dir('sched'), table, 'xyz', 'point', { ...base, ...extra });
      assertSameTree(ref, readTree(w.dir), JSON.stringify(extra));
    }
  });

  test('a TableHandle, an Arrow IPC file and the table itself give the same bytes; the handle is emptied', async () => {
    const { table } = pointInput(300, 32);
    const ref = readTree((await writeAndRead(tmp.dir('input'), table, 'xyz', 'point', { ...OPTIONS, seed: 9 })).dir);
    const handle = new TableHandle(table);
    const viaHandle = await writeAndRead(tmp.dir('input'), handle, 'xyz', 'point', { ...OPTIONS, seed: 9 });
    assert.equal(handle.table, null, 'the writer took the table out of the handle');
    assertSameTree(ref, readTree(viaHandle.dir), 'TableHandle');
    const file = path.join(tmp.root, 'input.arrow');
    fs.writeFileSync(file, tableToIPC(table, 'file'));
    const viaFile = await writeAndRead(tmp.dir('input'), file, 'xyz', 'point', { ...OPTIONS, seed: 9 });
    assertSameTree(ref, readTree(viaFile.dir), 'Arrow IPC file');
  });

  test('a CSV file: ids beyond 2^53 and relationship cells exact', async () => {
    const file = path.join(tmp.root, 'syn.csv');
    fs.writeFileSync(file, 'annotation_id,x,y,syn\r\n18446744073709551615,1.5,2,"[10, 18446744073709551614]"\r\n9007199254740993,3,4,12\r\n5,0,0,\r\n');
    const { ds } = await writeAndRead(tmp.dir('csv'), file, 'xy', 'point', { relationships: ['syn'] });
    await checkById(ds, [
      { id: 2n ** 64n - 1n, geometry: { point: [1.5, 2] }, properties: {}, relationships: [[10n, 2n ** 64n - 2n]] },
      { id: 2n ** 53n + 1n, geometry: { point: [3, 4] }, properties: {}, relationships: [[12n]] },
      { id: 5n, geometry: { point: [0, 0] }, properties: {}, relationships: [[]] },
    ]);
    assert.deepEqual((await ds.getByRelationship('syn', 2n ** 64n - 2n))?.map((a) => a.id), [2n ** 64n - 1n]);
  });
});

describe('atomic output', () => {
  const small = () => pointInput(60, 3).table;
  const siblings = (dir: string) => fs.readdirSync(path.dirname(dir)).filter((n) => n !== path.basename(dir) && n.includes(path.basename(dir)));

  test('an existing non-empty folder is refused without overwrite, and left unchanged', async () => {
    const dir = tmp.dir('exists');
    await writePrecomputedAnnotations(small(), 'xyz', 'point', { outputDir: dir, seed: 1 });
    const before = readTree(dir);
    await assert.rejects(writePrecomputedAnnotations(small(), 'xyz', 'point', { outputDir: dir, seed: 2 }), (e: Error) => {
      assert.ok(e instanceof ExportError);
      assert.match(e.message, /not empty/);
      assert.match(e.message, /overwrite/);
      return true;
    });
    assertSameTree(before, readTree(dir), 'refused target');
    assert.deepEqual(siblings(dir), []);
  });

  test('an existing empty folder is used', async () => {
    const dir = tmp.dir('empty');
    fs.mkdirSync(dir);
    await writePrecomputedAnnotations(small(), 'xyz', 'point', { outputDir: dir, seed: 1 });
    assert.equal((await readDatasetWithNeuroglancer(dir)).type, 'point');
  });

  test('with overwrite a previous dataset is replaced as a whole (no stale index folders)', async () => {
    const dir = tmp.dir('replace');
    await writePrecomputedAnnotations(small(), 'xyz', 'point', { ...OPTIONS, outputDir: dir, seed: 1 });
    assert.ok(fs.existsSync(path.join(dir, 'by_rel_seg')));
    const lines = new Table({
      xa: makeVector(Float64Array.from([0, 1])),
      ya: makeVector(Float64Array.from([0, 1])),
      xb: makeVector(Float64Array.from([2, 3])),
      yb: makeVector(Float64Array.from([5, 1])),
    });
    const w = await writeAndRead(dir, lines, 'xy', 'line', { overwrite: true, writeSharded: false });
    assert.equal(w.ds.type, 'line');
    assert.equal(w.ds.rank, 2);
    assert.equal(fs.existsSync(path.join(dir, 'by_rel_seg')), false, 'old relationship index removed');
    assert.deepEqual([...readTree(dir).keys()].filter((k) => !k.startsWith('by_id/') && !k.startsWith('by_spatial_level_0/')), ['info']);
    await checkById(w.ds, [
      { id: 0n, geometry: { pointA: [0, 0], pointB: [2, 5] }, properties: {}, relationships: [] },
      { id: 1n, geometry: { pointA: [1, 1], pointB: [3, 1] }, properties: {}, relationships: [] },
    ]);
    assert.deepEqual(siblings(dir), []);
  });

  test('a folder that is not a dataset is refused even with overwrite, and left unchanged', async () => {
    const dir = tmp.dir('notdataset');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'keep me');
    fs.writeFileSync(path.join(dir, 'sub', 'info'), '{"@type": "neuroglancer_annotations_v1"}');
    const before = readTree(dir);
    for (const overwrite of [false, true]) {
      await assert.rejects(writePrecomputedAnnotations(small(), 'xyz', 'point', { outputDir: dir, overwrite }), ExportError);
      assertSameTree(before, readTree(dir), `overwrite ${overwrite}`);
    }
    // An info that is not an annotation dataset's does not count either.
    fs.writeFileSync(path.join(dir, 'info'), '{"@type": "neuroglancer_multiscale_volume"}');
    const withInfo = readTree(dir);
    await assert.rejects(writePrecomputedAnnotations(small(), 'xyz', 'point', { outputDir: dir, overwrite: true }), ExportError);
    assertSameTree(withInfo, readTree(dir), 'volume info');
    assert.deepEqual(siblings(dir), []);
  });

  test('a file in place of the folder is refused', async () => {
    const file = tmp.dir('file');
    fs.writeFileSync(file, 'x');
    await assert.rejects(writePrecomputedAnnotations(small(), 'xyz', 'point', { outputDir: file, overwrite: true }), ExportError);
    assert.equal(fs.readFileSync(file, 'utf8'), 'x');
  });

  describe('a cancelled export leaves no target folder and no temporary sibling', () => {
    const phases: Array<[Phase, (done: number, total: number) => boolean]> = [
      ['by_id', (d) => d > 0],
      ['by_relationship', (d) => d > 0],
      ['spatial_assign', () => true],
      ['spatial', (d) => d > 0],
      ['finishing', (d) => d === 0],
    ];
    for (const sharded of [true, false]) {
      for (const [phase, when] of phases) {
        test(`aborted in ${phase} (${sharded ? 'sharded' : 'unsharded'})`, async () => {
          const parent = tmp.dir('abort');
          fs.mkdirSync(parent);
          const dir = path.join(parent, 'out');
          const controller = new AbortController();
          let seen = false;
          await assert.rejects(
            writePrecomputedAnnotations(pointInput(sharded ? 1500 : 300, 4).table, 'xyz', 'point', {
              ...OPTIONS,
              writeSharded: sharded,
              outputDir: dir,
              signal: controller.signal,
              onProgress: (p) => {
                if (p.phase === phase && when(p.done, p.total) && !controller.signal.aborted) {
                  seen = true;
                  controller.abort();
                }
              },
            }),
            (e: Error) => {
              assert.ok(e instanceof AbortError, `${e.name}: ${e.message}`);
              return true;
            },
          );
          assert.ok(seen, `phase ${phase} was reported`);
          assert.deepEqual(fs.readdirSync(parent), [], 'nothing left in the parent folder');
        });
      }
    }

    test('aborted while replacing a dataset (overwrite): the previous dataset is untouched', async () => {
      const dir = tmp.dir('abort-replace');
      await writePrecomputedAnnotations(small(), 'xyz', 'point', { outputDir: dir, seed: 1 });
      const before = readTree(dir);
      const controller = new AbortController();
      await assert.rejects(
        writePrecomputedAnnotations(pointInput(2000, 5).table, 'xyz', 'point', {
          ...OPTIONS,
          outputDir: dir,
          overwrite: true,
          signal: controller.signal,
          onProgress: (p) => {
            if (p.phase === 'spatial' && p.done > 0) controller.abort();
          },
        }),
        AbortError,
      );
      assertSameTree(before, readTree(dir), 'previous dataset');
      assert.deepEqual(siblings(dir), []);
    });

    test('an already aborted signal writes nothing', async () => {
      const parent = tmp.dir('pre-abort');
      fs.mkdirSync(parent);
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(writePrecomputedAnnotations(small(), 'xyz', 'point', { outputDir: path.join(parent, 'out'), signal: controller.signal }), AbortError);
      assert.deepEqual(fs.readdirSync(parent), []);
    });
  });
});
