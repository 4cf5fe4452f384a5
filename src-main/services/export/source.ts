/**
 * What gets exported: a graph, its weights and the facts for the model card.
 * From a run (config, compiled graph, a checkpoint's weights and the test
 * results, through the run store) or given directly by the caller.
 */
import { decodeSafetensors } from '../../../src-engine/io/safetensors.ts';
import { weightsFromSafetensors, type WeightTensor } from '../../../src-engine/io/weights.ts';
import type { ExportDataset, ExportInfo } from '../../../src-engine/io/export-info.ts';
import type { ModelGraph } from '../../../src-engine/models/graph.ts';
import type { DataDirLayout } from '../data-dir.ts';
import { DatasetLibrary } from '../datasets/index.ts';
import { RunStore } from '../runs/index.ts';
import { APP_VERSION } from '../../version.ts';
import { ExportError } from './files.ts';

export interface ExportSource {
  graph: ModelGraph;
  /** Parameters and buffers by state_dict name. */
  weights: ReadonlyMap<string, WeightTensor>;
  info: ExportInfo;
}

export interface RunSourceOptions {
  /** Checkpoint name (`epoch-10`); default: the one the test results came from, else the latest. */
  checkpoint?: string;
}

/** Reads a run's graph, a checkpoint's weights and its facts through the run store. */
export async function loadRunSource(layout: DataDirLayout, runId: string, opt: RunSourceOptions = {}): Promise<ExportSource> {
  const store = new RunStore(layout);
  const config = await store.readConfig(runId);
  const graph = await store.readGraph(runId);
  const results = await store.readResults(runId);
  const checkpoints = await store.listCheckpoints(runId);
  if (checkpoints.length === 0) {
    throw new ExportError(`Run ${runId} has no checkpoint yet: weights are saved at the end of each epoch (or when the run is paused).`);
  }
  const names = checkpoints.map((c) => c.name);
  let name: string;
  if (opt.checkpoint) {
    if (!names.includes(opt.checkpoint)) {
      throw new ExportError(`Run ${runId} has no checkpoint "${opt.checkpoint}"; it has ${names.join(', ')}.`);
    }
    name = opt.checkpoint;
  } else name = results && names.includes(results.checkpoint) ? results.checkpoint : names[names.length - 1];

  const { state, files } = await store.readCheckpoint(runId, name);
  let weights: Map<string, WeightTensor>;
  try {
    weights = weightsFromSafetensors(graph, decodeSafetensors(files.model));
  } catch (e) {
    throw new ExportError(`Checkpoint ${name} of run ${runId} cannot be read: ${(e as Error).message}`);
  }

  let dataset: ExportDataset = { id: config.datasetId, name: config.datasetName };
  try {
    const d = await new DatasetLibrary(layout).get(config.datasetId);
    dataset = {
      id: d.id,
      name: d.name,
      trainCount: d.splits.train.count,
      testCount: d.splits.test?.count,
      source: [d.provenance.source, d.provenance.url].filter(Boolean).join(', ') || undefined,
    };
  } catch {
    // The dataset was deleted since: the run's record of its name is enough for the card.
  }

  const info: ExportInfo = {
    engineVersion: APP_VERSION,
    date: new Date().toISOString(),
    runId,
    runName: config.name,
    classNames: config.derived.classNames,
    dataset,
    training: {
      epochs: config.epochs,
      batchSize: config.batchSize,
      optimizer: config.optimizer,
      schedule: config.schedule,
      labelSmoothing: config.labelSmoothing,
      augment: config.augment,
      devFraction: config.devFraction,
      trainSubset: config.trainSubset,
      seed: config.seed,
    },
    checkpoint: name,
    epoch: state.epoch,
    // The test error describes the evaluated weights only.
    test:
      results && results.checkpoint === name
        ? { error: results.testError, count: results.testCount, ci95: results.testErrorCi95, loss: results.testLoss, checkpoint: name }
        : undefined,
  };
  return { graph, weights, info };
}
