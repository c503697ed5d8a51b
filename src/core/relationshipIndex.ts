// The index of one relationship: per related id (ascending), the annotations that list it (deduplicated,
// ascending annotation id). Pure arithmetic on typed arrays, so it runs on an encoder thread (pool.ts)
// while the main thread plans by_id, or here when there are no workers.
import { argsortU64, sortByU64, words } from './radix';

export interface RelationshipIndexInput {
  /** Annotations. */
  n: number;
  ids: BigUint64Array;
  /** Annotation indices in ascending id order, when known. */
  idOrder?: Uint32Array;
  /** n + 1 offsets into `related`. */
  offsets: Float64Array;
  related: BigUint64Array;
}

export interface RelationshipIndex {
  /** Distinct related ids, ascending. */
  keys: BigUint64Array;
  /** start[k]..start[k+1] index into `members` for keys[k]. */
  start: Uint32Array;
  /** Annotation indices. */
  members: Uint32Array;
  /** (related id, annotation) pairs, duplicates within one annotation counted once. */
  pairs: number;
}

export function relationshipIndex(r: RelationshipIndexInput): RelationshipIndex {
  const m = r.related.length;
  // Entries in ascending annotation id order (no sort: the annotations' id order is known), then a
  // stable radix sort by related id.
  const byAnnotation = r.idOrder ?? argsortU64(r.ids);
  const ann = new Uint32Array(m);
  const entries = new Uint32Array(m);
  let e = 0;
  for (let t = 0; t < r.n; t++) {
    const i = byAnnotation[t];
    for (let j = r.offsets[i]; j < r.offsets[i + 1]; j++) {
      ann[j] = i;
      entries[e++] = j;
    }
  }
  const order = sortByU64(entries, r.related);
  const rw = words(r.related);
  const sameKey = (t: number) => t > 0 && rw[2 * order[t]] === rw[2 * order[t - 1]] && rw[2 * order[t] + 1] === rw[2 * order[t - 1] + 1];
  let distinct = 0;
  for (let t = 0; t < m; t++) if (!sameKey(t)) distinct++;
  // Typed arrays filled by words: no BigInt or JS array entry per related id.
  const keys = new BigUint64Array(distinct);
  const kw = words(keys);
  const start = new Uint32Array(distinct + 1);
  const members = new Uint32Array(m);
  let k = 0;
  let count = 0;
  for (let t = 0; t < m; t++) {
    const j = order[t];
    if (!sameKey(t)) {
      kw[2 * k] = rw[2 * j];
      kw[2 * k + 1] = rw[2 * j + 1];
      start[k++] = count;
    } else if (ann[j] === ann[order[t - 1]]) {
      continue; // the same annotation lists this id twice
    }
    members[count++] = ann[j];
  }
  start[distinct] = count;
  return { keys, start, members: members.subarray(0, count), pairs: count };
}
