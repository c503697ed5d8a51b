// Exports larger than memory. The input file is read twice, one row group (or record batch) at a
// time:
//   1. every row is checked, and what planning needs is gathered: the row count, the bounds, the
//      property types over the whole file (enum labels, integer widths), the largest id, the bytes
//      of by_id;
//   2. each row group's records are encoded and every index entry is appended to temporary files:
//      by_id straight into one file per shard (its sharding is known from pass 1), by_rel and the
//      spatial levels into parts by a hash of the key (their key counts are not known yet).
// Each by_rel and spatial index is then counted part by part, which fixes its sharding, regrouped
// into one file per shard, and every shard is sorted and encoded on its own: those steps run on the
// shard workers (spillShards.ts), a few files side by side. Memory is bounded by one row group, a
// few parts or shards (tens of MB each), and 4 bytes per annotation for the seeded shuffle of the
// spatial index. The output is byte for byte the one the in-memory writer makes with the
// same seed.
import { Table, type RecordBatch } from 'apache-arrow';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnnotationType, CoordSpace, IndexSummary, Phase, PropertySpec, WriteSummary } from './types';
import type { ResolvedOptions } from './options';
import { ExportError, throwIfAborted, withRowBase } from './errors';
import { ColumnStore, columnKind, stringCodes } from './columns';
import { prepare, type Prepared } from './prepare';
import { generatedIds, resolveIds } from './ids';
import { pandasIndex } from '../shared/pandas';
import { normalizePropertyRequests, textColumnSpec, widerIntegerType, smallestEnumType } from './properties';
import { normalizeRelationshipRequests } from './relationships';
import { CellVisitor, defineGrids, levelAxes, levelQuotas, pointCode } from './spatial';
import { MortonEncoder } from './morton';
import { Rng, randomPermutation } from './rng';
import { assignShards, chooseDataEncoding, chooseShardingParams, makeShardingSpec, minishardIndexEncoding, type ShardingSpec } from './sharding';
import { maxWords, words } from './radix';
import { SpillBuckets } from './spill';
import { builtEntries, builtShardPlan, type BuiltShard, type EncodedShardFile, type ShardBuild, type ShardFileTask } from './spillShards';
import { valueSource } from './values';
import { inOrderAhead, runLimited } from './storage';
import { ShardWriter, indexSummary, writeInfo, type ShardContext } from './indexWriter';

/** The input's record batches, in order; called once per pass (export/run.ts reads them from a file). */
export type BatchSource = () => AsyncIterable<RecordBatch>;

/** Target bytes of one temporary part: read back whole, sorted and counted in memory. */
const PART_BYTES = 48 << 20;
const MAX_PARTS = 4096;

export interface StreamSettings extends ShardContext {
  /** A local folder for the temporary files (inside the output's temporary folder, or os.tmpdir() for a bucket). */
  scratchDir: string;
  dataEncoding: 'auto' | 'gzip' | 'raw';
  seed: number;
  signal?: AbortSignal;
  warn: (m: string) => void;
}

// ---------------------------------------------------------------------------------------------
// Pass 1: checks and plans.

interface Scan {
  n: number;
  lower: number[];
  upper: number[];
  /** Explicit property specs for pass 2, in request order. */
  specs: Array<PropertySpec>;
  /** Ids are generated (row numbers or a pandas RangeIndex) rather than read from a column. */
  generated: { start: bigint; step: bigint } | null;
  idColumn?: string;
  maxId: bigint;
  geometry?: Prepared['geometry'];
  idSource?: Prepared['idSource'];
  /** The relationships requested, checked. */
  relNames: string[];
  /** Per relationship: total list entries (before removing repeats). */
  relEntries: number[];
  /** Bytes of the relationship lists in by_id values (4 + 8 per id, per row and relationship). */
  relBytes: number;
}

