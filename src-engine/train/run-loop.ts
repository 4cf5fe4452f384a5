/**
 * The epoch / step / evaluation / checkpoint loop of one run, host-agnostic:
 * it depends only on a GPU device and on `RunLoopIO` (batches source,
 * metrics sink, checkpoint sink/source, status sink). Two executors use it:
 *  - the Node training worker thread (src-main/services/runs/train-loop.ts:
 *    run store on disk, BatchProducer in the same process);
 *  - the renderer Web Worker (src-renderer/train-worker/worker.ts: batches,
 *    metrics and checkpoints over the API, `runs.remote.*`).
 *
 * Determinism (resume = uninterrupted): the data order is a pure function of
 * (seed, epoch) (the batch source); weights, BN buffers and optimizer state
 * come back from the checkpoint bit for bit; the engine's seed sequence
 * (dropout masks) is advanced to where it was; unread GPU metric sums of a
 * mid-epoch checkpoint are restored; step records are taken at global step
 * multiples of `logEvery` (and at epoch ends), so a resumed run writes the
 * same records. `io.restore` cuts off the records written after the
 * checkpoint.
 *
 * Readbacks: only every `logEvery` steps, at gradient-norm steps, at epoch
 * ends (dev evaluation, checkpoint) — never inside a step.
 */
import { Engine } from '../core/engine.ts';
import type { ModelGraph } from '../models/graph.ts';
import { buildModel, type Model } from '../models/index.ts';
import { createOptimizer, learningRate, type OptimizerConfig, type Optimizer, type ScheduleConfig } from '../optim/index.ts';
import { encodeModelWeights, encodeOptimizerState, loadModelWeights, loadOptimizerState } from './checkpoint.ts';
import { evaluate, type EvalResult } from './evaluate.ts';
import type { MetricSums } from './metrics.ts';
import { SeedTracker } from './seeds.ts';
import { errorCi95 } from './stats.ts';
import { type ImageBatch, Trainer } from './trainer.ts';

export type StopCommand = 'pause' | 'stop' | null;

/** What the loop reads from a run's stored config (src-main's StoredRunConfig is assignable). */
export interface RunLoopConfig {
  seed: number;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  schedule: ScheduleConfig;
  labelSmoothing: number;
  logEvery: number;
  gradNormEvery: number;
  evalEvery: number;
  keepCheckpoints: number;
  derived: {
    imageShape: [number, number, number];
    classNames: string[];
    stepsPerEpoch: number;
    totalSteps: number;
  };
}

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

/** Same shapes as the API's metric records (src-main/api/calls/runs.ts). */
export interface LoopStepRecord {
  kind: 'step';
  step: number;
  epoch: number;
  loss: number | null;
  error: number | null;
  lr: number;
  imagesPerSec: number;
  seconds: number;
  gradNorms?: Record<string, number | null>;
}
export interface LoopEpochRecord {
  kind: 'epoch';
  epoch: number;
  step: number;
  trainLoss: number | null;
  trainError: number | null;
  devLoss: number | null;
  devError: number | null;
  lr: number;
  imagesPerSec: number;
  seconds: number;
  /** Share of the epoch's wall time spent waiting for batches (timing: varies run to run). */
  dataWaitShare?: number;
}
export type LoopMetricRecord = LoopStepRecord | LoopEpochRecord;

export interface LoopResults {
  testLoss: number | null;
  testError: number;
  testAccuracy: number;
  testCount: number;
  testErrorCi95: [number, number];
  confusion: number[][];
  perClassAccuracy: Array<number | null>;
  classNames: string[];
  checkpoint: string;
  evaluatedAt: string;
}

export interface BatchPosition {
  epoch: number;
  batchIndex: number;
}

/** A training batch with its place in the data order. */
export interface LoopBatch extends ImageBatch, BatchPosition {
  lastInEpoch: boolean;
}

export interface LoopBatchSource {
  /** The next batch in the run's data order; null after the last epoch. */
  next(): Promise<LoopBatch | null>;
  /** The position of the batch `next()` returns next (saved with a mid-epoch checkpoint). */
  position(): BatchPosition;
  close(): Promise<void>;
}

/** A checkpoint's state as the loop writes it (the sink adds metricsBytes and created). */
export interface LoopCheckpointState {
  name: string;
  epoch: number;
  step: number;
  midEpoch: boolean;
  position: BatchPosition;
  seedCount: number;
  metricsCount: number;
  seconds: number;
  gpuSums: MetricSums;
  epochSums: MetricSums;
  lr: number;
  devError: number | null;
  bestDevError: number | null;
  bestCheckpoint: string | null;
}

