// The arrays every index reads (records, ids, relationship lists) are allocated in shared memory
// from the start, so the worker threads read them in place: moving them there afterwards would hold
// two copies at once (gigabytes at 1e8 annotations). Single-threaded runs lose nothing by it.

export function sharedBytes(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n));
}

export function sharedU64(n: number): BigUint64Array {
  return new BigUint64Array(new SharedArrayBuffer(8 * n));
}

export function sharedF64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * n));
}