function mergeSpecs(a: PropertySpec, b: PropertySpec): PropertySpec {
  if (JSON.stringify(a) === JSON.stringify(b)) return a;
  if (a.enum_labels && b.enum_labels) {
    const labels = [...new Set([...a.enum_labels, ...b.enum_labels])].sort();
    return { ...a, type: smallestEnumType(labels.length), enum_values: labels.map((_, i) => i), enum_labels: labels };
  }
  const colors = (t: string) => t === 'rgb' || t === 'rgba';
  if (colors(a.type) && colors(b.type)) return { ...a, type: a.type === 'rgba' || b.type === 'rgba' ? 'rgba' : 'rgb' };
  const wider = !a.enum_labels && !b.enum_labels ? widerIntegerType(a.type, b.type) : null;
  if (wider) return { ...a, type: wider };
  throw new ExportError(`Property ${JSON.stringify(a.id)} is ${a.type} in one part of the file and ${b.type} in another; give it an explicit type`, { column: a.id });
}

async function scan(batches: BatchSource, coords: CoordSpace, type: AnnotationType, options: ResolvedOptions, s: StreamSettings, totalRows: number | null): Promise<Scan> {
  const requests = normalizePropertyRequests(options.properties);
  const relNames = normalizeRelationshipRequests(options.relationships);
  const withRels = options.writeByRelationship;
  const merged = new Map<string, PropertySpec>();
  /** Text columns whose type comes from all their distinct values (colors or enum labels). */
  const textLabels = new Map<string, Set<string>>();
  const warnings = new Map<string, number>();
  const lower = new Array<number>(coords.names.length).fill(Infinity);
  const upper = new Array<number>(coords.names.length).fill(-Infinity);
  const best = { hi: 0, lo: 0 };
  const relEntries = relNames.map(() => 0);
  let relBytes = 0;
  let n = 0;
  let first = true;
  let generated: Scan['generated'] = null;
  let idColumn: string | undefined;
  let t0: { geometry: Prepared['geometry']; idSource: Prepared['idSource'] } | undefined;
  for await (const batch of batches()) {
    throwIfAborted(s.signal);
    if (batch.numRows === 0) continue;
    const whole = new Table(batch);
    const table = new ColumnStore(whole);
    if (first) {
      first = false;
      const ids = resolveIds(table, 0, options.idColumn);
      idColumn = ids.column;
      if (!ids.column) generated = pandasIndex(table)?.range ?? { start: 0n, step: 1n };
      for (const { id, user } of requests) {
        const c = table.getChild(id);
        if (c && columnKind(c.type) === 'string' && user?.type === undefined && user?.enum_labels === undefined) textLabels.set(id, new Set());
      }
    }
    const base = n;
    const p = withRowBase(base, () =>
      prepare(table, null, coords, type, options, (m) => {
        // "N empty value(s)" differs per row group: one message, with the counts added.
        const count = /: (\d+) empty value/.exec(m);
        const key = count ? m.replace(count[0], ': # empty value') : m;
        warnings.set(key, (warnings.get(key) ?? 0) + (count ? Number(count[1]) : 0));
      }),
    );
    t0 ??= { geometry: p.geometry, idSource: p.idSource };
    for (const spec of p.propertySpecs) {
      const labels = textLabels.get(spec.id);
      if (labels) {
        // A text column: an enum's labels are its distinct values; a color column's are read again
        // (only needed if another row group turns out not to be all colors).
        for (const l of spec.enum_labels ?? stringCodes(whole.getChild(spec.id)!).labels) labels.add(l);
        continue;
      }
      const prev = merged.get(spec.id);
      merged.set(spec.id, prev ? mergeSpecs(prev, spec) : spec);
    }
    for (let d = 0; d < p.rank; d++) {
      if (p.lower[d] < lower[d]) lower[d] = p.lower[d];
      if (p.upper[d] > upper[d]) upper[d] = p.upper[d];
    }
    if (!generated) maxWords(p.ids, best);
    if (withRels) {
      p.relationships.forEach((r, k) => {
        relEntries[k] += r.ids.length;
        relBytes += 4 * p.n + 8 * r.ids.length;
      });
    }
    n += p.n;
    // Both passes are one 'reading' phase, counted over twice the rows, so progress only goes forward.
    s.progress('reading', n, 2 * Math.max(n, totalRows ?? n), 'pass 1 of 2, checking every row');
  }
  if (n === 0) throw new ExportError('The table has no rows: there are no annotations to write');
  for (const [key, count] of warnings) s.warn(key.replace(': # empty value', `: ${count} empty value`));
  let maxId = (BigInt(best.hi) << 32n) | BigInt(best.lo);
  if (generated) {
    const last = generated.start + BigInt(n - 1) * generated.step;
    maxId = last > generated.start ? last : generated.start;
    if (last < 0n) generatedIds(generated, n - 1, 1); // names the row
  }
  const specs = requests.map(({ id, user }) => {
    const labels = textLabels.get(id);
    const inferred = labels ? textColumnSpec(id, [...labels]) : merged.get(id)!;
    const { id: _id, ...fields } = inferred;
    return { ...(user ?? {}), ...fields, id } as PropertySpec;
  });
  return { n, lower, upper, specs, generated, idColumn, maxId, relNames, relEntries, relBytes, ...t0 };
}

