// inspectDataset: reads a precomputed annotation dataset (ours or anyone's), summarises it and checks
// that its indexes agree with the info and with each other — what neuroglancer needs to show every
// annotation, find it by id, and filter it by related segment.
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { parseInfo, type AnnotationInfo, type Problem, type Sharding } from './info';
import { Problems } from './problems';
import { walkIndex, type IndexStats } from './read';
import { checkProperties, decodeMulti, decodeSingle, recordExtent, recordHash, type RecordView } from './records';

export interface ShardingSummary {
  preshift_bits: number;
  hash: string;
  minishard_bits: number;
  shard_bits: number;
  minishard_index_encoding: string;
  data_encoding: string;
}

export interface IndexSummary {
  key: string;
  sharding?: ShardingSummary;
  files: number;
  bytes: number;
  missing: boolean;
}

export interface InspectSummary {
  annotationType: string;
  rank: number;
  dimensions: Record<string, [number, string]>;
  lowerBound: number[];
  upperBound: number[];
  properties: { id: string; type: string; description?: string; enum?: Record<string, number> }[];
  description?: string;
  byId?: IndexSummary & { annotations: number };
  relationships: (IndexSummary & { id: string; relatedIds: number; entries: number })[];
  spatial: (IndexSummary & { level: number; gridShape: number[]; chunkSize: number[]; limit: number; chunks: number; entries: number; maxEntries: number })[];
  totalFiles: number;
  totalBytes: number;
}

export interface InspectReport {
  dir: string;
  ok: boolean;
  summary?: InspectSummary;
  problems: Problem[];
}

function shardingSummary(s: Sharding | undefined): ShardingSummary | undefined {
  return s && {
    preshift_bits: s.preshiftBits,
    hash: s.hash,
    minishard_bits: s.minishardBits,
    shard_bits: s.shardBits,
    minishard_index_encoding: s.minishardIndexEncoding,
    data_encoding: s.dataEncoding,
  };
}

const idx = (st: IndexStats, sharding: Sharding | undefined): IndexSummary => ({
  key: st.key,
  sharding: shardingSummary(sharding),
  files: st.files,
  bytes: st.bytes,
  missing: st.missing,
});

/** Every file under `dir` (count, bytes), for the total. */
async function du(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const s = await du(p);
      files += s.files;
      bytes += s.bytes;
    } else if (e.isFile()) {
      files++;
      bytes += (await stat(p)).size;
    }
  }
  return { files, bytes };
}

export interface InspectOptions {
  /** Called when an index starts and every 10 000 values read: big datasets take a while. */
  onProgress?: (p: { index: string; values: number }) => void;
}

export const MAX_INFO_BYTES = 16 * 2 ** 20;

