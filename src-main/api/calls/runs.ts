/**
 * Training-run calls: the run store (list, get, metrics, rename, delete) and
 * the run queue (create, pause, resume, stop). Training itself runs on the
 * host side (a Node worker thread with its own WebGPU device, see
 * src-main/services/runs/run-manager.ts); the renderer starts and stops runs
 * and draws the `runs.status` / `runs.metrics` events.
 *
 * Model options, the optimizer and the schedule are checked here only for
 * shape (objects); the service validates them with the engine's own schemas
 * (src-engine/models, src-engine/optim/config.ts) and its messages name the
 * field (`optimizer.momentum: …`, `model.options.hidden: …`). `runs.validate`
 * runs that check without creating anything (for a live form).
 *
 * This module is imported by the renderer: it must import nothing but zod.
 */
import { z } from 'zod';

export const RunId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,99}$/, 'a run id');
const DatasetId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,79}$/, 'a dataset id');
const int = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * queued      waiting for the trainer (one run trains at a time)
 * running     training (or evaluating) now
 * paused      stopped by the user after a checkpoint at the current step; `runs.resume` continues it
 * completed   all epochs done, test results written
 * stopped     ended early by the user (checkpoints kept; `runs.resume` continues it)
 * failed      error (divergence, out of memory, lost device, bad data); `message` says what and what to do
 * interrupted the process training it died (crash, kill, power); `runs.resume` continues from the last checkpoint
 */
export const RunState = z.enum(['queued', 'running', 'paused', 'completed', 'stopped', 'failed', 'interrupted']);
export type RunState = z.infer<typeof RunState>;

/** One augmentation step as the augmentation pipeline schema takes it (validated by the service; messages name the step). */
const AugmentStep = z.record(z.string(), z.unknown());

/** Where starting weights come from: an absolute path (desktop app, CLI) or an uploaded file (web host). */
export const InitWeightsSource = z.union([
  z.string().min(1).max(4096),
  z.object({ uploadId: z.string().regex(/^[a-f0-9-]{8,64}$/, 'an upload id'), name: z.string().min(1).max(1024) }).strict(),
]);
export type InitWeightsSource = z.infer<typeof InitWeightsSource>;

/**
 * A run's configuration as a user (form or CLI) writes it. Defaults are
 * filled by the service, which stores the complete, validated config in
 * `runs/<id>/config.json`.
 */
export const RunConfigInput = z
  .object({
    /** Display name; default "<model> on <dataset>". */
    name: z.string().trim().min(1).max(200).optional(),
    datasetId: DatasetId,
    /** Fraction of the training split held out (stratified, from the seed) as the dev set. 0 = no dev set. */
    devFraction: z.number().min(0).max(0.5).default(0.1),
    /** Train on a stratified subset of this many training examples (quick experiments); default all. */
    trainSubset: int(1, 100_000_000).optional(),
    model: z
      .object({
        /** A registered model family: mlp, lenet5, alexnet, resnet, rnn, gru, lstm, transformer, custom. */
        family: z.string().min(1).max(50),
        /** The family's options (validated by the family's schema). */
        options: z.record(z.string(), z.unknown()).default({}),
      })
      .strict(),
    /** OptimizerConfig: `{type: 'sgd'|'adagrad'|'adadelta'|'rmsprop'|'adam'|'adamw', lr?, momentum?, …}`. */
    optimizer: z.record(z.string(), z.unknown()).default({ type: 'sgd', lr: 0.01, momentum: 0.9 }),
    /** ScheduleConfig: `{type: 'constant'|'step'|'multistep'|'exponential'|'cosine'|'onecycle', …}`. */
    schedule: z.record(z.string(), z.unknown()).default({ type: 'constant' }),
    /** Augmentation pipeline applied to training batches (not dev/test). */
    augment: z.array(AugmentStep).max(32).default([]),
    epochs: int(1, 1000),
    batchSize: int(1, 4096).default(64),
    seed: int(0, 2 ** 31 - 1).default(0),
    /** PyTorch's label_smoothing ε. */
    labelSmoothing: z.number().min(0).max(0.5).default(0),
    /** Steps between metric readbacks (one `step` record each). */
    logEvery: int(1, 100_000).default(20),
    /** Steps between per-parameter gradient-norm measurements; 0 = never. */
    gradNormEvery: int(0, 1_000_000).default(100),
    /** Epochs between dev-set evaluations (the last epoch is always evaluated). */
    evalEvery: int(1, 1000).default(1),
    /** Epoch checkpoints kept on disk (the newest ones; the best-dev one is kept too). */
    keepCheckpoints: int(1, 1000).default(3),
    /**
     * Start from the weights in a safetensors file (fine-tune / continue exported weights) instead of
     * a random initialisation. Checked against the model (names, shapes, dtypes; every mismatch listed).
     * The web host takes only an upload (`POST /upload/<uploadId>`, then `{uploadId, name}`); an
     * absolute path only in the desktop app and the CLI.
     */
    initWeights: InitWeightsSource.optional(),
  })
  .strict();
