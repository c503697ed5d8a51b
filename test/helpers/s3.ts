// A real S3-compatible server on loopback for the bucket tests: s3rver in a child process (so a test
// can kill it mid-upload), a small fault proxy in front of it (answers chosen requests itself, e.g. a
// burst of 503 SlowDown or a 403 on PUT, and forwards the rest), and a client to read back.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { S3Client, ListObjectsCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface S3Server {
  port: number;
  endpoint: string;
  dir: string;
  child: ChildProcess;
  /** Environment for the CLI: endpoint, the server's keys, no other AWS configuration. */
  env(endpoint?: string): NodeJS.ProcessEnv;
  kill(): void;
  close(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1 on a free port with `buckets`; fails after 15 s with what it waited for. */
export async function startS3rver(buckets: string[], opts: { cors?: boolean } = {}): Promise<S3Server> {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'ng-s3rver-'));
  const child = spawn(process.execPath, [path.join(__dirname, 's3rver-main.cjs'), JSON.stringify({ dir, buckets, cors: opts.cors ?? false })], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not print its port within 15 s; stderr: ${stderr}`)), 15_000);
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited (${code}) before listening; stderr: ${stderr}`));
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const server: S3Server = {
    port,
    endpoint,
    dir,
    child,
    env: (ep = endpoint) => s3Env(ep),
    kill: () => {
      child.kill('SIGKILL');
    },
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** The CLI's environment for an S3-compatible endpoint with s3rver's default keys. */
export function s3Env(endpoint: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('GCS_')) env[k] = v;
  return {
    ...env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

export function client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Every key under `prefix` (with its trailing '/'), relative to it, sorted. */
export async function listKeys(c: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let marker: string | undefined;
  for (;;) {
    const r = await c.send(new ListObjectsCommand({ Bucket: bucket, Prefix: prefix, Marker: marker }));
    const page = r.Contents ?? [];
    for (const o of page) out.push(o.Key!.slice(prefix.length));
    if (!r.IsTruncated || page.length === 0) break;
    marker = page[page.length - 1].Key;
  }
  return out.sort();
}

/** Downloads every object under `prefix` into `dir` (object by object); returns relative key → bytes. */
export async function download(c: S3Client, bucket: string, prefix: string, dir: string): Promise<Map<string, Buffer>> {
  const m = new Map<string, Buffer>();
  for (const key of await listKeys(c, bucket, prefix)) {
    const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + key }));
    const bytes = Buffer.from(await r.Body!.transformToByteArray());
    m.set(key, bytes);
    fs.mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
    fs.writeFileSync(path.join(dir, key), bytes);
  }
  return m;
}

export async function head(c: S3Client, bucket: string, key: string): Promise<{ contentType?: string; contentEncoding?: string }> {
  const r = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return { contentType: r.ContentType, contentEncoding: r.ContentEncoding };
}

export interface FaultProxy {
  endpoint: string;
  /** Requests seen so far, as "METHOD path". */
  seen: string[];
  /** Response body bytes passed back from the server so far. */
  bytesOut: number;
  close(): Promise<void>;
}

/**
 * A loopback proxy in front of `target` (host:port). `fault(req, n)` may answer a request itself
 * (return status and S3 error code) instead of forwarding it; n counts requests from 1.
 */
export async function startFaultProxy(targetPort: number, fault: (method: string, url: string, n: number) => { status: number; code: string } | null): Promise<FaultProxy> {
  const seen: string[] = [];
  const counted = { bytes: 0 };
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const f = fault(req.method ?? 'GET', req.url ?? '/', seen.length);
    if (f) {
      req.resume();
      req.on('end', () => {
        res.writeHead(f.status, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${f.code}</Code><Message>injected by the test proxy</Message></Error>`);
      });
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.on('data', (c: Buffer) => (counted.bytes += c.length));
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    get bytesOut() {
      return counted.bytes;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
