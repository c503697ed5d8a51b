// Walks one index folder of a dataset — sharded or not, uint64-keyed or spatial — and hands every
// stored value to a callback, reporting files neuroglancer would never request or could not read.
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { IndexRef, SpatialInfo } from './info';
import { mortonDecode } from './morton';
import { Problems } from './problems';
import { parseShardFileName, readShard } from './sharded';

export interface IndexStats {
  /** Folder relative to the dataset (as in the info `key`). */
  key: string;
  missing: boolean;
  files: number;
  bytes: number;
  /** Stored values (chunks): annotations for by_id, related ids for by_rel, cells for spatial. */
  chunks: number;
}

/** One stored value: its uint64 key (by_id / by_rel) or grid cell (spatial), and decoded bytes. */
export type ChunkHandler = (where: string, data: Buffer, key: bigint | undefined, cell: number[] | undefined) => void;

const MAX_U64 = (1n << 64n) - 1n;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

export async function walkIndex(
  root: string,
  ref: IndexRef,
  spatial: SpatialInfo | undefined,
  problems: Problems,
  onChunk: ChunkHandler,
): Promise<IndexStats> {
  const dir = path.resolve(root, ref.key);
  const rel = path.relative(root, dir) || '.';
  const stats: IndexStats = { key: ref.key, missing: false, files: 0, bytes: 0, chunks: 0 };
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    stats.missing = true;
    return stats;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const where = `${rel}/${e.name}`;
    if (!e.isFile()) {
      problems.error(where, `unexpected ${e.isDirectory() ? 'folder' : 'entry'} inside an index folder`, 'unexpected entry in an index folder');
      continue;
    }
    stats.files++;
    const file = path.join(dir, e.name);
    if (ref.sharding) {
      const sharding = ref.sharding;
      const shard = parseShardFileName(e.name, sharding);
      if (shard === undefined) {
        stats.bytes += (await stat(file)).size;
        problems.error(
          where,
          `unexpected file: with shard_bits ${sharding.shardBits} shard files are named ${'x'.repeat(Math.max(1, Math.ceil(sharding.shardBits / 4)))}.shard (lowercase hex below ${2n ** BigInt(sharding.shardBits)})`,
          'unexpected file name in a sharded index',
        );
        continue;
      }
      const s = await readShard(
        file,
        shard,
        sharding,
        (key, data) => {
          let cell: number[] | undefined;
          if (spatial) {
            cell = mortonDecode(key, spatial.gridShape);
            if (cell === undefined) {
              problems.error(where, `key ${key} is not the Morton code of a cell in grid ${JSON.stringify(spatial.gridShape)}`, 'key outside the grid');
              return;
            }
          }
          onChunk(`${where} key ${key}`, data, spatial ? undefined : key, cell);
        },
        (message) => problems.error(where, message, `shard: ${message.replace(/\d+/g, 'N')}`),
        (message) => problems.warn(where, message, `shard: ${message.replace(/\d+/g, 'N')}`),
      );
      stats.bytes += s.bytes;
      stats.chunks += s.chunks;
      continue;
    }
    // Unsharded: one file per key, named as neuroglancer requests it.
    let key: bigint | undefined;
    let cell: number[] | undefined;
    if (spatial) {
      const parts = e.name.split('_');
      if (parts.length === spatial.gridShape.length && parts.every((p, d) => DECIMAL.test(p) && Number(p) < spatial.gridShape[d])) {
        cell = parts.map(Number);
      }
    } else if (DECIMAL.test(e.name) && BigInt(e.name) <= MAX_U64) {
      key = BigInt(e.name);
    }
    const data = await readFile(file);
    stats.bytes += data.length;
    if (key === undefined && cell === undefined) {
      problems.error(
        where,
        spatial
          ? `unexpected file: cells are named i_j_… (${spatial.gridShape.length} decimal coordinates below grid_shape ${JSON.stringify(spatial.gridShape)})`
          : 'unexpected file: ids are named in canonical decimal (0 … 18446744073709551615)',
        'unexpected file name in an unsharded index',
      );
      continue;
    }
    stats.chunks++;
    onChunk(where, data, key, cell);
  }
  return stats;
}