export interface LoopCheckpointFiles {
  /** model.safetensors bytes. */
  model: Uint8Array;
  /** optimizer.safetensors bytes. */
  optimizer: Uint8Array;
}

export interface RunLoopIO {
  /**
   * With `resume`: the latest checkpoint (null when there is none). Either
   * way, metric records and checkpoints after it are discarded (all of them
   * without a checkpoint). `recordCount` = metric records kept.
   */
  restore(resume: boolean): Promise<{ checkpoint: { state: LoopCheckpointState; files: LoopCheckpointFiles } | null; recordCount: number }>;
  /** Training batches from `start` to the end of the last epoch. */
  trainBatches(start: BatchPosition): Promise<LoopBatchSource>;
  /** Dev-set examples (0: no dev evaluation). */
  readonly devCount: number;
  /** Dev-set batches in order, no augmentation. */
  devBatches(batchSize: number): AsyncIterable<ImageBatch> | Iterable<ImageBatch>;
  /** Test-set batches in order, or null when the dataset has no test split. */
  testBatches(batchSize: number): Promise<AsyncIterable<ImageBatch> | Iterable<ImageBatch> | null>;
  /** Appends records; `from` is the index of the first. */
  appendMetrics(from: number, records: LoopMetricRecord[]): void | Promise<void>;
  writeCheckpoint(state: LoopCheckpointState, files: LoopCheckpointFiles): Promise<void>;
  /** Keeps the newest `keep` epoch checkpoints and the protected ones. */
  pruneCheckpoints(keep: number, protect: ReadonlyArray<string | null>): Promise<void>;
  /** Name of the newest checkpoint (for the results' `checkpoint`), null when none. */
  latestCheckpointName(): Promise<string | null>;
  writeResults(results: LoopResults): Promise<void>;
  progress(p: TrainProgress): void;
}

export interface RunLoopOptions {
  device: GPUDevice;
  config: RunLoopConfig;
  graph: ModelGraph;
  io: RunLoopIO;
  /** Continue from the latest checkpoint (false: start over). */
  resume: boolean;
  /** Polled after every step. */
  command: () => StopCommand;
  /** After every step (tests: kill or pause at a chosen step). */
  afterStep?: (step: number) => void | Promise<void>;
  /** Metadata of model.safetensors in checkpoints (e.g. the run id). */
  checkpointMetadata?: Record<string, string>;
}

export type LoopOutcome = { kind: 'completed'; results: LoopResults | null } | { kind: 'paused' } | { kind: 'stopped' };

const zeroSums = (): MetricSums => ({ lossSum: 0, correct: 0, count: 0 });

/** Everything a run holds on the GPU. */
export interface GpuRun {
  engine: Engine;
  seeds: SeedTracker;
  model: Model;
  optimizer: Optimizer;
  dispose(): void;
}

