export * from './core/types';
export { writePrecomputedAnnotations } from './core/write';
export { GEOMETRY_ROLES, conventionalColumns, recogniseGeometry, resolveGeometry, roleLabel, type ResolvedGeometry } from './shared/geometry';
