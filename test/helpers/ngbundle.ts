// Test-only loader for neuroglancer's own decoding code (npm `neuroglancer`, compiled JS in lib/).
//
// Most of what the conformance harness needs (hash, zorder, annotation handlers) loads in plain
// Node, but the precomputed datasource modules do not: the frontend imports CSS and SVG files and
// pulls in UI modules that touch `document`, `window` and `WebGL2RenderingContext` at load time, and
// the backend reads `navigator.hardwareConcurrency`. So we bundle the modules we need with esbuild
// (CSS/SVG replaced by empty modules, a few inert globals installed before the bundle runs) and
// import the bundle. Nothing in neuroglancer's code is changed: the bundle is its lib/ as shipped.
// All exports come from one bundle so that every class and enum is a single module instance.
//
// The bundle is built on first use and cached under node_modules/.cache/ (keyed by the neuroglancer
// and esbuild versions and this file's recipe), so a test run pays ~0.5 s once.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The neuroglancer release our conformance standard is measured against. */
export const PINNED_NEUROGLANCER_VERSION = '2.41.2';

const repoRoot = path.resolve(__dirname, '..', '..');
const ngRoot = path.join(repoRoot, 'node_modules', 'neuroglancer');

// What the harness takes from neuroglancer. Each line names the neuroglancer module it comes from.
const ENTRY = `
export { PrecomputedDataSource } from 'neuroglancer/unstable/datasource/precomputed/frontend.js';
export { PrecomputedAnnotationSourceBackend, PrecomputedAnnotationSpatialIndexSourceBackend } from 'neuroglancer/unstable/datasource/precomputed/backend.js';
export { getShardedKvStoreIfApplicable } from 'neuroglancer/unstable/datasource/precomputed/sharded.js';
export { KvStoreContext } from 'neuroglancer/unstable/kvstore/context.js';
export { handleByteRangeRequestFromUint8Array } from 'neuroglancer/unstable/kvstore/byte_range/file_handle.js';
export { encodePathForUrl, parsePipelineUrlComponent } from 'neuroglancer/unstable/kvstore/url.js';
export { StringMemoize } from 'neuroglancer/unstable/util/memoize.js';
export { AnnotationType, AnnotationPropertySerializer, annotationTypeHandlers } from 'neuroglancer/unstable/annotation/index.js';
export { murmurHash3_x86_128Hash64Bits_Bigint } from 'neuroglancer/unstable/util/hash.js';
export { encodeZIndexCompressed } from 'neuroglancer/unstable/util/zorder.js';
`;

// Inert stand-ins for browser globals that UI modules touch while loading. None of them is used by
// the decoding paths; they only let module initialisation finish in Node 20.
const SHIM = `
(() => {
  const g = globalThis;
  const inert = new Proxy(function () {}, {
    get(_t, k) { if (k === Symbol.toPrimitive) return () => ''; if (k === 'then' || typeof k === 'symbol') return undefined; return inert; },
    apply() { return inert; }, construct() { return inert; }, set() { return true; },
  });
  const glConstants = new Map();
  if (g.WebGL2RenderingContext === undefined) g.WebGL2RenderingContext = new Proxy({}, { get(_t, k) {
    if (typeof k !== 'string') return undefined;
    if (!glConstants.has(k)) glConstants.set(k, 0x10000 + glConstants.size);
    return glConstants.get(k);
  } });
  if (g.navigator === undefined) g.navigator = { hardwareConcurrency: 1, userAgent: 'node' };
  if (g.window === undefined) g.window = { addEventListener() {}, removeEventListener() {}, setTimeout, clearTimeout };
  if (g.document === undefined) g.document = inert;
})();
`;

export function installedNeuroglancerVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(ngRoot, 'package.json'), 'utf8')).version;
}

// Loosely typed: this is neuroglancer's untyped compiled JS seen through a bundle.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NgModules = Record<string, any>;

let loaded: Promise<NgModules> | undefined;

/** Builds (once, cached on disk) and imports the neuroglancer bundle. */
export function loadNeuroglancer(): Promise<NgModules> {
  loaded ??= build().then((file) => import(pathToFileURL(file).href) as Promise<NgModules>);
  return loaded;
}

async function build(): Promise<string> {
  const version = installedNeuroglancerVersion();
  if (version !== PINNED_NEUROGLANCER_VERSION) {
    throw new Error(
      `node_modules/neuroglancer is ${version}, but the conformance tests are pinned to ` +
        `${PINNED_NEUROGLANCER_VERSION}; install neuroglancer@${PINNED_NEUROGLANCER_VERSION} or update the pin deliberately`,
    );
  }
  const esbuild = await import('esbuild');
  const recipe = createHash('sha256')
    .update([version, esbuild.version, ENTRY, SHIM, 'v1'].join('\0'))
    .digest('hex')
    .slice(0, 16);
  const cacheDir = path.join(repoRoot, 'node_modules', '.cache', 'ngread');
  const outfile = path.join(cacheDir, `neuroglancer-${version}-${recipe}.mjs`);
  if (fs.existsSync(outfile)) return outfile;

  fs.mkdirSync(cacheDir, { recursive: true });
  // Several test files may build at once: write to a private name, then rename atomically.
  const tmp = `${outfile}.${process.pid}.${Date.now()}.tmp`;
  await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: repoRoot, loader: 'js', sourcefile: 'ngread-entry.js' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: tmp,
    write: true,
    logLevel: 'error',
    banner: { js: SHIM },
    loader: { '.css': 'empty' },
    plugins: [
      {
        // `import svg from "ikonate/icons/x.svg?raw"`: icons for UI widgets we never build.
        name: 'raw-imports-empty',
        setup(b) {
          b.onResolve({ filter: /\?raw$/ }, (args) => ({ path: args.path, namespace: 'raw-empty' }));
          b.onLoad({ filter: /.*/, namespace: 'raw-empty' }, () => ({ contents: 'export default "";', loader: 'js' }));
        },
      },
    ],
  });
  fs.renameSync(tmp, outfile);
  return outfile;
}
