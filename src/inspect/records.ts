// Decoding of annotation values (annotations.md "Single annotation encoding" and "Multiple annotation
// encoding"): record boundaries, the relationship section of by_id values, and per-record checks.
import type { AnnotationInfo } from './info';
import { fixedGeometryBytes, PROP_BYTES } from './info';

/** neuroglancer's polyline deserializer gives up beyond this many vertices (annotation/index.ts). */
export const MAX_POLYLINE_VERTICES = 100_000;

export interface RecordView {
  start: number;
  end: number;
}

/** End offset of the record starting at `off`, or an error message if it does not fit in `buf`. */
export function recordEnd(buf: Buffer, off: number, info: AnnotationInfo): number | string {
  const { rank, type, propertyBytes } = info;
  let end: number;
  if (type === 'polyline') {
    if (off + 4 > buf.length) return `truncated polyline header at byte ${off}`;
    const n = buf.readUInt32LE(off);
    if (n < 2) return `polyline with ${n} vertices at byte ${off} (neuroglancer needs at least 2)`;
    if (n > MAX_POLYLINE_VERTICES) return `polyline with ${n} vertices at byte ${off} (neuroglancer reads at most ${MAX_POLYLINE_VERTICES})`;
    end = off + 4 + 4 * rank * n + propertyBytes;
  } else {
    end = off + fixedGeometryBytes(type, rank) + propertyBytes;
  }
  if (end > buf.length) return `record at byte ${off} needs ${end - off} bytes, only ${buf.length - off} left`;
  return end;
}

/** Axis-aligned extent of a record's geometry, written into lo/hi; false if a coordinate is not finite. */
export function recordExtent(buf: Buffer, r: RecordView, info: AnnotationInfo, lo: Float64Array, hi: Float64Array): boolean {
  const { rank, type } = info;
  lo.fill(Infinity);
  hi.fill(-Infinity);
  if (type === 'ellipsoid') {
    for (let d = 0; d < rank; d++) {
      const c = buf.readFloatLE(r.start + 4 * d);
      const rad = Math.abs(buf.readFloatLE(r.start + 4 * (rank + d)));
      lo[d] = c - rad;
      hi[d] = c + rad;
    }
  } else {
    // Every vertex of the geometry: 1 for points, 2 for lines and boxes, N for polylines.
    const first = type === 'polyline' ? r.start + 4 : r.start;
    const n = type === 'point' ? 1 : type === 'polyline' ? buf.readUInt32LE(r.start) : 2;
    for (let i = 0, off = first; i < n; i++) {
      for (let d = 0; d < rank; d++, off += 4) {
        const v = buf.readFloatLE(off);
        if (v < lo[d]) lo[d] = v;
        if (v > hi[d]) hi[d] = v;
      }
    }
  }
  for (let d = 0; d < rank; d++) if (!Number.isFinite(lo[d]) || !Number.isFinite(hi[d])) return false;
  return true;
}

/** Problems with property values of one record (enum values not declared; nonzero padding). */
export function checkProperties(buf: Buffer, r: RecordView, info: AnnotationInfo): string | undefined {
  const base = r.end - info.propertyBytes;
  let used = 0;
  for (const p of info.properties) {
    const at = base + p.offset;
    used = Math.max(used, p.offset + PROP_BYTES[p.type]);
    if (p.enumValues === undefined) continue;
    let v: number;
    switch (p.type) {
      case 'uint8': v = buf.readUInt8(at); break;
      case 'int8': v = buf.readInt8(at); break;
      case 'uint16': v = buf.readUInt16LE(at); break;
      case 'int16': v = buf.readInt16LE(at); break;
      case 'uint32': v = buf.readUInt32LE(at); break;
      case 'int32': v = buf.readInt32LE(at); break;
      default: v = buf.readFloatLE(at);
    }
    if (!p.enumValues.includes(v)) return `property ${p.id} = ${v} is not one of its enum_values`;
  }
  for (let i = base + used; i < r.end; i++) if (buf[i] !== 0) return `nonzero padding byte at ${i - r.start} of the record`;
  return undefined;
}

/** A by_id value: one record, then per relationship `uint32 count` + count × uint64. */
export function decodeSingle(buf: Buffer, info: AnnotationInfo): { record: RecordView; related: BigUint64Array[] } | string {
  const end = recordEnd(buf, 0, info);
  if (typeof end === 'string') return end;
  let off = end;
  const related: BigUint64Array[] = [];
  for (const rel of info.relationships) {
    if (off + 4 > buf.length) return `ends before the count of relationship ${JSON.stringify(rel.id)} (byte ${off} of ${buf.length})`;
    const n = buf.readUInt32LE(off);
    off += 4;
    if (off + 8 * n > buf.length) return `relationship ${JSON.stringify(rel.id)} lists ${n} ids but only ${buf.length - off} bytes remain`;
    const ids = new BigUint64Array(n);
    for (let i = 0; i < n; i++) ids[i] = buf.readBigUInt64LE(off + 8 * i);
    off += 8 * n;
    related.push(ids);
  }
  if (off !== buf.length) return `${buf.length - off} unexpected trailing bytes after byte ${off} (expected ${off} bytes in total)`;
  return { record: { start: 0, end }, related };
}

/** A by_rel or spatial value: `uint64 count`, count records, count × uint64 ids. */
export function decodeMulti(buf: Buffer, info: AnnotationInfo): { records: RecordView[]; ids: BigUint64Array } | string {
  if (buf.length < 8) return `${buf.length} bytes, expected at least 8 (the count)`;
  if (buf.readUInt32LE(4) !== 0) return `count ${buf.readBigUInt64LE(0)} is too large (neuroglancer: "Annotation count too high")`;
  const count = buf.readUInt32LE(0);
  const records: RecordView[] = [];
  let off = 8;
  if (info.type !== 'polyline') {
    const size = fixedGeometryBytes(info.type, info.rank) + info.propertyBytes;
    const expected = 8 + count * (size + 8);
    if (buf.length !== expected) {
      return `${buf.length} bytes, expected ${expected} for ${count} records of ${size} bytes and their ids`;
    }
    for (let i = 0; i < count; i++, off += size) records.push({ start: off, end: off + size });
  } else {
    for (let i = 0; i < count; i++) {
      const end = recordEnd(buf, off, info);
      if (typeof end === 'string') return `record ${i} of ${count}: ${end}`;
      records.push({ start: off, end });
      off = end;
    }
    if (buf.length !== off + 8 * count) {
      return `${buf.length} bytes, expected ${off + 8 * count} for ${count} polylines and their ids`;
    }
  }
  const ids = new BigUint64Array(count);
  for (let i = 0; i < count; i++) ids[i] = buf.readBigUInt64LE(off + 8 * i);
  return { records, ids };
}

/** FNV-1a of a record's bytes: the same annotation must carry the same bytes in every index. */
export function recordHash(buf: Buffer, r: RecordView): number {
  let h = 0x811c9dc5;
  for (let i = r.start; i < r.end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h >>> 0;
}
