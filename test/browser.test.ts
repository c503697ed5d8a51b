// The offline preview end to end: our dataset, served by our preview server together with the
// bundled viewer (dist/viewer, built from the pinned neuroglancer package), opened in real
// neuroglancer in headless Chromium with every non-loopback request blocked.
//
// Needs Debian's chromium (`apt-get install -y chromium`); CHROMIUM=/path overrides the binary.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { tableFromArrays } from 'apache-arrow';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writePrecomputedAnnotations } from '../src/export/run';
import { startPreviewServer, type PreviewServer } from '../src/server/preview';
import { neuroglancerLink, type AnnotationInfoLike } from '../src/server/state';
import { limit, within } from './helpers/bounded';
import { probeLayer, type LayerReport } from './helpers/ngprobe';
import { s3Env, startS3rver, type S3Server } from './helpers/s3';

const repoRoot = path.resolve(__dirname, '..');
const viewerDir = path.join(repoRoot, 'dist', 'viewer');
// The README picture: test-output/ on every run, media/ (tracked) only with UPDATE_MEDIA=1, so a
// test run leaves the checkout unchanged.
const mediaDir = path.join(repoRoot, process.env.UPDATE_MEDIA === '1' ? 'media' : path.join('test-output', 'browser'));
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

// Ids beyond 2**53 check that ids survive neuroglancer's uint64 path exactly.
const BIG_ID = 2n ** 63n + 5n;

interface Point {
  id: bigint;
  xyz: [number, number, number];
  score: number;
  rgb: [number, number, number];
}

/** A rising, widening spiral of coloured points in a 1000 x 1000 x 400 nm box. */
function makePoints(): Point[] {
  const pts: Point[] = [];
  const n = 80;
  for (let i = 0; i < n; i++) {
    const f = i / (n - 1);
    const t = f * 5 * Math.PI;
    const r = 60 + 400 * f;
    pts.push({
      id: i === n - 1 ? BIG_ID : BigInt(i + 1),
      xyz: [500 + r * Math.cos(t), 500 + r * Math.sin(t), 20 + 360 * f],
      score: i / 10,
      rgb: [Math.round(255 * (1 - f)), Math.round(200 * Math.sin(Math.PI * f)), Math.round(255 * f)],
    });
  }
  return pts;
}

/** Our writer's output for the points: `color` from `color_r/_g/_b` columns, `score` float32. */
async function writeDataset(dir: string, pts: Point[], writeSharded: boolean): Promise<Dataset['info']> {
  await writeTo(dir, pts, writeSharded);
  return JSON.parse(await readFile(path.join(dir, 'info'), 'utf8'));
}

async function writeTo(dir: string, pts: Point[], writeSharded: boolean): Promise<void> {
  const table = tableFromArrays({
    annotation_id: BigUint64Array.from(pts.map((p) => p.id)),
    x: Float32Array.from(pts.map((p) => p.xyz[0])),
    y: Float32Array.from(pts.map((p) => p.xyz[1])),
    z: Float32Array.from(pts.map((p) => p.xyz[2])),
    score: Float32Array.from(pts.map((p) => p.score)),
    color_r: Uint8Array.from(pts.map((p) => p.rgb[0])),
    color_g: Uint8Array.from(pts.map((p) => p.rgb[1])),
    color_b: Uint8Array.from(pts.map((p) => p.rgb[2])),
  });
  await writePrecomputedAnnotations(table, { x: [1, 'nm'], y: [1, 'nm'], z: [1, 'nm'] }, 'point', {
    properties: ['score', 'color'],
    outputDir: dir,
    writeSharded,
    seed: 1,
    // Small chunks so the viewer reads more than one spatial level and cell.
    targetChunkLimit: 16,
  });
}

interface Dataset {
  /** Folder under the served root; also the layer name. */
  name: string;
  /** Served from elsewhere than the preview server (a bucket): neuroglancer's data source URL and the data's origin and path. */
  remote?: { sourceUrl: string; origin: string; base: string };
  info: AnnotationInfoLike & { by_id: { key: string; sharding?: unknown }; spatial: { key: string }[] };
  pts: Point[];
}

let server: PreviewServer;
let browser: Browser;
let work: string;

before(async () => {
  assert.ok(existsSync(chromiumPath), `chromium not found at ${chromiumPath}: apt-get install -y chromium`);
  // Reuses dist/viewer when it is up to date (npm test's build already made it).
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-viewer.mjs'), '--if-missing'], {
    stdio: 'inherit',
    timeout: limit(120_000),
  });
  work = await mkdtemp(path.join(tmpdir(), 'ng-browser-'));
  // One loopback origin for the viewer and every dataset, as the product serves them.
  server = await startPreviewServer({ root: work, viewerDir });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    timeout: limit(60_000), // fails naming the launch, instead of waiting on a browser that never answers
    args: [
      '--no-sandbox',
      '--disable-gpu',
      // WebGL2 on the CPU: headless Chromium no longer falls back to SwiftShader on its own.
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Second fence below the route handler: no host but loopback even resolves.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
}, { timeout: limit(120_000) });

