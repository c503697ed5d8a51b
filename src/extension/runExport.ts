// Runs one export in a worker thread (dist/exportWorker.js) with a cancellable progress notification,
// logging to the output channel. Cancelling aborts the writer, which removes its temporary folder.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as vscode from 'vscode';
import { readSettings } from './settings';
import type { Phase, Progress, WriteSummary } from '../core/types';
import type { Mapping } from '../shared/mapping';
import { removeThreadTemporaries } from '../core/storage';
import { Endpoint, type HostToWorker, type WorkerToHost } from '../shared/protocol';

const PHASES: Phase[] = ['reading', 'validating', 'by_id', 'by_relationship', 'spatial_assign', 'spatial', 'finishing'];
const PHASE_LABEL: Record<Phase, string> = {
  reading: 'Reading',
  validating: 'Checking',
  by_id: 'Writing by id',
  by_relationship: 'Writing relationships',
  spatial_assign: 'Assigning spatial levels',
  spatial: 'Writing spatial index',
  finishing: 'Finishing',
};

/** Overall completion in percent: each phase an equal slice, filled by its done/total. */
export function overallPercent(p: Progress): number {
  const i = Math.max(0, PHASES.indexOf(p.phase));
  const within = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  return Math.round(((i + within) / PHASES.length) * 100);
}

export function describeProgress(p: Progress): string {
  const detail = p.detail ? ` ${p.detail}` : '';
  // counts only where they mean something (annotations, shards); reading and checking report 0/1, 1/1
  const counts = p.total > 1 ? ` (${p.done.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')})` : '';
  return `${PHASE_LABEL[p.phase] ?? p.phase}${detail}${counts}`;
}

/** How long a cancelled writer may take to stop by itself before its thread is terminated. */
const CANCEL_GRACE_MS = 10_000;

export class ExportCancelled extends Error {
  constructor() {
    super('Export cancelled');
    this.name = 'ExportCancelled';
  }
}

export interface ExportJob {
  mapping: Mapping;
  onProgress?: (p: Progress, percent: number) => void;
  token?: vscode.CancellationToken;
}

/** Runs the writer in a fresh worker; resolves with its summary, rejects with its exact error. */
export async function exportInWorker(extensionUri: vscode.Uri, job: ExportJob, log: vscode.OutputChannel): Promise<WriteSummary> {
  const worker = new Worker(vscode.Uri.joinPath(extensionUri, 'dist', 'exportWorker.js').fsPath);
  let phase = '';
  const link = new Endpoint<HostToWorker, WorkerToHost>((m) => worker.postMessage(m), {
    requests: {},
    events: {
      progress: (p) => {
        const key = `${p.phase}${p.detail ?? ''}`;
        if (key !== phase) log.appendLine(`  ${PHASE_LABEL[p.phase] ?? p.phase}${p.detail ? ` ${p.detail}` : ''}`);
        phase = key;
        job.onProgress?.(p, overallPercent(p));
      },
      warning: ({ message }) => log.appendLine(`  warning: ${message}`),
    },
  });
  worker.on('message', (m) => void link.receive(m));
  let cancelled = false;
  let stopTimer: ReturnType<typeof setTimeout> | undefined;
  const sub = job.token?.onCancellationRequested(() => {
    cancelled = true;
    log.appendLine('  cancel requested');
    link.emit('cancel', {});
    // The writer checks its signal between steps; if one step runs on, stop the thread (the finally
    // below then removes what it left).
    stopTimer = setTimeout(() => void worker.terminate(), CANCEL_GRACE_MS);
  });
  const died = new Promise<never>((_, reject) => {
    worker.once('error', (e) => reject(e));
    worker.once('exit', (code) => reject(new Error(`the export worker stopped unexpectedly (exit code ${code})`)));
  });
  try {
    const m = { ...job.mapping };
    // The memory limit is a property of the machine, so it comes from the settings unless the mapping sets one.
    if (m.memoryLimit === undefined) {
      const limit = readSettings().memoryLimit;
      if (limit !== undefined) m.memoryLimit = limit;
    }
    return await Promise.race([link.request('export', { input: m.input ?? null, mapping: m }), died]);
  } catch (e) {
    if (cancelled) throw new ExportCancelled();
    throw e;
  } finally {
    clearTimeout(stopTimer);
    sub?.dispose();
    link.dispose();
    const thread = worker.threadId;
    await worker.terminate();
    // A worker that died mid-export (out of memory, crash) could not remove its temporary folder,
    // and this process's pid stays alive, so the next export would not see it as stale.
    if (job.mapping.output) await removeThreadTemporaries(job.mapping.output, thread).catch(() => undefined);
  }
}

/** The same, under a cancellable notification showing phases and percentages. */
export function exportWithProgress(
  extensionUri: vscode.Uri,
  mapping: Mapping,
  log: vscode.OutputChannel,
  onProgress?: (p: Progress, percent: number) => void,
  external?: { onCancel: (f: () => void) => void },
): Promise<WriteSummary> {
  const name = path.basename(mapping.input ?? mapping.points ?? '');
  return Promise.resolve(
    vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Exporting {0}', name), cancellable: true },
      async (progress, token) => {
        let last = 0;
        const source = new vscode.CancellationTokenSource();
        token.onCancellationRequested(() => source.cancel());
        external?.onCancel(() => source.cancel());
        try {
          return await exportInWorker(
            extensionUri,
            {
              mapping,
              token: source.token,
              onProgress: (p, percent) => {
                progress.report({ message: `${describeProgress(p)} ${percent}%`, increment: Math.max(0, percent - last) });
                last = Math.max(last, percent);
                onProgress?.(p, percent);
              },
            },
            log,
          );
        } finally {
          source.dispose();
        }
      },
    ),
  );
}

/**
 * One request to a fresh worker: previewing or inspecting a table (reading Parquet row groups or a
 * whole CSV must not block the extension host). `stop` ends it at once (panel closed, export started).
 */
export function workerRequest<K extends 'preview' | 'inspect'>(
  extensionUri: vscode.Uri,
  type: K,
  req: HostToWorker['requests'][K]['req'],
): { result: Promise<HostToWorker['requests'][K]['res']>; stop: () => void } {
  const worker = new Worker(vscode.Uri.joinPath(extensionUri, 'dist', 'exportWorker.js').fsPath);
  const link = new Endpoint<HostToWorker, WorkerToHost>((m) => worker.postMessage(m), { requests: {}, events: {} });
  worker.on('message', (m) => void link.receive(m));
  let stopped = false;
  const died = new Promise<never>((_, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(stopped ? 'stopped' : `the ${type} worker stopped (exit code ${code})`)));
  });
  const result = Promise.race([link.request(type, req), died]).finally(() => {
    link.dispose();
    void worker.terminate();
  });
  return {
    result,
    stop: () => {
      stopped = true;
      void worker.terminate();
    },
  };
}
