// The user story in a real VS Code (code-server + headless Chromium, playwright-core): right-click a
// CSV in the explorer → Export Annotations… → the form has guessed the mapping → a bad field shows an
// inline problem → Export → progress → notification → the dataset on disk decodes (neuroglancer's
// own reader) to the CSV's values → Open in Neuroglancer opens a page whose state points at the
// loopback preview server, which answers CORS and Range. Screenshots of the form and the result in
// dark and light themes go to $SHOTS (and to media/ with UPDATE_MEDIA=1, for the README).
// Run with `node --import tsx` (the decoder helper is TypeScript). Env: VSIX, SHOTS, UPDATE_MEDIA.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { exportFromExplorer as exportFromExplorerIn, exportAndWait, installVsix, launchChromium, log, makeSandbox, ROOT, runStory, SHOTS, startCodeServer, synapsesCsv } from './harness.mjs';

const VSIX = path.resolve(process.env.VSIX ?? path.join(ROOT, 'ng-annotations.vsix'));
const N = 200;
const DARK = 'Default Dark Modern';
const LIGHT = 'Default Light Modern';
const csvText = synapsesCsv(N);
const badCsv = 'x,y,z\n1,2,3\n4,5,6\n7,nan,9\n';
const BIG = 400_000; // rows: an export that takes long enough to cancel from the notification
// A CAVE synapse table (id, pre/post_pt_position_x/y/z, uint64 root ids > 2^53), ';'-separated (the delimiter is sniffed).
const CAVE_N = 30;
const caveCsv = [
  'id;pre_pt_position_x;pre_pt_position_y;pre_pt_position_z;post_pt_position_x;post_pt_position_y;post_pt_position_z;pre_pt_root_id;post_pt_root_id;size',
  ...Array.from({ length: CAVE_N }, (_, i) =>
    [1000 + 7 * i, 100 + i * 10.5, 200 + i * 3.25, 10 + i, 101 + i * 10.5, 203 + i * 3.25, 11 + i, 864691135000000000n + BigInt(i % 5) * 2n ** 40n + 1n, 864691135000000000n + BigInt(i % 3) * 2n ** 40n + 7n, 20 + i]
      .join(';'),
  ),
].join('\n') + '\n';
const sb = makeSandbox({ 'synapses.csv': csvText, 'bad.csv': badCsv, 'big.csv': synapsesCsv(BIG, 7), 'notes.txt': 'not a table\n', 'cave.csv': caveCsv }, { 'workbench.colorTheme': DARK });
log(installVsix(sb, VSIX).replace(/\s+/g, ' '));
const cs = await startCodeServer(sb, `${SHOTS}/code-server-ui.log`);
log('code-server up on', cs.base);
const ctx = await launchChromium(sb);
const page = ctx.pages()[0] ?? (await ctx.newPage());
page.setDefaultTimeout(30_000);
const consoleErrors = [];
page.on('console', (m) => {
  if (m.type() === 'error') {
    consoleErrors.push(m.text());
    fs.appendFileSync(`${SHOTS}/ui-browser-console.log`, m.text() + '\n');
  }
});
ctx.on('response', (r) => {
  if (r.status() >= 400) fs.appendFileSync(`${SHOTS}/ui-http-errors.log`, `${r.status()} ${r.url()}\n`);
});
const shot = async (name, { media = false } = {}) => {
  await page.waitForTimeout(500); // let menus, toasts and theme changes finish painting
  const file = `${SHOTS}/${name}.png`;
  await page.screenshot({ path: file });
  if (media && process.env.UPDATE_MEDIA === '1') fs.copyFileSync(file, path.join(ROOT, 'media', `${name}.png`));
};
// Through the command palette, as a user would (Preferences: Color Theme). The palette can close
// again on its own when focus moves under it (seen once in CI right after Save mapping: the input
// went inert, then hidden, and a 30 s fill timed out), so it is opened again, up to 3 times.
const runCommand = async (name) => {
  const input = page.locator('.quick-input-widget input');
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.fill(`>${name}`, { timeout: 10_000 });
      if (attempt > 1) log(`command palette opened on attempt ${attempt}`);
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.keyboard.press('Escape');
    }
  }
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().click();
};
const exportFromExplorer = (name) => exportFromExplorerIn(page, name, () => shot(`context-menu-${name}`));
const setTheme = async (theme) => {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.fill('>Preferences: Color Theme');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Preferences: Color Theme' }).first().click();
  const label = theme.replace(/^Default /, ''); // the picker shows "Light Modern"
  await input.fill(label);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().click();
  const want = theme === LIGHT ? 'vs' : 'vs-dark';
  await page.waitForFunction((w) => document.querySelector('.monaco-workbench')?.classList.contains(w), want, { timeout: 15_000 });
};