let s3: S3Server | undefined;

after(async () => {
  if (s3) await within(10_000, 'the s3 server to close', s3.close());
  if (browser) await within(30_000, 'chromium to close', browser.close());
  if (server) await within(10_000, 'the preview server to close', server.close());
  if (work) await rm(work, { recursive: true, force: true });
}, { timeout: limit(60_000) });

/**
 * Opens the dataset in the bundled viewer with only loopback network, waits until neuroglancer has
 * loaded it, checks that it reports no error, looks the last annotation up by id, and optionally
 * saves a screenshot with that annotation selected.
 */
async function openAndCheck(ds: Dataset, screenshot?: string): Promise<void> {
  const link = neuroglancerLink({
    baseUrl: `${server.url}viewer/`,
    sourceUrl: ds.remote?.sourceUrl ?? `${server.url}${ds.name}/`,
    info: ds.info,
    layerName: ds.name,
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const blocked: string[] = [];
    const loopback: string[] = [];
    const origin = new URL(server.url).origin;
    const origins = [origin, ...(ds.remote ? [ds.remote.origin] : [])];
    // Routes see the page's and its workers' requests.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (origins.some((o) => url.startsWith(o + '/')) || url.startsWith('data:') || url.startsWith('blob:')) {
        loopback.push(url);
        return route.continue();
      }
      blocked.push(url);
      return route.abort('blockedbyclient');
    });
    // tsx compiles this file with esbuild's keepNames, so functions sent to the page call `__name`.
    await context.addInitScript('globalThis.__name = (f) => f;');
    const errors: string[] = [];
    const page: Page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    page.on('requestfailed', (req) => {
      const why = req.failure()?.errorText ?? '';
      // ERR_ABORTED: neuroglancer cancelled a fetch it no longer needed (the view moved on).
      if (!blocked.includes(req.url()) && why !== 'net::ERR_ABORTED') errors.push(`requestfailed: ${req.url()} ${why}`);
    });
    page.on('response', (res) => {
      // 404 is how a missing chunk or id reads (an empty cell); anything else >= 400 is an error.
      if (res.status() >= 400 && res.status() !== 404) errors.push(`HTTP ${res.status()}: ${res.url()}`);
    });

    // A CPU slowed 8x, like a busy laptop: neuroglancer 2.41.2 then drops a layer restored from the
    // URL if its own URL-hash binding is set up first (see viewer/main.mjs); this guards that fix.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 8 });
    await page.goto(link, { timeout: limit(60_000) });

    // Loaded = neuroglancer says the viewer and the layer are ready, the visible chunks of the
    // spatial index are all in, they hold every annotation we wrote, and the shader compiled.
    // Stops early on any error neuroglancer reports: source, layer message, FAILED chunk, console.
    const probeSrc = probeLayer.toString();
    const deadline = Date.now() + limit(60_000);
    let report: LayerReport;
    for (;;) {
      report = await within(
        20_000,
        'the page to answer the layer probe (page.evaluate)',
        page.evaluate((src) => (new Function(`return (${src})()`) as () => Promise<LayerReport>)(), probeSrc),
      );
      const loaded =
        report.ready &&
        report.visibleNeeded > 0 &&
        report.visibleAvailable === report.visibleNeeded &&
        report.annotationsLoaded === ds.pts.length &&
        report.shaderError === null;
      const failed =
        // neuroglancer replaces a layer it could not restore with an empty one of type "new".
        (report.layerType !== '' && report.layerType !== 'annotation') ||
        report.sourceError !== null ||
        report.messages.length > 0 ||
        report.failedChunks > 0 ||
        (report.shaderError !== null && report.shaderError !== 'pending') ||
        errors.length > 0;
      if (loaded || failed) break;
      assert.ok(
        Date.now() < deadline,
        `layer not loaded in ${limit(60_000) / 1000} s: ${JSON.stringify(report)}; data requests: ` +
          loopback.filter((u) => !u.includes('/viewer/')).join(', '),
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(errors, [], 'console errors or failed requests');
    assert.equal(report.layerType, 'annotation', `layer not restored from the URL: ${JSON.stringify(report)}`);
    assert.equal(report.sourceError, null, 'data source failed to load');
    assert.deepEqual(report.messages, [], 'layer status messages');
    assert.equal(report.failedChunks, 0, 'chunks in FAILED state');
    assert.equal(report.annotationsLoaded, ds.pts.length);
    // The link's state as neuroglancer took it: centred on the bounds, coloured by `color`.
    assert.equal(report.shaderError, null, 'annotation shader did not compile');
    assert.match(report.shader, /prop_color\(\)/);
    const center = ds.info.lower_bound.map((lo, d) => (lo + ds.info.upper_bound[d]) / 2);
    assert.deepEqual(report.position, center.map(Math.fround));

    // Look an annotation up by id through neuroglancer's by_id path (the same reference the
    // selection panel uses), and select it so the screenshot shows its properties.
    const wanted = ds.pts[ds.pts.length - 1];
    const found = await within(30_000, 'the page to look the annotation up by id (page.evaluate)', page.evaluate(async (id) => {
      const viewer = (window as any).viewer;
      const layer = viewer.layerManager.managedLayers[0].layer;
      const state = layer.annotationStates.states[0];
      const ref = state.source.getReference(id);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`annotation ${id} not loaded in 20 s`)), 20_000);
        const check = () => {
          if (ref.value !== undefined) {
            clearTimeout(timer);
            resolve();
          }
        };
        ref.changed.add(check);
        check();
      });
      const a = ref.value;
      layer.selectAnnotation(state, id, true);
      ref.dispose();
      if (a === null) return null;
      return { id: a.id as string, point: Array.from(a.point as Float32Array), properties: a.properties as number[] };
    }, wanted.id.toString()));
    assert.ok(found, `annotation ${wanted.id} not found through by_id`);
    assert.equal(found.id, wanted.id.toString());
    assert.deepEqual(found.point, wanted.xyz.map(Math.fround));
    assert.equal(found.properties[0], Math.fround(wanted.score));
    // rgb comes back packed as one number: r | g << 8 | b << 16.
    assert.equal(found.properties[1], wanted.rgb[0] | (wanted.rgb[1] << 8) | (wanted.rgb[2] << 16));

    // The data really came over loopback from our server: info, spatial index, by_id index.
    const paths = loopback.map((u) => new URL(u).pathname);
    const base = ds.remote?.base ?? `/${ds.name}/`;
    for (const prefix of [`${base}info`, `${base}${ds.info.spatial[0].key}/`, `${base}${ds.info.by_id.key}/`]) {
      assert.ok(
        paths.some((p) => p.startsWith(prefix)),
        `no request for ${prefix}; saw ${paths.filter((x) => !x.startsWith('/viewer/')).join(', ')}`,
      );
    }

    if (screenshot !== undefined) {
      // Wait for the selection panel to show the property, then keep the picture for the README.
      await page.waitForFunction(() => document.body.innerText.includes('score'), undefined, { timeout: 10_000 });
      await mkdir(path.dirname(screenshot), { recursive: true });
      await page.screenshot({ path: screenshot });
    }

    assert.deepEqual(blocked, [], 'requests to anything but the loopback server');
    assert.deepEqual(errors, [], 'console errors or failed requests');
  } finally {
    await within(20_000, 'the browser context to close', context.close());
  }
}

