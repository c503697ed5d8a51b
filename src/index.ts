export * from './core/types';
export { writePrecomputedAnnotations } from './core/write';
