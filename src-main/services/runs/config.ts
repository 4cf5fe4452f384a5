/**
 * Run configuration: validation of what a user asks for (API form, CLI
 * flags) into the complete config stored in `runs/<id>/config.json`.
 *
 * Two passes. The API schema (api/calls/runs.ts, zod only) checks shapes and
 * ranges of the run's own fields; then the engine's schemas check the parts
 * they own (optimizer, schedule, model options: src-engine/optim/config.ts,
 * src-engine/models) and the augmentation schema the pipeline. Every error is
 * a RunConfigError whose `field` names the offending setting
 * (`optimizer.lr`, `model.options.hidden`, `batchSize`), so a form can mark it
 * and the CLI can name the flag.
 */
import { z } from 'zod';
import { RunConfigInput } from '../../api/calls/runs.ts';
import { compileModel, describeGraph, ModelConfigError, type ModelGraph } from '../../../src-engine/models/index.ts';
import {
  OptimizerConfigError,
  optimizerConfigSchema,
  parseOptimizerConfig,
  parseScheduleConfig,
  scheduleConfigSchema,
} from '../../../src-engine/optim/config.ts';
import { AugmentConfigError, augmentPipelineSchema, parsePipeline } from '../augment/pipeline-schema.ts';
import type { DatasetInfo } from '../datasets/format.ts';
import { InitWeightsError, InitWeightsInfo, initialCheckpoint, type InitialCheckpoint, readWeightsFile, weightsForModel } from './init-weights.ts';

export const RUN_FORMAT_VERSION = 1;

