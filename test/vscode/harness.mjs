// Shared by the VS Code test drivers: an isolated code-server on a free loopback port and a headless
// Debian Chromium driven by playwright-core (see ../../scripts/test-vscode.sh for the tools).
import { chromium } from 'playwright-core';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const NODE = process.env.CODE_SERVER_NODE ?? 'node';
export const ENTRY = process.env.CODE_SERVER_ENTRY ?? '';
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const ROOT = path.resolve(import.meta.dirname, '../..');
export const SHOTS = path.resolve(process.env.SHOTS ?? path.join(ROOT, 'test-output/vscode'));
fs.mkdirSync(SHOTS, { recursive: true });

const t0 = Date.now();
export const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

/** Fresh user-data, extensions, XDG and workspace folders, and user settings that keep the workbench quiet. */
export function makeSandbox(files = {}, settings = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ng-vscode-'));
  const dirs = { root, ud: `${root}/user-data`, ext: `${root}/extensions`, ws: `${root}/workspace`, chrome: `${root}/chrome` };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dirs.ws, name), text);
  fs.mkdirSync(`${dirs.ud}/User`, { recursive: true });
  const settingsFile = `${dirs.ud}/User/settings.json`;
  const base = {
    'workbench.startupEditor': 'none',
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'workbench.enableExperiments': false,
    'workbench.tips.enabled': false,
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'git.enabled': false,
    ...settings,
  };
  fs.writeFileSync(settingsFile, JSON.stringify(base, null, 2));
  // XDG_*: otherwise code-server writes ~/.config/code-server/config.yaml
  const env = { ...process.env, XDG_CONFIG_HOME: `${root}/xdg-config`, XDG_DATA_HOME: `${root}/xdg-data` };
  return {
    dirs,
    env,
    csArgs: ['--user-data-dir', dirs.ud, '--extensions-dir', dirs.ext],
    /** Rewrites user settings; the running workbench picks the change up (used to switch themes). */
    setSettings: (more) => fs.writeFileSync(settingsFile, JSON.stringify({ ...base, ...more }, null, 2)),
    cleanup: () => {
      if (!process.env.KEEP_SANDBOX) fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

export function installVsix(sb, vsix) {
  return execFileSync(NODE, [ENTRY, ...sb.csArgs, '--install-extension', vsix], { env: sb.env, encoding: 'utf8' }).trim();
}

export async function freePort() {
  return new Promise((res) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

/**
 * Starts code-server in its own process group; returns { base, port, stop }. Workspace trust is off
 * unless `workspaceTrust` (then the sandbox's settings decide, see trust-run.mjs).
 */
export async function startCodeServer(sb, logFile, extraArgs = [], { workspaceTrust = false } = {}) {
  if (!ENTRY) throw new Error('CODE_SERVER_ENTRY is not set: run through `npm run test:vscode`');
  const port = await freePort();
  const server = spawn(
    NODE,
    [ENTRY, ...sb.csArgs, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
      ...(workspaceTrust ? [] : ['--disable-workspace-trust']), '--disable-getting-started-override', '--ignore-last-opened', ...extraArgs],
    { env: sb.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out = fs.createWriteStream(logFile);
  server.stdout.pipe(out);
  server.stderr.pipe(out);
  // Kill the whole group: server + extension host + file watcher + pty host.
  const stop = () => {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {}
  };
  process.on('exit', stop);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (server.exitCode !== null) throw new Error(`code-server exited with ${server.exitCode}, see ${logFile}`);
    if (i > 240) throw new Error('code-server did not come up in 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  return { base, port, stop, pid: server.pid };
}

/**
 * `webgl: true` asks for WebGL 2 on the CPU (SwiftShader) explicitly, which neuroglancer needs to draw:
 * Chromium 156 still falls back to it by itself here, but that fallback is deprecated.
 */
export async function launchChromium(sb, { webgl = false } = {}) {
  return chromium.launchPersistentContext(sb.dirs.chrome, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', ...(webgl ? ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'] : []), '--disable-quic',
      '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/**
 * Right-clicks a file in the explorer and picks Export Annotations…. The workbench paints before the
 * extension host has registered our menu contributions, so this retries until the item is there.
 * `onMenu` runs with the menu open (e.g. a screenshot).
 */
export async function exportFromExplorer(page, name, onMenu = async () => {}) {
  const row = page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${name}"]`);
  await row.waitFor();
  const item = page.getByRole('menuitem', { name: 'Export Annotations…' });
  for (let attempt = 1; ; attempt++) {
    await row.click({ button: 'right' });
    try {
      await item.waitFor({ timeout: 2000 });
      // the tree may re-render under the pointer (a new file appears): the menu must be for our row
      if (!(await row.evaluate((el) => el.classList.contains('focused')))) throw new Error('menu opened on another row');
      log(`menu item found on attempt ${attempt}`);
      break;
    } catch {}
    if (attempt >= 30) throw new Error('context menu item never appeared');
    await page.keyboard.press('Escape');
    await page.waitForTimeout(1000);
  }
  await onMenu();
  // a click that lands while the menu is still settling is sometimes lost: the menu stays open
  for (let attempt = 1; ; attempt++) {
    await item.click();
    try {
      await item.waitFor({ state: 'hidden', timeout: 2000 });
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

/**
 * Clicks the form's *Export* and waits for its notification: the success toast for `n` annotations in
 * `dataset`, which is returned, or the failure toast, which throws with the extension's message.
 */
export async function exportAndWait(page, form, n, dataset) {
  await form.locator('#export').click();
  const toasts = page.locator('.notifications-toasts .notification-toast');
  const done = toasts.filter({ hasText: `Exported ${n} annotations to ${dataset}` });
  const failed = toasts.filter({ hasText: 'Export failed' });
  await done.or(failed).first().waitFor({ timeout: 60_000 });
  if (await failed.count()) throw new Error(`extension reported: ${(await failed.first().innerText()).replace(/\s+/g, ' ')}`);
  return done;
}

/**
 * A table of `n` synapse-like points: coordinates, an int, a float, a string enum, a colour, and a
 * column `big` that looks like a small int in the first rows but holds -3e9 (fits no property type) at row 150.
 */
export function synapsesCsv(n, seed = 1) {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const kinds = ['excitatory', 'inhibitory', 'unknown'];
  const lines = ['x,y,z,score,confidence,kind,color,big'];
  for (let i = 0; i < n; i++) {
    const c = ['#ff0000', '#00ff00', '#0000ff'][i % 3];
    const big = i === 150 ? -3_000_000_000 : i;
    lines.push(`${(rnd() * 1000).toFixed(1)},${(rnd() * 800).toFixed(1)},${Math.floor(rnd() * 200)},${i % 250},${rnd().toFixed(3)},${kinds[i % 3]},${c},${big}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Runs a browser story to its one-line verdict: a screenshot `<name>-failure.png` if it throws, the
 * browser, code-server and sandbox stopped either way, then the process exits with the result.
 */
export async function runStory(name, { page, ctx, cs, sb }, body) {
  let ok = false;
  try {
    await body();
    ok = true;
  } catch (e) {
    await page.screenshot({ path: `${SHOTS}/${name}-failure.png` }).catch(() => {});
    console.error(e);
  } finally {
    await ctx.close();
    cs.stop();
    sb.cleanup();
  }
  console.log(ok ? '1 passed, 0 failed' : '0 passed, 1 failed');
  process.exit(ok ? 0 : 1);
}
