// The S3 API through the official client (@aws-sdk/client-s3), for s3:// (AWS and S3-compatible
// stores) and gs:// (Google Cloud Storage's S3-interoperable XML API with HMAC keys). Loaded only
// when a bucket URL is used: it is bundled apart from the core (dist/buckets.js).
//
// Credentials: s3:// takes the SDK's standard chain (environment, shared config and credentials
// files with AWS_PROFILE, SSO, web identity, container and instance roles); AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL point it at another store, addressed path-style (http://host/bucket/key).
// gs:// takes an HMAC key from GCS_HMAC_ACCESS_KEY_ID / GCS_HMAC_SECRET_ACCESS_KEY and talks to
// https://storage.googleapis.com (or GCS_ENDPOINT_URL).
//
// Requests are retried by the SDK's standard strategy (exponential backoff with jitter on
// throttling, 5xx, timeouts and dropped connections), 6 attempts unless AWS_MAX_ATTEMPTS says
// otherwise. Checksums only where the API requires them: several S3-compatible stores and GCS
// reject the newer default ones. Objects above 16 MiB go up as multipart uploads.
import * as http from 'node:http';
import * as https from 'node:https';
import {
  S3Client,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  DeleteObjectsCommand,
  DeleteObjectCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { ExportError } from '../core/errors';
import { runLimited } from '../core/storage';
import type { BucketUrl } from './url';
import type { ObjectStore, StoreOptions } from './objects';

/** Objects at least this large go up in parts (8 MiB each, 4 at once per object). */
export const MULTIPART_THRESHOLD = 16 << 20;
const PART_SIZE = 8 << 20;

/** Why a request failed, as one line naming the URL and what to do. */
export function describeS3Error(e: unknown, op: string, where: string, endpoint: string, scheme: 's3' | 'gs'): ExportError {
  const err = e as { name?: string; Code?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; cause?: { code?: string } };
  // A response without a body (HEAD) has no error code: the SDK calls it 'Unknown'; the status says more.
  const name = (err?.name === 'Unknown' ? '' : err?.name) ?? err?.Code ?? '';
  const status = err?.$metadata?.httpStatusCode;
  const code = err?.code ?? err?.cause?.code ?? '';
  const keysHint =
    scheme === 'gs'
      ? 'set GCS_HMAC_ACCESS_KEY_ID and GCS_HMAC_SECRET_ACCESS_KEY to an HMAC key (Cloud Storage settings, Interoperability)'
      : 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (aws configure / aws sso login)';
  let why: string;
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(err?.message ?? '')) {
    why = `no credentials were found; ${keysHint}`;
  } else if (name === 'NoSuchBucket') {
    why = `the bucket does not exist at ${endpoint}; create it first or check its name${scheme === 's3' ? ' and AWS_ENDPOINT_URL' : ''}`;
  } else if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'InvalidToken' || name === 'ExpiredToken' || name === 'TokenRefreshRequired') {
    why = `the credentials were rejected (${name}); ${keysHint}`;
  } else if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    why = `access denied (${name || 403}); the credentials are not allowed to ${op === 'upload' ? 'write' : op === 'delete' ? 'delete' : 'read or list'} there`;
  } else if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'].includes(code) || name === 'TimeoutError') {
    why = `cannot reach ${endpoint} (${code || name}) after retrying; check the network${scheme === 's3' ? ' and AWS_ENDPOINT_URL' : ' and GCS_ENDPOINT_URL'}`;
  } else if (status !== undefined && status >= 500) {
    why = `the server kept failing (${name || status}, HTTP ${status}) after retrying; try again later`;
  } else if (/Region is missing/i.test(err?.message ?? '')) {
    why = 'no region is configured; set AWS_REGION';
  } else {
    why = `${name || 'error'}${status ? ` (HTTP ${status})` : ''}: ${(err?.message ?? String(e)).split('\n')[0]}`;
  }
  return new ExportError(`Cannot ${op} ${where}: ${why}`);
}

function envMaxAttempts(): number | undefined {
  return process.env.AWS_MAX_ATTEMPTS ? undefined : 6;
}

