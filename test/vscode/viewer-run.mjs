// "Open in Neuroglancer" inside VS Code (`ngAnnotations.openViewerIn: "vscode"`) in a real
// code-server: export a CSV from the explorer, click the notification's Open in Neuroglancer, and
// check that the viewer tab frames the bundled neuroglancer, which loads every annotation from the
// preview server through code-server's port proxy (asExternalUri) and draws them with WebGL.
// Run with `node --import tsx` (the probe helper is TypeScript). Env: VSIX, SHOTS, UPDATE_MEDIA.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { probeLayer } from '../helpers/ngprobe.ts';
import { exportFromExplorer, exportAndWait, installVsix, launchChromium, log, makeSandbox, ROOT, runStory, SHOTS, startCodeServer, synapsesCsv } from './harness.mjs';

const VSIX = path.resolve(process.env.VSIX ?? path.join(ROOT, 'ng-annotations.vsix'));
const N = 200;
const sb = makeSandbox({ 'synapses.csv': synapsesCsv(N) }, { 'ngAnnotations.openViewerIn': 'vscode', 'workbench.colorTheme': 'Default Dark Modern' });
log(installVsix(sb, VSIX).replace(/\s+/g, ' '));
const cs = await startCodeServer(sb, `${SHOTS}/code-server-viewer.log`);
log('code-server up on', cs.base);
const ctx = await launchChromium(sb, { webgl: true });
// tsx compiles the probe with esbuild's keepNames, so the source sent to the frame calls `__name`.
await ctx.addInitScript('globalThis.__name = (f) => f;');
const page = ctx.pages()[0] ?? (await ctx.newPage());
page.setDefaultTimeout(30_000);
// Errors from the viewer's frame (and its workers) and CSP refusals anywhere in the page.
const viewerErrors = [];
const cspErrors = [];
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  const where = m.location()?.url ?? '';
  fs.appendFileSync(`${SHOTS}/viewer-browser-console.log`, `${where} ${m.text()}\n`);
  if (/Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text());
  else if (where.includes('/proxy/')) viewerErrors.push(m.text());
});
ctx.on('response', (r) => {
  // 404 is how a missing chunk reads in neuroglancer (an empty cell); the dataset has none, but the
  // viewer may ask for optional files
  if (r.status() >= 400 && r.url().includes('/proxy/') && r.status() !== 404) viewerErrors.push(`HTTP ${r.status()} ${r.url()}`);
});

await runStory('viewer', { page, ctx, cs, sb }, async () => {
  await page.goto(`${cs.base}/?folder=${encodeURIComponent(sb.dirs.ws)}`);
  await page.locator('.monaco-workbench').waitFor();
  await exportFromExplorer(page, 'synapses.csv');
  const form = page.frameLocator('iframe.webview.ready[src*="extensionId=ng-annotations.ng-annotations"]').frameLocator('iframe#active-frame');
  const done = await exportAndWait(page, form, N, 'synapses.precomputed');
  await done.getByRole('button', { name: 'Open in Neuroglancer' }).click();

  // a tab, not a browser window
  await page.locator('.tabs-container .tab.active', { hasText: 'Neuroglancer: synapses.precomputed' }).waitFor();
  assert.equal(ctx.pages().length, 1, 'a browser page was opened instead of a tab');
  let viewer;
  for (let i = 0; i < 120 && !viewer; i++) {
    viewer = page.frames().find((f) => /\/proxy\/\d+\/viewer\//.test(f.url()));
    if (!viewer) await page.waitForTimeout(250);
  }
  assert.ok(viewer, `no viewer frame; frames: ${page.frames().map((f) => f.url().slice(0, 80)).join(', ')}`);
  const state = JSON.parse(decodeURIComponent(new URL(viewer.url()).hash.slice(2)));
  assert.equal(new URL(state.layers[0].source.slice('precomputed://'.length)).origin, new URL(cs.base).origin, 'the source is not behind code-server\'s proxy');
  log('viewer frame:', viewer.url().slice(0, 100) + '…');

  // The webview that holds the frame allows frames only from the viewer's origin.
  const csp = await viewer.parentFrame().locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  assert.equal(csp.match(/frame-src ([^;]+)/)?.[1], new URL(cs.base).origin, csp);

  // Loaded = neuroglancer's own view of it: an annotation layer, ready, every visible chunk in, all
  // N annotations loaded, the colour shader compiled; nothing failed on the way.
  const probeSrc = probeLayer.toString();
  const deadline = Date.now() + 60_000;
  let report;
  for (;;) {
    report = await viewer.evaluate((src) => new Function(`return (${src})()`)(), probeSrc);
    const loaded = report.ready && report.visibleNeeded > 0 && report.visibleAvailable === report.visibleNeeded && report.annotationsLoaded === N && report.shaderError === null;
    const broken = (report.layerType !== '' && report.layerType !== 'annotation') || report.sourceError !== null || report.messages.length > 0 || report.failedChunks > 0 || (report.shaderError !== null && report.shaderError !== 'pending');
    if (loaded || broken) break;
    assert.ok(Date.now() < deadline, `layer not loaded in 60 s: ${JSON.stringify(report)}`);
    await page.waitForTimeout(250);
  }
  assert.equal(report.layerType, 'annotation', JSON.stringify(report));
  assert.equal(report.sourceError, null);
  assert.deepEqual(report.messages, []);
  assert.equal(report.failedChunks, 0);
  assert.equal(report.annotationsLoaded, N);
  assert.equal(report.shaderError, null, 'the annotation shader did not compile (no WebGL?)');
  log(`neuroglancer in the tab loaded ${report.annotationsLoaded} annotations`);

  await page.waitForTimeout(1500); // let the panels draw
  await page.screenshot({ path: `${SHOTS}/viewer-in-vscode.png` });
  if (process.env.UPDATE_MEDIA === '1') fs.copyFileSync(`${SHOTS}/viewer-in-vscode.png`, path.join(ROOT, 'media', 'viewer-in-vscode.png'));

  assert.deepEqual(cspErrors, [], 'CSP refusals');
  assert.deepEqual(viewerErrors, [], 'errors in the viewer frame');
});
