// A loopback http server for remote-input tests: serves files from a folder with HEAD, GET and single
// byte ranges (206), and counts the requests and the body bytes it sent, so a test can show that a
// reader fetched only part of a file.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

export interface RangeServer {
  url: string;
  /** Requests so far, as "METHOD /path [range]". */
  seen: string[];
  /** Body bytes sent so far. */
  bytesSent: number;
  reset(): void;
  close(): Promise<void>;
}

export async function startRangeServer(root: string): Promise<RangeServer> {
  const state = { seen: [] as string[], bytesSent: 0 };
  const server = http.createServer((req, res) => {
    const range = req.headers.range;
    state.seen.push(`${req.method} ${req.url}${range ? ` ${range}` : ''}`);
    const file = path.join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const size = fs.statSync(file).size;
    // Only the requested bytes are read from disk (a large file is asked for in many small ranges).
    const read = (start: number, end: number) => {
      const b = Buffer.alloc(end - start);
      const fd = fs.openSync(file, 'r');
      try {
        fs.readSync(fd, b, 0, b.length, start);
      } finally {
        fs.closeSync(fd);
      }
      return b;
    };
    let body: Buffer | null = null;
    let length = size;
    let status = 200;
    const headers: http.OutgoingHttpHeaders = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    const m = range && /^bytes=(\d+)-(\d*)$/.exec(range);
    if (m) {
      const start = Number(m[1]);
      const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
      if (start >= size || end < start) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      length = end - start + 1;
      if (req.method !== 'HEAD') body = read(start, end + 1);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['content-length'] = length;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return res.end();
    state.bytesSent += length;
    if (body) res.end(body);
    else fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get seen() {
      return state.seen;
    },
    get bytesSent() {
      return state.bytesSent;
    },
    reset() {
      state.seen = [];
      state.bytesSent = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
