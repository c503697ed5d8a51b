// Loopback preview server: serves one dataset folder (and optionally a bundled viewer under
// /viewer/) to neuroglancer running in a browser. node:http only. Read-only, loopback-only,
// CORS-open (the page is on another origin), HTTP Range for shard reads, never compressed.
import { constants as fsc } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { decideRange } from './range';
import { resolveUnder, splitRequestPath } from './paths';

export interface PreviewServerOptions {
  /** The dataset folder (the one holding `info`). Nothing outside it is served. */
  root: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Only `'127.0.0.1'` is accepted: the server must never be reachable from the network. */
  host?: string;
  /** A viewer build (with `index.html`) served under `/viewer/`; that prefix is then reserved. */
  viewerDir?: string;
  /** Socket limits (defaults in SERVER_LIMITS); tests shorten the timeouts. */
  limits?: Partial<ServerLimits>;
}

export interface ServerLimits {
  /** A connection must send a request's complete headers within this time (slow or idle clients). */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** A socket with no traffic either way is closed after this (a client that stopped reading). */
  idleTimeoutMs: number;
  /** Connections open at once; more are closed on arrival. Browsers open 6 per host. */
  maxConnections: number;
}

/**
 * Idle or slow sockets are closed on these timeouts so they cannot pile up; the connection cap bounds
 * the memory a flood of connections takes. neuroglancer's fetches complete in milliseconds here, and a
 * browser keeps at most 6 connections per host, so none of these is near what a viewer does.
 */
export const SERVER_LIMITS: ServerLimits = { headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, idleTimeoutMs: 30_000, maxConnections: 256 };

export interface PreviewServer {
  /** `http://127.0.0.1:PORT/` — the dataset's source URL. */
  url: string;
  port: number;
  /**
   * Also answers requests addressed to `host` (a host name, any port): the public name of a proxy
   * that forwards to this server and keeps the browser's Host header, e.g. code-server's
   * `/proxy/<port>/` as `vscode.env.asExternalUri` returns it.
   */
  allowHost(host: string): void;
  close(): Promise<void>;
}

const ALLOW = 'GET, HEAD, OPTIONS';
// Headers neuroglancer's fetch may send cross-origin (Range forces a preflight) and response headers
// it reads: Content-Range from 206 answers (parse206ContentRangeHeader), Content-Length for sizes.
const ALLOW_HEADERS = 'Range, If-Range, If-None-Match, If-Modified-Since, Cache-Control, Pragma';
const EXPOSE_HEADERS = 'Content-Range, Content-Length, Accept-Ranges, ETag, Last-Modified';

const VIEWER_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export async function startPreviewServer(options: PreviewServerOptions): Promise<PreviewServer> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') {
    throw new Error(`Preview server binds to 127.0.0.1 only; refusing host ${JSON.stringify(host)}`);
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`Invalid port ${JSON.stringify(port)}: expected an integer 0..65535`);
  }
  const rootReal = await realDir(options.root, 'Dataset folder');
  const viewerReal = options.viewerDir === undefined ? undefined : await realDir(options.viewerDir, 'Viewer folder');

  const hosts = new Set(LOOPBACK_HOSTS);
  const limits = { ...SERVER_LIMITS, ...options.limits };
  const server = http.createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: Math.max(limits.headersTimeoutMs, limits.idleTimeoutMs),
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often Node checks the two timeouts above (default 30 s, longer than they are).
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, limits.headersTimeoutMs / 4)),
  }, (req, res) => {
    // DNS rebinding: a page on attacker.example, re-resolved to 127.0.0.1, reaches this port as a
    // same-origin request and could read the dataset; its Host header still names attacker.example.
    // Clients without a Host header (HTTP/1.0 tools) are not browsers, so not that attack.
    const host = req.headers.host;
    if (host !== undefined && !hosts.has(hostName(host))) {
      send(res, req.method === 'HEAD', 421, 'Misdirected request: this preview server answers to 127.0.0.1, localhost and [::1] only\n');
      return;
    }
    handle(req, res, rootReal, viewerReal).catch(() => {
      // Errors after headers were sent (client gone, file vanished mid-stream): just drop the socket.
      if (!res.headersSent) send(res, req.method === 'HEAD', 500, 'Internal error\n');
      else res.destroy();
    });
  });
  server.maxConnections = limits.maxConnections;
  server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
  // Keep-alive sockets would hold close() open; they are destroyed in close() below.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/`,
    port: bound,
    allowHost: (name) => {
      hosts.add(hostName(name));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Host names that only ever resolve to this machine, so no other site can take them over. */
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

/** The name in a Host header (`[::1]:8080` → `[::1]`, `LocalHost.` → `localhost`), lower case. */
function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d*$/, '');
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

async function realDir(dir: string, what: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(dir);
  } catch {
    throw new Error(`${what} not found: ${dir}`);
  }
  if (!(await stat(real)).isDirectory()) throw new Error(`${what} is not a directory: ${dir}`);
  return real;
}

