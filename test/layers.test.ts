// The layering of src/ (docs/architecture.md, "Layers"), checked by reading every import: arrows
// point down. A folder may import from its own folder and from the layers below it, never above;
// the core imports nothing from the readers (io), the export layer or the front ends; shared code
// (used by the webview too) and the core import no vscode, and shared code no Node module.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinModules } from 'node:module';

const ROOT = path.resolve(__dirname, '..');

/** Layer of each top-level folder of src/ (and of webview/): lower numbers are lower layers. */
const LAYERS: Record<string, number> = {
  shared: 0, // protocol, guesses, geometry, pandas metadata: no Node, no vscode
  core: 1, // Arrow tables / record batches in, a Storage out
  storage: 2, // buckets (implements the core's Storage)
  io: 3, // readers: files → Arrow
  inspect: 3, // an independent reader of datasets
  export: 4, // a path or URL → tables or batches, the memory decision, the output
  roundtrip: 5,
  server: 5,
  cli: 6,
  extension: 6,
  webview: 6,
  'index.ts': 7, // the library's entry
};

/** Folders a layer may not import from although they are lower (a rule stronger than the order). */
const FORBIDDEN: Record<string, string[]> = {
  // The webview is browser code: the host's folders are not its to import.
  webview: ['core', 'storage', 'io', 'inspect', 'export', 'roundtrip', 'server', 'cli', 'extension'],
};

const NODE = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every module specifier a file imports or re-exports (static, dynamic and `import type` alike). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s+['"]([^'"]+)['"]|(?:^|[\s;])import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
    specs.push(m[1] ?? m[2] ?? m[3] ?? m[4]);
  }
  return specs;
}

/** The layer of a file (or an import's target, extension optional) under src/ or webview/: its folder, or its name directly in src/. */
function layerOf(file: string): string {
  const rel = path.relative(ROOT, file).split(path.sep);
  if (rel[0] === 'webview') return 'webview';
  return rel.length === 2 ? `${rel[1].replace(/\.(ts|js)$/, '')}.ts` : rel[1];
}

const files = [...filesUnder(path.join(ROOT, 'src')), ...filesUnder(path.join(ROOT, 'webview'))];

describe('layers: arrows point down', () => {
  it('knows the layer of every folder of src/', () => {
    const unknown = [...new Set(files.map(layerOf))].filter((l) => !(l in LAYERS));
    assert.deepEqual(unknown, [], 'add new folders (or files directly in src/) to LAYERS');
  });

  it('no file imports from a layer above its own', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(file), spec);
        const top = path.relative(ROOT, target).split(path.sep)[0];
        if (top !== 'src' && top !== 'webview') continue; // package.json and the like
        const to = layerOf(target);
        if (to === from) continue;
        const below = (LAYERS[to] ?? Infinity) < (LAYERS[from] ?? -Infinity);
        if (!below || FORBIDDEN[from]?.includes(to)) wrong.push(`${path.relative(ROOT, file)} (${from}) imports ${spec} (${to})`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('the core imports nothing from io, export, cli or extension', () => {
    const wrong = files
      .filter((f) => layerOf(f) === 'core')
      .flatMap((f) => importsOf(f).filter((s) => s.startsWith('.') && !['core', 'shared'].includes(layerOf(path.resolve(path.dirname(f), s)))).map((s) => `${path.relative(ROOT, f)}: ${s}`));
    assert.deepEqual(wrong, []);
  });

  it('shared code imports no Node module and no vscode; the core no vscode', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const layer = layerOf(file);
      for (const spec of importsOf(file)) {
        if ((layer === 'shared' || layer === 'webview') && (NODE.has(spec) || spec === 'vscode')) wrong.push(`${path.relative(ROOT, file)}: ${spec}`);
        if (layer === 'core' && spec === 'vscode') wrong.push(`${path.relative(ROOT, file)}: ${spec}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('reads imports the way they are written', () => {
    // The reader of this test itself: static, type-only, side-effect, dynamic and re-exports.
    const sample = path.join(ROOT, 'test-output', 'layers-sample.ts');
    fs.mkdirSync(path.dirname(sample), { recursive: true });
    fs.writeFileSync(
      sample,
      "import * as a from './a';\nimport type { B } from '../b';\nimport './c';\nexport { d } from './d';\nconst e = await import('./e');\n// import { f } from './f';\nimport {\n  g,\n  h,\n} from './gh';\n",
    );
    assert.deepEqual(importsOf(sample), ['./a', '../b', './c', './d', './e', './gh']);
  });
});
