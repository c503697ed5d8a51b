// Runs INSIDE code-server's (remote, Node) extension host, loaded through the workbench's
// `extensionTestsPath` with this repository as the development extension. VS Code calls run(); its
// promise decides the extension host's exit code (see ../exthost-run.mjs).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import type { NgAnnotationsApi } from '../../../src/extension/extension';
import type { Mapping } from '../../../src/shared/mapping';

const EXTENSION_ID = 'ng-annotations.ng-annotations';

function workspace(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'no workspace folder');
  return folder.uri.fsPath;
}

function pointsCsv(n: number): string {
  const lines = ['x,y,z,score,kind'];
  for (let i = 0; i < n; i++) lines.push(`${(i * 7) % 1000}.5,${(i * 13) % 800},${i % 97},${i % 200},${['a', 'b', 'c'][i % 3]}`);
  return lines.join('\n') + '\n';
}

async function api(): Promise<NgAnnotationsApi> {
  const ext = vscode.extensions.getExtension<NgAnnotationsApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} not found`);
  return ext.isActive ? ext.exports : await ext.activate();
}

async function waitForTab(label: string, ms = 15_000): Promise<vscode.Tab> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    const tab = vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.label === label);
    if (tab) return tab;
  }
  throw new Error(`no tab "${label}" after ${ms} ms`);
}

/** A read-only in-memory file system: what a virtual workspace's provider looks like to the extension. */
class MemoryFs implements vscode.FileSystemProvider {
  readonly reads: string[] = [];
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;
  constructor(private readonly files: Map<string, Uint8Array>) {}
  watch(): vscode.Disposable {
    return new vscode.Disposable(() => {});
  }
  stat(uri: vscode.Uri): vscode.FileStat {
    const f = this.files.get(uri.path);
    if (f) return { type: vscode.FileType.File, ctime: 0, mtime: 0, size: f.byteLength };
    if ([...this.files.keys()].some((k) => k.startsWith(uri.path.replace(/\/?$/, '/')))) return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
    throw vscode.FileSystemError.FileNotFound(uri);
  }
  readDirectory(): [string, vscode.FileType][] {
    return [];
  }
  readFile(uri: vscode.Uri): Uint8Array {
    this.reads.push(uri.path);
    const f = this.files.get(uri.path);
    if (!f) throw vscode.FileSystemError.FileNotFound(uri);
    return f;
  }
  createDirectory(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
  writeFile(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
  delete(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
  rename(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
}

export function run(): Promise<void> {
  // The remote extension host's stdout goes nowhere useful: copy the reporter's lines to a file.
  const logFile = process.env.EXTHOST_LOG_FILE;
  if (logFile) {
    (Mocha.reporters.Base as unknown as { consoleLog: (...a: unknown[]) => void }).consoleLog = (...a: unknown[]) =>
      fs.appendFileSync(logFile, util.format(...a) + '\n');
  }
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec', grep: process.env.EXTHOST_GREP || undefined });
  const suite = Mocha.Suite.create(mocha.suite, 'ng-annotations (extension host)');
  const add = (title: string, fn: () => Promise<void> | void) => suite.addTest(new Mocha.Test(title, fn));

  add('activates from the development path and registers the command', async () => {
    const a = await api();
    assert.equal(typeof a.exportInWorker, 'function');
    const cmds = await vscode.commands.getCommands(true);
    assert.ok(cmds.includes('ngAnnotations.exportAnnotations'));
  });

  add('the manifest offers the command for every table extension, case-insensitively', () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const when: string = pkg.contributes.menus['explorer/context'][0].when;
    const re = /resourceExtname =~ \/(.*)\/i/.exec(when);
    assert.ok(re, when);
    const rx = new RegExp(re[1]!, 'i');
    for (const ext of ['.csv', '.TSV', '.parquet', '.pq', '.parq', '.arrow', '.Feather', '.ipc']) assert.ok(rx.test(ext), ext);
    for (const ext of ['.txt', '.json', '.csv.gz', '.xlsx']) assert.ok(!rx.test(ext), ext);
    assert.ok(pkg.contributes.menus['editor/title'][0].when === when);
  });

  add('reads its settings (defaults, then a changed value)', async () => {
    const a = await api();
    const s = a.settings();
    assert.deepEqual(s, { neuroglancerUrl: '', openViewerIn: 'browser', sharded: true, gzipLevel: undefined, chunkLimit: 10000, spatialLevels: 7, memoryLimit: undefined });
    const c = vscode.workspace.getConfiguration('ngAnnotations');
    await c.update('chunkLimit', 500, vscode.ConfigurationTarget.Global);
    await c.update('sharded', false, vscode.ConfigurationTarget.Global);
    await c.update('memoryLimit', '1.5G', vscode.ConfigurationTarget.Global);
    try {
      assert.equal(a.settings().chunkLimit, 500);
      assert.equal(a.settings().sharded, false);
      assert.equal(a.settings().memoryLimit, 1.5e9);
    } finally {
      await c.update('chunkLimit', undefined, vscode.ConfigurationTarget.Global);
      await c.update('sharded', undefined, vscode.ConfigurationTarget.Global);
      await c.update('memoryLimit', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  add('the memoryLimit setting sends an Arrow file through temporary files (reader and shard threads inside the export thread)', async () => {
    const a = await api();
    const dir = workspace();
    const { tableFromArrays, tableToIPC } = await import('apache-arrow');
    const n = 3000;
    const input = path.join(dir, 'stream.arrow');
    const table = tableFromArrays({
      x: Float64Array.from({ length: n }, (_, i) => (i * 7) % 1000),
      y: Float64Array.from({ length: n }, (_, i) => (i * 13) % 800),
      z: Float64Array.from({ length: n }, (_, i) => i % 97),
    });
    fs.writeFileSync(input, tableToIPC(table, 'file'));
    const c = vscode.workspace.getConfiguration('ngAnnotations');
    await c.update('memoryLimit', '0', vscode.ConfigurationTarget.Global);
    try {
      const mapping: Mapping = { version: 1, input, output: path.join(dir, 'stream.precomputed'), annotationType: 'point', coords: ['x', 'y', 'z'] };
      const summary = await a.exportInWorker(mapping);
      assert.equal(summary.mode, 'stream');
      assert.equal(summary.annotations, n);
      assert.ok(fs.existsSync(path.join(dir, 'stream.precomputed', 'info')));
    } finally {
      await c.update('memoryLimit', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  add('exports a small table in a worker thread and serves it for neuroglancer', async () => {
    const a = await api();
    const dir = workspace();
    const input = path.join(dir, 'small.csv');
    fs.writeFileSync(input, pointsCsv(50));
    const output = path.join(dir, 'small.precomputed');
    const mapping: Mapping = { version: 1, input, output, annotationType: 'point', coords: ['x', 'y', 'z'], properties: ['score', 'kind'] };
    const seen: number[] = [];
    const summary = await a.exportInWorker(mapping, undefined, (pct) => seen.push(pct));
    assert.equal(summary.annotations, 50);
    assert.ok(seen.length > 0 && seen.every((p) => p >= 0 && p <= 100), `progress ${seen.join(',')}`);
    const info = JSON.parse(fs.readFileSync(path.join(output, 'info'), 'utf8'));
    assert.equal(info['@type'], 'neuroglancer_annotations_v1');
    assert.deepEqual(info.properties.map((p: { id: string }) => p.id), ['score', 'kind']);

    const link = await a.neuroglancerLink(output);
    const state = JSON.parse(decodeURIComponent(link.slice(link.indexOf('#!') + 2)));
    const source: string = state.layers[0].source;
    assert.match(source, /^precomputed:\/\/http:\/\/(127\.0\.0\.1|localhost)[:/]/);
    const base = source.slice('precomputed://'.length);
    const r = await fetch(`${base}info`, { headers: { Range: 'bytes=0-9', Origin: 'http://example.test' } });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.equal((await r.text()).length, 10);
  });

  add('openViewerIn "vscode": Open in Neuroglancer is one tab per dataset, reused when opened again', async () => {
    const a = await api();
    const output = path.join(workspace(), 'small.precomputed'); // from the export test above
    assert.ok(fs.existsSync(path.join(output, 'info')), 'run with the export test');
    const c = vscode.workspace.getConfiguration('ngAnnotations');
    await c.update('openViewerIn', 'vscode', vscode.ConfigurationTarget.Global);
    const viewerTabs = () =>
      vscode.window.tabGroups.all
        .flatMap((g) => g.tabs)
        .filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('ngAnnotations.viewer'));
    try {
      assert.equal(a.settings().openViewerIn, 'vscode');
      const link = await a.openNeuroglancer(output);
      assert.equal(link, await a.neuroglancerLink(output));
      assert.deepEqual(viewerTabs().map((t) => t.label), ['Neuroglancer: small.precomputed']);
      await a.openNeuroglancer(output);
      assert.equal(viewerTabs().length, 1, 'a second tab for the same dataset');
    } finally {
      await c.update('openViewerIn', undefined, vscode.ConfigurationTarget.Global);
      await vscode.window.tabGroups.close(viewerTabs());
    }
  });

  add('Open as Table shows a dataset folder in a tab; both round-trip commands are registered and in the explorer menu', async () => {
    const output = path.join(workspace(), 'small.precomputed'); // from the export test above
    assert.ok(fs.existsSync(path.join(output, 'info')), 'run with the export test');
    const cmds = await vscode.commands.getCommands(true);
    assert.ok(cmds.includes('ngAnnotations.openAsTable') && cmds.includes('ngAnnotations.convertState'));
    const menu = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.menus['explorer/context'] as Array<{ command: string; when: string }>;
    assert.match(menu.find((m) => m.command === 'ngAnnotations.openAsTable')!.when, /explorerResourceIsFolder/);
    assert.match(menu.find((m) => m.command === 'ngAnnotations.convertState')!.when, /resourceExtname == '?\.json/);
    const tableTabs = () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('ngAnnotations.tableView'));
    try {
      // What the page shows, read the way the command reads it (an error here names the problem).
      const { datasetPreview } = await import('../../../src/extension/tableView');
      assert.equal((await datasetPreview(output, 50)).annotations.rows.length, 50);
      await vscode.commands.executeCommand('ngAnnotations.openAsTable', vscode.Uri.file(output));
      // The tab model catches up with the new panel a moment later.
      for (let i = 0; i < 50 && tableTabs().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(tableTabs().map((t) => t.label), ['Table: small.precomputed']);
    } finally {
      await vscode.window.tabGroups.close(tableTabs());
    }
  });

  add('exports polylines from a vertices file alone (no main table)', async () => {
    const a = await api();
    const dir = fs.mkdtempSync(path.join(workspace(), 'poly-'));
    const points = path.join(dir, 'paths.csv');
    fs.writeFileSync(points, 'annotation_id,x,y,z\n7,0,0,0\n7,1,1,1\n7,2,0,1\n9,5,5,5\n9,6,6,6\n');
    const output = path.join(dir, 'paths.precomputed');
    const summary = await a.exportInWorker({ version: 1, points, output, annotationType: 'polyline', coords: ['x', 'y', 'z'] });
    assert.equal(summary.annotations, 2);
    assert.equal(JSON.parse(fs.readFileSync(path.join(output, 'info'), 'utf8')).annotation_type.toLowerCase(), 'polyline');
  });

  add('cancelling an export leaves nothing behind', async () => {
    const a = await api();
    const dir = fs.mkdtempSync(path.join(workspace(), 'cancel-'));
    const input = path.join(dir, 'big.csv');
    fs.writeFileSync(input, pointsCsv(300_000));
    const output = path.join(dir, 'big.precomputed');
    const mapping: Mapping = { version: 1, input, output, annotationType: 'point', coords: ['x', 'y', 'z'], properties: ['score', 'kind'], threads: 1 };
    const source = new vscode.CancellationTokenSource();
    // Cancel once the writer is past reading and checking (2 of 7 phases), i.e. while it writes files.
    let cancelledAt = -1;
    const started = Date.now();
    await assert.rejects(
      a.exportInWorker(mapping, source.token, (pct) => {
        if (cancelledAt < 0 && pct >= 29) {
          cancelledAt = pct;
          source.cancel();
        }
      }),
      (e: Error) => e.name === 'ExportCancelled',
    );
    assert.ok(cancelledAt >= 29 && cancelledAt < 100, `cancelled at ${cancelledAt}%`);
    assert.ok(Date.now() - started < 30_000, 'cancel took too long');
    assert.deepEqual(fs.readdirSync(dir), ['big.csv'], 'the output folder or a temporary folder was left behind');
  });

  add('a table on a virtual file system (a vscode-vfs provider, as GitHub Repositories registers) opens the form on a local copy', async () => {
    const csv = new TextEncoder().encode(pointsCsv(30));
    // a path of its own each run: the local copy's folder is keyed by the URI
    const uri = vscode.Uri.parse(`vscode-vfs://github/ana/lab-data/run-${process.pid}-${Date.now()}/remote-synapses.csv`);
    const provider = new MemoryFs(new Map([[uri.path, csv]]));
    const reg = vscode.workspace.registerFileSystemProvider('vscode-vfs', provider, { isReadonly: true });
    let copyDir: string | undefined;
    try {
      await vscode.commands.executeCommand('ngAnnotations.exportAnnotations', uri);
      const tab = await waitForTab('Export: remote-synapses.csv');
      assert.ok(tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith('ngAnnotations.exportForm'));
      assert.ok(provider.reads.includes(uri.path), 'not read through vscode.workspace.fs');
      const root = path.join(os.tmpdir(), 'ng-annotations-virtual');
      const copies = fs.readdirSync(root).map((d) => path.join(root, d, 'remote-synapses.csv')).filter((f) => fs.existsSync(f));
      const copy = copies.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
      assert.ok(copy, 'no local copy');
      copyDir = path.dirname(copy);
      assert.deepEqual(new Uint8Array(fs.readFileSync(copy)), csv);
      // and it exports from there, to disk
      const a = await api();
      const output = path.join(path.dirname(copy), 'remote-synapses.precomputed');
      const summary = await a.exportInWorker({ version: 1, input: copy, output, annotationType: 'point', coords: ['x', 'y', 'z'] });
      assert.equal(summary.annotations, 30);
      await vscode.window.tabGroups.close(tab);
    } finally {
      reg.dispose();
      if (copyDir) fs.rmSync(copyDir, { recursive: true, force: true });
    }
  });

  add('the walkthrough\'s Open the Sample Table copies the shipped sample into the workspace and opens its form', async () => {
    await vscode.commands.executeCommand('ngAnnotations.openSample');
    const tab = await waitForTab('Export: synapses.csv');
    const sample = path.join(workspace(), 'synapses.csv');
    const shipped = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'examples', 'synapses.csv');
    assert.deepEqual(fs.readFileSync(sample), fs.readFileSync(shipped));
    assert.equal(fs.readFileSync(sample, 'utf8').split('\n')[0], 'annotation_id,x,y,z,confidence,kind,color,pre_body,post_body');
    await vscode.window.tabGroups.close(tab);
  });

  add('a writer error comes back with its exact reason', async () => {
    const a = await api();
    const dir = fs.mkdtempSync(path.join(workspace(), 'bad-'));
    const input = path.join(dir, 'bad.csv');
    fs.writeFileSync(input, 'x,y,z\n1,2,3\n4,nan,6\n');
    const output = path.join(dir, 'bad.precomputed');
    await assert.rejects(
      a.exportInWorker({ version: 1, input, output, annotationType: 'point', coords: ['x', 'y', 'z'] }),
      (e: Error) => /\by\b/.test(e.message) && /row|line/i.test(e.message),
    );
    assert.deepEqual(fs.readdirSync(dir), ['bad.csv']);
  });

  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const line = `${runner.stats?.passes ?? 0} passed, ${failures} failed`;
      if (logFile) fs.appendFileSync(logFile, line + '\n');
      if (process.env.EXTHOST_RESULT_FILE) fs.writeFileSync(process.env.EXTHOST_RESULT_FILE, line + '\n');
      if (failures) reject(new Error(line));
      else resolve();
    });
  });
}
