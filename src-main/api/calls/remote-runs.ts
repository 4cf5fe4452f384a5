/**
 * Remote training: a run trained outside the host's own worker thread — by a
 * renderer Web Worker that owns `navigator.gpu` (the packaged Electron app,
 * where Dawn's Node binding cannot load; optionally the browser lab). The
 * host keeps the data (the same seeded BatchProducer, sharp augmentation),
 * the run store (config, metrics.jsonl, checkpoints, results) and the
 * `runs.status` / `runs.metrics` events; the worker runs the shared loop
 * (src-engine/train/run-loop.ts) against these calls.
 *
 *  runs.claim            take a queued / paused / stopped / failed / interrupted run (or create one
 *                        already claimed); the run manager starts no worker for it. Returns a lease:
 *                        every later call names it; a lease without a call for `leaseMs` expires and
 *                        the run becomes `interrupted` (resumable from its last checkpoint).
 *  runs.remote.open      resolved config, graph, the resume checkpoint (metrics/checkpoints after it
 *                        are cut off, as the host-side loop does) and the dev/test sizes
 *  runs.remote.batches   training batches at a data-order position (identical to host-side training),
 *                        or dev/test batches by example offset; uint8 images and i32 labels, base64
 *  runs.remote.metrics   append metric records (in order: `from` must equal the stored count)
 *  runs.remote.upload    one chunk of a checkpoint file (request bodies are bounded)
 *  runs.remote.checkpoint  commit uploaded model/optimizer safetensors (validated) with their state
 *  runs.remote.prune     keep the newest epoch checkpoints (and the protected ones)
 *  runs.remote.progress  live progress → `runs.status`; answers the pending pause/stop command
 *  runs.remote.heartbeat keeps the lease alive between other calls
 *  runs.remote.finish    end: completed (with test results) / paused / stopped / failed
 *
 * This module is imported by the renderer: it must import nothing but zod.
 */
import { z } from 'zod';
import { MetricRecord, RunConfigInput, RunId, RunResults, RunState } from './runs.ts';

/** Raw bytes of one upload chunk at most (base64 adds a third; the web host takes 1 MiB bodies). */
export const REMOTE_CHUNK_BYTES = 512 * 1024;
/** Pixel bytes of one `runs.remote.batches` answer at most (at least one batch is always sent). */
export const REMOTE_BATCH_BYTES = 512 * 1024;
/** Largest checkpoint file accepted. */
export const REMOTE_MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024;

const Lease = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'a lease token');
const Base64 = (maxChars: number) => z.string().max(maxChars).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
const nat = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Sums = z.object({ lossSum: z.number(), correct: z.number(), count: z.number() }).strict();
const Position = z.object({ epoch: nat, batchIndex: nat }).strict();
const Leased = { runId: RunId, lease: Lease };

/** A checkpoint's state as the loop writes it (the host adds metricsBytes and created). */
export const RemoteCheckpointState = z
  .object({
    name: z.string().regex(/^(epoch|step)-\d{1,12}$/, 'epoch-N or step-N'),
    epoch: nat,
    step: nat,
    midEpoch: z.boolean(),
    position: Position,
    seedCount: nat,
    metricsCount: nat,
    seconds: z.number().min(0),
    gpuSums: Sums,
    epochSums: Sums,
    lr: z.number(),
    devError: z.number().nullable(),
    bestDevError: z.number().nullable(),
    bestCheckpoint: z.string().max(100).nullable(),
  })
  .strict();
export type RemoteCheckpointState = z.infer<typeof RemoteCheckpointState>;

export const RemoteProgress = z
  .object({
    epoch: nat,
    epochsDone: nat,
    step: nat,
    totalSteps: nat,
    imagesPerSec: z.number().min(0),
    etaSeconds: z.number().min(0),
    seconds: z.number().min(0),
    bestDevError: z.number().nullable(),
    message: z.string().max(4000).optional(),
  })
  .strict();

const Command = z.enum(['pause', 'stop']).nullable();

export const RemoteBatch = z.object({
  epoch: nat,
  batchIndex: nat,
  lastInEpoch: z.boolean(),
  /** [B, H, W, C] uint8, base64. */
  images: z.string(),
  /** [B] int32 little endian, base64. */
  labels: z.string(),
});
export type RemoteBatch = z.infer<typeof RemoteBatch>;

export const remoteRunCalls = {
  /** Claims `id` (queued, paused, stopped, failed or interrupted), or creates a run from `config` already claimed. */
  'runs.claim': {
    args: z.union([z.object({ id: RunId }).strict(), z.object({ config: RunConfigInput }).strict()]),
    result: z.object({ runId: z.string(), lease: z.string(), leaseMs: z.number().int() }),
  },
  'runs.remote.open': {
    args: z.object({ ...Leased, resume: z.boolean().default(true) }).strict(),
    result: z.object({
      config: z.record(z.string(), z.unknown()),
      graph: z.record(z.string(), z.unknown()),
      checkpoint: z.object({ state: RemoteCheckpointState, model: z.string(), optimizer: z.string() }).nullable(),
      recordCount: nat,
      devCount: nat,
      testCount: nat,
    }),
  },
  'runs.remote.batches': {
    args: z.union([
      z.object({ ...Leased, split: z.literal('train'), start: Position, count: z.number().int().min(1).max(64) }).strict(),
      z.object({ ...Leased, split: z.enum(['dev', 'test']), from: nat, count: z.number().int().min(1).max(64) }).strict(),
    ]),
    /** `end`: no batch after these (train: after the last epoch; dev/test: after the last example). */
    result: z.object({ batches: z.array(RemoteBatch), end: z.boolean() }),
  },
  'runs.remote.metrics': {
    args: z.object({ ...Leased, from: nat, records: z.array(MetricRecord).min(1).max(100) }).strict(),
    result: z.object({ total: nat, command: Command }),
  },
  'runs.remote.upload': {
    args: z.object({ ...Leased, file: z.enum(['model', 'optimizer']), offset: nat, data: Base64(Math.ceil(REMOTE_CHUNK_BYTES / 3) * 4) }).strict(),
    result: z.object({ bytes: nat }),
  },
  'runs.remote.checkpoint': {
    args: z.object({ ...Leased, state: RemoteCheckpointState, modelBytes: nat, optimizerBytes: nat }).strict(),
    result: z.object({ name: z.string() }),
  },
  'runs.remote.prune': {
    args: z.object({ ...Leased, keep: z.number().int().min(1).max(1000), protect: z.array(z.string().max(100).nullable()).max(10) }).strict(),
    result: z.object({ ok: z.literal(true) }),
  },
  'runs.remote.progress': {
    args: z.object({ ...Leased, progress: RemoteProgress }).strict(),
    result: z.object({ command: Command }),
  },
  /** Keeps the lease alive while nothing else is called (every leaseMs / 3); answers the pending command. */
  'runs.remote.heartbeat': {
    args: z.object(Leased).strict(),
    result: z.object({ command: Command }),
  },
  'runs.remote.finish': {
    args: z.union([
      z.object({ ...Leased, outcome: z.literal('completed'), results: RunResults.nullable() }).strict(),
      z.object({ ...Leased, outcome: z.enum(['paused', 'stopped']) }).strict(),
      z.object({ ...Leased, outcome: z.literal('failed'), message: z.string().max(4000) }).strict(),
    ]),
    result: z.object({ state: RunState }),
  },
} as const;
