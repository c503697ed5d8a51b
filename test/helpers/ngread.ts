// Conformance harness: read a precomputed-annotations directory with neuroglancer's own code
// (npm `neuroglancer`, pinned 2.41.2) and hand back annotations as neuroglancer decodes them.
//
// What is neuroglancer's and what is ours:
// - info parsing: neuroglancer's `PrecomputedDataSource.get` reads `info` through its KvStoreContext
//   and builds its `AnnotationMetadata` (dimensions, bounds, property specs, sharding specs, spatial
//   levels). We capture that object where it is handed to `chunkManager.getChunkSource`.
// - by_id, by_rel_*, spatial chunks: the *prototype methods* of neuroglancer's backend classes
//   `PrecomputedAnnotationSourceBackend.downloadMetadata` / `.downloadSegmentFilteredGeometry` and
//   `PrecomputedAnnotationSpatialIndexSourceBackend.download` run unchanged. They choose the key
//   (decimal id, `i_j_k`, or `encodeZIndexCompressed` for sharded spatial levels), go through
//   `ShardedKvStore` (hash, shard/minishard, shard index, minishard index, gzip) and decode with the
//   private `parseSingleAnnotation` / `parseAnnotations`.
// - GLUE (ours, marked below): (1) a local-file base kvstore registered as scheme `file` (reads a
//   file and answers byte ranges with neuroglancer's `handleByteRangeRequestFromUint8Array`);
//   (2) the fields those backend objects would get from their constructors over worker RPC,
//   assigned exactly as the class field initialisers compute them; (3) a no-op chunk-queue manager
//   for the minishard-index cache; (4) turning a decoded multi-annotation chunk
//   (`AnnotationGeometryData`) into per-annotation objects, which neuroglancer does only in its UI
//   (`ui/annotations.js`, selected-annotation details) with the same two deserialize calls used here.
//
// Facts about neuroglancer 2.41.2 that the writer must meet (each is exercised in
// test/ngread.test.ts unless marked "from source"):
// info
// - `"@type": "neuroglancer_annotations_v1"` is required (without it the directory is read as a
//   volume). `dimensions`, `lower_bound`, `upper_bound`, `annotation_type`, `relationships`,
//   `by_id`, `spatial` are required; `properties` may be omitted; unknown members are ignored.
//   `annotation_type` is matched case-insensitively; "polyline" is accepted. `spatial: []` parses.
// - Units: "m", "s", "Hz", "rad/s" with SI prefixes ("nm", "um", "µm"; stored as base unit and
//   scaled) or "" (unitless); anything else ("px") is rejected; scales must be > 0. Dimension
//   names must match /^[a-zA-Z][a-zA-Z_0-9]*['^]?$/ and be unique (from source for the pattern).
// - `by_id: {"key": "by_id"}` without `sharding` is accepted (unsharded: `<key>/<decimal id>`).
//   An explicit `"sharding": null` is rejected: omit the member instead. Keys may be relative
//   paths ("../x") resolved against the info's directory.
// - Property ids must match /^[a-z][a-zA-Z0-9_]*$/ and be unique; types are exactly uint8, int8,
//   uint16, int16, uint32, int32, float32, rgb, rgba. `enum_values` must fit the type (300 or -1
//   for uint8 is rejected) and `enum_labels` must have the same length; relationship ids are free
//   text.
// - `grid_shape` and `limit` go through parseInt: must be >= 1 (limit 0 is rejected, so "no
//   subsampling" must still write limit >= 1), and fractions are silently truncated (from source:
//   a JSON number >= 1e21 is printed with an exponent and would parse as 1). `chunk_size` > 0.
//   `grid_shape * chunk_size` is never checked against the bounds, nor lower < upper.
// - From source (annotation/base.js): the fraction drawn is min(1, desired / limit) and each chunk
//   is drawn as a *prefix* of its list, so spatial lists must be in random order and `limit`
//   should be the real maximum count per cell of the level.
// spatial index
// - Keys: unsharded `<key>/<cell.join('_')>` with the cell in info dimension order; sharded:
//   `encodeZIndexCompressed(cell, grid_shape)` (at each bit level, dimension 0 first; a dimension
//   contributes bits only while `(grid_shape[d]-1) >>> bit` is non-zero; bits 0..31 only).
//   From source (sliceview/base.js clamps chunk positions to [0, grid_shape-1]): neuroglancer
//   requests only cells inside the grid, so a file named for a cell outside it is never read
//   (`unrequestedSpatialFiles` lists such files). It never checks that records lie inside their
//   cell or the bounds.
// - The grid origin is `lower_bound`; `upper_bound` only sets the coordinate-space bounds (the spec
//   calls it exclusive; no reader code depends on that). So geometry exactly at the upper bound
//   must be put in the last cell by the writer. From source: chunk positions are Float32Array, so
//   cells beyond 2^24 per axis are not addressable.
// - Levels are listed coarse to fine in the info; neuroglancer reverses the list internally.
// records
// - Geometry float32le; properties placed by neuroglancer's `getPropertyOffsets`: stable sort by
//   alignment (float32/uint32/int32 = 4, uint16/int16 = 2, uint8/int8/rgb/rgba = 1), then padding
//   to a multiple of 4 after geometry + properties. The sort starts from the info's own
//   `properties` order, so records must follow the stable alignment sort of whatever order the
//   info lists (values come back in info order). int8 is 1 byte (getInt8) in 2.41.2.
//   rgb is 3 bytes r,g,b and decodes to r | g<<8 | b<<16; rgba decodes to the uint32le of r,g,b,a.
//   Over 255 bytes per record neuroglancer splits properties into groups (never hit in practice).
// - by_id value: record, then per relationship uint32le count + count × uint64le; the length must
//   match exactly (extra or missing bytes throw). With no relationships it is just the record.
// - Multi-annotation value (spatial/by_rel): uint64le count (high 32 bits must be 0), records,
//   then ids; the total length must match exactly. A missing by_rel/spatial entry means "none".
// - Polyline records are `uint32 n, n points, properties+padding`. A polyline with a single vertex
//   decodes in by_id but has no segment in a chunk, which shifts every later polyline of that chunk
//   onto the wrong geometry: the writer must require >= 2 vertices.
// sharding
// - `@type` "neuroglancer_uint64_sharded_v1"; hash "identity" or "murmurhash3_x86_128" (seed 0,
//   low 64 bits of the 128-bit hash of the 8-byte little-endian `key >> preshift_bits`);
//   minishard = hash & (2^minishard_bits-1), shard = (hash >> minishard_bits) & (2^shard_bits-1).
//   Encodings "raw"/"gzip", case-insensitive, default raw; preshift/shard/minishard bits required.
//   Shard file `<key>/<shard hex, lowercase, zero-padded to ceil(shard_bits/4)>.shard` ("0.shard"
//   for 0 bits). Shard index: 2^minishard_bits × [start, end) uint64le, relative to the end of the
//   shard index; start == end means an empty minishard. Minishard index: three uint64le arrays
//   (key deltas, start deltas from the previous entry's end, sizes), gzip'd as a whole when
//   minishard_index_encoding is gzip; each value gzip'd on its own when data_encoding is gzip.
//   The full (unshifted) key is matched.
import { setMaxListeners } from 'node:events';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { loadNeuroglancer, type NgModules } from './ngbundle';