await runStory('ui', { page, ctx, cs, sb }, async () => {
  await page.goto(`${cs.base}/?folder=${encodeURIComponent(sb.dirs.ws)}`);
  await page.locator('.monaco-workbench').waitFor();
  log('workbench loaded');

  // 1. right-click the CSV; the workbench paints before the extension host has registered our menu
  //    contributions, so exportFromExplorer retries until the item is there
  await exportFromExplorer('synapses.csv');
  const item = page.getByRole('menuitem', { name: 'Export Annotations…' });

  // ...and it is not offered for other files
  await page.locator('.tabs-container .tab', { hasText: 'Export: synapses.csv' }).waitFor();
  await page.locator('.explorer-folders-view .monaco-list-row[aria-label="notes.txt"]').click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Copy Path' }).first().waitFor();
  assert.equal(await item.count(), 0, 'Export Annotations… must not be offered for notes.txt');
  await page.keyboard.press('Escape');

  // 2. the form (outer webview iframe → inner #active-frame), with the guessed mapping
  const form = page.frameLocator('iframe.webview.ready[src*="extensionId=ng-annotations.ng-annotations"]').frameLocator('iframe#active-frame');
  await form.locator('#export').waitFor();
  const value = (sel) => form.locator(sel).evaluate((el) => el.value);
  assert.equal(await value('#annotationType'), 'point');
  assert.equal(await value('#coords'), 'x, y, z');
  assert.equal(await value('#output'), path.join(sb.dirs.ws, 'synapses.precomputed'));
  // the whole file is read in the background: exact types; `big` (a small int in the first rows,
  // -3e9 at row 150) fits no property type, so the guessed mapping leaves it out and says why
  await form.locator(`#columns-section[data-inspected="${N}"]`).waitFor();
  for (const [i, col] of ['score', 'confidence', 'kind', 'color', 'big'].entries()) {
    await form.locator(`tr[data-column="${col}"]`).waitFor();
    assert.equal(await value(`#use-${i}`), col === 'big' ? 'skip' : 'property', `${col} offered as a property`);
  }
  await form.locator('tr[data-column="big"]', { hasText: 'big' }).locator('td.help', { hasText: /range|fit/ }).waitFor();
  await form.locator('tr[data-column="kind"]', { hasText: 'labels: excitatory, inhibitory, unknown' }).waitFor();
  assert.equal(await form.locator('#type-0').evaluate((el) => el.querySelector('vscode-option[value=""]').textContent), 'auto: uint8');
  log('form shows the guessed mapping');

  // the webview's CSP: scripts only with our nonce, no eval, no remote origins beyond VS Code's own
  const csp = await form.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-[A-Za-z0-9+/=]+'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-eval/); // (webview.cspSource is VS Code's own resource origin)
  // a script without our nonce does not run. (eval is not probed: VS Code document.write()s the
  // webview's HTML into a blank frame, and Chromium then does not enforce the meta CSP's eval rule;
  // our bundle has no eval or new Function, see test/extension-form.test.ts)
  const probe = await form.locator('body').evaluate(() => {
    const bad = document.createElement('script');
    bad.textContent = 'window.__inlineProbe = "ran";';
    document.body.append(bad);
    return window.__inlineProbe ?? 'blocked';
  });
  assert.equal(probe, 'blocked');

  // 3. a problem is shown next to its field before any export starts
  await form.locator('#coords input').fill('x, y, q');
  await form.locator('[data-problem-for="coords"]', { hasText: 'geometry column "q" is not in synapses.csv' }).waitFor();
  await shot('form-problem');
  await form.locator('#coords input').fill('x, y, z');
  await form.locator('#coords input').press('Tab');
  await form.locator('[data-problem-for="coords"].shown').waitFor({ state: 'hidden' });
  await form.locator('pre#cli').evaluate((el) => el.textContent).then((t) => assert.match(t, /^ng-annotations export .*synapses\.csv --type point/));

  // 4. an edit survives a window reload (webview getState/setState + the panel serializer)
  await form.locator('#scales input').fill('8, 8, 40');
  await form.locator('#scales input').press('Tab');
  await form.locator('pre#cli', { hasText: '--scales 8,8,40' }).waitFor({ state: 'attached' });
  await runCommand('Developer: Reload Window');
  await page.locator('.monaco-workbench').waitFor();
  await form.locator('#export').waitFor({ timeout: 60_000 });
  assert.equal(await value('#scales'), '8, 8, 40');
  log('form restored after a window reload');

  // Tall window for the README pictures: the whole form, down to the buttons.
  await page.setViewportSize({ width: 1400, height: 1150 });
  await shot('form-dark', { media: true });
  await setTheme(LIGHT);
  await shot('form-light', { media: true });
  log('form screenshots taken');

  // 5. export: the notification, then the dataset on disk
  const started = Date.now();
  const done = await exportAndWait(page, form, N, 'synapses.precomputed');
  log(`exported in ${Date.now() - started} ms`);
  await form.locator('.success', { hasText: `Exported ${N} annotations` }).waitFor();
  await shot('result-light', { media: true });
  await setTheme(DARK);
  await shot('result-dark', { media: true });

  // 6. Open in Neuroglancer → a page whose state points at the loopback server (click before the
  //    toast hides itself in the notification centre, 10-15 s)
  const popup = ctx.waitForEvent('page', { timeout: 30_000 });
  await done.getByRole('button', { name: 'Open in Neuroglancer' }).click();
  // VS Code may ask before opening an outside address
  const confirm = page.getByRole('button', { name: /^(Open|Open Link)$/ });
  const ngPage = await Promise.race([popup, confirm.waitFor({ timeout: 30_000 }).then(async () => (await confirm.click(), popup))]);
  const url = ngPage.url();
  log('neuroglancer page:', url.slice(0, 120) + '…');
  const state = JSON.parse(decodeURIComponent(new URL(url).hash.slice(2)));
  const source = state.layers[0].source;
  assert.match(source, /^precomputed:\/\/http:\/\/(127\.0\.0\.1|localhost)[:/]/, source);
  assert.equal(state.layers[0].type, 'annotation');
  assert.match(state.layers[0].shader ?? '', /prop_color\(\)/, 'the shader uses the color property');
  const base = source.slice('precomputed://'.length);
  await checkServer(base);
  // code-server's asExternalUri routes through its port proxy (/proxy/<port>/); check the loopback
  // preview server behind it directly too
  const proxied = /\/proxy\/(\d+)\/$/.exec(base);
  if (proxied) await checkServer(`http://127.0.0.1:${proxied[1]}/`);
  try {
    await ngPage.waitForLoadState('load', { timeout: 15_000 });
    await ngPage.waitForTimeout(3000);
    await ngPage.screenshot({ path: `${SHOTS}/neuroglancer.png` });
    if (process.env.UPDATE_MEDIA === '1' && !url.startsWith('https://neuroglancer-demo')) fs.copyFileSync(`${SHOTS}/neuroglancer.png`, path.join(ROOT, 'media', 'neuroglancer.png'));
  } catch (e) {
    log('neuroglancer page did not load (offline public viewer?):', String(e).split('\n')[0]);
  }
  await ngPage.close();
  await page.bringToFront();

  const out = path.join(sb.dirs.ws, 'synapses.precomputed');
  assert.ok(fs.existsSync(path.join(out, 'info')), 'no info file');
  const siblings = fs.readdirSync(sb.dirs.ws).sort();
  assert.deepEqual(siblings, ['bad.csv', 'big.csv', 'cave.csv', 'notes.txt', 'synapses.csv', 'synapses.precomputed'], 'temporary folders left behind');
  await checkDecodes(out);

  // 7. Save mapping…: the CLI's --config file, paths relative to it (code-server's simple save dialog: Enter)
  await form.locator('#saveMapping').click();
  await page.locator('.quick-input-widget input').waitFor();
  await page.keyboard.press('Enter');
  await form.locator('#status', { hasText: 'Saved ' }).waitFor();
  const saved = JSON.parse(fs.readFileSync(path.join(sb.dirs.ws, 'synapses.mapping.json'), 'utf8'));
  assert.deepEqual(
    { input: saved.input, output: saved.output, type: saved.annotationType, coords: saved.coords, scales: saved.scales },
    { input: 'synapses.csv', output: 'synapses.precomputed', type: 'point', coords: ['x', 'y', 'z'], scales: [8, 8, 40] },
  );
  log('mapping saved');

  // 8. a writer error: shown in the form and as a notification, with the exact reason; nothing left behind
  await runCommand('View: Close All Editors');
  for (const f of ['synapses.precomputed', 'synapses.mapping.json']) await page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${f}"]`).waitFor();
  await exportFromExplorer('bad.csv');
  const badForm = page.frameLocator('iframe.webview.ready[src*="extensionId=ng-annotations.ng-annotations"]').frameLocator('iframe#active-frame');
  await page.locator('.tabs-container .tab.active', { hasText: 'Export: bad.csv' }).waitFor();
  await badForm.locator('#export').click();
  const errToast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Export failed' });
  await errToast.waitFor({ timeout: 60_000 });
  const toastText = (await errToast.innerText()).replace(/\s+/g, ' ');
  assert.match(toastText, /\by\b.*(row|line) 3|(row|line) 3.*\by\b/i, toastText);
  const formError = await badForm.locator('#exportError').innerText();
  assert.match(formError, /^Export failed: /);
  assert.ok(toastText.includes(formError.replace(/^Export failed: /, '').slice(0, 60)), `form: ${formError} / toast: ${toastText}`);
  await shot('error', { media: true });
  assert.ok(!fs.existsSync(path.join(sb.dirs.ws, 'bad.precomputed')));
  log('writer error shown:', formError);

  // 9. cancel from the progress notification: phases and percentages shown, then nothing left behind
  await runCommand('View: Close All Editors');
  await exportFromExplorer('big.csv');
  const bigForm = page.frameLocator('iframe.webview.ready[src*="extensionId=ng-annotations.ng-annotations"]').frameLocator('iframe#active-frame');
  await page.locator('.tabs-container .tab.active', { hasText: 'Export: big.csv' }).waitFor();
  await bigForm.locator('#export').click();
  const progressToast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Exporting big.csv' });
  await progressToast.filter({ hasText: /\d+%/ }).waitFor({ timeout: 60_000 });
  log('progress:', (await progressToast.innerText()).replace(/\s+/g, ' '));
  await shot('progress');
  await progressToast.getByRole('button', { name: 'Cancel' }).click();
  await bigForm.locator('#status', { hasText: 'Export cancelled; nothing was written.' }).waitFor({ timeout: 60_000 });
  assert.deepEqual(fs.readdirSync(sb.dirs.ws).filter((f) => f.startsWith('big')), ['big.csv'], 'a cancelled export left something behind');
  log('cancelled from the notification; nothing left behind');

  // 9b. a CAVE synapse table: the form guesses lines pre → post in dimensions x, y, z with ids from
  //     "id", and its equivalent command (run by the CLI) writes the same bytes
  await runCommand('View: Close All Editors');
  await exportFromExplorer('cave.csv');
  const cave = page.frameLocator('iframe.webview.ready[src*="extensionId=ng-annotations.ng-annotations"]').frameLocator('iframe#active-frame');
  await page.locator('.tabs-container .tab.active', { hasText: 'Export: cave.csv' }).waitFor();
  await cave.locator('#export').waitFor();
  assert.equal(await cave.locator('#annotationType').evaluate((el) => el.value), 'line');
  assert.equal(await cave.locator('#coords').evaluate((el) => el.value), 'x, y, z');
  await cave.locator('#dimensions', { hasText: 'line endpoint a: pre_pt_position_x, pre_pt_position_y, pre_pt_position_z' }).waitFor();
  await cave.locator('#scales input').fill('4, 4, 40');
  await cave.locator('#scales input').press('Tab');
  await cave.locator('#seed').evaluate((el) => {
    el.value = '3';
    el.dispatchEvent(new Event('change'));
  });
  await cave.locator('#dimensions', { hasText: 'Dimensions x (4 nm), y (4 nm), z (40 nm)' }).waitFor();
  const command = await cave.locator('pre#cli', { hasText: '--seed 3' }).evaluate((el) => el.textContent);
  assert.match(command, /--id-column id\b/);
  await runCommand('Notifications: Clear All Notifications'); // bad.csv's "Export failed" may still be up
  await exportAndWait(page, cave, CAVE_N, 'cave.precomputed');
  // the equivalent command, as a user would paste it, into another folder
  const words = [...command.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]));
  assert.equal(words.slice(0, 2).join(' '), 'ng-annotations export');
  const args = words.slice(2);
  const at = args.indexOf('--out');
  args.splice(at, 2, '--out', path.join(sb.dirs.ws, 'cave-cli.precomputed'));
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'export', ...args, '--quiet'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `the form's command failed: ${r.stderr}`);
  const tree = (d) => fs.readdirSync(d, { recursive: true }).filter((f) => fs.statSync(path.join(d, f)).isFile()).sort();
  const formOut = path.join(sb.dirs.ws, 'cave.precomputed');
  const cliOut = path.join(sb.dirs.ws, 'cave-cli.precomputed');
  assert.deepEqual(tree(formOut), tree(cliOut));
  for (const f of tree(formOut)) assert.ok(fs.readFileSync(path.join(formOut, f)).equals(fs.readFileSync(path.join(cliOut, f))), `${f} differs between the form's export and the CLI's`);
  const { readDatasetWithNeuroglancer } = await import('../helpers/ngread.ts');
  const ds = await readDatasetWithNeuroglancer(formOut);
  assert.equal(ds.type, 'line');
  const first = await ds.getById(1000n);
  assert.deepEqual(first?.pointA, [100, 200, 10]);
  assert.deepEqual(first?.relationships, [[864691135000000001n], [864691135000000007n]]);
  fs.rmSync(formOut, { recursive: true });
  fs.rmSync(cliOut, { recursive: true });
  log('CAVE table: the form guessed lines pre → post; its command writes the same bytes');

  // 10. the mapping is remembered per file: closing the form and opening it again keeps the edit
  await runCommand('View: Close All Editors');
  await exportFromExplorer('synapses.csv');
  const again = page.frameLocator('iframe.webview.ready[src*="extensionId=ng-annotations.ng-annotations"]').frameLocator('iframe#active-frame');
  await again.locator('.badge', { hasText: 'remembered mapping' }).waitFor();
  assert.equal(await again.locator('#scales').evaluate((el) => el.value), '8, 8, 40');
  log('mapping remembered for synapses.csv');

  // everything except the one violation the probe above caused on purpose
  const cspErrors = consoleErrors.filter((t) => /Content Security Policy|Refused to/i.test(t));
  const probeIndex = cspErrors.findIndex((t) => /Executing inline script violates/.test(t));
  assert.ok(probeIndex >= 0, 'the probe script was not reported as blocked');
  cspErrors.splice(probeIndex, 1);
  assert.deepEqual(cspErrors, [], 'the webview violated its CSP');
});

