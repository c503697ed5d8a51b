// Runs in a worker_threads Worker started by the extension host (dist/exportWorker.js), so a long
// export never blocks the extension host. It calls the core writer and reports progress back.
import { parentPort } from 'node:worker_threads';
import { writePrecomputedAnnotations } from '../core/write';
import { mappingCoordSpace, mappingToWriteOptions } from '../mapping';
import { Endpoint, type HostToWorker, type WorkerToHost } from './protocol';

const port = parentPort;
if (!port) throw new Error('exportWorker.js must run in a worker thread');

let abort: AbortController | null = null;

const host: Endpoint<WorkerToHost, HostToWorker> = new Endpoint<WorkerToHost, HostToWorker>((m) => port.postMessage(m), {
  requests: {
    export: async ({ input, mapping }) => {
      abort = new AbortController();
      const options = mappingToWriteOptions(mapping);
      const summary = await writePrecomputedAnnotations(input, mappingCoordSpace(mapping), mapping.annotationType, {
        ...options,
        signal: abort.signal,
        onProgress: (p) => host.emit('progress', p),
        onWarning: (message) => host.emit('warning', { message }),
      });
      abort = null;
      return summary;
    },
  },
  events: {
    cancel: () => abort?.abort(new Error('Export cancelled')),
  },
});

port.on('message', (m) => void host.receive(m));
