/**
 * One run's training, start to finish, on the host side: dataset → split →
 * batch producer → GPU trainer → metrics.jsonl / checkpoints / results.json.
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
import type { EpochRecord, MetricRecord, RunResults, StepRecord } from '../../api/calls/runs.ts';
import { Engine } from '../../../src-engine/core/engine.ts';
import { buildModel, type Model } from '../../../src-engine/models/index.ts';
import { createOptimizer, learningRate, type Optimizer } from '../../../src-engine/optim/index.ts';
import {
  encodeModelWeights,
  encodeOptimizerState,
  errorCi95,
  evaluate,
  type EvalResult,
  type ImageBatch,
  loadModelWeights,
  loadOptimizerState,
  type MetricSums,
  SeedTracker,
  Trainer,
} from '../../../src-engine/train/index.ts';
import { getNodeGpu } from '../../gpu/node-gpu.ts';
import { BatchProducer } from '../batches/batch-producer.ts';
import { stratifiedSplit } from '../batches/split.ts';
import { dataDirLayout } from '../data-dir.ts';
import { DatasetLibrary } from '../datasets/library.ts';
import type { SplitData } from '../datasets/format.ts';
import type { StoredRunConfig } from './config.ts';
import { type CheckpointState, type CheckpointWriteHooks, RunStore } from './store.ts';
import { augmentWorkerUrl } from './worker-host.ts';

/** Stream id that keeps the train-subset draw apart from the dev split's. */
const SUBSET_SEED_OFFSET = 0x5b5e7;

export type StopCommand = 'pause' | 'stop' | null;

export interface TrainProgress {
  /** 1-based epoch in progress. */
  epoch: number;
  epochsDone: number;
  step: number;
  totalSteps: number;
  imagesPerSec: number;
  etaSeconds: number;
  seconds: number;
  bestDevError: number | null;
  message?: string;
}

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

const zeroSums = (): MetricSums => ({ lossSum: 0, correct: 0, count: 0 });

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

/** Everything a run holds on the GPU. */
interface GpuRun {
  engine: Engine;
  seeds: SeedTracker;
  model: Model;
  optimizer: Optimizer;
  dispose(): void;
}

async function openGpuRun(config: StoredRunConfig, graph: Parameters<typeof buildModel>[1]): Promise<GpuRun> {
  const gpu = await getNodeGpu();
  const engine = new Engine(gpu.device, { seed: config.seed });
  const seeds = new SeedTracker(engine);
  const model = buildModel(engine, graph, { seed: config.seed });
  const optimizer = createOptimizer(engine, model.parameters(), config.optimizer);
  return {
    engine,
    seeds,
    model,
    optimizer,
    dispose() {
      optimizer.dispose();
      model.dispose();
      engine.dispose();
    },
  };
}

/** Test-set results of an evaluation. */
export function resultsFrom(ev: EvalResult, classNames: string[], checkpoint: string): RunResults {
  return {
    testLoss: ev.loss,
    testError: ev.error,
    testAccuracy: 1 - ev.error,
    testCount: ev.count,
    testErrorCi95: ev.count > 0 ? errorCi95(ev.error, ev.count) : [0, 1],
    confusion: ev.confusion,
    perClassAccuracy: ev.perClassAccuracy,
    classNames,
    checkpoint,
    evaluatedAt: new Date().toISOString(),
  };
}