/** The dataset decodes with neuroglancer's own reader to exactly the CSV's values. */
async function checkDecodes(dir) {
  const { readDatasetWithNeuroglancer, ngColor } = await import('../helpers/ngread.ts');
  const ds = await readDatasetWithNeuroglancer(dir);
  assert.equal(ds.type, 'point');
  assert.equal(ds.rank, 3);
  // The writer may reorder properties (wider types first); look them up by id.
  const ids = ds.properties.map((p) => p.identifier);
  assert.deepEqual([...ids].sort(), ['color', 'confidence', 'kind', 'score']);
  const dims = ds.raw.dimensions;
  assert.deepEqual(Object.keys(dims), ['x', 'y', 'z']);
  assert.ok([8e-9, 8e-9, 40e-9].every((v, d) => Math.abs(Object.values(dims)[d][0] - v) < 1e-18), JSON.stringify(dims));
  const at = Object.fromEntries(ids.map((id, i) => [id, i]));
  const kind = ds.properties[at.kind];
  assert.deepEqual(kind.enumLabels, ['excitatory', 'inhibitory', 'unknown']);
  const rows = csvText.trim().split('\n').slice(1).map((l) => l.split(','));
  for (let i = 0; i < rows.length; i++) {
    const [x, y, z, score, confidence, k, color] = rows[i]; // (big was left out)
    const a = await ds.getById(BigInt(i));
    assert.ok(a, `annotation ${i} missing from by_id`);
    assert.deepEqual(a.point, [x, y, z].map((v) => Math.fround(Number(v))), `geometry of row ${i}`);
    assert.equal(a.properties[at.score], Number(score));
    assert.equal(a.properties[at.confidence], Math.fround(Number(confidence)));
    assert.equal(kind.enumLabels[kind.enumValues.indexOf(a.properties[at.kind])], k);
    const rgb = [1, 3, 5].map((o) => parseInt(color.slice(o, o + 2), 16));
    assert.deepEqual(ngColor(a.properties[at.color], 3).slice(0, 3), rgb);
  }
  log(`dataset decodes with neuroglancer's reader: ${rows.length} annotations exact`);
}

/** The preview server answers CORS preflight and Range requests the way neuroglancer needs. */
async function checkServer(base) {
  const origin = 'http://example.test';
  const pre = await fetch(`${base}info`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range' } });
  assert.ok(pre.status === 204 || pre.status === 200, `preflight ${pre.status}`);
  assert.ok(pre.headers.get('access-control-allow-origin'), 'no Access-Control-Allow-Origin on preflight');
  assert.match(pre.headers.get('access-control-allow-headers') ?? '', /range/i);
  const full = await (await fetch(`${base}info`)).arrayBuffer();
  const r = await fetch(`${base}info`, { headers: { Range: 'bytes=5-14', Origin: origin } });
  assert.equal(r.status, 206);
  assert.ok(r.headers.get('access-control-allow-origin'));
  assert.equal(r.headers.get('content-range'), `bytes 5-14/${full.byteLength}`);
  assert.deepEqual(new Uint8Array(await r.arrayBuffer()), new Uint8Array(full).slice(5, 15));
  log('preview server: CORS preflight and Range OK at', base);
}