async function makeClient(url: BucketUrl, options: StoreOptions): Promise<{ client: S3Client; endpoint: string }> {
  // The client warns once per process that its releases after January 2027 will need Node 22; our
  // users cannot act on that mid-export, so it stays quiet unless they set the variable themselves.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const agentOptions = { keepAlive: true, maxSockets: Math.max(8, options.concurrency + 4) };
  const base: S3ClientConfig = {
    maxAttempts: envMaxAttempts(),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: 10_000,
      requestTimeout: 300_000,
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
    },
  };
  if (url.scheme === 'gs') {
    const endpoint = process.env.GCS_ENDPOINT_URL || 'https://storage.googleapis.com';
    const accessKeyId = process.env.GCS_HMAC_ACCESS_KEY_ID;
    const secretAccessKey = process.env.GCS_HMAC_SECRET_ACCESS_KEY;
    const config: S3ClientConfig = { ...base, region: 'auto', endpoint, forcePathStyle: true };
    if (accessKeyId && secretAccessKey) config.credentials = { accessKeyId, secretAccessKey };
    else
      config.credentials = async () => {
        throw Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' });
      };
    return { client: new S3Client(config), endpoint };
  }
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL;
  const config: S3ClientConfig = { ...base };
  if (endpoint) {
    config.endpoint = endpoint;
    config.forcePathStyle = true;
  } else {
    config.followRegionRedirects = true;
  }
  let region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  if (!region) {
    // The profile's region if there is one, else us-east-1 (S3 redirects to the bucket's region).
    const probe = new S3Client({});
    try {
      region = await probe.config.region();
    } catch {
      region = 'us-east-1';
    } finally {
      probe.destroy();
    }
  }
  config.region = region;
  return { client: new S3Client(config), endpoint: endpoint ?? 'AWS S3' };
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || (err?.$metadata?.httpStatusCode === 404 && err?.name !== 'NoSuchBucket');
}

export class S3Store implements ObjectStore {
  private constructor(
    private readonly client: S3Client,
    private readonly target: BucketUrl,
    readonly endpoint: string,
  ) {}

  get url(): string {
    return this.target.url;
  }

  static async open(url: BucketUrl, options: StoreOptions): Promise<S3Store> {
    const { client, endpoint } = await makeClient(url, options);
    return new S3Store(client, url, endpoint);
  }

  private where(key: string): string {
    return `${this.target.scheme}://${this.target.bucket}/${key}`;
  }

  fail(e: unknown, op: string, key?: string): ExportError {
    return describeS3Error(e, op, key === undefined ? this.target.url : this.where(key), this.endpoint, this.target.scheme);
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    const Bucket = this.target.bucket;
    try {
      if (body.byteLength >= MULTIPART_THRESHOLD) {
        const { Upload } = await import('@aws-sdk/lib-storage');
        await new Upload({
          client: this.client,
          params: { Bucket, Key: key, Body: body, ContentType: contentType },
          partSize: PART_SIZE,
          queueSize: 4,
          leavePartsOnError: false,
        }).done();
      } else {
        await this.client.send(new PutObjectCommand({ Bucket, Key: key, Body: body, ContentType: contentType, ContentLength: body.byteLength }));
      }
    } catch (e) {
      throw this.fail(e, 'upload', key);
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.target.bucket, Key: key }));
      return await r.Body!.transformToByteArray();
    } catch (e) {
      if (isNotFound(e)) return null;
      throw this.fail(e, 'read', key);
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array(0);
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.target.bucket, Key: key, Range: `bytes=${start}-${end - 1}` }));
      return await r.Body!.transformToByteArray();
    } catch (e) {
      throw this.fail(e, 'read', key);
    }
  }

  async size(key: string): Promise<number | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.target.bucket, Key: key }));
      return r.ContentLength ?? 0;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw this.fail(e, 'read', key);
    }
  }

  async list(prefix: string, limit?: number): Promise<string[]> {
    // ListObjects (v1) with a marker rather than v2's continuation tokens: every S3-compatible store
    // and GCS's XML API page it the same way (s3rver's v2 tokens need a cipher OpenSSL 3 dropped).
    const keys: string[] = [];
    let marker: string | undefined;
    try {
      for (;;) {
        const r = await this.client.send(
          new ListObjectsCommand({ Bucket: this.target.bucket, Prefix: prefix, Marker: marker, MaxKeys: limit !== undefined ? Math.min(1000, limit) : undefined }),
        );
        const page = r.Contents ?? [];
        for (const o of page) if (o.Key !== undefined) keys.push(o.Key);
        if (!r.IsTruncated || page.length === 0 || (limit !== undefined && keys.length >= limit)) break;
        marker = r.NextMarker ?? page[page.length - 1].Key;
      }
    } catch (e) {
      throw this.fail(e, 'list');
    }
    return keys;
  }

  async deleteMany(keys: string[]): Promise<{ failed: string[]; reason?: string }> {
    const failed: string[] = [];
    let reason: string | undefined;
    const Bucket = this.target.bucket;
    if (this.target.scheme === 'gs') {
      // The XML API has no batch delete: one request per object, a few at once (a failure is noted, not thrown).
      await runLimited(8, keys.length, async (i) => {
        const key = keys[i];
        try {
          await this.client.send(new DeleteObjectCommand({ Bucket, Key: key }));
        } catch (e) {
          if (isNotFound(e)) return;
          failed.push(key);
          reason ??= this.fail(e, 'delete', key).message;
        }
      });
      return { failed, reason };
    }
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        const r = await this.client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
        for (const err of r.Errors ?? []) {
          if (err.Code === 'NoSuchKey') continue;
          failed.push(err.Key ?? '?');
          reason ??= `${err.Code}: ${err.Message}`;
        }
      } catch (e) {
        failed.push(...batch);
        reason ??= this.fail(e, 'delete').message;
      }
    }
    return { failed, reason };
  }

  destroy(): void {
    this.client.destroy();
  }
}