export async function trainRun(opts: TrainRunOptions): Promise<TrainOutcome> {
  const layout = dataDirLayout(opts.dataDir);
  const store = new RunStore(layout);
  const library = new DatasetLibrary(layout);
  const id = opts.runId;
  const config = await store.readConfig(id);
  const graph = await store.readGraph(id);
  const [H, W, C] = config.derived.imageShape;
  const imageShape = [H, W, C] as const;
  const classes = config.derived.classNames.length;
  const { stepsPerEpoch, totalSteps } = config.derived;
  const cb = opts.callbacks;

  cb.progress({ epoch: 0, epochsDone: 0, step: 0, totalSteps, imagesPerSec: 0, etaSeconds: 0, seconds: 0, bestDevError: null, message: 'loading the dataset' });
  const data = await library.readSplit(config.datasetId, 'train');
  const idx = runIndices(config, data.labels);
  if (idx.train.length !== config.derived.counts.train || idx.dev.length !== config.derived.counts.dev) {
    throw new Error(
      `Dataset "${config.datasetName}" no longer splits into the ${config.derived.counts.train} training / ${config.derived.counts.dev} dev examples this run was created with (it was changed or re-imported). Create a new run.`,
    );
  }

  await store.cleanupCheckpointTemp(id);
  const gpu = await openGpuRun(config, graph);
  const { engine, model, optimizer } = gpu;
  const trainer = new Trainer(engine, model, optimizer, { imageShape, labelSmoothing: config.labelSmoothing });
  let producer: BatchProducer | null = null;
  try {
    // ------------------------------------------------------------ restore
    let step = 0;
    let position = { epoch: 0, batchIndex: 0 };
    let seconds = 0;
    let epochSums = zeroSums();
    let bestDevError: number | null = null;
    let bestCheckpoint: string | null = null;
    let lr = learningRate(config.schedule, config.optimizer.lr, 0, totalSteps, stepsPerEpoch);
    const ckpt = opts.resume ? await store.latestCheckpoint(id) : null;
    if (ckpt) {
      cb.progress({ epoch: ckpt.position.epoch + 1, epochsDone: ckpt.epoch, step: ckpt.step, totalSteps, imagesPerSec: 0, etaSeconds: 0, seconds: ckpt.seconds, bestDevError: ckpt.bestDevError, message: `resuming from checkpoint ${ckpt.name}` });
      const { files } = await store.readCheckpoint(id, ckpt.name);
      loadModelWeights(engine, model, files.model);
      loadOptimizerState(optimizer, files.optimizer);
      gpu.seeds.advanceTo(ckpt.seedCount);
      trainer.metrics.load(ckpt.gpuSums);
      step = ckpt.step;
      position = ckpt.position;
      seconds = ckpt.seconds;
      epochSums = ckpt.epochSums;
      bestDevError = ckpt.bestDevError;
      bestCheckpoint = ckpt.bestCheckpoint;
      lr = ckpt.lr;
      store.truncateMetrics(id, ckpt.metricsBytes);
      await store.dropCheckpointsAfter(id, ckpt.step);
    } else {
      store.truncateMetrics(id, 0);
      await store.dropCheckpointsAfter(id, -1);
    }
    let recordCount = store.readMetricsSync(id).total;
    const emit = (records: MetricRecord[]): void => {
      store.appendMetrics(id, records);
      cb.metrics(recordCount, records);
      recordCount += records.length;
    };

    // ------------------------------------------------------------ helpers
    const evalBatch = config.batchSize;
    const evaluateOn = (split: Pick<SplitData, 'images' | 'labels' | 'shape'>, indices: ArrayLike<number>): Promise<EvalResult> =>
      evaluate(engine, model, plainBatches(split, indices, evalBatch), { imageShape, classes });

    const writeCheckpoint = async (state: Omit<CheckpointState, 'metricsBytes' | 'metricsCount' | 'seedCount' | 'created'>): Promise<void> => {
      const files = { model: await encodeModelWeights(engine, model, { run: id, checkpoint: state.name }), optimizer: await encodeOptimizerState(engine, optimizer) };
      await store.writeCheckpoint(
        id,
        { ...state, seedCount: gpu.seeds.count, metricsBytes: store.metricsBytes(id), metricsCount: recordCount, created: new Date().toISOString() },
        files,
        opts.hooks?.checkpoint,
      );
    };

    // ------------------------------------------------------------ train
    const augmentWorkers = config.augment.length > 0 ? (opts.augmentWorkers ?? Math.min(2, availableParallelism())) : 0;
    if (position.epoch < config.epochs) {
      producer = new BatchProducer({
        images: data.images,
        labels: data.labels,
        shape: [H, W, C as 1 | 3],
        indices: idx.train,
        batchSize: config.batchSize,
        seed: config.seed,
        augment: config.augment,
        shuffle: true,
        start: position,
        epochs: config.epochs,
        workers: augmentWorkers,
        workerUrl: augmentWorkerUrl(),
        prefetch: Math.max(4, 2 * augmentWorkers),
      });
    }
    const sessionStart = { step, seconds };
    let segmentStart = performance.now();
    let imagesSinceRead = 0;
    let lastProgress = 0;
    let lastThroughput = 0;
    const progress = (epoch: number, epochsDone: number, message?: string, force = false): void => {
      const now = performance.now();
      if (!force && now - lastProgress < 1000) return;
      lastProgress = now;
      const done = step - sessionStart.step;
      const secsPerStep = done > 0 ? (seconds - sessionStart.seconds) / done : 0;
      cb.progress({
        epoch,
        epochsDone,
        step,
        totalSteps,
        imagesPerSec: lastThroughput,
        etaSeconds: Math.max(0, (totalSteps - step) * secsPerStep),
        seconds,
        bestDevError,
        ...(message ? { message } : {}),
      });
    };

    while (producer) {
      const batch = await producer.next();
      if (!batch) break;
      const epochNo = batch.epoch + 1;
      lr = learningRate(config.schedule, config.optimizer.lr, step, totalSteps, stepsPerEpoch);
      const next = step + 1;
      const wantNorms = config.gradNormEvery > 0 && next % config.gradNormEvery === 0;
      trainer.step(batch, lr, { gradNorms: wantNorms });
      step = next;
      imagesSinceRead += batch.labels.length;
      await trainer.throttle();

      if (step % config.logEvery === 0 || wantNorms || batch.lastInEpoch) {
        const m = await trainer.readMetrics(); // throws DivergenceError on NaN/Inf
        const norms = wantNorms ? await trainer.readGradNorms() : null;
        const now = performance.now();
        const dt = (now - segmentStart) / 1000;
        seconds += dt;
        segmentStart = now;
        lastThroughput = dt > 0 ? imagesSinceRead / dt : 0;
        imagesSinceRead = 0;
        epochSums = { lossSum: epochSums.lossSum + m.lossSum, correct: epochSums.correct + m.correct, count: epochSums.count + m.count };
        const rec: StepRecord = { kind: 'step', step, epoch: epochNo, loss: m.loss, error: m.error, lr, imagesPerSec: lastThroughput, seconds };
        if (norms) rec.gradNorms = Object.fromEntries([...norms].map(([k, v]) => [k, Number.isFinite(v) ? v : null]));
        emit([rec]);
      }

      if (batch.lastInEpoch) {
        const epochsDone = epochNo;
        let dev: EvalResult | null = null;
        if (idx.dev.length > 0 && (epochsDone % config.evalEvery === 0 || epochsDone === config.epochs)) {
          progress(epochNo, epochsDone - 1, 'evaluating on the dev set', true);
          dev = await evaluateOn(data, idx.dev);
        }
        const name = `epoch-${epochsDone}`;
        if (dev && (bestDevError === null || dev.error < bestDevError)) {
          bestDevError = dev.error;
          bestCheckpoint = name;
        }
        const epochRec: EpochRecord = {
          kind: 'epoch',
          epoch: epochsDone,
          step,
          trainLoss: epochSums.count ? epochSums.lossSum / epochSums.count : null,
          trainError: epochSums.count ? 1 - epochSums.correct / epochSums.count : null,
          devLoss: dev?.loss ?? null,
          devError: dev?.error ?? null,
          lr,
          imagesPerSec: seconds > sessionStart.seconds ? ((step - sessionStart.step) * config.batchSize) / (seconds - sessionStart.seconds) : 0,
          seconds,
        };
        emit([epochRec]);
        epochSums = zeroSums();
        await writeCheckpoint({
          name,
          epoch: epochsDone,
          step,
          midEpoch: false,
          position: { epoch: epochsDone, batchIndex: 0 },
          seconds,
          gpuSums: zeroSums(),
          epochSums: zeroSums(),
          lr,
          devError: dev?.error ?? null,
          bestDevError,
          bestCheckpoint,
        });
        await store.pruneCheckpoints(id, config.keepCheckpoints, [bestCheckpoint]);
        segmentStart = performance.now(); // evaluation and checkpoint time is not training time
        progress(epochNo + (epochsDone < config.epochs ? 1 : 0), epochsDone, undefined, true);
      } else {
        progress(epochNo, epochNo - 1);
      }

      await opts.hooks?.afterStep?.(step);
      const cmd = opts.command();
      if (cmd) {
        if (!batch.lastInEpoch) {
          const g = await trainer.metrics.read(false);
          if (!Number.isFinite(g.lossSum)) await trainer.readMetrics(); // throws DivergenceError
          seconds += (performance.now() - segmentStart) / 1000;
          const pos = producer.position();
          await writeCheckpoint({
            name: `step-${step}`,
            epoch: epochNo - 1,
            step,
            midEpoch: true,
            position: pos,
            seconds,
            gpuSums: g,
            epochSums,
            lr,
            devError: null,
            bestDevError,
            bestCheckpoint,
          });
        }
        progress(epochNo, batch.lastInEpoch ? epochNo : epochNo - 1, cmd === 'pause' ? 'paused' : 'stopped', true);
        return { kind: cmd === 'pause' ? 'paused' : 'stopped' };
      }
    }

    // ------------------------------------------------------------ test
    const last = await store.latestCheckpoint(id);
    let results: RunResults | null = null;
    const dataset = await library.get(config.datasetId);
    if (dataset.splits.test && dataset.splits.test.count > 0) {
      progress(config.epochs, config.epochs, 'evaluating on the test set', true);
      const test = await library.readSplit(config.datasetId, 'test');
      const all = Int32Array.from({ length: test.count }, (_, i) => i);
      results = resultsFrom(await evaluateOn(test, all), config.derived.classNames, last?.name ?? 'none');
      await store.writeResults(id, results);
    }
    progress(config.epochs, config.epochs, undefined, true);
    return { kind: 'completed', results };
  } finally {
    await producer?.close();
    trainer.dispose();
    gpu.dispose();
  }
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
  const gpu = await openGpuRun(config, graph);
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
