/**
 * Models: the JSON layer graph (graph.ts), its shape checker and layer table
 * (describe.ts, table.ts), the model zoo (registry.ts, families/) and the
 * interpreter that runs a graph on the engine (build.ts).
 */
export * from './graph.ts';
export * from './describe.ts';
export { formatLayerTable, formatCount } from './table.ts';
export type { ModelFamily, CompileContext, CompiledLayers } from './family.ts';
export { MODEL_FAMILIES, FAMILY_NAMES, getFamily, compileModel } from './registry.ts';
export type { NormalizationStats } from './registry.ts';
export { buildModel } from './build.ts';
export type { Model, ForwardOptions, BuildOptions } from './build.ts';