// The sharded dataset makes the README screenshot: it is what an export writes by default.
test('bundled neuroglancer loads a sharded dataset offline and finds an annotation by id', { timeout: limit(120_000) }, async () => {
  const pts = makePoints();
  const info = await writeDataset(path.join(work, 'sharded'), pts, true);
  assert.ok('sharding' in info.by_id, 'expected a sharded by_id index');
  await openAndCheck({ name: 'sharded', info, pts }, path.join(mediaDir, 'preview.png'));
});

test('bundled neuroglancer loads an unsharded dataset offline and finds an annotation by id', { timeout: limit(120_000) }, async () => {
  const pts = makePoints();
  const info = await writeDataset(path.join(work, 'unsharded'), pts, false);
  assert.ok(!('sharding' in info.by_id), 'expected an unsharded by_id index');
  await openAndCheck({ name: 'unsharded', info, pts });
});

test('neuroglancer loads a dataset exported to an S3-compatible bucket through precomputed://s3+http://', { timeout: 60_000 }, async () => {
  // s3rver with CORS for GET/HEAD from any origin: the viewer is served from another loopback port.
  s3 = await startS3rver(['bucket'], { cors: true });
  const pts = makePoints();
  const saved = { ...process.env };
  Object.assign(process.env, s3Env(s3.endpoint));
  try {
    await writeTo('s3://bucket/browser/ds', pts, true);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  const info = JSON.parse(await (await fetch(`${s3.endpoint}/bucket/browser/ds/info`)).text());
  assert.ok('sharding' in info.by_id, 'expected a sharded by_id index');
  const host = new URL(s3.endpoint).host;
  await openAndCheck({ name: 'bucket', info, pts, remote: { sourceUrl: `s3+http://${host}/bucket/browser/ds/`, origin: s3.endpoint, base: '/bucket/browser/ds/' } });
});