export type RunConfigInput = z.input<typeof RunConfigInput>;

/** Live progress of a run (also the `runs.status` event payload). */
export const RunStatus = z.object({
  runId: z.string(),
  state: RunState,
  /** Why it failed / what it is doing ("evaluating on the test set", "waiting for run …"). */
  message: z.string().max(4000).optional(),
  /** 1-based epoch in progress (the last one once finished); 0 before the first step. */
  epoch: z.number().int().min(0),
  epochs: z.number().int().min(0),
  /** Optimizer steps done. */
  step: z.number().int().min(0),
  totalSteps: z.number().int().min(0),
  imagesPerSec: z.number().min(0),
  /** Estimated seconds to the end of training (0 when not running). */
  etaSeconds: z.number().min(0),
});
export type RunStatus = z.infer<typeof RunStatus>;

/**
 * Metric records, as appended to `runs/<id>/metrics.jsonl`:
 *  step   every `logEvery` steps: mean training loss / error over the steps since the previous record,
 *         learning rate of the last step, throughput, and (every `gradNormEvery` steps) per-parameter
 *         gradient L2 norms (before clipping) keyed by state_dict name;
 *  epoch  at the end of every epoch: the epoch's training loss / error, dev loss / error (null when not
 *         evaluated), learning rate, throughput.
 * `step` is the number of optimizer steps done; `seconds` is training wall time (evaluation excluded).
 */
export const StepRecord = z.object({
  kind: z.literal('step'),
  step: z.number().int(),
  /** 1-based epoch the step belongs to. */
  epoch: z.number().int(),
  loss: z.number().nullable(),
  error: z.number().nullable(),
  lr: z.number(),
  imagesPerSec: z.number(),
  seconds: z.number(),
  gradNorms: z.record(z.string(), z.number().nullable()).optional(),
});
export const EpochRecord = z.object({
  kind: z.literal('epoch'),
  epoch: z.number().int(),
  step: z.number().int(),
  trainLoss: z.number().nullable(),
  trainError: z.number().nullable(),
  devLoss: z.number().nullable(),
  devError: z.number().nullable(),
  lr: z.number(),
  imagesPerSec: z.number(),
  seconds: z.number(),
  /** Share of the epoch's wall time the trainer waited for batches (0–1; timing, varies run to run). */
  dataWaitShare: z.number().min(0).max(1).optional(),
});
export const MetricRecord = z.discriminatedUnion('kind', [StepRecord, EpochRecord]);
export type StepRecord = z.infer<typeof StepRecord>;
export type EpochRecord = z.infer<typeof EpochRecord>;
export type MetricRecord = z.infer<typeof MetricRecord>;

/** Test-set evaluation of the final weights. */
export const RunResults = z.object({
  testLoss: z.number().nullable(),
  testError: z.number(),
  testAccuracy: z.number(),
  /** Test examples m. */
  testCount: z.number().int(),
  /** 95% normal-approximation interval of the error: e ± 1.96·√(e(1−e)/m), clamped to [0, 1]. */
  testErrorCi95: z.tuple([z.number(), z.number()]),
  /** confusion[true][predicted] counts. */
  confusion: z.array(z.array(z.number().int())),
  perClassAccuracy: z.array(z.number().nullable()),
  classNames: z.array(z.string()),
  /** Checkpoint the weights came from (e.g. `epoch-10`). */
  checkpoint: z.string(),
  evaluatedAt: z.string(),
});
export type RunResults = z.infer<typeof RunResults>;