// ---------------------------------------------------------------------------------------------
// Temporary entries (their layouts: spillShards.ts).

function partOf(lo: number, hi: number, parts: number): number {
  let h = (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) % parts;
}

function partsFor(bytes: number): number {
  return Math.max(1, Math.min(MAX_PARTS, Math.ceil(bytes / PART_BYTES)));
}

interface MultiIndex {
  key: string;
  phase: Phase;
  detail: string;
  parts: SpillBuckets;
  /** Spatial levels: entries are ordered by shuffle position within a key; by_rel: by annotation id, repeats dropped. */
  spatial: boolean;
}

// ---------------------------------------------------------------------------------------------

/**
 * The spatial levels, from the bounds of the whole file: each level's grid, how many annotations it
 * takes (and where its positions end), and its Morton encoder and axes (null and [] without a spatial index).
 */
function planLevels(t: Scan, coords: CoordSpace, options: ResolvedOptions) {
  const grids = defineGrids(t.lower, t.upper, coords.scales, options.numSpatialLevels);
  const quotas = options.writeBySpatialChunk ? levelQuotas(t.n, grids, options.targetChunkLimit) : [];
  const levelEnd: number[] = [];
  quotas.reduce((sum, q) => (levelEnd.push(sum + q), sum + q), 0);
  const morton = quotas.map((q, level) => {
    if (q === 0) return null;
    if (!MortonEncoder.fits(grids[level].gridShape)) {
      throw new ExportError(`Spatial level ${level} has a grid of ${grids[level].gridShape.join('x')} cells, too fine to key; use fewer spatial levels or a larger chunk limit`);
    }
    return new MortonEncoder(grids[level].gridShape);
  });
  const axes = grids.map((g) => levelAxes(t.lower, g));
  return { grids, quotas, levelEnd, morton, axes };
}

