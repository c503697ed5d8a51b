// Builds the neuroglancer viewer state that opens one precomputed annotation dataset, framed on its
// bounds, and the `#!` link that carries it. Pure: shared by the CLI, the extension and the bundled
// viewer.

/** The subset of a `neuroglancer_annotations_v1` info this needs. */
export interface AnnotationInfoLike {
  dimensions: Record<string, [number, string]>;
  lower_bound: number[];
  upper_bound: number[];
  annotation_type?: string;
  properties?: { id: string; type: string }[];
}

export interface StateOptions {
  /** Where the dataset is served, e.g. `http://127.0.0.1:8080/`. */
  sourceUrl: string;
  info: AnnotationInfoLike;
  layerName?: string;
}

export interface LinkOptions extends StateOptions {
  /** A neuroglancer deployment; default the public demo. */
  baseUrl?: string;
}

export const DEFAULT_NEUROGLANCER_URL = 'https://neuroglancer-demo.appspot.com/';

// Neuroglancer's unit table (util/si_units.ts): prefix exponents for the units it accepts.
const PREFIX_EXP: Record<string, number> = {
  Y: 24, Z: 21, E: 18, P: 15, T: 12, G: 9, M: 6, k: 3, h: 2, da: 1, '': 0,
  d: -1, c: -2, m: -3, u: -6, µ: -6, n: -9, p: -12, f: -15, a: -18, z: -21, y: -24,
};

/** Scale of one coordinate unit in the base SI unit (`[8, 'nm']` → 8e-9); unknown units → as is. */
function baseScale([scale, unit]: [number, string]): number {
  for (const base of ['m', 's', 'Hz', 'rad/s']) {
    if (unit.endsWith(base)) {
      const exp = PREFIX_EXP[unit.slice(0, unit.length - base.length)];
      if (exp !== undefined) return scale * 10 ** exp;
    }
  }
  return scale;
}

/** The layer's shader: colour from the first rgb/rgba property, if any; else neuroglancer's default. */
export function annotationShader(properties: { id: string; type: string }[] | undefined): string | undefined {
  const color = properties?.find((p) => p.type === 'rgb' || p.type === 'rgba');
  if (color === undefined) return undefined;
  // setColor has vec3 and vec4 overloads, matching prop_<id>() for rgb and rgba.
  return `void main() {\n  setColor(prop_${color.id}());\n}\n`;
}

// Pixels across one cross-section panel in the default 4-panel layout, roughly.
const PANEL_PIXELS = 400;
// The 3D panel's camera, as a quaternion [x, y, z, w]: turned 30° about y after tilting 40° about x,
// so depth shows. Neuroglancer's default (identity) looks straight down z and shows a flat xy scatter.
const PROJECTION_ORIENTATION = [-0.3304, 0.2432, 0.0885, 0.9077];

export function buildNeuroglancerState(options: StateOptions): Record<string, unknown> {
  const { info } = options;
  const names = Object.keys(info.dimensions);
  const rank = names.length;
  const lo = info.lower_bound;
  const hi = info.upper_bound;
  const position = names.map((_, d) => (lo[d] + hi[d]) / 2);
  // Neuroglancer measures zoom in "canonical voxels": the smallest physical scale among the
  // displayed (first three) dimensions. Frame the largest displayed extent.
  const shown = names.slice(0, Math.min(3, rank));
  const scales = shown.map((n) => baseScale(info.dimensions[n]));
  const canonical = Math.min(...scales);
  let extent = 0;
  shown.forEach((_, d) => {
    const e = ((hi[d] - lo[d]) * scales[d]) / canonical;
    if (Number.isFinite(e)) extent = Math.max(extent, e);
  });
  if (!(extent > 0)) extent = 64; // a single point: any zoom shows it; pick a modest one
  const layer: Record<string, unknown> = {
    type: 'annotation',
    source: 'precomputed://' + options.sourceUrl,
    name: options.layerName ?? 'annotations',
  };
  const shader = annotationShader(info.properties);
  if (shader !== undefined) layer.shader = shader;
  return {
    dimensions: info.dimensions,
    position,
    crossSectionScale: (extent * 1.1) / PANEL_PIXELS,
    projectionScale: extent * 1.5,
    projectionOrientation: PROJECTION_ORIENTATION,
    // The cross-section planes drawn in the 3D panel are empty grey for a dataset with no image
    // layer, and hide every annotation behind them; the panel's "Sections" box brings them back.
    showSlices: false,
    layers: [layer],
    layout: rank >= 3 ? '4panel' : 'xy',
  };
}

/**
 * `baseUrl#!<state>`: neuroglancer decodes the fragment with decodeURIComponent and then parses it
 * as JSON (url_hash_binding.ts). Characters that URL tools or terminals may mangle are escaped too.
 */
export function neuroglancerLink(options: LinkOptions): string {
  const base = (options.baseUrl ?? DEFAULT_NEUROGLANCER_URL).replace(/#.*$/, '');
  const json = JSON.stringify(buildNeuroglancerState(options));
  const fragment = encodeURIComponent(json).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
  return base + '#!' + fragment;
}