export type NgAnnotationTypeName = 'point' | 'line' | 'axis_aligned_bounding_box' | 'ellipsoid' | 'polyline';

/** One annotation as neuroglancer decodes it. Geometry is float32 values widened to numbers. */
export interface NgAnnotation {
  id: bigint;
  type: NgAnnotationTypeName;
  point?: number[];
  pointA?: number[];
  pointB?: number[];
  center?: number[];
  radii?: number[];
  points?: number[][];
  /** In info `properties` order. rgb = r|g<<8|b<<16, rgba = uint32le of r,g,b,a (see ngColor). */
  properties: number[];
  /** by_id only (the other indices carry no relationships): one list per info relationship, so
   *  `[]` when the info has none. */
  relationships?: bigint[][];
}

/** A property spec as neuroglancer parsed it (its `AnnotationPropertySpec`). */
export interface NgPropertySpec {
  identifier: string;
  type: string;
  description?: string;
  default: number;
  enumValues?: number[];
  enumLabels?: string[];
}

export interface NgSpatialLevel {
  /** Index in info `spatial` (0 = coarsest). */
  index: number;
  url: string;
  gridShape: number[];
  chunkSize: number[];
  limit: number;
  sharded: boolean;
}

export interface NgDataset {
  /** The info JSON as read from disk. */
  raw: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** neuroglancer's `AnnotationMetadata` (coordinateSpace, parameters, spatialIndices fine→coarse). */
  metadata: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  type: NgAnnotationTypeName;
  rank: number;
  properties: NgPropertySpec[];
  relationships: string[];
  /** In info order (coarse to fine). */
  levels: NgSpatialLevel[];
  /** Record size in bytes per neuroglancer's AnnotationPropertySerializer (polyline: 2-point size). */
  serializedBytes: number;
  /** by_id lookup; undefined when neuroglancer finds no entry. */
  getById(id: bigint): Promise<NgAnnotation | undefined>;
  /** by_rel lookup; undefined when no entry exists (neuroglancer then shows nothing). */
  getByRelationship(relationship: string, segment: bigint): Promise<NgAnnotation[] | undefined>;
  /** One spatial cell as neuroglancer requests it; undefined when no chunk is stored. */
  getSpatialChunk(level: number, cell: number[]): Promise<NgAnnotation[] | undefined>;
  /** Every stored cell of a level, keyed `i_j_k`. Bounded to small grids. */
  allSpatial(level: number): Promise<Map<string, NgAnnotation[]>>;
  /** The key neuroglancer asks the kvstore for: file name (unsharded) or Morton code (sharded). */
  spatialKey(level: number, cell: number[]): string | bigint;
  /** Unsharded levels: files in the level directory that no grid cell maps to (never read). */
  unrequestedSpatialFiles(level: number): Promise<string[]>;
}