export async function writeStreamed(
  batches: BatchSource,
  coords: CoordSpace,
  type: AnnotationType,
  options: ResolvedOptions,
  s: StreamSettings,
  totalRows: number | null,
): Promise<Omit<WriteSummary, 'elapsedMs' | 'warnings' | 'outputDir'>> {
  const t = await scan(batches, coords, type, options, s, totalRows);
  const n = t.n;
  throwIfAborted(s.signal);
  if (n >= 2 ** 31) throw new ExportError(`Exports larger than memory handle up to 2^31 - 1 annotations; this table has ${n}`);
  const relNames = options.writeByRelationship ? t.relNames : [];
  const spill = path.join(s.scratchDir, '.spill');
  const all: SpillBuckets[] = [];
  const buckets = (name: string, count: number) => {
    const b = new SpillBuckets(spill, name, count);
    all.push(b);
    return b;
  };
  try {
    const limit = options.targetChunkLimit;
    const { grids, quotas, levelEnd, morton, axes } = planLevels(t, coords, options);
    let position: Uint32Array | null = null;
    if (options.writeBySpatialChunk && options.shuffleBeforeAssigningSpatialLevels) {
      // Each annotation's level from its position in the seeded shuffle (the inverse permutation, 4 bytes per annotation).
      position = inverse(randomPermutation(n, new Rng(s.seed)));
    }

    // Pass 2: records, and every entry into its temporary file.
    const pass2 = { ...options, properties: t.specs, idColumn: t.idColumn ?? options.idColumn };
    let specs: PropertySpec[] | null = null;
    let recordSize = 0;
    let byIdSpec: ShardingSpec | null = null;
    let byId: SpillBuckets | null = null;
    const rels: MultiIndex[] = [];
    const levels: Array<MultiIndex | null> = [];
    let base = 0;
    for await (const batch of batches()) {
      throwIfAborted(s.signal);
      if (batch.numRows === 0) continue;
      const p: Prepared = withRowBase(base, () => prepare(new ColumnStore(new Table(batch)), null, coords, type, pass2, () => undefined));
      if (!options.writeByRelationship) p.relationships = [];
      if (t.generated) p.ids = generatedIds(t.generated, base, p.n);
      if (specs === null) {
        specs = p.propertySpecs;
        recordSize = p.recordSize;
        byIdSpec = makeShardingSpec(chooseShardingParams(n, n * recordSize + t.relBytes, t.maxId), 'gzip', minishardIndexEncoding(s.gzipLevel));
        byId = buckets('by_id', 2 ** byIdSpec.shard_bits);
        relNames.forEach((name, k) => {
          rels.push({ key: `by_rel_${name}`, phase: 'by_relationship', detail: name, parts: buckets(`rel${k}`, partsFor(t.relEntries[k] * (20 + recordSize))), spatial: false });
        });
        quotas.forEach((q, level) => {
          // Points have one entry each; other types meet a few cells (a guess: it only sizes the parts).
          const guess = q * (type === 'point' ? 1 : 4) * (20 + recordSize);
          levels.push(q ? { key: `by_spatial_level_${level}`, phase: 'spatial', detail: `level ${level}`, parts: buckets(`level${level}`, partsFor(guess)), spatial: true } : null);
        });
      } else if (p.recordSize !== recordSize) {
        throw new Error(`internal: record size changed between row groups (${recordSize} then ${p.recordSize})`);
      }
      spillBatch(p, base, byIdSpec!, byId!, rels, levels, position, levelEnd, morton, axes);
      base += p.n;
      s.progress('reading', n + base, 2 * n, 'pass 2 of 2, sorting into temporary files');
    }
    if (base !== n) throw new ExportError(`The file changed while it was being exported (${n} rows, then ${base})`);
    position = null;
    for (const b of all) b.finish();

    const summary: Omit<WriteSummary, 'elapsedMs' | 'warnings' | 'outputDir'> = {
      annotationType: type,
      rank: coords.names.length,
      annotations: n,
      byId: null,
      relationships: [],
      spatial: [],
      bytesWritten: 0,
      filesWritten: 0,
      geometry: t.geometry,
      ids: t.idSource,
      mode: 'stream',
    };
    const byIdResult = await writeById(s, byId!, byIdSpec!, n, n * recordSize + t.relBytes, options.writeById);
    if (options.writeById) summary.byId = byIdResult.summary;
    const relInfos: Array<{ key: string; sharding?: ShardingSpec; id: string }> = [];
    for (let k = 0; k < rels.length; k++) {
      const r = await writeMulti(s, rels[k], recordSize, buckets);
      relInfos.push({ key: rels[k].key, sharding: r.sharding, id: relNames[k] });
      summary.relationships.push(r.summary);
    }
    const spatialInfos: Array<{ key: string; sharding?: ShardingSpec; chunk_size: number[]; grid_shape: number[]; limit: number }> = [];
    for (let level = 0; level < levels.length; level++) {
      const lv = levels[level];
      if (!lv) continue;
      const r = await writeMulti(s, lv, recordSize, buckets);
      if (r.summary.keys === 0) continue;
      const lim = limit === 0 ? 1 : Math.max(1, r.maxCount);
      spatialInfos.push({ key: lv.key, sharding: r.sharding, chunk_size: grids[level].chunkSize, grid_shape: grids[level].gridShape, limit: lim });
      summary.spatial.push({ ...r.summary, level, gridShape: grids[level].gridShape, limit: lim });
    }
    for (const b of all) b.dispose();
    await writeInfo(s.storage, s.signal, s.progress, {
      coords,
      lower: t.lower,
      upper: t.upper,
      type,
      properties: specs!,
      byId: { key: 'by_id', sharding: options.writeById ? byIdResult.sharding : undefined },
      relationships: relInfos,
      spatial: spatialInfos,
      description: options.description,
    });
    summary.bytesWritten = s.storage.bytesWritten;
    summary.filesWritten = s.storage.filesWritten;
    return summary;
  } finally {
    for (const b of all) b.dispose();
    fs.rmSync(spill, { recursive: true, force: true });
  }
}

