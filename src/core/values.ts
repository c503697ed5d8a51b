// The chunk values of each index, described by plain typed arrays so that the same description can
// be rebuilt in a worker thread (over shared memory) and gathered there instead of on the main thread.
import type { ValueSource } from './sharding';

interface Records {
  /** All records back to back. */
  records: Uint8Array;
  /** Fixed record size, or 0 when `recordOffsets` gives each record's start (polylines). */
  recordSize: number;
  recordOffsets?: Float64Array;
}

/** by_id: the record, then per relationship a uint32 count and the uint64 ids. */
export interface ByIdValues extends Records {
  kind: 'byId';
  rels: Array<{ offsets: Float64Array; ids: BigUint64Array }>;
}

/**
 * Values holding several annotations (by_rel entries, spatial chunks): uint64 count, the records,
 * then the uint64 ids, in one order. Key k holds members[start[k] .. start[k+1]).
 */
export interface MultiValues extends Records {
  kind: 'multi';
  ids: BigUint64Array;
  start: Uint32Array;
  members: Uint32Array;
}

export type ValueSpec = ByIdValues | MultiValues;

/** A copy of `a` in shared memory (or `a` itself when it already is), so workers read it without a copy. */
export function shared<T extends SharedArray>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  (out as Uint8Array).set(a as Uint8Array);
  return out;
}

/** The same description with every array in shared memory (copies go into `arena` when given). */
export function sharedSpec(v: ValueSpec, arena?: SharedArena): ValueSpec {
  const put = arena ? arena.placer(v) : shared;
  const base = { records: put(v.records), recordSize: v.recordSize, recordOffsets: v.recordOffsets && put(v.recordOffsets) };
  if (v.kind === 'byId') return { ...base, kind: 'byId', rels: v.rels.map((r) => ({ offsets: put(r.offsets), ids: put(r.ids) })) };
  return { ...base, kind: 'multi', ids: put(v.ids), start: put(v.start), members: put(v.members) };
}

type SharedArray = Uint8Array | Uint32Array | Float64Array | BigUint64Array;

/**
 * Shared memory reused from one source to the next for the copies of arrays that are not shared yet
 * (each shard's values in an export through temporary files; lists and members in memory). A new
 * SharedArrayBuffer per shard was freed only when every worker's isolate collected its garbage, and
 * the workers allocate almost nothing on their own heaps, so they seldom did: at 1e8 points 4 GB of
 * shard values were held by the end of by_rel. Reused only once the source is dropped (every job on
 * it done); it grows geometrically when a source needs more.
 */
export class SharedArena {
  private buffer = new SharedArrayBuffer(0);

  /** A copier into this arena for the arrays of `v` (room for all of them is made first). */
  placer(v: ValueSpec): <T extends SharedArray>(a: T) => T {
    const arrays: SharedArray[] = [v.records];
    if (v.recordOffsets) arrays.push(v.recordOffsets);
    if (v.kind === 'byId') for (const r of v.rels) arrays.push(r.offsets, r.ids);
    else arrays.push(v.ids, v.start, v.members);
    let need = 0;
    for (const a of arrays) if (!(a.buffer instanceof SharedArrayBuffer)) need += align8(a.byteLength);
    if (need > this.buffer.byteLength) this.buffer = new SharedArrayBuffer(Math.max(need, Math.ceil(this.buffer.byteLength * 1.5)));
    let at = 0;
    const buffer = this.buffer;
    return <T extends SharedArray>(a: T): T => {
      if (a.buffer instanceof SharedArrayBuffer) return a;
      const Ctor = a.constructor as new (b: SharedArrayBuffer, offset: number, length: number) => T;
      const out = new Ctor(buffer, at, a.length);
      (out as Uint8Array).set(a as Uint8Array);
      at += align8(a.byteLength);
      return out;
    };
  }
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** 32-bit words of a byte array whose offset is a multiple of 4 (a trailing partial word is left out). */
function words32(a: Uint8Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.byteLength >>> 2);
}

/** The word view of the output buffer, made once per buffer rather than once per value. */
function wordViews(): (out: Uint8Array) => Uint32Array | null {
  let last: Uint8Array | null = null;
  let view: Uint32Array | null = null;
  return (out) => {
    if (out !== last) {
      last = out;
      view = out.byteOffset % 4 === 0 ? words32(out) : null;
    }
    return view;
  };
}

/**
 * Records are padded to 4 bytes, so every value is a whole number of 32-bit words and values gathered
 * back to back from a word boundary stay aligned: copying words is ~4x faster than bytes. The byte
 * path remains for odd layouts (none today) and unaligned destinations.
 */