const MAX_CELLS = 1 << 20;

/** Low 64 bits of murmurhash3_x86_128(seed 0) of the key, as neuroglancer's sharded reader hashes. */
export async function ngShardHash(key: bigint): Promise<bigint> {
  const ng = await loadNeuroglancer();
  // sharded.js maps ShardingHashFunction.MURMURHASH3_X86_128 to exactly this call (seed 0).
  return ng.murmurHash3_x86_128Hash64Bits_Bigint(0, BigInt.asUintN(64, key));
}

/** neuroglancer's compressed Morton code of a grid cell (the sharded spatial key). */
export async function ngZIndexCompressed(gridShape: number[], cell: number[]): Promise<bigint> {
  return (await ngPrimitives()).zIndexCompressed(gridShape, cell);
}

/** Synchronous forms of the two helpers above, for comparing many values in a loop. */
export async function ngPrimitives(): Promise<{
  shardHash(key: bigint): bigint;
  zIndexCompressed(gridShape: number[], cell: number[]): bigint;
}> {
  const ng = await loadNeuroglancer();
  return {
    shardHash: (key) => ng.murmurHash3_x86_128Hash64Bits_Bigint(0, BigInt.asUintN(64, key)),
    // Float32Array as neuroglancer holds chunk positions and grid shapes (spec.upperChunkBound).
    zIndexCompressed: (gridShape, cell) => ng.encodeZIndexCompressed(Float32Array.from(cell), Float32Array.from(gridShape)),
  };
}

/** Splits a decoded rgb/rgba property value into its byte channels. */
export function ngColor(value: number, channels: 3 | 4): number[] {
  const out: number[] = [];
  for (let i = 0; i < channels; ++i) out.push((value >>> (8 * i)) & 0xff);
  return out;
}

