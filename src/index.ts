export * from './core/types';
export { writePrecomputedAnnotations } from './export/run';
export {
  readPrecomputedAnnotations,
  streamPrecomputedAnnotations,
  openPrecomputedAnnotations,
  exportArgsOf,
  DatasetError,
  type PrecomputedTable,
  type PrecomputedSchema,
  type PrecomputedBatch,
  type ReadPrecomputedOptions,
} from './roundtrip/read';
export { openSource, localSource, httpSource, type ReadSource } from './roundtrip/source';
export { GEOMETRY_ROLES, conventionalColumns, recogniseGeometry, resolveGeometry, roleLabel, type ResolvedGeometry } from './shared/geometry';
export { UserError, AbortError } from './shared/errors';
