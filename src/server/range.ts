// HTTP Range (RFC 9110 §14) for one representation of known size. Only what a precomputed reader
// needs: one byte range. Anything we choose not to honour falls back to the full body (200), which
// the RFC allows ("a server MAY ignore the Range header field").

export type RangeDecision =
  | { kind: 'full' } // no Range, a unit other than bytes, malformed, or several ranges
  | { kind: 'partial'; start: number; end: number } // inclusive end
  | { kind: 'unsatisfiable' }; // 416 with `Content-Range: bytes */size`

const SPEC = /^(\d*)-(\d*)$/;

/**
 * Decides how to answer `Range: <header>` for a representation of `size` bytes.
 *
 * - `bytes=a-b`, `bytes=a-`, `bytes=-n` are honoured (end clamped to the last byte).
 * - Malformed specs (`bytes=5-3`, `bytes=x`, `bytes=-`) and other units are ignored → full.
 * - Several ranges (`bytes=0-1,5-6`) → full: neuroglancer never asks for them and a full body is
 *   always a correct answer; multipart/byteranges is not worth its complexity here.
 * - `a ≥ size` or `bytes=-0` → unsatisfiable (416).
 * - A suffix range on an empty file → full (an empty 200): there is no byte to name in a
 *   Content-Range, and the RFC says a suffix longer than the representation selects all of it.
 */
export function decideRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'full' };
  const eq = header.indexOf('=');
  if (eq < 0) return { kind: 'full' };
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' };
  const set = header.slice(eq + 1).trim();
  if (set.includes(',')) return { kind: 'full' };
  const m = SPEC.exec(set);
  if (m === null) return { kind: 'full' };
  const [, a, b] = m;
  if (a === '') {
    if (b === '') return { kind: 'full' };
    const n = Number(b);
    if (n === 0) return { kind: 'unsatisfiable' };
    if (size === 0) return { kind: 'full' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (b !== '') {
    const last = Number(b);
    if (last < start) return { kind: 'full' };
    if (start >= size) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start, end: Math.min(last, size - 1) };
  }
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: size - 1 };
}
