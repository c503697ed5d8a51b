// Restricted Mode and the walkthrough in a real VS Code (code-server + headless Chromium): the
// workspace is left untrusted (trust on, no startup prompt), so VS Code runs the extension under its
// `untrustedWorkspaces: limited` capability. The walkthrough opens with its four steps and its SVG
// media load; right-clicking a CSV still offers Export Annotations…, the form reads and previews the
// table, and Export is refused with the Restricted Mode message, in a notification and in the form,
// with nothing written. The code-server window is itself a remote window (vscode-remote:// URIs in the
// UI, file: in the extension host), so the menu item appearing is also the remote-window check.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { exportFromExplorer, installVsix, launchChromium, log, makeSandbox, ROOT, runStory, SHOTS, startCodeServer, synapsesCsv } from './harness.mjs';

const VSIX = path.resolve(process.env.VSIX ?? path.join(ROOT, 'ng-annotations.vsix'));
const sb = makeSandbox(
  { 'synapses.csv': synapsesCsv(50) },
  { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'always' },
);
log(installVsix(sb, VSIX).replace(/\s+/g, ' '));
const cs = await startCodeServer(sb, `${SHOTS}/code-server-trust.log`, [], { workspaceTrust: true });
const ctx = await launchChromium(sb);
const page = ctx.pages()[0] ?? (await ctx.newPage());
page.setDefaultTimeout(30_000);

await runStory('trust', { page, ctx, cs, sb }, async () => {
  await page.goto(`${cs.base}/?folder=${encodeURIComponent(sb.dirs.ws)}`);
  await page.locator('.monaco-workbench').waitFor();
  await page.getByText('Restricted Mode', { exact: false }).first().waitFor();
  log('workbench loaded in Restricted Mode');

  // 1. the walkthrough, through the command palette as a user would
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.fill('>Welcome: Open Walkthrough');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open Walkthrough' }).first().click();
  await input.fill('Neuroglancer Annotations');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Neuroglancer Annotations' }).first().click();
  const steps = page.locator('.gettingStartedContainer .getting-started-step');
  for (const title of ['Open the sample table', 'Map the columns', 'Export', 'Open in Neuroglancer']) {
    await steps.filter({ hasText: title }).first().waitFor();
  }
  // the selected step's SVG is drawn in a webview: wait for its <svg> (its aria-label is the step's picture)
  const media = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  await media.locator('svg[aria-label="A table file in the explorer"]').waitFor();
  const drawn = await media.locator('svg rect').first().evaluate((el) => getComputedStyle(el).stroke);
  assert.match(drawn, /^rgb/, `the SVG's colour did not resolve: ${drawn}`);
  assert.notEqual(drawn, 'rgb(136, 136, 136)', "the SVG fell back to its grey: the theme's --vscode-foreground did not reach it");
  await page.screenshot({ path: `${SHOTS}/walkthrough.png` });
  log('walkthrough open: 4 steps, first SVG drawn with stroke', drawn);
  await steps.filter({ hasText: 'Map the columns' }).first().click();
  await media.locator('svg[aria-label="Table columns mapped to point coordinates and properties"]').waitFor();
  log('second step SVG loaded');

  // 2. Restricted Mode: the menu item is there, the form previews, Export is refused
  await exportFromExplorer(page, 'synapses.csv');
  const form = page.frameLocator('iframe.webview.ready[src*="extensionId=ng-annotations.ng-annotations"]').frameLocator('iframe#active-frame');
  await page.locator('.tabs-container .tab.active', { hasText: 'Export: synapses.csv' }).waitFor();
  await form.locator('#export').waitFor();
  await form.getByText('excitatory').first().waitFor(); // the preview table shows the CSV's rows
  await form.locator('#export').click();
  const refusal = 'Exporting writes files, which Restricted Mode does not allow. Trust this workspace to export.';
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: refusal });
  await toast.waitFor();
  await toast.getByRole('button', { name: 'Manage Workspace Trust' }).waitFor();
  await form.locator('#exportError', { hasText: refusal }).waitFor();
  await page.screenshot({ path: `${SHOTS}/restricted-export.png` });
  assert.deepEqual(fs.readdirSync(sb.dirs.ws), ['synapses.csv'], 'something was written in Restricted Mode');
  log('Restricted Mode: form shown, export refused with its message, nothing written');
});
