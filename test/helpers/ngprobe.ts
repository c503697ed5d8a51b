// What neuroglancer itself reports about the first layer of a running viewer: load state, messages,
// annotations loaded, failed chunks, shader. Shared by the headless browser test and the VS Code
// viewer-panel test. probeLayer runs in the page (sent as source text), so it must stay self-contained.

/** State of the annotation layer as neuroglancer itself reports it (evaluated in the page). */
export interface LayerReport {
  ready: boolean;
  /** Layer type as neuroglancer resolved it, and its data sources' load states. */
  layerType: string;
  sources: string[];
  sourceError: string | null;
  messages: string[];
  visibleNeeded: number;
  visibleAvailable: number;
  annotationsLoaded: number;
  /** Chunks of any source in neuroglancer's FAILED state. */
  failedChunks: number;
  /** The layer's shader as neuroglancer holds it, and its compile result ('pending' until drawn). */
  shader: string;
  shaderError: string | null;
  /** The viewer's global position. */
  position: number[];
}

// Runs in the page. Reads neuroglancer's own objects through `window.viewer`, which
// setupDefaultViewer (the bundled main) sets.
export async function probeLayer(): Promise<LayerReport> {
  /* eslint-disable @typescript-eslint/no-explicit-any */
  const viewer = (window as any).viewer;
  const managed = viewer?.layerManager?.managedLayers?.[0];
  const layer = managed?.layer;
  const report: LayerReport = {
    ready: false,
    layerType: '',
    sources: [],
    sourceError: null,
    messages: [],
    visibleNeeded: 0,
    visibleAvailable: 0,
    annotationsLoaded: 0,
    failedChunks: 0,
    shader: '',
    shaderError: 'pending',
    position: [],
  };
  if (!layer) return report;
  const collect = (list: any) => {
    if (!list) return;
    for (const m of list.messages ?? []) report.messages.push(`${m.severity}: ${m.message}`);
    for (const c of list.children ?? []) collect(c);
  };
  collect(layer.messages);
  report.layerType = String(layer.constructor?.type ?? '');
  for (const ds of layer.dataSources ?? []) {
    const ls = ds.loadState;
    report.sources.push(ls === undefined ? 'loading' : ls.error !== undefined ? 'error' : 'loaded');
    if (ls?.error !== undefined) report.sourceError = String(ls.error.message ?? ls.error);
    for (const sub of ls?.subsources ?? []) collect(sub.messages);
  }
  for (const rl of layer.renderLayers ?? []) {
    report.visibleNeeded += rl.layerChunkProgressInfo?.numVisibleChunksNeeded ?? 0;
    report.visibleAvailable += rl.layerChunkProgressInfo?.numVisibleChunksAvailable ?? 0;
  }
  for (const st of layer.annotationStates?.states ?? []) {
    for (const s of st.source?.spatiallyIndexedSources ?? []) {
      for (const chunk of s.chunks.values()) {
        const ids = chunk.data?.serializedAnnotations?.typeToIds;
        if (ids) for (const list of ids) report.annotationsLoaded += list?.length ?? 0;
      }
    }
  }
  report.ready = viewer.isReady() && managed.isReady();
  const display = layer.annotationDisplayState;
  report.shader = display?.shader?.value ?? '';
  const shaderError = display?.shaderError?.value;
  if (shaderError !== undefined) report.shaderError = shaderError === null ? null : String(shaderError.message ?? shaderError);
  report.position = Array.from(viewer.position.value as Float32Array);
  // Per-source statistics from the chunk worker; layout from chunk_manager/base: index
  // (state * numChunkPriorityTiers + tier) * numChunkMemoryStatistics, numChunks first.
  const FAILED = 6;
  const TIERS = 3;
  const MEMORY_STATISTICS = 3;
  const stats: Map<unknown, Float64Array> = await viewer.chunkQueueManager.getStatistics();
  for (const s of stats.values()) {
    for (let tier = 0; tier < TIERS; tier++) report.failedChunks += s[(FAILED * TIERS + tier) * MEMORY_STATISTICS];
  }
  return report;
}
