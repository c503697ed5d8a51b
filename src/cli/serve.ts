// `ng-annotations serve <dir>`: serve a dataset on 127.0.0.1 and print a neuroglancer link for it.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { startPreviewServer } from '../server/preview';
import { DEFAULT_NEUROGLANCER_URL, neuroglancerLink, type AnnotationInfoLike } from '../server/state';

const USAGE = 'usage: ng-annotations serve <dir> [--port N] [--viewer bundled|URL] (--neuroglancer-url URL = --viewer URL)';

/** The offline viewer built into dist/viewer (next to dist/cli.js; or from a source checkout). */
function bundledViewerDir(): string | undefined {
  for (const dir of [path.join(__dirname, 'viewer'), path.resolve(__dirname, '..', '..', 'dist', 'viewer')]) {
    if (existsSync(path.join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

export async function run(argv: string[]): Promise<number> {
  let values: { port?: string; 'neuroglancer-url'?: string; viewer?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        'neuroglancer-url': { type: 'string' },
        viewer: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`ng-annotations serve: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`ng-annotations serve: expected one dataset folder\n${USAGE}\n`);
    return 2;
  }
  let port = 0;
  if (values.port !== undefined) {
    port = /^\d{1,5}$/.test(values.port) ? Number(values.port) : NaN;
    if (!(port >= 0 && port <= 65535)) {
      process.stderr.write(`ng-annotations serve: --port must be an integer 0..65535, got ${JSON.stringify(values.port)}\n${USAGE}\n`);
      return 2;
    }
  }
  if (values.viewer !== undefined && values['neuroglancer-url'] !== undefined && values.viewer !== values['neuroglancer-url']) {
    process.stderr.write(`ng-annotations serve: give either --viewer or --neuroglancer-url, not both\n${USAGE}\n`);
    return 2;
  }
  const choice = values.viewer ?? values['neuroglancer-url'] ?? DEFAULT_NEUROGLANCER_URL;
  const wantBundled = choice.toLowerCase() === 'bundled';
  if (!wantBundled && !/^https?:\/\/[^\s]+$/i.test(choice)) {
    process.stderr.write(`ng-annotations serve: the viewer must be "bundled" or an http(s) URL, got ${JSON.stringify(choice)}\n${USAGE}\n`);
    return 2;
  }
  const viewerDir = bundledViewerDir();
  if (wantBundled && viewerDir === undefined) {
    process.stderr.write('ng-annotations serve: this build has no bundled viewer (dist/viewer); use --viewer URL\n');
    return 1;
  }
  const dir = path.resolve(positionals[0]);
  const info = await readAnnotationInfo(dir);
  if (typeof info === 'string') {
    process.stderr.write(`ng-annotations serve: ${info}\n`);
    return 1;
  }
  let server;
  try {
    // The bundled viewer is always served under /viewer/ when present: an offline fallback.
    server = await startPreviewServer({ root: dir, port, viewerDir });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EADDRINUSE' ? `port ${port} is already in use on 127.0.0.1` : err.message;
    process.stderr.write(`ng-annotations serve: ${why}\n`);
    return 1;
  }
  const layerName = path.basename(dir);
  const offline = viewerDir && neuroglancerLink({ baseUrl: `${server.url}viewer/`, sourceUrl: server.url, info, layerName });
  const link = wantBundled ? offline : neuroglancerLink({ baseUrl: choice, sourceUrl: server.url, info, layerName });
  process.stdout.write(
    `Serving ${dir} on ${server.url} (127.0.0.1 only; Ctrl+C to stop)\n` +
      `Source URL: precomputed://${server.url}\n` +
      `Neuroglancer: ${link}\n` +
      (offline && !wantBundled ? `Offline viewer: ${offline}\n` : ''),
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

/** The dataset's info, or a one-line reason why `dir` is not an annotation dataset. */
async function readAnnotationInfo(dir: string): Promise<AnnotationInfoLike | string> {
  const file = path.join(dir, 'info');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? `${file} not found: not a precomputed annotation dataset`
      : `cannot read ${file}: ${(e as Error).message}`;
  }
  let info: unknown;
  try {
    info = JSON.parse(text);
  } catch (e) {
    return `${file} is not valid JSON: ${(e as Error).message}`;
  }
  const o = info as Record<string, unknown>;
  if (typeof info !== 'object' || info === null || o['@type'] !== 'neuroglancer_annotations_v1') {
    return `${file}: "@type" is ${JSON.stringify(o?.['@type'])}, expected "neuroglancer_annotations_v1"`;
  }
  const dims = o.dimensions;
  if (typeof dims !== 'object' || dims === null || Object.keys(dims).length === 0) {
    return `${file}: "dimensions" must be a non-empty object`;
  }
  const rank = Object.keys(dims).length;
  for (const key of ['lower_bound', 'upper_bound']) {
    const b = o[key];
    if (!Array.isArray(b) || b.length !== rank || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      return `${file}: "${key}" must be ${rank} finite numbers`;
    }
  }
  return info as AnnotationInfoLike;
}
