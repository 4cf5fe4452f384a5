/**
 * One run's training, start to finish, on the host side: dataset → split →
 * batch producer → GPU trainer → metrics.jsonl / checkpoints / results.json.
 * The loop itself is host-agnostic (src-engine/train/run-loop.ts); this file
 * is its Node I/O: the run store on disk and a BatchProducer in-process.
 * It runs inside the training worker thread (train-worker.ts) with that
 * thread's own Dawn device; it can also be called directly (tests, `eval`).
 *
 * Determinism (resume = uninterrupted): the data order is a pure function of
 * (seed, epoch) (batches/split.ts); weights, BN buffers and optimizer state
 * come back from the checkpoint bit for bit; the engine's seed sequence
 * (dropout masks) is advanced to where it was; unread GPU metric sums of a
 * mid-epoch checkpoint are restored; step records are taken at global step
 * multiples of `logEvery` (and at epoch ends), so a resumed run writes the
 * same records. Records written after the checkpoint by the killed process
 * are cut off (metrics.jsonl is truncated to the checkpoint's length).
 *
 * Readbacks: only every `logEvery` steps, at gradient-norm steps, at epoch
 * ends (dev evaluation, checkpoint) — never inside a step.
 */
import { availableParallelism } from 'node:os';
import type { MetricRecord, RunResults } from '../../api/calls/runs.ts';
import { evaluate, type ImageBatch, loadModelWeights } from '../../../src-engine/train/index.ts';
import { openGpuRun, resultsFrom, type RunLoopIO, runTrainingLoop, type StopCommand, type TrainProgress } from '../../../src-engine/train/run-loop.ts';
import { getNodeGpu } from '../../gpu/node-gpu.ts';
import { BatchProducer, type BatchPosition } from '../batches/batch-producer.ts';
import { stratifiedSplit } from '../batches/split.ts';
import { dataDirLayout } from '../data-dir.ts';
import { DatasetLibrary } from '../datasets/library.ts';
import type { SplitData } from '../datasets/format.ts';
import type { StoredRunConfig } from './config.ts';
import { type CheckpointWriteHooks, RunStore } from './store.ts';
import { augmentWorkerUrl } from './worker-host.ts';

/** Stream id that keeps the train-subset draw apart from the dev split's. */
const SUBSET_SEED_OFFSET = 0x5b5e7;

export interface TrainCallbacks {
  progress(p: TrainProgress): void;
  /** Records just appended to metrics.jsonl; `from` is the index of the first. */
  metrics(from: number, records: MetricRecord[]): void;
}

export interface TrainHooks {
  /** After every step (tests: kill or pause at a chosen step). */
  afterStep?: (step: number) => void | Promise<void>;
  checkpoint?: CheckpointWriteHooks;
}

export type TrainOutcome = { kind: 'completed'; results: RunResults | null } | { kind: 'paused' } | { kind: 'stopped' };
export type { StopCommand, TrainProgress };
export { resultsFrom };

export interface TrainRunOptions {
  dataDir: string;
  runId: string;
  /** Continue from the latest checkpoint (false: start over, discarding metrics and checkpoints). */
  resume: boolean;
  /** Polled after every step. */
  command: () => StopCommand;
  callbacks: TrainCallbacks;
  hooks?: TrainHooks;
  /** Augmentation worker threads (default: min(2, cores) when the run augments). */
  augmentWorkers?: number;
}

/** Batches over `indices` in order, no augmentation (dev and test evaluation). */
export function* plainBatches(data: Pick<SplitData, 'images' | 'labels' | 'shape'>, indices: ArrayLike<number>, batchSize: number): Generator<ImageBatch> {
  const [h, w, c] = data.shape;
  const per = h * w * c;
  for (let from = 0; from < indices.length; from += batchSize) {
    const n = Math.min(batchSize, indices.length - from);
    const images = new Uint8Array(n * per);
    const labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = indices[from + k];
      images.set(data.images.subarray(i * per, (i + 1) * per), k * per);
      labels[k] = data.labels[i];
    }
    yield { images, labels };
  }
}

/** Train / dev example indices of a run (dev split, then the optional stratified subset). */
export function runIndices(config: StoredRunConfig, labels: ArrayLike<number>): { train: Int32Array; dev: Int32Array } {
  const classes = config.derived.classNames.length;
  const split = stratifiedSplit(labels, classes, config.devFraction, config.seed);
  let train = split.train;
  if (config.trainSubset !== undefined && config.trainSubset < train.length) {
    const sub = stratifiedSplit(Array.from(train, (i) => labels[i]), classes, config.trainSubset / train.length, config.seed + SUBSET_SEED_OFFSET);
    train = Int32Array.from(sub.dev, (k) => train[k]).sort();
  }
  return { train, dev: split.dev };
}

