// Builds an offline neuroglancer viewer from the pinned npm package into dist/viewer/, so the
// preview server can serve viewer and data from one loopback origin with no network at all.
//
//   node scripts/build-viewer.mjs               always rebuild
//   node scripts/build-viewer.mjs --if-missing  rebuild only if the stamp is missing or stale
//   node scripts/build-viewer.mjs --sourcemap   also emit source maps (not shipped by default)
//
// esbuild does not understand `new Worker(new URL("./x.js", import.meta.url))` (evanw/esbuild#795),
// which is how neuroglancer starts its workers. So the two worker scripts become entry points of
// their own, every output file lands flat in one folder, and the `new URL(...)` literals in
// neuroglancer's modules are rewritten to name those flat files.
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outDir = path.join(root, 'dist', 'viewer');
const stampFile = path.join(outDir, 'build.json');

const libDir = path.dirname(fileURLToPath(import.meta.resolve('neuroglancer/unstable/main.bundle.js')));
const ngPackage = JSON.parse(readFileSync(path.join(libDir, '..', 'package.json'), 'utf8'));

// Package `imports` conditions: everything off by default, then only what a local annotation
// preview needs (precomputed over http; gzip for `|gzip:` pipelines), and the s3:// / s3+http(s)://
// and gs:// stores, for datasets exported to a bucket. All layer types stay, so a user can still add
// an image or segmentation layer next to the annotations.
const conditions = [
  'neuroglancer/datasource:none_by_default',
  'neuroglancer/datasource/precomputed:enabled',
  'neuroglancer/kvstore:none_by_default',
  'neuroglancer/kvstore/http:enabled',
  'neuroglancer/kvstore/gzip:enabled',
  'neuroglancer/kvstore/s3:enabled',
  'neuroglancer/kvstore/gcs:enabled',
];

// Output name (no extension) -> entry module. The main entry is ours (see viewer/main.mjs); the
// workers are neuroglancer's own entry modules, unchanged.
const mainEntry = path.join(root, 'viewer', 'main.mjs');
const entries = {
  'main.bundle': mainEntry,
  'chunk_worker.bundle': path.join(libDir, 'chunk_worker.bundle.js'),
  'async_computation.bundle': path.join(libDir, 'async_computation.bundle.js'),
};
const workerFiles = new Set([entries['chunk_worker.bundle'], entries['async_computation.bundle']]);

// Decoders left out: JPEG XL volume chunks are rare and its decoder alone would double the download.
// A jxl-encoded image layer then fails to decode with a 404 for this file; annotations are unaffected.
const skippedWasm = new Set(['jxl_decoder.wasm']);

const indexHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>neuroglancer</title>
<link rel="stylesheet" href="./main.bundle.css">
<script type="module" src="./main.bundle.js"></script>
</head>
<body><div id="neuroglancer-container"></div></body>
</html>
`;

/** Inputs that decide the output: rebuilding is needed when any of them changes. */
function buildKey(sourcemap) {
  const h = createHash('sha256');
  h.update(readFileSync(fileURLToPath(import.meta.url)));
  h.update(readFileSync(mainEntry));
  h.update(JSON.stringify({ ng: ngPackage.version, esbuild: esbuild.version, sourcemap }));
  return h.digest('hex').slice(0, 16);
}

// neuroglancer pins ikonate to a git commit; the npm release installed here (1.1.1, see the
// `overrides` in package.json) lacks three of the icons it uses. Stand-ins from the same set,
// and one drawn here, keep the buttons visible.
const iconStandIns = {
  'ikonate/icons/controls-alt.svg': { file: 'ikonate/icons/controls.svg' },
  'ikonate/icons/layers.svg': { file: 'ikonate/icons/stack.svg' },
  'ikonate/icons/code-alt.svg': {
    text:
      '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">' +
      '<path d="M8 7l-5 5 5 5M16 7l5 5-5 5M14 4l-4 16"/></svg>',
  },
};

/** `import x from "ikonate/icons/foo.svg?raw"`: the file's text as a string. */
function rawTextPlugin(substituted) {
  return {
    name: 'raw-text',
    setup(build) {
      build.onResolve({ filter: /\?raw$/ }, async (args) => {
        const spec = args.path.slice(0, -'?raw'.length);
        const opts = { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer };
        let r = await build.resolve(spec, opts);
        const standIn = iconStandIns[spec];
        if (r.errors.length > 0 && standIn) {
          substituted.add(spec);
          if (standIn.text) return { path: spec, namespace: 'inline-text', pluginData: standIn.text };
          r = await build.resolve(standIn.file, opts);
        }
        if (r.errors.length > 0) return { errors: r.errors };
        return { path: r.path, namespace: 'raw-text' };
      });
      build.onLoad({ filter: /.*/, namespace: 'raw-text' }, async (args) => ({
        contents: await readFile(args.path, 'utf8'),
        loader: 'text',
      }));
      build.onLoad({ filter: /.*/, namespace: 'inline-text' }, (args) => ({
        contents: args.pluginData,
        loader: 'text',
      }));
    },
  };
}

/**
 * Rewrites `new URL("<relative>", import.meta.url)` in neuroglancer's modules to `"./<basename>"`,
 * which is right once every output file sits in one flat folder. Records the assets (wasm
 * decoders) so the ones that survive tree shaking can be copied next to the bundles.
 */
function workerUrlPlugin(assets, unknown) {
  return {
    name: 'neuroglancer-worker-urls',
    setup(build) {
      const filter = new RegExp('^' + escapeRegExp(libDir + path.sep) + '.*\\.js$');
      build.onLoad({ filter }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const contents = text.replace(
          /new URL\(\s*(?:\/\*[^*]*\*\/\s*)?(["'])([^"']+)\1\s*,\s*import\.meta\.url\s*\)/g,
          (whole, _q, rel) => {
            const target = path.resolve(path.dirname(args.path), rel);
            const base = path.basename(target);
            if (workerFiles.has(target)) return `new URL(${JSON.stringify('./' + base)}, import.meta.url)`;
            if (target.endsWith('.wasm')) {
              assets.set(base, target);
              return `new URL(${JSON.stringify('./' + base)}, import.meta.url)`;
            }
            unknown.add(`${path.relative(libDir, args.path)}: ${rel}`);
            return whole;
          },
        );
        return { contents, loader: 'js', resolveDir: path.dirname(args.path) };
      });
    },
  };
}

/** One deduplicated THIRD_PARTY_NOTICES.txt instead of esbuild's `<file>.LEGAL.txt` per output. */
async function mergeLegalComments() {
  const seen = new Set();
  for (const name of (await readdir(outDir)).sort()) {
    if (!name.endsWith('.LEGAL.txt')) continue;
    const p = path.join(outDir, name);
    for (const block of (await readFile(p, 'utf8')).split(/\n(?=\/\*|\/\/)/)) {
      if (block.trim()) seen.add(block.trim());
    }
    await rm(p);
  }
  const header = 'License comments of the code bundled into this viewer (see also LICENSE-neuroglancer.txt).\n\n';
  await writeFile(path.join(outDir, 'THIRD_PARTY_NOTICES.txt'), header + [...seen].join('\n\n') + '\n');
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export async function buildViewer({ sourcemap = false } = {}) {
  const started = performance.now();
  const assets = new Map();
  const unknown = new Set();
  const substituted = new Set();
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: Object.entries(entries).map(([out, file]) => ({ out, in: file })),
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions,
    minify: true,
    sourcemap,
    legalComments: 'external',
    chunkNames: 'chunk-[hash]',
    assetNames: '[name]-[hash]',
    logLevel: 'warning',
    metafile: true,
    plugins: [rawTextPlugin(substituted), workerUrlPlugin(assets, unknown)],
  });

  // Copy only the decoders some output still refers to.
  const outputs = Object.keys(result.metafile.outputs).map((p) => path.resolve(root, p));
  const jsText = outputs
    .filter((p) => p.endsWith('.js'))
    .map((p) => readFileSync(p, 'utf8'))
    .join('\n');
  const copied = [];
  for (const [base, src] of assets) {
    if (!skippedWasm.has(base) && jsText.includes(`"./${base}"`)) {
      await copyFile(src, path.join(outDir, base));
      copied.push(base);
    }
  }
  await mergeLegalComments();
  await writeFile(path.join(outDir, 'index.html'), indexHtml);
  await copyFile(path.join(libDir, '..', 'LICENSE'), path.join(outDir, 'LICENSE-neuroglancer.txt'));
  const elapsedMs = Math.round(performance.now() - started);
  await writeFile(
    stampFile,
    JSON.stringify(
      {
        neuroglancer: ngPackage.version,
        key: buildKey(sourcemap),
        conditions,
        wasm: copied,
        iconStandIns: [...substituted],
        elapsedMs,
      },
      null,
      2,
    ) + '\n',
  );
  return { elapsedMs, copied, unknown: [...unknown], substituted: [...substituted], ...(await measure()) };
}

/** Raw and gzipped size of everything in dist/viewer (gzip level 9, per file, as a server would). */
export async function measure() {
  let raw = 0;
  let gzipped = 0;
  const files = [];
  for (const name of await readdir(outDir)) {
    const p = path.join(outDir, name);
    if (!(await stat(p)).isFile()) continue;
    const data = await readFile(p);
    const gz = gzipSync(data, { level: 9 }).length;
    raw += data.length;
    gzipped += gz;
    files.push({ name, raw: data.length, gzipped: gz });
  }
  files.sort((a, b) => b.raw - a.raw);
  return { raw, gzipped, files };
}

export function isUpToDate({ sourcemap = false } = {}) {
  if (!existsSync(stampFile) || !existsSync(path.join(outDir, 'index.html'))) return false;
  try {
    return JSON.parse(readFileSync(stampFile, 'utf8')).key === buildKey(sourcemap);
  } catch {
    return false;
  }
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const sourcemap = process.argv.includes('--sourcemap');
  if (process.argv.includes('--if-missing') && isUpToDate({ sourcemap })) process.exit(0);
  const r = await buildViewer({ sourcemap });
  const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(
    `viewer: neuroglancer ${ngPackage.version} -> ${path.relative(root, outDir)}/ in ${r.elapsedMs} ms, ` +
      `${kib(r.raw)} raw, ${kib(r.gzipped)} gzipped` +
      (r.copied.length ? ` (wasm: ${r.copied.join(', ')})` : ''),
  );
  if (process.argv.includes('--verbose')) {
    for (const f of r.files) console.log(`  ${f.name.padEnd(40)} ${kib(f.raw).padStart(9)} ${kib(f.gzipped).padStart(9)}`);
  }
  if (r.unknown.length > 0) {
    console.warn(`viewer: left unrewritten (their features will not work offline):\n  ${r.unknown.join('\n  ')}`);
  }
}