export async function readDatasetWithNeuroglancer(dir: string): Promise<NgDataset> {
  const ng = await loadNeuroglancer();
  const absDir = path.resolve(dir);
  const raw = JSON.parse(await fs.readFile(path.join(absDir, 'info'), 'utf8'));

  const kvStoreContext = new ng.KvStoreContext();
  kvStoreContext.baseKvStoreProviders.set('file', localFileProvider(ng));
  const chunkManager = makeChunkManager(ng);
  const kvStoreUrl = `file://${ng.encodePathForUrl(absDir)}/`;

  // neuroglancer parses the info itself (through the kvstore), as when a layer is added.
  let captured: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  chunkManager.getChunkSource = (_cls: unknown, options: unknown) => {
    captured = options; // GLUE: the frontend would now create the (worker-backed) chunk source.
    return {};
  };
  await new ng.PrecomputedDataSource().get({
    url: ng.parsePipelineUrlComponent('neuroglancer-precomputed:'),
    kvStoreUrl,
    registry: { chunkManager, sharedKvStoreContext: { kvStoreContext, chunkManager } },
    signal: new AbortController().signal,
    progressListener: { addSpan() {}, removeSpan() {} },
  });
  if (captured === undefined) throw new Error(`${absDir}/info: neuroglancer did not treat it as an annotation source`);
  const metadata = captured.metadata;
  const parameters = metadata.parameters;
  const rank: number = parameters.rank;
  const typeName = String(ng.AnnotationType[parameters.type]).toLowerCase() as NgAnnotationTypeName;

  // GLUE: fields the backend objects get in their constructors, computed as their class field
  // initialisers do (kvStore from the url, getShardedKvStoreIfApplicable, the property serializer).
  const chunkSourceStandIn = { chunkManager, registerDisposer: <T>(x: T) => x };
  const openIndex = (spec: { url: string; sharding: unknown }) => {
    const kvStore = kvStoreContext.getKvStore(spec.url);
    return { kvStore, shardedKvStore: ng.getShardedKvStoreIfApplicable(chunkSourceStandIn, kvStore, spec.sharding) };
  };
  const annotationSource = Object.create(ng.PrecomputedAnnotationSourceBackend.prototype);
  Object.assign(annotationSource, {
    parameters,
    ...openIndex(parameters.byId),
    relationshipIndexSource: parameters.relationships.map(openIndex),
    annotationPropertySerializer: new ng.AnnotationPropertySerializer(
      rank,
      ng.annotationTypeHandlers[parameters.type].serializedBytes(rank),
      parameters.properties,
    ),
  });
  const serializer = annotationSource.annotationPropertySerializer;

  // metadata.spatialIndices is fine→coarse (neuroglancer reverses the info list).
  const ngLevels = [...metadata.spatialIndices].reverse();
  const spatialSources = ngLevels.map((level: any) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const source = Object.create(ng.PrecomputedAnnotationSpatialIndexSourceBackend.prototype);
    Object.assign(source, { parameters: level.parameters, spec: level.spec, parent: annotationSource, ...openIndex(level.parameters) });
    return source;
  });
  const levels: NgSpatialLevel[] = ngLevels.map((level: any, index: number) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
    index,
    url: level.parameters.url,
    gridShape: Array.from(level.spec.upperChunkBound as Float32Array),
    chunkSize: Array.from(level.spec.chunkDataSize as Float32Array),
    limit: level.limit,
    sharded: level.parameters.sharding !== undefined,
  }));

  // One signal for every lookup, as a viewer's would be. Neuroglancer's caches add an abort listener
  // per pending request, so a dataset with many shards passes Node's default of 10 and Node warned
  // (MaxListenersExceededWarning) in the middle of the test output. Nothing ever aborts it.
  const signal = new AbortController().signal;
  setMaxListeners(0, signal);
  const toNg = (a: any, relationships?: BigUint64Array[]) => toNgAnnotation(ng, a, relationships); // eslint-disable-line @typescript-eslint/no-explicit-any
  const levelOf = (level: number) => {
    const l = levels[level];
    if (l === undefined) throw new Error(`${absDir}: no spatial level ${level} (info has ${levels.length})`);
    return l;
  };
  const checkCell = (l: NgSpatialLevel, cell: number[]) => {
    if (cell.length !== rank || cell.some((c, d) => !Number.isInteger(c) || c < 0 || c >= l.gridShape[d]!)) {
      throw new Error(`cell [${cell}] is outside level ${l.index} grid_shape [${l.gridShape}]`);
    }
  };

  const dataset: NgDataset = {
    raw,
    metadata,
    type: typeName,
    rank,
    properties: parameters.properties,
    relationships: parameters.relationships.map((r: { name: string }) => r.name),
    levels,
    serializedBytes: serializer.serializedBytes,

    async getById(id) {
      const chunk: { key: string; annotation?: any } = { key: BigInt.asUintN(64, id).toString() }; // eslint-disable-line @typescript-eslint/no-explicit-any
      await annotationSource.downloadMetadata(chunk, signal);
      if (chunk.annotation == null) return undefined;
      return toNg(chunk.annotation, chunk.annotation.relatedSegments);
    },

    async getByRelationship(relationship, segment) {
      const index = dataset.relationships.indexOf(relationship);
      if (index === -1) throw new Error(`${absDir}: no relationship "${relationship}" (info has ${JSON.stringify(dataset.relationships)})`);
      const chunk: { objectId: bigint; data?: any } = { objectId: BigInt.asUintN(64, segment) }; // eslint-disable-line @typescript-eslint/no-explicit-any
      await annotationSource.downloadSegmentFilteredGeometry(chunk, index, signal);
      if (chunk.data === undefined) return undefined;
      return geometryDataToAnnotations(ng, parameters, serializer, chunk.data).map((a) => toNg(a));
    },

    async getSpatialChunk(level, cell) {
      const l = levelOf(level);
      checkCell(l, cell);
      // As SliceViewChunk.initializeVolumeChunk stores it.
      const chunk: { chunkGridPosition: Float32Array; data?: any } = { chunkGridPosition: Float32Array.from(cell) }; // eslint-disable-line @typescript-eslint/no-explicit-any
      await spatialSources[level].download(chunk, signal);
      if (chunk.data === undefined) return undefined;
      return geometryDataToAnnotations(ng, parameters, serializer, chunk.data).map((a) => toNg(a));
    },

    async allSpatial(level) {
      const l = levelOf(level);
      const total = l.gridShape.reduce((a, b) => a * b, 1);
      if (total > MAX_CELLS) throw new Error(`level ${level} has ${total} cells; allSpatial is for test-size grids`);
      const out = new Map<string, NgAnnotation[]>();
      for (const cell of cellsOf(l.gridShape)) {
        const annotations = await dataset.getSpatialChunk(level, cell);
        if (annotations !== undefined) out.set(cell.join('_'), annotations);
      }
      return out;
    },

    spatialKey(level, cell) {
      const l = levelOf(level);
      checkCell(l, cell);
      return l.sharded
        ? ng.encodeZIndexCompressed(Float32Array.from(cell), Float32Array.from(l.gridShape))
        : cell.join('_');
    },

    async unrequestedSpatialFiles(level) {
      const l = levelOf(level);
      if (l.sharded) throw new Error(`level ${level} is sharded`);
      const levelDir = decodeURIComponent(l.url.replace(/^file:\/\//, ''));
      const names = await fs.readdir(levelDir);
      return names.filter((name) => {
        const parts = name.split('_');
        return !(
          parts.length === rank &&
          parts.every((p, d) => /^(0|[1-9][0-9]*)$/.test(p) && Number(p) < l.gridShape[d]!)
        );
      });
    },
  };
  return dataset;
}

function* cellsOf(gridShape: number[]): Generator<number[]> {
  const cell = gridShape.map(() => 0);
  if (gridShape.some((g) => g <= 0)) return;
  while (true) {
    yield [...cell];
    let d = cell.length - 1;
    while (d >= 0 && ++cell[d]! === gridShape[d]) cell[d--] = 0;
    if (d < 0) return;
  }
}

// GLUE: neuroglancer keeps chunk contents in its GPU layout (`AnnotationGeometryData`) and only
// turns one entry back into an annotation object in the UI (ui/annotations.js, selected
// annotation details): `handler.deserialize(dv, base + stride*instance, ..., stride)` and
// `propertySerializer.deserialize(dv, base, instance, instanceCount, ...)`. We make the same two
// calls for every id. For polylines the first instance of annotation i is typeToInstanceCounts
// (as renderlayer.js uses for hover); other types have one instance per annotation.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function geometryDataToAnnotations(ng: NgModules, parameters: any, serializer: any, data: any): any[] {
  const type = parameters.type;
  const ids: string[] = data.typeToIds[type];
  const instanceCount: number = data.typeToSize[type];
  const base: number = data.typeToOffset[type];
  const bytes: Uint8Array = data.data;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stride: number = serializer.propertyGroupBytes[0];
  const handler = ng.annotationTypeHandlers[type];
  const isPolyline = type === ng.AnnotationType.POLYLINE;
  return ids.map((id, i) => {
    const instance: number = isPolyline ? data.typeToInstanceCounts[type][i] : i;
    const annotation = handler.deserialize(dv, base + stride * instance, true, parameters.rank, id, stride);
    annotation.properties = new Array(parameters.properties.length);
    serializer.deserialize(dv, base, instance, instanceCount, true, annotation.properties);
    return annotation;
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toNgAnnotation(ng: NgModules, a: any, relationships?: BigUint64Array[]): NgAnnotation {
  const vec = (v: Float32Array) => Array.from(v);
  const T = ng.AnnotationType;
  const out: NgAnnotation = {
    id: BigInt(a.id),
    type: String(T[a.type]).toLowerCase() as NgAnnotationTypeName,
    properties: [...a.properties],
  };
  switch (a.type) {
    case T.POINT:
      out.point = vec(a.point);
      break;
    case T.LINE:
    case T.AXIS_ALIGNED_BOUNDING_BOX:
      out.pointA = vec(a.pointA);
      out.pointB = vec(a.pointB);
      break;
    case T.ELLIPSOID:
      out.center = vec(a.center);
      out.radii = vec(a.radii);
      break;
    case T.POLYLINE:
      out.points = a.points.map(vec);
      break;
    default:
      throw new Error(`unknown annotation type ${a.type}`);
  }
  if (relationships !== undefined) out.relationships = relationships.map((r) => Array.from(r));
  return out;
}

// GLUE: a base kvstore over local files for scheme `file:` (neuroglancer's own local access goes
// through HTTP). Missing files read as undefined, as an HTTP 404 does; byte ranges are answered by
// neuroglancer's handleByteRangeRequestFromUint8Array.
function localFileProvider(ng: NgModules) {
  const store = {
    async stat(key: string) {
      try {
        return { totalSize: (await fs.stat(key)).size };
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
    },
    async read(key: string, options: { byteRange?: unknown }) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await fs.readFile(key));
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
      return ng.handleByteRangeRequestFromUint8Array(bytes, options?.byteRange);
    },
    getUrl(key: string) {
      return `file://${ng.encodePathForUrl(key)}`;
    },
  };
  return {
    scheme: 'file',
    description: 'local files (conformance harness)',
    getKvStore(url: { url: string; suffix?: string }) {
      const m = (url.suffix ?? '').match(/^\/\/(\/.*)$/);
      if (m === null) throw new Error(`expected file:///absolute/path, got ${url.url}`);
      return { store, path: decodeURIComponent(m[1]!) };
    },
  };
}

function isMissing(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR';
}

// GLUE: the chunk manager that ShardedKvStore's minishard-index cache (SimpleAsyncCache) reports
// to. Only cache bookkeeping; neuroglancer's memoize is real.
function makeChunkManager(ng: NgModules) {
  const queueManager = {
    sources: new Set(),
    updateChunkState(chunk: { state: number }, state: number) {
      chunk.state = state;
    },
    markRecentlyUsed() {},
    adjustCapacitiesForChunk() {},
    scheduleUpdate() {},
  };
  const chunkManager = {
    queueManager,
    memoize: new ng.StringMemoize(),
    addRef() {
      return chunkManager;
    },
    dispose() {},
    getChunkSource: undefined as unknown as (cls: unknown, options: unknown) => unknown,
  };
  return chunkManager;
}
