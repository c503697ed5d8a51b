// `ng-annotations serve <dir>`: serve a dataset on 127.0.0.1 and print a neuroglancer link for it.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { formatHelp, parseCommand, usageErrorText, type CommandSpec } from './usage';
import { startPreviewServer } from '../server/preview';
import { DEFAULT_NEUROGLANCER_URL, neuroglancerLink, type AnnotationInfoLike } from '../server/state';
import { neuroglancerSource, parseBucketUrl, readBucketObject } from '../storage/index';

export const SERVE_SPEC: CommandSpec = {
  name: 'serve',
  synopsis: 'serve <dir|s3://bucket/prefix|gs://bucket/prefix> [options]',
  summary: 'Serves a dataset on 127.0.0.1 and prints a neuroglancer link that shows it.',
  docs: 'docs/cli.md#serve',
  options: [
    { name: 'port', type: 'string', value: 'N', help: 'port on 127.0.0.1, 0 to 65535', default: '0 (any free port)' },
    { name: 'viewer', type: 'string', value: 'bundled|URL', help: 'the neuroglancer to link to', default: DEFAULT_NEUROGLANCER_URL },
    { name: 'neuroglancer-url', type: 'string', value: 'URL', help: 'same as --viewer URL' },
    { name: 'help', short: 'h', type: 'flag', help: 'this help' },
  ],
};
const usage = (message: string) => {
  process.stderr.write(usageErrorText('serve', message));
  return 2;
};

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
    ({ values, positionals } = parseCommand(SERVE_SPEC, argv) as { values: typeof values; positionals: string[] });
  } catch (e) {
    return usage((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(formatHelp(SERVE_SPEC) + '\n');
    return 0;
  }
  if (positionals.length !== 1) return usage(`expected one dataset folder, got ${positionals.length}`);
  let port = 0;
  if (values.port !== undefined) {
    port = /^\d{1,5}$/.test(values.port) ? Number(values.port) : NaN;
    if (!(port >= 0 && port <= 65535)) {
      return usage(`--port must be an integer 0..65535, got ${JSON.stringify(values.port)}`);
    }
  }
  if (values.viewer !== undefined && values['neuroglancer-url'] !== undefined && values.viewer !== values['neuroglancer-url']) {
    return usage(`give either --viewer or --neuroglancer-url, not both`);
  }
  const choice = values.viewer ?? values['neuroglancer-url'] ?? DEFAULT_NEUROGLANCER_URL;
  const wantBundled = choice.toLowerCase() === 'bundled';
  if (!wantBundled && !/^https?:\/\/[^\s]+$/i.test(choice)) {
    return usage(`the viewer must be "bundled" or an http(s) URL, got ${JSON.stringify(choice)}`);
  }
  if (/^(s3|gs):/i.test(positionals[0])) return linkBucket(positionals[0], wantBundled ? null : choice);
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

/**
 * `serve s3://…` / `gs://…`: a bucket dataset needs no local server, neuroglancer reads it directly.
 * Prints its source and a link (the bundled viewer is refused: it is only reachable through a
 * local server), and exits.
 */
async function linkBucket(url: string, viewer: string | null): Promise<number> {
  if (viewer === null) {
    process.stderr.write(`ng-annotations serve: ${url} is read by neuroglancer directly, without a local server; the bundled viewer needs one, so use --viewer URL (or open the source below in any neuroglancer)\n`);
    return 1;
  }
  const source = neuroglancerSource(url);
  const bucket = parseBucketUrl(url);
  const text = await readBucketObject(url, 'info');
  const info = text === null ? `${bucket.url}/info not found: not a precomputed annotation dataset` : checkInfo(Buffer.from(text).toString('utf8'), `${bucket.url}/info`);
  if (typeof info === 'string') {
    process.stderr.write(`ng-annotations serve: ${info}\n`);
    return 1;
  }
  const layerName = path.basename(bucket.prefix) || bucket.bucket;
  process.stdout.write(
    `${url} needs no local server: neuroglancer reads the bucket directly (its CORS must allow GET from the viewer's origin).\n` +
      `Source URL: precomputed://${source}\n` +
      `Neuroglancer: ${neuroglancerLink({ baseUrl: viewer, sourceUrl: source, info, layerName })}\n`,
  );
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
  return checkInfo(text, file);
}

/** The parsed info text of `file`, or a one-line reason why it is not an annotation dataset's. */
function checkInfo(text: string, file: string): AnnotationInfoLike | string {
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
