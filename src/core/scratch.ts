// Reused working memory. Fresh memory costs a page fault per 4 KB on first touch, and each large
// array is a fresh mapping: in a virtual machine like our benchmark machine that was a third of the
// streamed export's CPU (1.6M faults, 23 s of kernel time at 1e7 points). Steps that allocate the
// same temporaries call after call (sorts, reading a temporary file, gathering values to compress)
// take them from here instead: one grow-only buffer per use, per thread.
//
// A view from here is valid until the next call for the same use on this thread, and its contents
// are whatever was there: callers overwrite every element they read. Only threads that turn it on
// keep scratch (the shard workers, whose jobs are many and alike), up to TOTAL_BYTES each; elsewhere,
// and beyond that, every call gets fresh zeroed memory, so the main thread of a large export does not
// keep hundreds of MB it no longer needs, and an idle worker holds little. At points 1e7 streamed a
// budget of 256 MB a worker peaked at 1.50 GB, 128 MB at 1.35 GB, 96 MB at 1.16 GB, with about as
// many page faults each (1.0-1.15M, against 1.6M with no scratch).

const TOTAL_BYTES = 96 << 20;
let total = 0;

const buffers = new Map<string, ArrayBuffer>();
let enabled = false;

/** Keeps scratch on this thread from now on. */
export function keepScratch(): void {
  enabled = true;
}

/** Is `v` a view of scratch (to be copied before it outlives its step)? */
export function isScratch(v: ArrayBufferView): boolean {
  for (const b of buffers.values()) if (b === v.buffer) return true;
  return false;
}

function take(use: string, bytes: number): ArrayBuffer | null {
  if (!enabled) return null;
  const had = buffers.get(use);
  if (had && had.byteLength >= bytes) return had;
  // Grown by at least half, so a slowly growing size does not map afresh every time.
  const size = Math.max(bytes, Math.ceil((had?.byteLength ?? 0) * 1.5), 4096);
  const rest = total - (had?.byteLength ?? 0);
  if (rest + bytes > TOTAL_BYTES) return null;
  const b = new ArrayBuffer(Math.min(size, TOTAL_BYTES - rest));
  buffers.set(use, b);
  total = rest + b.byteLength;
  return b;
}

/** `n` bytes of scratch (not zeroed) for `use`, or fresh zeroed bytes when too large to keep. */
export function scratchBytes(use: string, n: number): Uint8Array {
  const b = take(use, n);
  return b ? new Uint8Array(b, 0, n) : new Uint8Array(n);
}

/** `n` uint32 of scratch for `use` (see scratchBytes). */
export function scratchU32(use: string, n: number): Uint32Array {
  const b = take(use, 4 * n);
  return b ? new Uint32Array(b, 0, n) : new Uint32Array(n);
}

/** `n` uint64 of scratch for `use` (see scratchBytes). */
export function scratchU64(use: string, n: number): BigUint64Array {
  const b = take(use, 8 * n);
  return b ? new BigUint64Array(b, 0, n) : new BigUint64Array(n);
}

/** `n` float64 of scratch for `use` (see scratchBytes). */
export function scratchF64(use: string, n: number): Float64Array {
  const b = take(use, 8 * n);
  return b ? new Float64Array(b, 0, n) : new Float64Array(n);
}
