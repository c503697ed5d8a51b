// Runs in a worker_threads Worker started by the extension host (dist/exportWorker.js), so a long
// export never blocks the extension host. It calls the core writer and reports progress back.
import { parentPort } from 'node:worker_threads';
import { planProperties } from '../core/properties';
import { writePrecomputedAnnotations } from '../export/run';
import { previewTable, readTable } from '../io/index';
import { mappingCoordSpace, mappingToWriteOptions } from '../shared/mapping';
import { Endpoint, type HostToWorker, type InspectedProperty, type WorkerToHost } from '../shared/protocol';

const MAX_LABELS = 50;

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
    preview: ({ input, rows }) => previewTable(input, rows),
    inspect: async ({ input, columns, properties }) => {
      // A property is one column, or colour channels <id>_r/_g/_b[/_a]; read only those.
      const have = new Set(columns);
      const sources = (id: string) => (have.has(id) ? [id] : ['_r', '_g', '_b', '_a'].map((c) => id + c).filter((c) => have.has(c)));
      const needed = [...new Set(properties.flatMap(sources))];
      abort = new AbortController();
      const table = await readTable(input, { columns: needed, signal: abort.signal });
      abort = null;
      const out: InspectedProperty[] = properties.map((id) => {
        try {
          const [plan] = planProperties(table, [{ id }], () => {});
          const spec = { ...plan!.spec };
          const labels = spec.enum_labels?.length ?? 0;
          if (labels > MAX_LABELS) {
            spec.enum_labels = spec.enum_labels!.slice(0, MAX_LABELS);
            delete spec.enum_values;
            return { id, spec, labelCount: labels };
          }
          return { id, spec };
        } catch (e) {
          return { id, error: e instanceof Error ? e.message : String(e) };
        }
      });
      return { rows: table.numRows, properties: out };
    },
  },
  events: {
    cancel: () => abort?.abort(new Error('Export cancelled')),
  },
});

port.on('message', (m) => void host.receive(m));