/**
 * q[p[i]] = i. Out of place: the scattered writes are independent, so the memory system overlaps
 * them, where following cycles in place waits on one cache miss after another (1e8: 2.7 s against
 * 35 s, for 4 more bytes per annotation until the permutation is dropped, before pass 2).
 */
function inverse(p: Uint32Array): Uint32Array {
  const q = new Uint32Array(p.length);
  for (let i = 0; i < p.length; i++) q[p[i]] = i;
  return q;
}

/** Appends one row group's entries to the temporary files. */
function spillBatch(
  p: Prepared,
  base: number,
  byIdSpec: ShardingSpec,
  byId: SpillBuckets,
  rels: MultiIndex[],
  levels: Array<MultiIndex | null>,
  position: Uint32Array | null,
  levelEnd: number[],
  morton: Array<MortonEncoder | null>,
  axes: ReturnType<typeof levelAxes>[],
): void {
  const R = p.recordSize;
  const rw = new Uint32Array(p.records.buffer, p.records.byteOffset, p.records.byteLength >>> 2);
  const rs = R >>> 2;
  const idw = words(p.ids);
  // by_id: the value is the record and each relationship's count and ids.
  const { shard } = assignShards(p.ids, byIdSpec);
  const relWords = p.relationships.map((r) => words(r.ids));
  for (let i = 0; i < p.n; i++) {
    let len = R;
    for (const r of p.relationships) len += 4 + 8 * (r.offsets[i + 1] - r.offsets[i]);
    const b = shard[i];
    let at = byId.reserve(b, 16 + len) >>> 2;
    const w = byId.words(b);
    w[at++] = idw[2 * i];
    w[at++] = idw[2 * i + 1];
    w[at++] = base + i;
    w[at++] = len;
    for (let k = i * rs, e = k + rs; k < e; k++) w[at++] = rw[k];
    p.relationships.forEach((r, k) => {
      const s0 = r.offsets[i];
      const s1 = r.offsets[i + 1];
      w[at++] = s1 - s0;
      for (let j = 2 * s0; j < 2 * s1; j++) w[at++] = relWords[k][j];
    });
  }
  const E = 20 + R;
  const put = (ix: MultiIndex, lo: number, hi: number, i: number, order: number) => {
    const b = partOf(lo, hi, ix.parts.count);
    let at = ix.parts.reserve(b, E) >>> 2;
    const w = ix.parts.words(b);
    w[at++] = lo;
    w[at++] = hi;
    w[at++] = idw[2 * i];
    w[at++] = idw[2 * i + 1];
    w[at++] = order;
    for (let k = i * rs, e = k + rs; k < e; k++) w[at++] = rw[k];
  };
  p.relationships.forEach((r, k) => {
    const ix = rels[k];
    const kw = relWords[k];
    for (let i = 0; i < p.n; i++) for (let j = r.offsets[i]; j < r.offsets[i + 1]; j++) put(ix, kw[2 * j], kw[2 * j + 1], i, 0);
  });
  if (levels.length === 0) return;
  const f32 = new Float32Array(p.records.buffer, p.records.byteOffset, p.records.byteLength >>> 2);
  if (p.type === 'point') {
    // One cell each: the code from the Morton tables directly (as the in-memory index's point loop).
    for (let i = 0; i < p.n; i++) {
      const pos = position ? position[base + i] : base + i;
      let level = 0;
      while (pos >= levelEnd[level]) level++;
      const code = pointCode(f32, i * rs, axes[level], morton[level]!.tables);
      put(levels[level]!, code % 4294967296, Math.floor(code / 4294967296), i, pos);
    }
    return;
  }
  let pos = 0;
  const visitors = levels.map((lv, level) =>
    lv ? new CellVisitor(p, f32, axes[level], morton[level]!, (i, code) => put(lv, code % 4294967296, Math.floor(code / 4294967296), i, pos)) : null,
  );
  for (let i = 0; i < p.n; i++) {
    pos = position ? position[base + i] : base + i;
    let level = 0;
    while (pos >= levelEnd[level]) level++;
    visitors[level]!.visit(i);
  }
}

