// "Open in Neuroglancer" and "Copy Source URL": one loopback preview server per dataset folder,
// started on first use and stopped when the extension deactivates. Addresses go through
// `asExternalUri` so they also work when VS Code runs remotely (Remote-SSH, WSL, Codespaces,
// code-server's /proxy/<port>/). The viewer opens in the external browser or, with
// `ngAnnotations.openViewerIn: vscode`, in a webview panel that frames the same page.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { startPreviewServer, type PreviewServer } from '../server/preview';
import { DEFAULT_NEUROGLANCER_URL, neuroglancerLink, type AnnotationInfoLike } from '../server/state';
import { viewerHtml } from './html';
import { isBucketTarget, neuroglancerSource, readBucketInfo } from '../storage/index';

export const VIEWER_VIEW_TYPE = 'ngAnnotations.viewer';

export class Viewers implements vscode.Disposable {
  private readonly servers = new Map<string, Promise<PreviewServer>>();
  /** One viewer panel per dataset folder. */
  private readonly panels = new Map<string, vscode.WebviewPanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.OutputChannel,
  ) {}

  /** The bundled viewer folder, if this build ships one. */
  private bundledViewer(): string | undefined {
    const dir = vscode.Uri.joinPath(this.extensionUri, 'dist', 'viewer').fsPath;
    return fs.existsSync(path.join(dir, 'index.html')) ? dir : undefined;
  }

  private server(folder: string): Promise<PreviewServer> {
    // Restricted Mode: no server (see capabilities.untrustedWorkspaces in package.json)
    if (!vscode.workspace.isTrusted) return Promise.reject(new Error(vscode.l10n.t('Restricted Mode: trust this workspace to serve the dataset to neuroglancer.')));
    let s = this.servers.get(folder);
    if (!s) {
      s = startPreviewServer({ root: folder, port: 0, viewerDir: this.bundledViewer() });
      s.then((srv) => this.log.appendLine(`Serving ${folder} at ${srv.url}`)).catch(() => this.servers.delete(folder));
      this.servers.set(folder, s);
    }
    return s;
  }

  /** The dataset's http address as the user's browser reaches it. */
  async sourceUrl(folder: string): Promise<string> {
    // A bucket is read by neuroglancer directly: no local server.
    if (isBucketTarget(folder)) return neuroglancerSource(folder);
    const srv = await this.server(folder);
    const external = await vscode.env.asExternalUri(vscode.Uri.parse(srv.url));
    // A proxy in between (code-server's /proxy/<port>/) passes the browser's Host header on.
    srv.allowHost(external.authority);
    return external.toString(true).replace(/\/?$/, '/');
  }

  /** The neuroglancer page (with state) that shows the dataset in `folder`. */
  async link(folder: string, neuroglancerUrl: string): Promise<string> {
    if (isBucketTarget(folder)) {
      const info = (await readBucketInfo(folder)) as AnnotationInfoLike;
      const baseUrl = neuroglancerUrl === '' || neuroglancerUrl.toLowerCase() === 'bundled' ? DEFAULT_NEUROGLANCER_URL : neuroglancerUrl;
      return neuroglancerLink({ baseUrl, sourceUrl: neuroglancerSource(folder), info, layerName: path.posix.basename(folder) });
    }
    const info = JSON.parse(fs.readFileSync(path.join(folder, 'info'), 'utf8')) as AnnotationInfoLike;
    const source = await this.sourceUrl(folder);
    let baseUrl = neuroglancerUrl;
    if (baseUrl === '' || baseUrl.toLowerCase() === 'bundled') {
      // The bundled viewer is served by the same loopback server under /viewer/.
      baseUrl = this.bundledViewer() ? `${source}viewer/` : DEFAULT_NEUROGLANCER_URL;
    }
    return neuroglancerLink({ baseUrl, sourceUrl: source, info, layerName: path.basename(folder) });
  }

  /** Open in Neuroglancer, where the settings say. */
  show(folder: string, s: { neuroglancerUrl: string; openViewerIn: 'browser' | 'vscode' }): Promise<string> {
    void vscode.commands.executeCommand('setContext', 'ngAnnotations.viewerOpened', true); // the walkthrough's step
    return s.openViewerIn === 'vscode' ? this.openInVsCode(folder, s.neuroglancerUrl) : this.open(folder, s.neuroglancerUrl);
  }

  async open(folder: string, neuroglancerUrl: string): Promise<string> {
    const url = await this.link(folder, neuroglancerUrl);
    this.log.appendLine(`Opening ${url}`);
    // VS Code may re-encode the `#!{json}` fragment; harmless, neuroglancer decodes it with decodeURIComponent.
    await vscode.env.openExternal(vscode.Uri.parse(url, true));
    return url;
  }

  /**
   * The same page inside VS Code: a webview panel whose only content is a frame of it. Opening a
   * folder again reuses its panel and reloads it, since the export may have rewritten the dataset.
   */
  async openInVsCode(folder: string, neuroglancerUrl: string): Promise<string> {
    const url = await this.link(folder, neuroglancerUrl);
    this.log.appendLine(`Opening in VS Code ${url}`);
    const title = vscode.l10n.t('Neuroglancer: {0}', path.basename(folder));
    let panel = this.panels.get(folder);
    if (panel) panel.reveal();
    else {
      const created = vscode.window.createWebviewPanel(VIEWER_VIEW_TYPE, title, vscode.ViewColumn.Active, {
        // Neuroglancer runs in the frame, which inherits the webview document's sandbox.
        enableScripts: true,
        // Hiding the tab would otherwise reload the frame and lose the view and the WebGL state.
        retainContextWhenHidden: true,
        localResourceRoots: [],
      });
      created.onDidDispose(() => {
        if (this.panels.get(folder) === created) this.panels.delete(folder);
      });
      this.panels.set(folder, created);
      panel = created;
    }
    // A fresh nonce makes the HTML differ, so the frame reloads even for the same link.
    panel.webview.html = viewerHtml({ url, nonce: randomBytes(16).toString('base64'), title });
    return url;
  }

  async dispose(): Promise<void> {
    for (const panel of [...this.panels.values()]) panel.dispose();
    this.panels.clear();
    const all = [...this.servers.values()];
    this.servers.clear();
    await Promise.allSettled(all.map(async (s) => (await s).close()));
  }
}
