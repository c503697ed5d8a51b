// "Open in Neuroglancer" and "Copy Source URL": one loopback preview server per dataset folder,
// started on first use and stopped when the extension deactivates. Addresses go through
// `asExternalUri` so they also work when VS Code runs remotely (Remote-SSH, WSL, Codespaces).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { startPreviewServer, type PreviewServer } from '../server/preview';
import { DEFAULT_NEUROGLANCER_URL, neuroglancerLink, type AnnotationInfoLike } from '../server/state';

export class Viewers implements vscode.Disposable {
  private readonly servers = new Map<string, Promise<PreviewServer>>();

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
    const srv = await this.server(folder);
    const external = await vscode.env.asExternalUri(vscode.Uri.parse(srv.url));
    return external.toString(true).replace(/\/?$/, '/');
  }

  /** The neuroglancer page (with state) that shows the dataset in `folder`. */
  async link(folder: string, neuroglancerUrl: string): Promise<string> {
    const info = JSON.parse(fs.readFileSync(path.join(folder, 'info'), 'utf8')) as AnnotationInfoLike;
    const source = await this.sourceUrl(folder);
    let baseUrl = neuroglancerUrl;
    if (baseUrl === '' || baseUrl.toLowerCase() === 'bundled') {
      // The bundled viewer is served by the same loopback server under /viewer/.
      baseUrl = this.bundledViewer() ? `${source}viewer/` : DEFAULT_NEUROGLANCER_URL;
    }
    return neuroglancerLink({ baseUrl, sourceUrl: source, info, layerName: path.basename(folder) });
  }

  async open(folder: string, neuroglancerUrl: string): Promise<string> {
    const url = await this.link(folder, neuroglancerUrl);
    this.log.appendLine(`Opening ${url}`);
    // VS Code may re-encode the `#!{json}` fragment; harmless, neuroglancer decodes it with decodeURIComponent.
    await vscode.env.openExternal(vscode.Uri.parse(url, true));
    return url;
  }

  async dispose(): Promise<void> {
    const all = [...this.servers.values()];
    this.servers.clear();
    await Promise.allSettled(all.map(async (s) => (await s).close()));
  }
}
