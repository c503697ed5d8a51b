// Worker thread body for parquetParallel.ts: decodes the row groups it is sent; fixed-width values
// are written into the caller's shared column buffers, other columns' buffers are transferred back.
// The file is opened once per worker.
import { parentPort } from 'node:worker_threads';
import { openParquet, readRowGroup } from './parquet.js';
import { InputError } from './errors.js';
import { toPlain, type RowGroupReply, type RowGroupRequest } from './parquetParallel.js';

let opened: { key: string; pq: Promise<Awaited<ReturnType<typeof openParquet>>> } | null = null;

/** One open file per thread; requests that arrive while it opens wait for the same opening. */
async function file(path: string, columns: string[]): Promise<Awaited<ReturnType<typeof openParquet>>> {
  const key = `${path}\0${columns.join('\0')}`;
  if (opened?.key !== key) {
    const previous = opened?.pq;
    opened = { key, pq: openParquet(path, columns) };
    await previous?.then((pq) => pq.handle.close()).catch(() => undefined);
  }
  return opened.pq;
}

parentPort?.on('message', async (m: RowGroupRequest) => {
  try {
    const batch = await readRowGroup(await file(m.path, m.columns), m.start, m.end, m.path);
    const transfer = new Set<ArrayBuffer>();
    const columns = batch.data.children.map((c, i) => {
      const into = m.into[i];
      if (!into) return toPlain(c, transfer);
      // Fixed-width values go straight into the whole-file column (shared memory): only the
      // validity bits travel back, and this thread's buffers are reused for its next row group.
      into.set(c.values as never, m.start);
      return toPlain(c, transfer, true);
    });
    parentPort!.postMessage({ id: m.id, columns } satisfies RowGroupReply, [...transfer]);
  } catch (e) {
    const err = e as Error;
    const details =
      e instanceof InputError ? { file: e.file, column: e.column, row: e.row, line: e.line, value: e.value, expected: e.expected } : undefined;
    parentPort!.postMessage({ id: m.id, error: { message: err?.message ?? String(e), details, input: e instanceof InputError } } satisfies RowGroupReply);
  }
});
