// The command line as a user runs it (`node dist/cli.js export ...`): every annotation type from every
// input format, sharded and not, decoded with neuroglancer's own reader and compared to the input.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FORMATS, assertNoTemporaries, ensureBuilt, listTree, runOk, writeTable, type Format } from './helpers/cli';
import { PROPS, RELS, TYPES, checkDataset, makeFixture, type AnnType, type Fixture } from './helpers/cli-data';

const N = 40;
const tmp = fs.mkdtempSync(path.join(tmpdir(), 'ng-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const fixtures = new Map<AnnType, Fixture>(TYPES.map((t, i) => [t, makeFixture(t, N, 100 + i)]));
/** `${type}.${format}` → main table path; `${type}.vertices.${format}` → polyline vertices. */
const files = new Map<string, string>();

before(async () => {
  ensureBuilt();
  for (const [type, fx] of fixtures) {
    for (const format of FORMATS) {
      files.set(`${type}.${format}`, await writeTable(tmp, type, format, fx.main));
      if (fx.vertices) files.set(`${type}.vertices.${format}`, await writeTable(tmp, `${type}-vertices`, format, fx.vertices));
    }
  }
});

/** Property types the readers must infer: text narrows, binary formats keep int32. */
function expectedPropertyTypes(format: Format): Record<string, string> {
  return { score: 'float32', kind: 'uint8', level: format === 'csv' || format === 'tsv' ? 'int16' : 'int32', color: 'rgb' };
}

/** A fresh parent folder per case (cases run side by side), and the output folder inside it. */
function outDir(label: string): string {
  return path.join(fs.mkdtempSync(path.join(tmp, `${label}-`)), 'out');
}

describe('export: every annotation type from every format', { concurrency: 4 }, () => {
  for (const type of TYPES) {
    for (const format of FORMATS) {
      for (const sharded of [true, false]) {
        it(`${type} from ${format}${sharded ? '' : ' --unsharded'}`, async () => {
          const fx = fixtures.get(type)!;
          const out = outDir(`${type}-${format}`);
          const args = ['export', files.get(`${type}.${format}`)!, '--type', type, '--out', out, '--properties', PROPS.join(','), '--relationships', RELS.join(','), '--quiet'];
          // Polyline vertices come from another format than the main table, to mix readers.
          if (type === 'polyline') args.push('--points', files.get(`polyline.vertices.${FORMATS[(FORMATS.indexOf(format) + 1) % FORMATS.length]}`)!);
          if (!sharded) args.push('--unsharded');
          const r = await runOk(args);
          assert.equal(r.stdout, '');
          assert.equal(r.stderr, '');
          const ds = await checkDataset(out, fx.expected, { properties: PROPS, relationships: RELS });
          const types = Object.fromEntries(ds.properties.map((p) => [p.identifier, p.type]));
          assert.deepEqual(types, expectedPropertyTypes(format));
          assert.deepEqual(ds.properties.find((p) => p.identifier === 'kind')!.enumLabels, ['axon', 'dendrite', 'soma', 'spine']);
          const tree = listTree(out);
          const shardFiles = tree.filter((f) => f.endsWith('.shard'));
          if (sharded) assert.ok(shardFiles.length > 0 && tree.every((f) => !/^by_id\/\d+$/.test(f)), 'sharded output');
          else assert.deepEqual(shardFiles, [], 'unsharded output has no .shard files');
          if (!sharded) assert.ok(tree.includes(`by_id/${2n ** 64n - 1n}`), 'unsharded by_id is keyed by decimal id');
          assertNoTemporaries(path.dirname(out));
        });
      }
    }
  }
  for (const format of FORMATS) {
    it(`polyline from the vertices file alone (${format})`, async () => {
      const fx = fixtures.get('polyline')!;
      const out = outDir(`vertices-only-${format}`);
      await runOk(['export', files.get(`polyline.vertices.${format}`)!, '--type', 'polyline', '--out', out, '--quiet']);
      await checkDataset(out, { ...fx.expected, props: {}, rels: {} });
    });
  }
});