/** A setting the user can fix; `field` is its path in the run config. */
export class RunConfigError extends Error {
  override readonly name = 'RunConfigError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** The complete run config as stored (every default filled in). */
export const StoredRunConfig = z.object({
  formatVersion: z.literal(RUN_FORMAT_VERSION),
  id: z.string(),
  name: z.string(),
  created: z.string(),
  datasetId: z.string(),
  datasetName: z.string(),
  devFraction: z.number().min(0).max(0.5),
  trainSubset: z.number().int().min(1).optional(),
  model: z.object({ family: z.string(), options: z.record(z.string(), z.unknown()) }),
  optimizer: optimizerConfigSchema,
  schedule: scheduleConfigSchema,
  augment: augmentPipelineSchema,
  epochs: z.number().int().min(1),
  batchSize: z.number().int().min(1),
  seed: z.number().int().min(0),
  labelSmoothing: z.number().min(0).max(0.5),
  logEvery: z.number().int().min(1),
  gradNormEvery: z.number().int().min(0),
  evalEvery: z.number().int().min(1),
  keepCheckpoints: z.number().int().min(1),
  /** The run started from these weights (checkpoints/epoch-0), not from a random initialisation. */
  initWeights: InitWeightsInfo.optional(),
  /** Facts derived at creation (for listing without recomputation). */
  derived: z.object({
    /** [H, W, C] of the dataset. */
    imageShape: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
    classNames: z.array(z.string()),
    params: z.number().int(),
    flopsPerSample: z.number(),
    counts: z.object({ train: z.number().int(), dev: z.number().int(), test: z.number().int() }),
    stepsPerEpoch: z.number().int().min(1),
    totalSteps: z.number().int().min(1),
  }),
});
export type StoredRunConfig = z.infer<typeof StoredRunConfig>;

export interface ResolvedRun {
  config: StoredRunConfig;
  graph: ModelGraph;
  /** Starting checkpoint (from `initWeights`), written into the new run folder by RunStore.create. */
  initial?: InitialCheckpoint;
}

/** Examples per class kept for dev by a stratified split (split.ts rounds per class). */
export function devCounts(classCounts: readonly number[], devFraction: number): number[] {
  return classCounts.map((n) => Math.round(n * devFraction));
}

/** Train / dev / test counts of a config on a dataset, exactly as the worker will split them. */
export function splitCounts(d: DatasetInfo, devFraction: number, trainSubset?: number): { train: number; dev: number; test: number; perClassTrain: number[] } {
  const dev = devCounts(d.splits.train.classCounts, devFraction);
  let perClassTrain = d.splits.train.classCounts.map((n, c) => n - dev[c]);
  const trainTotal = perClassTrain.reduce((a, b) => a + b, 0);
  if (trainSubset !== undefined && trainSubset < trainTotal) {
    const f = trainSubset / trainTotal;
    perClassTrain = perClassTrain.map((n) => Math.round(n * f));
  }
  return {
    train: perClassTrain.reduce((a, b) => a + b, 0),
    dev: dev.reduce((a, b) => a + b, 0),
    test: d.splits.test?.count ?? 0,
    perClassTrain,
  };
}

function firstIssue(e: z.ZodError, root: string): RunConfigError {
  const issue = e.issues[0];
  const path = issue.path.map(String).join('.');
  const field = [root, path].filter(Boolean).join('.') || 'config';
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') msg = `unknown setting${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  return new RunConfigError(`Invalid run setting ${field}: ${msg}.`, field);
}

/** `Invalid optimizer setting optimizer.momentum: …` → `optimizer.momentum`. */
function fieldFromMessage(message: string, root: string): string {
  const m = new RegExp(`setting (${root}[^\\s:]*)`).exec(message);
  return m ? m[1].replace(/\[(\d+)\]/g, '.$1').replace(/\.$/, '') : root;
}

/**
 * Validates a config against a dataset and compiles its model. Throws
 * RunConfigError naming the field. `lookupDataset` resolves the dataset id
 * (the library's `get`).
 */
export async function resolveRunConfig(
  input: unknown,
  lookupDataset: (id: string) => Promise<DatasetInfo>,
  ids: { id: string; created: string } = { id: 'validate', created: new Date(0).toISOString() },
): Promise<ResolvedRun> {
  const r = RunConfigInput.safeParse(input);
  if (!r.success) throw firstIssue(r.error, '');
  const c = r.data;
  let dataset: DatasetInfo;
  try {
    dataset = await lookupDataset(c.datasetId);
  } catch {
    throw new RunConfigError(`Invalid run setting datasetId: no dataset "${c.datasetId}" in the library (import it first).`, 'datasetId');
  }
  let optimizer;
  let schedule;
  let augment;
  try {
    optimizer = parseOptimizerConfig(c.optimizer);
    schedule = parseScheduleConfig(c.schedule);
  } catch (e) {
    if (e instanceof OptimizerConfigError) {
      const root = /setting schedule/.test(e.message) ? 'schedule' : 'optimizer';
      throw new RunConfigError(e.message, fieldFromMessage(e.message, root));
    }
    throw e;
  }
  try {
    augment = parsePipeline(c.augment);
  } catch (e) {
    if (e instanceof AugmentConfigError) {
      const m = /pipeline((?:\[\d+\]|\.\w+)*)/.exec(e.message);
      throw new RunConfigError(e.message, 'augment' + (m ? m[1].replace(/\[(\d+)\]/g, '.$1') : ''));
    }
    throw e;
  }
  const [H, W, C] = dataset.shape;
  let graph: ModelGraph;
  try {
    graph = compileModel(c.model.family, c.model.options, [C, H, W], dataset.classNames.length, {
      mean: dataset.mean.map((v) => v / 255),
      // a constant channel (std 0) would divide by zero: normalise it by 1 instead
      std: dataset.std.map((v) => (v > 0 ? v / 255 : 1)),
    });
  } catch (e) {
    if (e instanceof ModelConfigError) {
      const where = e.where === 'model' ? 'model.family' : e.where && e.where !== 'options' ? `model.options.${e.where}` : 'model.options';
      throw new RunConfigError(`Invalid model: ${e.message}`, where);
    }
    throw e;
  }
  const counts = splitCounts(dataset, c.devFraction, c.trainSubset);
  if (counts.train === 0) throw new RunConfigError('Invalid run setting devFraction: no training examples are left.', 'devFraction');
  if (c.batchSize > counts.train) {
    throw new RunConfigError(`Invalid run setting batchSize: ${c.batchSize} is more than the ${counts.train} training examples.`, 'batchSize');
  }
  const d = describeGraph(graph);
  const stepsPerEpoch = Math.ceil(counts.train / c.batchSize);
  const config: StoredRunConfig = {
    formatVersion: RUN_FORMAT_VERSION,
    id: ids.id,
    name: c.name ?? `${c.model.family} on ${dataset.name}`,
    created: ids.created,
    datasetId: dataset.id,
    datasetName: dataset.name,
    devFraction: c.devFraction,
    ...(c.trainSubset !== undefined ? { trainSubset: c.trainSubset } : {}),
    model: { family: graph.family, options: graph.options },
    optimizer,
    schedule,
    augment,
    epochs: c.epochs,
    batchSize: c.batchSize,
    seed: c.seed,
    labelSmoothing: c.labelSmoothing,
    logEvery: c.logEvery,
    gradNormEvery: c.gradNormEvery,
    evalEvery: c.evalEvery,
    keepCheckpoints: c.keepCheckpoints,
    derived: {
      imageShape: [H, W, C],
      classNames: dataset.classNames,
      params: d.totalParams,
      flopsPerSample: d.totalFlops,
      counts: { train: counts.train, dev: counts.dev, test: counts.test },
      stepsPerEpoch,
      totalSteps: stepsPerEpoch * c.epochs,
    },
  };
  if (c.initWeights === undefined) return { config, graph };
  if (typeof c.initWeights !== 'string') {
    // Hosts turn an upload into a path (api/handlers/runs.ts) before the config gets here.
    throw new RunConfigError('Invalid run setting initWeights: an upload ({uploadId, name}) is only accepted by the web host.', 'initWeights');
  }
  try {
    const read = await readWeightsFile(c.initWeights);
    const weights = weightsForModel(graph, read);
    config.initWeights = read.info;
    return { config, graph, initial: initialCheckpoint(config, graph, weights, read.info) };
  } catch (e) {
    if (e instanceof InitWeightsError) throw new RunConfigError(`Invalid run setting initWeights: ${e.message}`, 'initWeights');
    throw e;
  }
}
