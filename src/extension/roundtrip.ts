// The round-trip commands: "Open as Table" on a dataset folder (a read-only page of its first rows)
// and "Convert State to Precomputed" on a neuroglancer JSON state. The state already fixes what the
// export form asks for (type, coordinates, properties, relationships, ids), so the conversion does
// not open the form: it asks only for the layer (when there are several), the type (when a layer
// mixes them) and the output folder, then exports with the settings' defaults (sharding, levels,
// chunk limit, gzip, memory), under the same progress notification and success actions as the form.
import { mkdtemp, rm } from 'node:fs/promises';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnnotationType } from '../core/types';
import { annotationLayers, defaultOutputName, loadState, stateLayerTables, writeStateTables } from '../roundtrip/state';
import { announceSuccess, refuseUntrusted, type PanelContext } from './panel';
import { ExportCancelled, exportWithProgress } from './runExport';
import { readSettings, settingsDefaults } from './settings';
import { datasetPreview, tableViewHtml } from './tableView';

export const OPEN_AS_TABLE = 'ngAnnotations.openAsTable';
export const CONVERT_STATE = 'ngAnnotations.convertState';
const TABLE_VIEW = 'ngAnnotations.tableView';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function openAsTable(ctx: PanelContext, uri?: vscode.Uri): Promise<void> {
  let target = uri instanceof vscode.Uri ? uri : undefined;
  if (!target) {
    target = (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: vscode.l10n.t('Open as Table') }))?.[0];
    if (!target) return;
  }
  if (target.scheme !== 'file') {
    void vscode.window.showErrorMessage(vscode.l10n.t('Only folders on disk can be opened as a table ({0}).', target.toString()));
    return;
  }
  const dir = target.fsPath;
  let preview;
  try {
    preview = await datasetPreview(dir, 50);
  } catch (e) {
    void vscode.window.showErrorMessage(message(e));
    return;
  }
  const root = ctx.extension.extensionUri;
  const panel = vscode.window.createWebviewPanel(TABLE_VIEW, vscode.l10n.t('Table: {0}', path.basename(dir)), vscode.ViewColumn.Active, {
    enableScripts: false,
    localResourceRoots: [vscode.Uri.joinPath(root, 'dist')],
  });
  panel.iconPath = vscode.Uri.joinPath(root, 'media', 'icon.svg');
  const n = preview.annotations.rows.length;
  panel.webview.html = tableViewHtml(preview, {
    cspSource: panel.webview.cspSource,
    cssUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, 'dist', 'webview.css')).toString(),
    lang: vscode.env.language,
    text: {
      title: path.basename(dir),
      shown: preview.more ? vscode.l10n.t('First {0} annotations', n) : vscode.l10n.t('All {0} annotations', n),
      vertices: vscode.l10n.t('Vertices'),
      convert: vscode.l10n.t('The whole dataset as a table (Parquet, CSV or Arrow), with a mapping that exports it again:'),
    },
  });
}

async function convertState(ctx: PanelContext, uri?: vscode.Uri): Promise<void> {
  // Converting writes a dataset, which Restricted Mode does not allow (reading a dataset as a table is fine).
  if (!vscode.workspace.isTrusted) {
    refuseUntrusted(vscode.l10n.t('Converting a state'));
    return;
  }
  let target = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
  if (!target || target.scheme !== 'file' || path.extname(target.fsPath).toLowerCase() !== '.json') {
    target = (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { [vscode.l10n.t('Neuroglancer state')]: ['json'] }, openLabel: vscode.l10n.t('Convert') }))?.[0];
    if (!target) return;
  }
  const file = target.fsPath;
  let tmp: string | undefined;
  try {
    const state = await loadState(file);
    const layers = annotationLayers(state).filter((l) => Object.keys(l.counts).length > 0);
    let layer: string | undefined = layers[0]?.name;
    if (layers.length > 1) {
      const items = layers.map((l) => ({ label: l.name, description: Object.entries(l.counts).map(([t, c]) => `${c} ${t}`).join(', ') }));
      layer = (await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Annotation layer to convert') }))?.label;
      if (layer === undefined) return;
    }
    const counts = layers.find((l) => l.name === layer)?.counts ?? {};
    let type: AnnotationType | undefined;
    if (Object.keys(counts).length > 1) {
      const items = Object.entries(counts).map(([t, c]) => ({ label: t, description: String(c) }));
      type = (await vscode.window.showQuickPick(items, { title: vscode.l10n.t('A dataset holds one annotation type; which one?') }))?.label as AnnotationType | undefined;
      if (type === undefined) return;
    }
    // Checks the layer (and names what is wrong) before asking where to write.
    const tables = stateLayerTables(state, layer, type);
    for (const w of tables.warnings) ctx.log.appendLine(`warning: ${w}`);
    const out = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(path.join(path.dirname(file), defaultOutputName(tables.layer))),
      saveLabel: vscode.l10n.t('Export here'),
    });
    if (!out) return;
    let overwrite = false;
    if (fs.existsSync(out.fsPath)) {
      const replace = vscode.l10n.t('Replace');
      if ((await vscode.window.showWarningMessage(vscode.l10n.t('{0} already exists. Replace it?', path.basename(out.fsPath)), { modal: true }, replace)) !== replace) return;
      overwrite = true;
    }
    tmp = await mkdtemp(path.join(tmpdir(), 'ng-annotations-state-'));
    const mapping = { ...settingsDefaults(readSettings()), ...(await writeStateTables(tables, tmp, out.fsPath)), overwrite };
    ctx.log.appendLine(`Converting layer ${JSON.stringify(tables.layer)} of ${file} to ${out.fsPath}`);
    const summary = await exportWithProgress(ctx.extension.extensionUri, mapping, ctx.log);
    void announceSuccess(ctx, summary);
  } catch (e) {
    if (e instanceof ExportCancelled) return;
    ctx.log.appendLine(`Convert ${file}: ${message(e)}`);
    void vscode.window.showErrorMessage(message(e));
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

export function registerRoundTrip(ctx: PanelContext): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(OPEN_AS_TABLE, (uri?: vscode.Uri) => openAsTable(ctx, uri)),
    vscode.commands.registerCommand(CONVERT_STATE, (uri?: vscode.Uri) => convertState(ctx, uri)),
  ];
}
