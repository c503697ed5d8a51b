// The export form: one webview panel per table file. The host side owns everything that touches the
// disk; the webview only edits a mapping, and every message from it is checked before use.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isBucketTarget } from '../storage/index';
import type { WriteSummary } from '../core/types';
import { mappingToCommandLine, type Mapping } from '../shared/mapping';
import { fileStem, guessFormState, GUESS_ROWS, PROPERTY_ID } from '../shared/guess';
import { Endpoint, ReplyError, type ExportOutcome, type FormInit, type FormState, type HostSends, type TablePreview, type WebviewSends } from '../shared/protocol';
import { ExportCancelled, exportWithProgress, workerRequest } from './runExport';
import { readSettings, settingsDefaults } from './settings';
import { formHtml } from './html';
import { checkMapping, parseFormState } from './validate';
import type { Viewers } from './viewer';

export const VIEW_TYPE = 'ngAnnotations.exportForm';
const PREVIEW_ROWS = GUESS_ROWS;

export interface PanelContext {
  extension: vscode.ExtensionContext;
  log: vscode.OutputChannel;
  viewers: Viewers;
}

const stateKey = (file: string) => `ngAnnotations.form:${file}`;
/** Output folders being written now (an export outlives its form, which may be opened again). */
const exporting = new Set<string>();

export { parseFormState };

export class ExportPanel {
  private static readonly open = new Map<string, ExportPanel>();

