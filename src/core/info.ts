// The `info` file: the same keys, order and number formatting as the reference writer.
import type { AnnotationType, CoordSpace, PropertySpec } from './types';
import type { ShardingSpec } from './sharding';
import { pyFloat, pyJson } from './pyjson';

export interface InfoInput {
  coords: CoordSpace;
  lower: number[];
  upper: number[];
  type: AnnotationType;
  properties: PropertySpec[];
  byId: { key: string; sharding?: ShardingSpec };
  relationships: Array<{ key: string; sharding?: ShardingSpec; id: string }>;
  spatial: Array<{ key: string; sharding?: ShardingSpec; chunk_size: number[]; grid_shape: number[]; limit: number }>;
  description: string;
}

function propertyJson(spec: PropertySpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) {
    if (v === undefined) continue;
    if (k === 'enum_values') out[k] = (v as number[]).map((x) => (Number.isInteger(x) ? x : pyFloat(x)));
    else out[k] = v;
  }
  return out;
}

export function buildInfo(i: InfoInput): string {
  const dimensions: Record<string, unknown> = {};
  i.coords.names.forEach((name, d) => {
    dimensions[name] = [pyFloat(i.coords.scales[d]), i.coords.units[d]];
  });
  const info: Record<string, unknown> = {
    '@type': 'neuroglancer_annotations_v1',
    dimensions,
    lower_bound: i.lower.map(pyFloat),
    upper_bound: i.upper.map(pyFloat),
    annotation_type: i.type,
    properties: i.properties.map(propertyJson),
    by_id: i.byId.sharding ? { key: i.byId.key, sharding: i.byId.sharding } : { key: i.byId.key },
    relationships: i.relationships.map((r) => (r.sharding ? { key: r.key, sharding: r.sharding, id: r.id } : { key: r.key, id: r.id })),
    spatial: i.spatial.map((s) => {
      const o: Record<string, unknown> = { key: s.key };
      if (s.sharding) o.sharding = s.sharding;
      o.chunk_size = s.chunk_size.map(pyFloat);
      o.grid_shape = s.grid_shape;
      o.limit = s.limit;
      return o;
    }),
  };
  if (i.description) info.description = i.description;
  return pyJson(info);
}