export async function trainRun(opts: TrainRunOptions): Promise<TrainOutcome> {
  const layout = dataDirLayout(opts.dataDir);
  const store = new RunStore(layout);
  const library = new DatasetLibrary(layout);
  const id = opts.runId;
  const config = await store.readConfig(id);
  const graph = await store.readGraph(id);
  const { totalSteps } = config.derived;
  const cb = opts.callbacks;

  cb.progress({ epoch: 0, epochsDone: 0, step: 0, totalSteps, imagesPerSec: 0, etaSeconds: 0, seconds: 0, bestDevError: null, message: 'loading the dataset' });
  const data = await library.readSplit(config.datasetId, 'train');
  const idx = checkedRunIndices(config, data.labels);

  await store.cleanupCheckpointTemp(id);
  const gpu = await getNodeGpu();
  const augmentWorkers = config.augment.length > 0 ? (opts.augmentWorkers ?? Math.min(2, availableParallelism())) : 0;
  const io: RunLoopIO = {
    async restore(resume) {
      const ckpt = resume ? await store.latestCheckpoint(id) : null;
      let checkpoint: Awaited<ReturnType<RunLoopIO['restore']>>['checkpoint'] = null;
      if (ckpt) {
        const { files } = await store.readCheckpoint(id, ckpt.name);
        checkpoint = { state: ckpt, files };
        store.truncateMetrics(id, ckpt.metricsBytes);
        await store.dropCheckpointsAfter(id, ckpt.step);
      } else {
        store.truncateMetrics(id, 0);
        await store.dropCheckpointsAfter(id, -1);
      }
      return { checkpoint, recordCount: store.readMetricsSync(id).total };
    },
    trainBatches: async (start) => createTrainProducer(config, data, idx.train, start, augmentWorkers),
    devCount: idx.dev.length,
    devBatches: (batchSize) => plainBatches(data, idx.dev, batchSize),
    async testBatches(batchSize) {
      const dataset = await library.get(config.datasetId);
      if (!dataset.splits.test || dataset.splits.test.count <= 0) return null;
      const test = await library.readSplit(config.datasetId, 'test');
      return plainBatches(test, Int32Array.from({ length: test.count }, (_, i) => i), batchSize);
    },
    appendMetrics(from, records) {
      store.appendMetrics(id, records);
      cb.metrics(from, records);
    },
    async writeCheckpoint(state, files) {
      await store.writeCheckpoint(id, { ...state, metricsBytes: store.metricsBytes(id), created: new Date().toISOString() }, files, opts.hooks?.checkpoint);
    },
    pruneCheckpoints: (keep, protect) => store.pruneCheckpoints(id, keep, protect),
    latestCheckpointName: async () => (await store.latestCheckpoint(id))?.name ?? null,
    writeResults: (r) => store.writeResults(id, r),
    progress: (p) => cb.progress(p),
  };
  return runTrainingLoop({
    device: gpu.device,
    config,
    graph,
    io,
    resume: opts.resume,
    command: opts.command,
    afterStep: opts.hooks?.afterStep,
    checkpointMetadata: { run: id },
  });
}

/** Run indices, checked against the counts the run was created with. */
export function checkedRunIndices(config: StoredRunConfig, labels: ArrayLike<number>): { train: Int32Array; dev: Int32Array } {
  const idx = runIndices(config, labels);
  if (idx.train.length !== config.derived.counts.train || idx.dev.length !== config.derived.counts.dev) {
    throw new Error(
      `Dataset "${config.datasetName}" no longer splits into the ${config.derived.counts.train} training / ${config.derived.counts.dev} dev examples this run was created with (it was changed or re-imported). Create a new run.`,
    );
  }
  return idx;
}

/**
 * The training batches of a run from `start` to its last epoch: the one
 * definition of a run's data order, used by the Node worker and by the
 * remote (renderer-worker) executor alike.
 */
export function createTrainProducer(
  config: StoredRunConfig,
  data: Pick<SplitData, 'images' | 'labels'>,
  trainIndices: Int32Array,
  start: BatchPosition,
  augmentWorkers: number,
): BatchProducer {
  const [H, W, C] = config.derived.imageShape;
  return new BatchProducer({
    images: data.images,
    labels: data.labels,
    shape: [H, W, C as 1 | 3],
    indices: trainIndices,
    batchSize: config.batchSize,
    seed: config.seed,
    augment: config.augment,
    shuffle: true,
    start,
    epochs: config.epochs,
    workers: augmentWorkers,
    workerUrl: augmentWorkerUrl(),
    prefetch: Math.max(4, 2 * augmentWorkers),
  });
}

/**
 * Evaluates a checkpoint of a run (default: the latest) on the test set,
 * writes results.json and returns it (`layerlab eval`).
 */
export async function evaluateRun(dataDir: string, runId: string, checkpoint?: string): Promise<RunResults> {
  const layout = dataDirLayout(dataDir);
  const store = new RunStore(layout);
  const library = new DatasetLibrary(layout);
  const config = await store.readConfig(runId);
  const graph = await store.readGraph(runId);
  const name = checkpoint ?? (await store.latestCheckpoint(runId))?.name;
  if (!name) throw new Error(`Run ${runId} has no checkpoint yet: train it first (layerlab resume ${runId}).`);
  const dataset = await library.get(config.datasetId);
  if (!dataset.splits.test?.count) throw new Error(`Dataset "${dataset.name}" has no test split to evaluate on.`);
  const { files } = await store.readCheckpoint(runId, name);
  const gpu = openGpuRun((await getNodeGpu()).device, config, graph);
  try {
    loadModelWeights(gpu.engine, gpu.model, files.model);
    const test = await library.readSplit(config.datasetId, 'test');
    const [H, W, C] = config.derived.imageShape;
    const ev = await evaluate(gpu.engine, gpu.model, plainBatches(test, Int32Array.from({ length: test.count }, (_, i) => i), config.batchSize), {
      imageShape: [H, W, C],
      classes: config.derived.classNames.length,
    });
    const results = resultsFrom(ev, config.derived.classNames, name);
    await store.writeResults(runId, results);
    return results;
  } finally {
    gpu.dispose();
  }
}
