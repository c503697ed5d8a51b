// Extension entry: the "Export Annotations…" command, the form's reload serializer, and clean-up
// (preview servers stop on deactivate). No telemetry.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WriteSummary } from '../core/types';
import type { Mapping } from '../mapping';
import { ExportPanel, fileExists, parseFormState, VIEW_TYPE, type PanelContext } from './panel';
import { exportInWorker } from './runExport';
import { readSettings, type Settings } from './settings';
import { Viewers } from './viewer';
import { registerRoundTrip } from './roundtrip';

export const COMMAND = 'ngAnnotations.exportAnnotations';
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
      if (!target || target.scheme !== 'file' || !TABLE_EXTENSIONS.includes(path.extname(target.fsPath).slice(1).toLowerCase())) {
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
      if (target.scheme !== 'file') {
        void vscode.window.showErrorMessage(vscode.l10n.t('Only files on disk can be exported ({0}).', target.toString()));
        return;
      }
      ExportPanel.show(ctx, target.fsPath);
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

export async function deactivate(): Promise<void> {
  await viewers?.dispose();
  viewers = undefined;
}