function isAligned(r: Records): boolean {
  if (r.records.byteOffset % 4 !== 0 || r.records.byteLength % 4 !== 0) return false;
  if (!r.recordOffsets) return r.recordSize % 4 === 0;
  for (let i = 0; i < r.recordOffsets.length; i++) if (r.recordOffsets[i] % 4 !== 0) return false;
  return true;
}

export function valueSource(v: ValueSpec): ValueSource {
  return v.kind === 'byId' ? byIdSource(v) : multiSource(v);
}

function byIdSource(v: ByIdValues): ValueSource {
  const { records, recordSize, recordOffsets } = v;
  const aligned = isAligned(v);
  const rw = aligned ? words32(records) : null;
  const outWords = wordViews();
  const rels = v.rels.map((r) => ({ offsets: r.offsets, words: new Uint32Array(r.ids.buffer, r.ids.byteOffset, 2 * r.ids.length) }));
  const recStart = (i: number) => (recordOffsets ? recordOffsets[i] : i * recordSize);
  const recLen = (i: number) => (recordOffsets ? recordOffsets[i + 1] - recordOffsets[i] : recordSize);
  return {
    size(i) {
      let size = recLen(i);
      for (const r of rels) size += 4 + 8 * (r.offsets[i + 1] - r.offsets[i]);
      return size;
    },
    write(i, out, at) {
      const from = recStart(i);
      const len = recLen(i);
      const ow = rw && at % 4 === 0 ? outWords(out) : null;
      if (rw && ow) {
        let w = at >>> 2;
        for (let s = from >>> 2, e = (from + len) >>> 2; s < e; s++) ow[w++] = rw[s];
        for (const r of rels) {
          const s = r.offsets[i];
          const e = r.offsets[i + 1];
          ow[w++] = e - s;
          for (let t = 2 * s; t < 2 * e; t++) ow[w++] = r.words[t];
        }
        return;
      }
      copyBytes(records, from, out, at, len);
      at += len;
      for (const r of rels) {
        const s = r.offsets[i];
        const e = r.offsets[i + 1];
        putU32(out, at, e - s);
        at += 4;
        for (let t = 2 * s; t < 2 * e; t++, at += 4) putU32(out, at, r.words[t]);
      }
    },
  };
}

function multiSource(v: MultiValues): ValueSource {
  const { records, recordSize, recordOffsets, start, members } = v;
  const aligned = isAligned(v);
  const rw = aligned ? words32(records) : null;
  const outWords = wordViews();
  const idw = new Uint32Array(v.ids.buffer, v.ids.byteOffset, 2 * v.ids.length);
  const recStart = (i: number) => (recordOffsets ? recordOffsets[i] : i * recordSize);
  const recLen = (i: number) => (recordOffsets ? recordOffsets[i + 1] - recordOffsets[i] : recordSize);
  return {
    size(k) {
      const count = start[k + 1] - start[k];
      if (!recordOffsets) return 8 + (recordSize + 8) * count;
      let size = 8 + 8 * count;
      for (let j = start[k]; j < start[k + 1]; j++) size += recLen(members[j]);
      return size;
    },
    write(k, out, at) {
      const count = start[k + 1] - start[k];
      const ow = rw && at % 4 === 0 ? outWords(out) : null;
      if (rw && ow) {
        let w = at >>> 2;
        ow[w++] = count;
        ow[w++] = 0; // counts stay below 2^32
        for (let j = start[k]; j < start[k + 1]; j++) {
          const i = members[j];
          const from = recStart(i);
          for (let s = from >>> 2, e = (from + recLen(i)) >>> 2; s < e; s++) ow[w++] = rw[s];
        }
        for (let j = start[k]; j < start[k + 1]; j++) {
          const i = members[j];
          ow[w++] = idw[2 * i];
          ow[w++] = idw[2 * i + 1];
        }
        return;
      }
      putU32(out, at, count);
      putU32(out, at + 4, 0);
      at += 8;
      for (let j = start[k]; j < start[k + 1]; j++) {
        const i = members[j];
        const len = recLen(i);
        copyBytes(records, recStart(i), out, at, len);
        at += len;
      }
      for (let j = start[k]; j < start[k + 1]; j++) {
        const i = members[j];
        putU32(out, at, idw[2 * i]);
        putU32(out, at + 4, idw[2 * i + 1]);
        at += 8;
      }
    },
  };
}

/** Copies `len` bytes; a plain loop beats creating a subarray for short records. */
function copyBytes(src: Uint8Array, from: number, out: Uint8Array, at: number, len: number): void {
  if (len > 64) out.set(src.subarray(from, from + len), at);
  else for (let b = 0; b < len; b++) out[at + b] = src[from + b];
}

function putU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = v >>> 24;
}
