// The few object-store operations the bucket writer and the remote readers need. One implementation
// (s3.ts) speaks the S3 API, to AWS, to S3-compatible stores and to Google Cloud Storage's
// S3-interoperable XML API.

export interface ObjectStore {
  /** `s3://bucket/prefix`-style name of where this store points, for messages. */
  readonly url: string;
  /** Where requests go, for messages ("AWS S3", or the endpoint URL). */
  readonly endpoint: string;
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** The whole object, or null when there is none. */
  get(key: string): Promise<Uint8Array | null>;
  /** Bytes [start, end) of an object. */
  getRange(key: string, start: number, end: number): Promise<Uint8Array>;
  /** Size of an object, or null when there is none. */
  size(key: string): Promise<number | null>;
  /** Every key starting with `prefix` (stops after `limit` keys when given). */
  list(prefix: string, limit?: number): Promise<string[]>;
  /** Deletes keys; returns the ones that could not be deleted, with the reason. */
  deleteMany(keys: string[]): Promise<{ failed: string[]; reason?: string }>;
  destroy(): void;
}

export interface StoreOptions {
  /** Requests in flight at once (uploads and deletes). */
  concurrency: number;
}