/** One row of the runs table / compare picker. */
export const RunSummary = z.object({
  id: z.string(),
  name: z.string(),
  state: RunState,
  message: z.string().optional(),
  /** Model family and its options (filled with defaults). */
  model: z.string(),
  modelOptions: z.record(z.string(), z.unknown()),
  dataset: z.object({ id: z.string(), name: z.string() }),
  optimizer: z.string(),
  lr: z.number(),
  batchSize: z.number().int(),
  epochs: z.number().int(),
  epochsDone: z.number().int(),
  bestDevError: z.number().nullable(),
  testError: z.number().nullable(),
  testErrorCi95: z.tuple([z.number(), z.number()]).nullable(),
  /** Trainable parameters. */
  params: z.number().int(),
  /** Training wall time so far. */
  seconds: z.number(),
  created: z.string(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const CheckpointInfo = z.object({
  name: z.string(),
  /** Epochs completed at this checkpoint. */
  epoch: z.number().int(),
  step: z.number().int(),
  /** true for checkpoints written on pause/stop in the middle of an epoch. */
  midEpoch: z.boolean(),
  devError: z.number().nullable(),
});

export const RunDetail = z.object({
  summary: RunSummary,
  /** The complete, validated config (defaults filled in). */
  config: z.record(z.string(), z.unknown()),
  /** The compiled model layer graph (src-engine/models/graph.ts). */
  graph: z.record(z.string(), z.unknown()),
  status: RunStatus,
  results: RunResults.nullable(),
  checkpoints: z.array(CheckpointInfo),
  /** Train / dev / test example counts. */
  counts: z.object({ train: z.number().int(), dev: z.number().int(), test: z.number().int() }),
});
export type RunDetail = z.infer<typeof RunDetail>;

const ById = z.object({ id: RunId }).strict();
const StateResult = z.object({ state: RunState });

export const runCalls = {
  'runs.list': { args: z.object({}).strict(), result: z.array(RunSummary) },
  'runs.get': { args: ById, result: RunDetail },
  /** Metric records from index `since` (default 0 = all); `total` is the index to ask from next time. */
  'runs.metrics': {
    args: z.object({ id: RunId, since: int(0, Number.MAX_SAFE_INTEGER).default(0) }).strict(),
    result: z.object({ records: z.array(MetricRecord), total: z.number().int() }),
  },
  /**
   * Checks a config without creating a run. A bad config is not an API error here: `error` names
   * the field (`optimizer.lr: …`), so the form can mark it.
   */
  'runs.validate': {
    args: z.object({ config: z.record(z.string(), z.unknown()) }).strict(),
    result: z.union([
      z.object({
        ok: z.literal(true),
        params: z.number().int(),
        stepsPerEpoch: z.number().int(),
        totalSteps: z.number().int(),
        counts: z.object({ train: z.number().int(), dev: z.number().int(), test: z.number().int() }),
      }),
      z.object({ ok: z.literal(false), error: z.string(), field: z.string().optional() }),
    ]),
  },
  /** Validates (errors name the field), stores the run and queues it. */
  'runs.create': { args: z.object({ config: RunConfigInput }).strict(), result: z.object({ id: z.string() }) },
  /** Checkpoints at the current step and frees the trainer (a queued run is just taken off the queue). */
  'runs.pause': { args: ById, result: StateResult },
  /** Queues a paused, stopped, failed or interrupted run again; it continues from its last checkpoint. */
  'runs.resume': { args: ById, result: StateResult },
  /** Ends the run (checkpoint at the current step kept); no test evaluation. */
  'runs.stop': { args: ById, result: StateResult },
  'runs.rename': { args: z.object({ id: RunId, name: z.string().trim().min(1).max(200) }).strict(), result: RunSummary },
  /** Deletes the run folder (a running run is stopped first). */
  'runs.delete': { args: ById, result: z.object({ deleted: z.boolean() }) },
} as const;

export const runEvents = {
  /** State changes and, while running, progress about once a second. */
  'runs.status': RunStatus,
  /**
   * New metric records (batched, at most a few events per second); `from` is the index of records[0].
   * After a resume, `from` restarts at the checkpoint's record count: records at index ≥ `from` that
   * the UI already holds were cut off (the resumed run recomputes them identically): replace them.
   */
  'runs.metrics': z.object({ runId: z.string(), from: z.number().int().min(0), records: z.array(MetricRecord) }),
  /** The run list changed (create, delete, rename): reload `runs.list`. */
  'runs.changed': z.object({ reason: z.enum(['created', 'deleted', 'renamed']), id: z.string() }),
} as const;
