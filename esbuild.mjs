// One bundle per runtime: library (Node), CLI (Node), extension host (Node, vscode external),
// export worker (Node worker thread), webview (browser). Type checking is separate (`npm run typecheck`).
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: ['vscode'],
};

/** @type {Array<import('esbuild').BuildOptions & {entryPoints: string[]}>} */
const entries = [
  { ...node, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' },
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { ...node, entryPoints: ['src/core/shardWorker.ts'], outfile: 'dist/shardWorker.js' },
  { ...node, entryPoints: ['src/io/parquetWorker.ts'], outfile: 'dist/parquetWorker.js' },
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { ...node, entryPoints: ['src/extension/exportWorker.ts'], outfile: 'dist/exportWorker.js' },
  // The bucket code and the cloud SDK, loaded on demand by src/storage/index.ts (one copy for all).
  { ...node, entryPoints: ['src/storage/buckets.ts'], outfile: 'dist/buckets.js' },
  {
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'esm',
    sourcemap: !production,
    minify: production,
    logLevel: 'warning',
    entryPoints: ['webview/main.ts'],
    outfile: 'dist/webview.js',
  },
];

const active = entries.filter((e) => e.entryPoints.every((p) => existsSync(p)));
if (watch) {
  for (const e of active) (await esbuild.context(e)).watch();
} else {
  await Promise.all(active.map((e) => esbuild.build(e)));
}
