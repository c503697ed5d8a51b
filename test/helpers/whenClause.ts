// Evaluates manifest `when` clauses the way the workbench does, with VS Code's own context-key parser
// and evaluator (the copy in monaco-editor's ESM build), for the resource a menu is opened on.
import {
  ContextKeyAndExpr,
  ContextKeyEqualsExpr,
  ContextKeyExpr,
  ContextKeyNotEqualsExpr,
  ContextKeyOrExpr,
  ContextKeyRegexExpr,
  type ContextKeyExpression,
} from 'monaco-editor/platform/contextkey/common/contextkey.js';

export function parseWhen(when: string): ContextKeyExpression {
  const e = ContextKeyExpr.deserialize(when);
  if (!e) throw new Error(`not a when clause: ${when}`);
  return e;
}

/**
 * The resource context keys the workbench sets for a URI (ResourceContextKey.set in VS Code's
 * src/vs/workbench/common/contextkeys.ts): scheme, file name, extension name, path.
 */
export function resourceContext(uri: string, more: Record<string, unknown> = {}): { getValue(key: string): unknown } {
  const u = new URL(uri);
  const p = decodeURIComponent(u.pathname);
  const filename = p.slice(p.lastIndexOf('/') + 1);
  const dot = filename.lastIndexOf('.');
  const keys: Record<string, unknown> = {
    resource: uri,
    resourceScheme: u.protocol.slice(0, -1),
    resourceFilename: filename,
    resourceExtname: dot > 0 ? filename.slice(dot) : '',
    resourcePath: p,
    ...more,
  };
  return { getValue: (k) => keys[k] };
}

/**
 * What the VS Code Server (Remote-SSH, WSL, Dev Containers, Codespaces, code-server) does to the
 * `when` clauses of the extensions it runs before the UI sees them (RemoteExtensionsScannerService.
 * _massageWhenConditions in src/vs/server/node/remoteExtensionsScanner.ts): in every `resourceScheme`
 * comparison, "file" becomes "vscode-remote", since the UI names the remote files that way.
 */
export function asRemoteServerShowsIt(e: ContextKeyExpression): ContextKeyExpression {
  const swap = (s: string) => s.replace(/file/g, 'vscode-remote');
  const node = e as ContextKeyExpression & { key?: string; value?: unknown; regexp?: RegExp | null; expr?: ContextKeyExpression[] };
  switch (node.type) {
    case 4: // Equals
      return node.key === 'resourceScheme' && typeof node.value === 'string' ? ContextKeyEqualsExpr.create(node.key, swap(node.value)) : e;
    case 5: // NotEquals
      return node.key === 'resourceScheme' && typeof node.value === 'string' ? ContextKeyNotEqualsExpr.create(node.key, swap(node.value)) : e;
    case 7: // Regex
      if (node.key !== 'resourceScheme' || !node.regexp) return e;
      return ContextKeyRegexExpr.create(node.key, new RegExp(swap(node.regexp.source), node.regexp.flags));
    case 6: // And
      return ContextKeyAndExpr.create(node.expr!.map(asRemoteServerShowsIt), null, false)!;
    case 9: // Or
      return ContextKeyOrExpr.create(node.expr!.map(asRemoteServerShowsIt), null, false)!;
    default:
      if (/resourceScheme/.test(e.serialize())) throw new Error(`asRemoteServerShowsIt: expression type ${node.type} not handled: ${e.serialize()}`);
      return e;
  }
}