interface Written {
  sharding?: ShardingSpec;
  summary: IndexSummary;
  maxCount: number;
}

/**
 * Temporary bytes of the shard files encoded whole at once. Each takes about four times its file in
 * working memory, and shards are about 70 MB of file, so two run side by side. A larger one (a
 * spatial level whose few cells hash to few shards: 136 MB each at 1e7 points, up to 180 MB at 1e8)
 * is built on one worker and then compressed in slices across all of them, as the in-memory writer
 * does: two of those side by side took the 1e7 peak to 1.9 GB, and one alone left a core idle.
 */
const SHARD_FILE_BYTES_AT_ONCE = 160 << 20;
/** SHARD_FILE_BYTES_AT_ONCE, or lower for tests (NG_ANNOTATIONS_SHARD_FILE_BYTES, read at every export) to reach the slices path on small tables. */
const shardFileBytesAtOnce = () => Number(process.env.NG_ANNOTATIONS_SHARD_FILE_BYTES) || SHARD_FILE_BYTES_AT_ONCE;

/**
 * Encodes each shard's temporary file on the shard workers, side by side up to
 * SHARD_FILE_BYTES_AT_ONCE, and writes it. An index's data encoding is decided by its first shard's
 * values and holds for all: the other shards wait for that decision, not for the first shard's
 * bytes. Each file is deleted once encoded.
 */
async function encodeShardFiles(s: StreamSettings, out: ShardWriter, shards: SpillBuckets, spec0: ShardingSpec, build: ShardBuild): Promise<ShardingSpec> {
  let decided: Promise<'gzip' | 'raw'> | null = null;
  const limit = shardFileBytesAtOnce();
  let atOnce = 0;
  const wake: Array<() => void> = [];
  try {
    for (let b = 0; b < shards.count; b++) {
      throwIfAborted(s.signal);
      const bytes = shards.sizes[b];
      if (bytes === 0) continue;
      while (atOnce > 0 && atOnce + bytes > limit) await new Promise<void>((resolve) => wake.push(resolve));
      atOnce += bytes;
      const release = () => {
        shards.remove(b);
        atOnce -= bytes;
        for (const w of wake.splice(0)) w();
      };
      const task: ShardFileTask = { ...shards.spillFile(b), shard: b, build, spec: spec0, gzipLevel: s.gzipLevel };
      if (s.encoder.threads > 1 && 2 * bytes > limit) {
        const encoding = await encodeInSlices(s, out, task, decided && (await decided), release);
        decided ??= encoding ? Promise.resolve(encoding) : null;
        continue;
      }
      let job: Promise<EncodedShardFile>;
      if (decided === null) {
        let heard!: (e: 'gzip' | 'raw') => void;
        const heardFirst = new Promise<'gzip' | 'raw'>((resolve) => (heard = resolve));
        job = s.encoder.shardFile({ ...task, choose: s.dataEncoding }, s.signal, heard);
        // A shard that fails before deciding fails the wait too.
        decided = Promise.race([heardFirst, job.then((r) => r.encoding)]);
      } else {
        job = s.encoder.shardFile({ ...task, spec: { ...spec0, data_encoding: await decided } }, s.signal);
      }
      await out.addEncoded(spec0.shard_bits, b, job, release);
    }
    await out.finish();
  } catch (e) {
    await out.finish().catch(() => undefined);
    throw e;
  }
  return decided ? { ...spec0, data_encoding: await decided } : spec0;
}

/**
 * A large shard file: built on a worker, then gathered and compressed in slices across every worker
 * (ShardWriter.add), with the index's data encoding if decided, else deciding it. Returns the
 * encoding (null when by_id was only checked).
 */