export async function inspectDataset(dir: string, options: InspectOptions = {}): Promise<InspectReport> {
  const problems = new Problems();
  const done = (summary?: InspectSummary): InspectReport => ({ dir, ok: problems.errorCount === 0, summary, problems: problems.finish() });
  let text: string;
  try {
    // Real info files are a few kB (MBs with long enum label lists); a huge one is refused unread.
    const { size } = await stat(path.join(dir, 'info'));
    if (size > MAX_INFO_BYTES) {
      problems.error('info', `${size} bytes, more than the limit of ${MAX_INFO_BYTES / 2 ** 20} MiB for an info file; not reading it`);
      return done();
    }
    text = await readFile(path.join(dir, 'info'), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    problems.error('info', code === 'ENOENT' || code === 'ENOTDIR' ? 'missing: not a precomputed annotation dataset' : `cannot read: ${(e as Error).message}`);
    return done();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    problems.error('info', `not valid JSON: ${(e as Error).message}`);
    return done();
  }
  const infoProblems: Problem[] = [];
  const info = parseInfo(json, infoProblems);
  for (const p of infoProblems) problems.add(p.severity, p.where, p.message);
  if (info === undefined) return done();
  return done(await checkIndexes(dir, info, problems, options));
}

async function checkIndexes(dir: string, info: AnnotationInfo, problems: Problems, options: InspectOptions): Promise<InspectSummary> {
  const walk: typeof walkIndex = (root, ref, spatialInfo, probs, onChunk) => {
    const report = options.onProgress;
    if (!report) return walkIndex(root, ref, spatialInfo, probs, onChunk);
    let values = 0;
    report({ index: ref.key, values });
    return walkIndex(root, ref, spatialInfo, probs, (...args) => {
      if (++values % 10_000 === 0) report({ index: ref.key, values });
      onChunk(...args);
    });
  };
  const { rank } = info;
  const lo = new Float64Array(rank);
  const hi = new Float64Array(rank);
  // Bounds are float64 in info, geometry float32 on disk: allow float32 rounding.
  const tol = (v: number) => 1e-6 * Math.abs(v) + 1e-6;
  const checkRecord = (where: string, buf: Buffer, r: RecordView, id: bigint): boolean => {
    if (!recordExtent(buf, r, info, lo, hi)) {
      problems.error(where, `annotation ${id}: a coordinate is NaN or infinite`, 'non-finite coordinate');
      return false;
    }
    for (let d = 0; d < rank; d++) {
      if (lo[d] < info.lowerBound[d] - tol(info.lowerBound[d]) || hi[d] > info.upperBound[d] + tol(info.upperBound[d])) {
        problems.warn(
          where,
          `annotation ${id} extends to [${lo[d]}, ${hi[d]}] on ${info.dimensions[d][0]}, outside the info bounds [${info.lowerBound[d]}, ${info.upperBound[d]}]`,
          'outside bounds',
        );
        break;
      }
    }
    const bad = checkProperties(buf, r, info);
    if (bad) problems.warn(where, `annotation ${id}: ${bad}`, 'property value');
    return true;
  };

  // by_id: the record of every annotation, and its relationship lists.
  const byIdHash = new Map<bigint, number>();
  const relFromById = info.relationships.map(() => new Map<bigint, bigint[]>());
  let byIdStats: IndexStats | undefined;
  if (info.byId) {
    byIdStats = await walk(dir, info.byId, undefined, problems, (where, data, key) => {
      const id = key!;
      const v = decodeSingle(data, info);
      if (typeof v === 'string') return problems.error(where, `by_id value of ${id}: ${v}`, 'by_id value size');
      if (byIdHash.has(id)) return problems.error(where, `annotation ${id} is stored twice`, 'duplicate by_id');
      checkRecord(where, data, v.record, id);
      byIdHash.set(id, recordHash(data, v.record));
      v.related.forEach((ids, r) => {
        const unique = new Set(ids);
        if (unique.size !== ids.length) {
          // Harmless for neuroglancer (it only displays the list), but the by_rel index cannot mirror it.
          problems.warn(where, `annotation ${id} lists a ${info.relationships[r].id} id more than once`, `by_id: repeated related id`);
        }
        for (const rid of unique) {
          const list = relFromById[r].get(rid);
          if (list) list.push(id);
          else relFromById[r].set(rid, [id]);
        }
      });
    });
    if (byIdStats.missing) {
      // Written with writeById: false (or deleted): neuroglancer still draws everything, but
      // hovering or looking up an annotation finds nothing. Nothing to cross-check against.
      problems.warn(info.byId.key, 'index folder is missing: annotations cannot be looked up by id', 'missing index folder');
    }
  }
  const haveById = info.byId !== undefined && byIdStats?.missing === false;

  const sameRecord = (where: string, data: Buffer, r: RecordView, id: bigint, what: string) => {
    if (!haveById) return;
    const h = byIdHash.get(id);
    if (h === undefined) problems.error(where, `annotation ${id} (${what}) is not in by_id`, `${what}: not in by_id`);
    else if (h !== recordHash(data, r)) {
      problems.error(where, `annotation ${id} (${what}) has other geometry/property bytes than in by_id`, `${what}: record differs from by_id`);
    }
  };

  // Relationships: each related id's list must match the lists in by_id.
  const relationships: InspectSummary['relationships'] = [];
  for (const [r, rel] of info.relationships.entries()) {
    const fromIndex = new Map<bigint, bigint[]>();
    let entries = 0;
    const st = await walk(dir, rel, undefined, problems, (where, data, key) => {
      const rid = key!;
      const v = decodeMulti(data, info);
      if (typeof v === 'string') return problems.error(where, `related id ${rid}: ${v}`, `by_rel value size`);
      entries += v.ids.length;
      v.records.forEach((rec, i) => {
        if (checkRecord(where, data, rec, v.ids[i])) sameRecord(where, data, rec, v.ids[i], `related to ${rel.id} ${rid}`);
      });
      if (new Set(v.ids).size !== v.ids.length) {
        problems.error(where, `related id ${rid}: an annotation is listed more than once (neuroglancer draws it twice)`, 'by_rel: repeated annotation');
      }
      fromIndex.set(rid, Array.from(new Set(v.ids)));
    });
    if (haveById) {
      const want = relFromById[r];
      const rids = new Set([...want.keys(), ...fromIndex.keys()]);
      for (const rid of rids) {
        const a = (want.get(rid) ?? []).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
        const b = (fromIndex.get(rid) ?? []).slice().sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
        if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
          problems.error(
            rel.key,
            `related id ${rid}: by_id lists ${a.length} annotation(s) [${a.slice(0, 5).join(', ')}${a.length > 5 ? ', …' : ''}] but ${rel.key} holds ${b.length} [${b.slice(0, 5).join(', ')}${b.length > 5 ? ', …' : ''}]`,
            `relationship ${rel.id}: index disagrees with by_id`,
          );
        }
      }
    }
    relationships.push({ ...idx(st, rel.sharding), id: rel.id, relatedIds: fromIndex.size, entries });
  }

  // Spatial levels: each annotation in exactly one level, in cells its geometry touches.
  const levelOf = new Map<bigint, number>();
  const spatial: InspectSummary['spatial'] = [];
  for (const [level, sp] of info.spatial.entries()) {
    let entries = 0;
    let maxEntries = 0;
    // grid_shape × chunk_size should cover the bounds, or annotations near the top are unreachable.
    for (let d = 0; d < rank; d++) {
      const cover = info.lowerBound[d] + sp.gridShape[d] * sp.chunkSize[d];
      if (cover < info.upperBound[d] - tol(info.upperBound[d])) {
        problems.warn(`info spatial[${level}]`, `grid covers ${info.dimensions[d][0]} only up to ${cover}, below upper_bound ${info.upperBound[d]}`);
      }
    }
    const st = await walk(dir, sp, sp, problems, (where, data, _key, cell) => {
      const v = decodeMulti(data, info);
      if (typeof v === 'string') return problems.error(where, `cell ${cell!.join('_')}: ${v}`, 'spatial value size');
      entries += v.ids.length;
      maxEntries = Math.max(maxEntries, v.ids.length);
      const inChunk = new Set<bigint>();
      v.records.forEach((rec, i) => {
        const id = v.ids[i];
        if (inChunk.has(id)) problems.error(where, `annotation ${id} is listed twice in cell ${cell!.join('_')}`, 'duplicate in cell');
        inChunk.add(id);
        const prev = levelOf.get(id);
        if (prev !== undefined && prev !== level) {
          problems.error(where, `annotation ${id} is in spatial levels ${prev} and ${level}; neuroglancer would draw it twice`, 'in two levels');
        }
        levelOf.set(id, level);
        if (!checkRecord(where, data, rec, id)) return;
        sameRecord(where, data, rec, id, `spatial level ${level}`);
        for (let d = 0; d < rank; d++) {
          const c0 = info.lowerBound[d] + cell![d] * sp.chunkSize[d];
          const c1 = c0 + sp.chunkSize[d];
          const eps = tol(Math.max(Math.abs(c0), Math.abs(c1), sp.chunkSize[d]));
          if (hi[d] < c0 - eps || lo[d] > c1 + eps) {
            problems.error(
              where,
              `annotation ${id} spans [${lo[d]}, ${hi[d]}] on ${info.dimensions[d][0]}, which does not touch cell ${cell!.join('_')} ([${c0}, ${c1}])`,
              'annotation outside its cell',
            );
            break;
          }
        }
      });
    });
    if (maxEntries > sp.limit) {
      problems.warn(
        `info spatial[${level}]`,
        `limit is ${sp.limit} but a cell holds ${maxEntries} annotations; neuroglancer's subsampling assumes limit ≥ the fullest cell`,
      );
    }
    if (st.missing) problems.warn(sp.key, 'index folder is missing (an empty spatial level)', 'missing index folder');
    spatial.push({
      ...idx(st, sp.sharding), level, gridShape: sp.gridShape, chunkSize: sp.chunkSize, limit: sp.limit, chunks: st.chunks, entries, maxEntries,
    });
  }
  if (haveById && info.spatial.length > 0) {
    for (const id of byIdHash.keys()) {
      if (!levelOf.has(id)) problems.error('spatial', `annotation ${id} is in by_id but in no spatial level; neuroglancer never draws it`, 'in no spatial level');
    }
  }

  // Anything at the top that no index owns.
  const owned = new Set(['info', ...[info.byId?.key, ...info.relationships.map((r) => r.key), ...info.spatial.map((s) => s.key)].filter((k) => k !== undefined).map((k) => k.split('/').filter((p) => p !== '' && p !== '.')[0])]);
  for (const e of await readdir(dir)) {
    if (!owned.has(e)) problems.warn(e, 'unexpected entry: no index in info refers to it', 'unexpected top-level entry');
  }

  const total = await du(dir);
  const summary: InspectSummary = {
    annotationType: info.type,
    rank,
    dimensions: Object.fromEntries(info.dimensions.map(([n, s, u]) => [n, [s, u]])),
    lowerBound: info.lowerBound,
    upperBound: info.upperBound,
    properties: info.properties.map((p) => ({
      id: p.id,
      type: p.type,
      ...(p.description ? { description: p.description } : {}),
      ...(p.enumValues ? { enum: Object.fromEntries(p.enumLabels!.map((l, i) => [l, p.enumValues![i]])) } : {}),
    })),
    relationships,
    spatial,
    totalFiles: total.files,
    totalBytes: total.bytes,
  };
  if (info.description) summary.description = info.description;
  if (info.byId && byIdStats) summary.byId = { ...idx(byIdStats, info.byId.sharding), annotations: byIdHash.size };
  return summary;
}
