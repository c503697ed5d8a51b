// Bundles the extension-host mocha suite (not shipped in the .vsix): vscode and mocha stay external.
import * as esbuild from 'esbuild';
import path from 'node:path';
const root = path.resolve(import.meta.dirname, '../..');
await esbuild.build({
  entryPoints: [path.join(root, 'test/vscode/suite/index.ts')],
  outfile: path.join(root, 'test-output/vscode-suite/index.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'inline',
  external: ['vscode', 'mocha'],
  logLevel: 'warning',
});