async function encodeInSlices(
  s: StreamSettings,
  out: ShardWriter,
  task: ShardFileTask,
  decided: 'gzip' | 'raw' | null,
  release: () => void,
): Promise<'gzip' | 'raw' | null> {
  let built: BuiltShard | number;
  try {
    built = await s.encoder.buildShard(task, s.signal);
  } catch (e) {
    release();
    throw e;
  }
  if (typeof built === 'number') {
    await out.addEncoded(task.spec.shard_bits, task.shard, Promise.resolve({ parts: null, entries: built }), release);
    return null;
  }
  const encoding = decided ?? chooseDataEncoding(s.gzipLevel, s.dataEncoding, valueSource(built.values), built.keys.length);
  const spec = { ...task.spec, data_encoding: encoding };
  const plan = builtShardPlan(built.keys, spec, task.shard);
  const source = s.encoder.addSource(built.values);
  await out.add(spec, task.shard, source, built.keys, plan.order, plan.minishard, () => {
    s.encoder.dropSource(source);
    release();
  }, builtEntries(built));
  return encoding;
}

/** by_id, one shard file at a time; also where duplicate ids are found (they share a shard). */
async function writeById(s: StreamSettings, shards: SpillBuckets, spec0: ShardingSpec, n: number, rawBytes: number, write: boolean): Promise<Written> {
  s.progress('by_id', 0, n);
  const out = new ShardWriter(s, 'by_id', 'by_id', n);
  const spec = await encodeShardFiles(s, out, shards, spec0, { kind: 'byId', write });
  s.progress('by_id', n, n);
  return {
    sharding: spec,
    maxCount: 1,
    summary: indexSummary(out.written, { key: 'by_id', keys: n, entries: n, rawBytes, sharding: spec }),
  };
}

/** A by_rel or spatial index: count its parts, regroup them by shard, then encode shard by shard. */
async function writeMulti(s: StreamSettings, ix: MultiIndex, recordSize: number, buckets: (name: string, count: number) => SpillBuckets): Promise<Written> {
  const E = 20 + recordSize;
  let keys = 0;
  let entries = 0;
  let maxCount = 0;
  const best = { hi: 0, lo: 0 };
  // Each part counted on a worker, as many side by side as there are workers.
  await runLimited(s.encoder.threads, ix.parts.count, async (b) => {
    throwIfAborted(s.signal);
    const c = await s.encoder.countPart(ix.parts.spillFile(b), E, ix.spatial, s.signal);
    keys += c.keys;
    entries += c.entries;
    if (c.maxCount > maxCount) maxCount = c.maxCount;
    if (c.hi > best.hi || (c.hi === best.hi && c.lo > best.lo)) Object.assign(best, { hi: c.hi, lo: c.lo });
  });
  const empty = { key: ix.key, keys: 0, entries: 0, bytes: 0, rawBytes: 0, files: 0 };
  if (keys === 0) return { summary: empty, maxCount: 0 };
  const rawBytes = 8 * keys + entries * (recordSize + 8);
  const spec0 = makeShardingSpec(chooseShardingParams(keys, rawBytes, (BigInt(best.hi) << 32n) | BigInt(best.lo)), 'gzip', minishardIndexEncoding(s.gzipLevel));
  const shards = buckets(`${ix.key}.shards`, 2 ** spec0.shard_bits);
  // Each part grouped by shard on a worker, the next ones while this one's runs are appended (in
  // part order, so the shard files do not depend on timing): one more started than there are
  // workers, so that every worker has a part while this thread writes one out.
  const regrouped = inOrderAhead(ix.parts.count, s.encoder.threads + 1, (b) => {
    throwIfAborted(s.signal);
    return s.encoder.regroupPart(ix.parts.spillFile(b), E, spec0, s.signal);
  });
  let b = 0;
  for await (const { data, ends } of regrouped) {
    for (let sb = 0, from = 0; sb < ends.length; from = ends[sb++]) shards.append(sb, data.subarray(from, ends[sb]));
    ix.parts.remove(b++);
  }
  shards.finish();
  s.progress(ix.phase, 0, entries, ix.detail);
  const out = new ShardWriter(s, ix.key, ix.phase, entries, ix.detail);
  let sharding: ShardingSpec;
  try {
    sharding = await encodeShardFiles(s, out, shards, spec0, { kind: 'multi', entryBytes: E, spatial: ix.spatial, recordSize });
  } finally {
    shards.dispose();
  }
  s.progress(ix.phase, entries, entries, ix.detail);
  return {
    sharding,
    maxCount,
    summary: indexSummary(out.written, { key: ix.key, keys, entries, rawBytes, sharding }),
  };
}