function corsHeaders(res: http.ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // A re-export replaces files in place; a cached `info` or shard would silently mix old and new.
  res.setHeader('Cache-Control', 'no-store');
}

function send(res: http.ServerResponse, head: boolean, status: number, body: string, extra?: Record<string, string>): void {
  corsHeaders(res);
  for (const [k, v] of Object.entries(extra ?? {})) res.setHeader(k, v);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.writeHead(status);
  res.end(head ? undefined : body);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad request\n', 403: 'Forbidden\n', 404: 'Not found\n' };

async function handle(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rootReal: string,
  viewerReal: string | undefined,
): Promise<void> {
  const method = req.method ?? '';
  const head = method === 'HEAD';
  if (method === 'OPTIONS') {
    corsHeaders(res);
    res.setHeader('Allow', ALLOW);
    if (req.headers['access-control-request-method'] !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', ALLOW);
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      // Chrome's private/local network access preflight for a public page reading 127.0.0.1.
      if (req.headers['access-control-request-private-network'] !== undefined) {
        res.setHeader('Access-Control-Allow-Private-Network', 'true');
      }
    }
    res.setHeader('Content-Length', '0');
    res.writeHead(204);
    res.end();
    return;
  }
  if (method !== 'GET' && !head) {
    send(res, false, 405, 'Method not allowed\n', { Allow: ALLOW });
    return;
  }
  const target = req.url ?? '';
  let baseReal = rootReal;
  let segments: string[];
  let viewer = false;
  const pathOnly = target.split(/[?#]/, 1)[0];
  if (viewerReal !== undefined && (pathOnly === '/viewer' || pathOnly === '/viewer/')) {
    if (pathOnly === '/viewer') {
      // Relative URLs in index.html need the trailing slash.
      send(res, head, 301, 'Moved\n', { Location: '/viewer/' });
      return;
    }
    baseReal = viewerReal;
    segments = ['index.html'];
    viewer = true;
  } else {
    const split = splitRequestPath(target);
    if (!Array.isArray(split)) {
      send(res, head, split.status, STATUS_TEXT[split.status]);
      return;
    }
    segments = split;
    if (viewerReal !== undefined && segments[0] === 'viewer') {
      baseReal = viewerReal;
      segments = segments.slice(1);
      viewer = true;
    }
  }
  const resolved = await resolveUnder(baseReal, segments);
  if (!resolved.ok) {
    send(res, head, resolved.status, STATUS_TEXT[resolved.status]);
    return;
  }
  const contentType = viewer
    ? (VIEWER_TYPES[path.extname(resolved.file).toLowerCase()] ?? 'application/octet-stream')
    : segments.length === 1 && segments[0] === 'info'
      ? 'application/json'
      : 'application/octet-stream';
  await serveFile(req, res, resolved.file, contentType, head);
}

async function serveFile(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  file: string,
  contentType: string,
  head: boolean,
): Promise<void> {
  // O_NONBLOCK: if the file was swapped for a FIFO after the check, open must not hang.
  let fh;
  try {
    fh = await open(file, fsc.O_RDONLY | fsc.O_NONBLOCK | (fsc.O_NOFOLLOW ?? 0));
  } catch {
    send(res, head, 404, STATUS_TEXT[404]);
    return;
  }
  try {
    const st = await fh.stat(); // size of what we actually stream, not of an earlier stat
    if (!st.isFile()) {
      send(res, head, 404, STATUS_TEXT[404]);
      return;
    }
    const size = st.size;
    const etag = `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    corsHeaders(res);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', st.mtime.toUTCString());
    res.setHeader('Content-Type', contentType);

    const inm = req.headers['if-none-match'];
    if (inm !== undefined && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
      res.writeHead(304);
      res.end();
      return;
    }
    let rangeHeader = req.headers.range;
    const ifRange = req.headers['if-range'] as string | undefined;
    // If-Range with a stale validator: the client's pieces are from another version → send all.
    if (rangeHeader !== undefined && ifRange !== undefined && ifRange.trim() !== etag) rangeHeader = undefined;
    const decision = decideRange(rangeHeader, size);
    if (decision.kind === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${size}`);
      res.setHeader('Content-Length', '0');
      res.writeHead(416);
      res.end();
      return;
    }
    let start = 0;
    let end = size - 1;
    if (decision.kind === 'partial') {
      ({ start, end } = decision);
      res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
      res.statusCode = 206;
    } else {
      res.statusCode = 200;
    }
    const length = end - start + 1;
    res.setHeader('Content-Length', String(length));
    if (head || length === 0) {
      res.end();
      return;
    }
    const stream = fh.createReadStream({ start, end, autoClose: false });
    // pipeline destroys the read stream when the client aborts, and rejects; nothing to report then.
    await pipeline(stream, res).catch(() => res.destroy());
  } finally {
    await fh.close().catch(() => {});
  }
}