  static show(ctx: PanelContext, file: string): ExportPanel {
    const existing = ExportPanel.open.get(file);
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, vscode.l10n.t('Export: {0}', path.basename(file)), vscode.ViewColumn.Active, ExportPanel.options(ctx));
    return new ExportPanel(ctx, panel, file);
  }

  /** After a window reload: the webview's saved state names the file. */
  static revive(ctx: PanelContext, panel: vscode.WebviewPanel, file: string): ExportPanel {
    panel.webview.options = ExportPanel.options(ctx);
    return new ExportPanel(ctx, panel, file);
  }

  private static options(ctx: PanelContext): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    const root = ctx.extension.extensionUri;
    return {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(root, 'dist'), vscode.Uri.joinPath(root, 'media')],
    };
  }

  private readonly link: Endpoint<HostSends, WebviewSends>;
  private preview: TablePreview | null = null;
  private running: vscode.CancellationTokenSource | null = null;
  /** Stops the background worker reading the table (preview, then inspection). */
  private stopReading: (() => void) | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  private constructor(
    private readonly ctx: PanelContext,
    readonly panel: vscode.WebviewPanel,
    readonly file: string,
  ) {
    ExportPanel.open.set(file, this);
    // (an export keeps running, under its notification, after the form is closed: post nothing then)
    this.link = new Endpoint<HostSends, WebviewSends>((m) => void (this.disposed || panel.webview.postMessage(m)), {
      requests: {
        validate: ({ mapping }) => {
          const c = checkMapping(mapping, this.file, this.preview?.columns ?? null);
          return { problems: c.problems, commandLine: c.mapping ? mappingToCommandLine(c.mapping) : '' };
        },
        export: ({ mapping }) => this.runExport(mapping),
        saveMapping: ({ mapping }) => this.saveMapping(mapping),
        copyCommandLine: async ({ mapping }) => {
          const c = this.checked(mapping);
          const commandLine = mappingToCommandLine(c);
          await vscode.env.clipboard.writeText(commandLine);
          void vscode.window.showInformationMessage(vscode.l10n.t('CLI command copied to the clipboard.'));
          return { commandLine };
        },
        pickPath: async ({ purpose, current }) => {
          const def = vscode.Uri.file(typeof current === 'string' && current ? path.resolve(path.dirname(this.file), current) : path.dirname(this.file));
          const picked =
            purpose === 'points'
              ? (await vscode.window.showOpenDialog({ defaultUri: def, canSelectMany: false, openLabel: vscode.l10n.t('Use as vertices') }))?.[0]
              : await vscode.window.showSaveDialog({ defaultUri: def, saveLabel: vscode.l10n.t('Export here') });
          return { path: picked?.fsPath };
        },
      },
      events: {
        ready: () => void this.sendInit(),
        stateChanged: ({ state }) => {
          const s = parseFormState(state);
          if (s) void this.ctx.extension.workspaceState.update(stateKey(this.file), s);
        },
        cancelExport: () => this.running?.cancel(),
      },
    });
    panel.webview.onDidReceiveMessage((m) => void this.link.receive(m), null, this.disposables);
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    panel.iconPath = vscode.Uri.joinPath(ctx.extension.extensionUri, 'media', 'icon.svg');
    panel.webview.html = this.html();
  }

  private checked(raw: unknown): Mapping {
    const c = checkMapping(raw, this.file, this.preview?.columns ?? null, { forExport: false });
    if (!c.mapping || c.problems.length) throw new ReplyError(c.problems.map((p) => `${p.field}: ${p.message}`).join('\n'), c.problems);
    return c.mapping;
  }

  private async sendInit(): Promise<void> {
    let previewError: string | undefined;
    const job = workerRequest(this.ctx.extension.extensionUri, 'preview', { input: this.file, rows: PREVIEW_ROWS });
    this.stopReading = job.stop;
    try {
      this.preview = await job.result;
    } catch (e) {
      if (e instanceof Error && e.message === 'stopped') return; // the panel was closed
      previewError = e instanceof Error ? e.message : String(e);
      this.ctx.log.appendLine(`Preview of ${this.file} failed: ${previewError}`);
    }
    const outputDir = path.join(path.dirname(this.file), `${fileStem(this.file)}.precomputed`);
    const remembered = parseFormState(this.ctx.extension.workspaceState.get(stateKey(this.file)));
    const state =
      remembered ??
      guessFormState(this.preview ?? { columns: [], rows: [] }, this.file, outputDir, settingsDefaults(readSettings(vscode.Uri.file(this.file))));
    const init: FormInit = {
      file: { path: this.file, name: path.basename(this.file), format: path.extname(this.file).slice(1).toLowerCase() },
      preview: this.preview,
      previewError,
      state,
      remembered: remembered !== null,
      defaults: { outputDir },
    };
    this.link.emit('init', init);
    this.inspect(state);
  }

  /** Reads the whole table in the background for exact property types (the preview saw only the first rows). */
  private inspect(state: FormState): void {
    this.stopReading?.();
    const columns = this.preview?.columns.map((c) => c.name) ?? [];
    const properties = state.propertyColumns.filter((c) => PROPERTY_ID.test(c));
    if (!this.preview || !state.mapping.input || properties.length === 0) return;
    const started = Date.now();
    const job = workerRequest(this.ctx.extension.extensionUri, 'inspect', { input: this.file, columns, properties });
    this.stopReading = job.stop;
    job.result.then(
      (inspection) => {
        this.ctx.log.appendLine(`Read ${this.file}: ${inspection.rows} rows, property types checked in ${Date.now() - started} ms`);
        this.link.emit('inspected', inspection);
      },
      (e) => {
        if (!(e instanceof Error && e.message === 'stopped')) this.ctx.log.appendLine(`Could not read all of ${this.file}: ${e instanceof Error ? e.message : e}`);
      },
    );
  }

  private async runExport(raw: unknown): Promise<ExportOutcome> {
    if (!vscode.workspace.isTrusted) throw new ReplyError(refuseUntrusted(vscode.l10n.t('Exporting')));
    if (this.running) throw new ReplyError(vscode.l10n.t('An export is already running.'));
    const c = checkMapping(raw, this.file, this.preview?.columns ?? null);
    if (!c.mapping || c.problems.length) return { ok: false, problems: c.problems };
    const mapping = c.mapping;
    if (exporting.has(mapping.output!)) return { ok: false, problems: [{ field: 'output', message: 'an export to this folder is running' }] };
    exporting.add(mapping.output!);
    const log = this.ctx.log;
    // The export reads the table itself; do not read it twice at once.
    this.stopReading?.();
    log.appendLine(`[${new Date().toISOString()}] Export ${mapping.input ?? mapping.points} -> ${mapping.output}`);
    log.appendLine(`  ${mappingToCommandLine(mapping)}`);
    const cancel = new vscode.CancellationTokenSource();
    this.running = cancel;
    let outcome: ExportOutcome;
    try {
      const summary = await exportWithProgress(
        this.ctx.extension.extensionUri,
        mapping,
        log,
        (progress, percent) => this.link.emit('progress', { progress, percent }),
        { onCancel: (f) => cancel.token.onCancellationRequested(f) },
      );
      log.appendLine(`  done: ${summary.annotations} annotations, ${summary.filesWritten} files, ${summary.bytesWritten} bytes in ${summary.elapsedMs} ms`);
      outcome = { ok: true, summary };
      void announceSuccess(this.ctx, summary);
    } catch (e) {
      if (e instanceof ExportCancelled) {
        log.appendLine('  cancelled; nothing was written');
        outcome = { ok: false, cancelled: true };
      } else {
        const message = e instanceof Error ? e.message : String(e);
        log.appendLine(`  failed: ${message}`);
        void vscode.window.showErrorMessage(vscode.l10n.t('Export failed: {0}', message));
        outcome = { ok: false, error: message };
      }
    } finally {
      exporting.delete(mapping.output!);
      this.running = null;
      cancel.dispose();
    }
    this.link.emit('exportFinished', outcome);
    return outcome;
  }

  private async saveMapping(raw: unknown): Promise<{ path?: string }> {
    if (!vscode.workspace.isTrusted) throw new ReplyError(refuseUntrusted(vscode.l10n.t('Saving the mapping')));
    const m = this.checked(raw);
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(path.join(path.dirname(this.file), `${fileStem(this.file)}.mapping.json`)),
      filters: { 'Mapping JSON': ['json'] },
    });
    if (!target) return {};
    // Paths relative to the mapping file, so the pair can move together (the CLI resolves them back).
    const dir = path.dirname(target.fsPath);
    const rel = (p: string | undefined) => (p === undefined ? undefined : path.relative(dir, p) || '.');
    const out: Mapping = { ...m, input: rel(m.input), points: rel(m.points), output: rel(m.output) };
    for (const k of Object.keys(out) as Array<keyof Mapping>) if (out[k] === undefined) delete out[k];
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(JSON.stringify(out, null, 2) + '\n'));
    this.ctx.log.appendLine(`Saved mapping ${target.fsPath}`);
    return { path: target.fsPath };
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(18).toString('base64');
    const dist = vscode.Uri.joinPath(this.ctx.extension.extensionUri, 'dist');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js'));
    const css = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css'));
    return formHtml({
      cspSource: webview.cspSource,
      nonce,
      scriptUri: script.toString(),
      cssUri: css.toString(),
      lang: vscode.env.language,
      file: this.file,
      title: path.basename(this.file),
      loading: vscode.l10n.t('Reading {0}…', path.basename(this.file)),
    });
  }

  dispose(): void {
    this.disposed = true;
    ExportPanel.open.delete(this.file);
    this.stopReading?.();
    this.link.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/**
 * Restricted Mode (an untrusted workspace): the form reads and previews the table, but nothing that
 * writes files or starts a server runs. Says so in a notification with a way out; returns the message.
 */
export function refuseUntrusted(what: string): string {
  const message = vscode.l10n.t('{0} writes files, which Restricted Mode does not allow. Trust this workspace to export.', what);
  const manage = vscode.l10n.t('Manage Workspace Trust');
  void vscode.window.showWarningMessage(message, manage).then((pick) => {
    if (pick === manage) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return message;
}

/** The success notification and its three actions. */
export async function announceSuccess(ctx: PanelContext, summary: WriteSummary): Promise<void> {
  const folder = summary.outputDir;
  const open = vscode.l10n.t('Open in Neuroglancer');
  const reveal = vscode.l10n.t('Reveal in Explorer');
  const copy = vscode.l10n.t('Copy Source URL');
  void vscode.commands.executeCommand('setContext', 'ngAnnotations.exported', true); // the walkthrough's step
  // A bucket: the link reads it directly (no local server) and there is no folder to reveal.
  const bucket = isBucketTarget(folder);
  const pick = await vscode.window.showInformationMessage(
    vscode.l10n.t('Exported {0} annotations to {1}', summary.annotations.toLocaleString('en-US'), bucket ? folder : path.basename(folder)),
    ...(bucket ? [open, copy] : [open, reveal, copy]),
  );
  try {
    if (pick === open) await ctx.viewers.show(folder, readSettings());
    else if (pick === reveal) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(folder));
    else if (pick === copy) {
      const url = `precomputed://${await ctx.viewers.sourceUrl(folder)}`;
      await vscode.env.clipboard.writeText(url);
      ctx.log.appendLine(`Copied ${url}`);
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    ctx.log.appendLine(`${pick}: ${message}`);
    void vscode.window.showErrorMessage(`${pick}: ${message}`);
  }
}

export function fileExists(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