export function openGpuRun(device: GPUDevice, config: Pick<RunLoopConfig, 'seed' | 'optimizer'>, graph: ModelGraph): GpuRun {
  const engine = new Engine(device, { seed: config.seed });
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
export function resultsFrom(ev: EvalResult, classNames: string[], checkpoint: string): LoopResults {
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

export async function runTrainingLoop(opts: RunLoopOptions): Promise<LoopOutcome> {
  const { config, io } = opts;
  const [H, W, C] = config.derived.imageShape;
  const imageShape = [H, W, C] as const;
  const classes = config.derived.classNames.length;
  const { stepsPerEpoch, totalSteps } = config.derived;

  const gpu = openGpuRun(opts.device, config, opts.graph);
  const { engine, model, optimizer } = gpu;
  const trainer = new Trainer(engine, model, optimizer, { imageShape, labelSmoothing: config.labelSmoothing });
  let producer: LoopBatchSource | null = null;
  try {
    // ------------------------------------------------------------ restore
    let step = 0;
    let position: BatchPosition = { epoch: 0, batchIndex: 0 };
    let seconds = 0;
    let epochSums = zeroSums();
    let bestDevError: number | null = null;
    let bestCheckpoint: string | null = null;
    let lr = learningRate(config.schedule, config.optimizer.lr, 0, totalSteps, stepsPerEpoch);
    const restored = await io.restore(opts.resume);
    const ckpt = restored.checkpoint?.state ?? null;
    if (restored.checkpoint && ckpt) {
      io.progress({ epoch: ckpt.position.epoch + 1, epochsDone: ckpt.epoch, step: ckpt.step, totalSteps, imagesPerSec: 0, etaSeconds: 0, seconds: ckpt.seconds, bestDevError: ckpt.bestDevError, message: resumeMessage(ckpt.name, ckpt.step) });
      const { files } = restored.checkpoint;
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
    }
    let recordCount = restored.recordCount;
    const emit = async (records: LoopMetricRecord[]): Promise<void> => {
      const from = recordCount;
      recordCount += records.length;
      await io.appendMetrics(from, records);
    };

    // ------------------------------------------------------------ helpers
    const evalBatch = config.batchSize;
    const writeCheckpoint = async (state: Omit<LoopCheckpointState, 'metricsCount' | 'seedCount'>): Promise<void> => {
      const files = {
        model: await encodeModelWeights(engine, model, { ...opts.checkpointMetadata, checkpoint: state.name }),
        optimizer: await encodeOptimizerState(engine, optimizer),
      };
      await io.writeCheckpoint({ ...state, seedCount: gpu.seeds.count, metricsCount: recordCount }, files);
    };

    // ------------------------------------------------------------ train
    if (position.epoch < config.epochs) producer = await io.trainBatches(position);
    const sessionStart = { step, seconds };
    let segmentStart = performance.now();
    let imagesSinceRead = 0;
    let lastProgress = 0;
    let lastThroughput = 0;
    // Time the loop spends waiting for the next batch (the producer's prefetch queue ran dry),
    // against the epoch's training wall time: the share the GPU sits idle for want of data.
    // A resumed epoch counts from the resume.
    let dataWaitMs = 0;
    let epochStartMs = performance.now();
    const progress = (epoch: number, epochsDone: number, message?: string, force = false): void => {
      const now = performance.now();
      if (!force && now - lastProgress < 1000) return;
      lastProgress = now;
      const done = step - sessionStart.step;
      const secsPerStep = done > 0 ? (seconds - sessionStart.seconds) / done : 0;
      io.progress({
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
      const waitStart = performance.now();
      const batch = await producer.next();
      dataWaitMs += performance.now() - waitStart;
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
        const rec: LoopStepRecord = { kind: 'step', step, epoch: epochNo, loss: m.loss, error: m.error, lr, imagesPerSec: lastThroughput, seconds };
        if (norms) rec.gradNorms = Object.fromEntries([...norms].map(([k, v]) => [k, Number.isFinite(v) ? v : null]));
        await emit([rec]);
      }

      if (batch.lastInEpoch) {
        const epochTrainMs = performance.now() - epochStartMs; // training only, before dev evaluation
        const epochsDone = epochNo;
        let dev: EvalResult | null = null;
        if (io.devCount > 0 && (epochsDone % config.evalEvery === 0 || epochsDone === config.epochs)) {
          progress(epochNo, epochsDone - 1, 'evaluating on the dev set', true);
          dev = await evaluate(engine, model, io.devBatches(evalBatch), { imageShape, classes });
        }
        const name = `epoch-${epochsDone}`;
        if (dev && (bestDevError === null || dev.error < bestDevError)) {
          bestDevError = dev.error;
          bestCheckpoint = name;
        }
        const epochRec: LoopEpochRecord = {
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
          dataWaitShare: Math.min(1, dataWaitMs / Math.max(1e-9, epochTrainMs)),
        };
        dataWaitMs = 0;
        await emit([epochRec]);
        epochSums = zeroSums();
        epochStartMs = performance.now();
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
        await io.pruneCheckpoints(config.keepCheckpoints, [bestCheckpoint]);
        segmentStart = performance.now(); // evaluation and checkpoint time is not training time
        progress(epochNo + (epochsDone < config.epochs ? 1 : 0), epochsDone, undefined, true);
      } else {
        progress(epochNo, epochNo - 1);
      }

      await opts.afterStep?.(step);
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
    const last = await io.latestCheckpointName();
    let results: LoopResults | null = null;
    const test = await io.testBatches(evalBatch);
    if (test) {
      progress(config.epochs, config.epochs, 'evaluating on the test set', true);
      results = resultsFrom(await evaluate(engine, model, test, { imageShape, classes }), config.derived.classNames, last ?? 'none');
      await io.writeResults(results);
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
 * Status line when a run (re)starts from a checkpoint. A run created from
 * imported weights starts from its `epoch-0` checkpoint (step 0): that is a
 * start, not a resume.
 */
function resumeMessage(name: string, step: number): string {
  return name === 'epoch-0' && step === 0 ? 'starting from the imported weights' : `resuming from checkpoint ${name}`;
}
