// The extension's settings (`ngAnnotations.*`), read fresh each time so changes apply at once.
import * as vscode from 'vscode';
import { parseByteSize, type Mapping } from '../shared/mapping';

export interface Settings {
  /** Empty or "bundled": the viewer shipped in dist/viewer (if present), else the public demo. */
  neuroglancerUrl: string;
  /** Where Open in Neuroglancer shows the viewer: the external browser or a VS Code tab. */
  openViewerIn: 'browser' | 'vscode';
  sharded: boolean;
  gzipLevel: number | undefined;
  chunkLimit: number;
  spatialLevels: number;
  /** Bytes; undefined for the writer's default (60% of RAM). */
  memoryLimit: number | undefined;
}

/** `scope`: the table, so that folder settings of a multi-root workspace apply to the resource-scoped ones. */
export function readSettings(scope?: vscode.Uri): Settings {
  const c = vscode.workspace.getConfiguration('ngAnnotations', scope);
  const gz = c.get<number | null>('gzipLevel', null);
  return {
    neuroglancerUrl: (c.get<string>('neuroglancerUrl', '') ?? '').trim(),
    openViewerIn: c.get<string>('openViewerIn', 'browser') === 'vscode' ? 'vscode' : 'browser',
    sharded: c.get<boolean>('sharded', true),
    gzipLevel: typeof gz === 'number' && Number.isInteger(gz) && gz >= 0 && gz <= 9 ? gz : undefined,
    chunkLimit: c.get<number>('chunkLimit', 10000),
    spatialLevels: c.get<number>('spatialLevels', 7),
    memoryLimit: parseByteSize(c.get<string>('memoryLimit', '') ?? '') ?? undefined,
  };
}

/** The mapping fields a fresh form takes from the settings. */
export function settingsDefaults(s: Settings): Partial<Mapping> {
  const d: Partial<Mapping> = { sharded: s.sharded, spatialLevels: s.spatialLevels, chunkLimit: s.chunkLimit };
  if (s.gzipLevel !== undefined) d.gzipLevel = s.gzipLevel;
  return d;
}
