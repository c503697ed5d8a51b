// Extension entry: the "Export Annotations…" command, the form's reload serializer, and clean-up
// (preview servers stop on deactivate). No telemetry.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WriteSummary } from '../core/types';
import type { Mapping } from '../shared/mapping';
import { ExportPanel, fileExists, parseFormState, VIEW_TYPE, type PanelContext } from './panel';
import { exportInWorker } from './runExport';
import { readSettings, type Settings } from './settings';
import { Viewers } from './viewer';
import { registerRoundTrip } from './roundtrip';

export const COMMAND = 'ngAnnotations.exportAnnotations';
/** The walkthrough's first step. */
export const OPEN_SAMPLE = 'ngAnnotations.openSample';
export const TABLE_EXTENSIONS = ['csv', 'tsv', 'parquet', 'pq', 'parq', 'arrow', 'feather', 'ipc'];

/** What `activate` returns: used by the extension-host tests, stable enough for other extensions. */
export interface NgAnnotationsApi {
  settings(): Settings;
  /** Exports in a worker thread, like the form does, without UI. */
  exportInWorker(mapping: Mapping, token?: vscode.CancellationToken, onProgress?: (percent: number) => void): Promise<WriteSummary>;
  /** The neuroglancer link for a dataset folder (starts its preview server). */
  neuroglancerLink(folder: string): Promise<string>;
  /** What the notification's Open in Neuroglancer does (browser or tab, per the settings); returns the link. */
  openNeuroglancer(folder: string): Promise<string>;
}

let viewers: Viewers | undefined;

export function activate(context: vscode.ExtensionContext): NgAnnotationsApi {
  const log = vscode.window.createOutputChannel('Neuroglancer Annotations');
  viewers = new Viewers(context.extensionUri, log);
  const ctx: PanelContext = { extension: context, log, viewers };
  context.subscriptions.push(
    log,
    ...registerRoundTrip(ctx),
    vscode.commands.registerCommand(COMMAND, async (uri?: vscode.Uri) => {
      let target = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
      if (!target || !isTable(target)) {
        // From the command palette: ask for the table.
        const picked = await vscode.window.showOpenDialog({
          canSelectMany: false,
          openLabel: vscode.l10n.t('Export Annotations'),
          filters: { [vscode.l10n.t('Tables')]: TABLE_EXTENSIONS },
          defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
        });
        target = picked?.[0];
        if (!target) return;
      }
      let file: string;
      try {
        file = await localFile(target, log);
      } catch (e) {
        void vscode.window.showErrorMessage(vscode.l10n.t('Cannot read {0}: {1}', target.toString(true), e instanceof Error ? e.message : String(e)));
        return;
      }
      ExportPanel.show(ctx, file);
    }),
    vscode.commands.registerCommand(OPEN_SAMPLE, async () => {
      try {
        ExportPanel.show(ctx, await copySample(context.extensionUri, log));
      } catch (e) {
        void vscode.window.showErrorMessage(vscode.l10n.t('Cannot open the sample: {0}', e instanceof Error ? e.message : String(e)));
      }
    }),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        const file = typeof state === 'object' && state !== null ? (state as { file?: unknown }).file : undefined;
        if (typeof file === 'string' && fileExists(file)) {
          // The webview's own state (setState) restores the form; remember it for this file too.
          const form = parseFormState((state as { form?: unknown }).form);
          if (form) await context.workspaceState.update(`ngAnnotations.form:${file}`, form);
          ExportPanel.revive(ctx, panel, file);
        } else panel.dispose();
      },
    }),
  );
  return {
    settings: readSettings,
    exportInWorker: (mapping, token, onProgress) =>
      exportInWorker(context.extensionUri, { mapping, token, onProgress: (_, pct) => onProgress?.(pct) }, log),
    neuroglancerLink: (folder) => viewers!.link(folder, readSettings().neuroglancerUrl),
    openNeuroglancer: (folder) => viewers!.show(folder, readSettings()),
  };
}

function isTable(uri: vscode.Uri): boolean {
  return TABLE_EXTENSIONS.includes(path.posix.extname(uri.path).slice(1).toLowerCase());
}

/**
 * The table as a path the export threads can open. `file` URIs are used as they are: that is also
 * what a remote window (Remote-SSH, WSL, Dev Containers, Codespaces, code-server) hands this
 * extension, which runs on the remote side where the files are. Anything else (a virtual workspace
 * such as GitHub Repositories' `vscode-vfs`, a local file in a remote window as `vscode-local`, any
 * FileSystemProvider) is read through `vscode.workspace.fs` into a private folder on this machine's
 * disk; the form then proposes an output folder beside that copy, on disk too.
 */
async function localFile(uri: vscode.Uri, log: vscode.OutputChannel): Promise<string> {
  if (uri.scheme === 'file') return uri.fsPath;
  const bytes = await vscode.workspace.fs.readFile(uri);
  const key = createHash('sha256').update(uri.toString()).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), 'ng-annotations-virtual', key);
  await fs.promises.mkdir(dir, { recursive: true });
  const file = path.join(dir, path.posix.basename(uri.path));
  await fs.promises.writeFile(file, bytes);
  log.appendLine(`Copied ${uri.toString(true)} (${bytes.byteLength} bytes, not on this disk) to ${file}`);
  return file;
}

/**
 * The shipped sample table, copied where the user can export it: the first workspace folder when it
 * is on disk and trusted (an existing synapses.csv there is used as it is, never overwritten),
 * otherwise a temporary folder.
 */
async function copySample(extensionUri: vscode.Uri, log: vscode.OutputChannel): Promise<string> {
  const source = vscode.Uri.joinPath(extensionUri, 'examples', 'synapses.csv').fsPath;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const dir = folder?.scheme === 'file' && vscode.workspace.isTrusted ? folder.fsPath : path.join(os.tmpdir(), 'ng-annotations-sample');
  await fs.promises.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'synapses.csv');
  try {
    await fs.promises.copyFile(source, file, fs.constants.COPYFILE_EXCL);
    log.appendLine(`Copied the sample table to ${file}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return file;
}

export async function deactivate(): Promise<void> {
  await viewers?.dispose();
  viewers = undefined;
}
