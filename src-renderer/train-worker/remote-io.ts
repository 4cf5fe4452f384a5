/**
 * The shared training loop's I/O over the `runs.remote.*` calls: batches,
 * metrics, checkpoints and status go to the host, which keeps the data and
 * the run store. Host-agnostic (no DOM, no Node): the training Web Worker
 * uses it with a postMessage-backed `call`; tests use it with dispatchCall.
 */
import { parseGraph, type ModelGraph } from '../../src-engine/models/graph.ts';
import { parseOptimizerConfig, parseScheduleConfig } from '../../src-engine/optim/config.ts';
import type { ImageBatch } from '../../src-engine/train/trainer.ts';
import type {
  BatchPosition,
  LoopBatch,
  LoopBatchSource,
  LoopCheckpointFiles,
  LoopCheckpointState,
  RunLoopConfig,
  RunLoopIO,
  StopCommand,
  TrainProgress,
} from '../../src-engine/train/run-loop.ts';
import { REMOTE_CHUNK_BYTES } from '../../src-main/api/calls/remote-runs.ts';
import { base64ToBytes, base64ToInt32, bytesToBase64 } from './base64.ts';
import type { RemoteCallName } from './protocol.ts';

export type RemoteCall = (name: RemoteCallName, args: Record<string, unknown>) => Promise<unknown>;

interface WireBatch {
  epoch: number;
  batchIndex: number;
  lastInEpoch: boolean;
  images: string;
  labels: string;
}

interface OpenResult {
  config: Record<string, unknown>;
  graph: Record<string, unknown>;
  checkpoint: { state: LoopCheckpointState; model: string; optimizer: string } | null;
  recordCount: number;
  devCount: number;
  testCount: number;
}

/** Training batches fetched ahead: up to `ahead` per request, the next request in flight while these are used. */
const AHEAD = 8;

export interface RemoteRun {
  config: RunLoopConfig & { id?: string };
  graph: ModelGraph;
  io: RunLoopIO;
  /** The pending pause/stop request (answered by metrics and progress calls). */
  command(): StopCommand;
  /** Keeps the lease alive between other calls (call every leaseMs / 3). */
  heartbeat(): Promise<void>;
  /** Waits for queued progress calls. */
  flush(): Promise<void>;
}

/** Opens a claimed run (cutting off what follows its resume checkpoint) and builds the loop's I/O. */
export async function openRemoteRun(call: RemoteCall, runId: string, lease: string, resume: boolean): Promise<RemoteRun> {
  const base = { runId, lease };
  const opened = (await call('runs.remote.open', { ...base, resume })) as OpenResult;
  const raw = opened.config as unknown as RunLoopConfig;
  const config: RunLoopConfig = { ...raw, optimizer: parseOptimizerConfig(raw.optimizer), schedule: parseScheduleConfig(raw.schedule) };
  const graph = parseGraph(opened.graph);
  let command: StopCommand = null;
  let lastCheckpoint: string | null = opened.checkpoint?.state.name ?? null;
  let progressChain: Promise<void> = Promise.resolve();
  let progressError: unknown = null;

  const toBatch = (b: WireBatch): LoopBatch => ({
    epoch: b.epoch,
    batchIndex: b.batchIndex,
    lastInEpoch: b.lastInEpoch,
    images: base64ToBytes(b.images),
    labels: base64ToInt32(b.labels),
  });

  async function* evalBatches(split: 'dev' | 'test', total: number): AsyncGenerator<ImageBatch> {
    let from = 0;
    while (from < total) {
      const r = (await call('runs.remote.batches', { ...base, split, from, count: AHEAD })) as { batches: WireBatch[]; end: boolean };
      for (const b of r.batches) {
        const batch = toBatch(b);
        from += batch.labels.length;
        yield batch;
      }
      if (r.end || r.batches.length === 0) return;
    }
  }

  const upload = async (file: 'model' | 'optimizer', bytes: Uint8Array): Promise<void> => {
    for (let offset = 0; offset < bytes.length || offset === 0; offset += REMOTE_CHUNK_BYTES) {
      await call('runs.remote.upload', { ...base, file, offset, data: bytesToBase64(bytes.subarray(offset, offset + REMOTE_CHUNK_BYTES)) });
      if (bytes.length === 0) break;
    }
  };

  const sendProgress = (p: TrainProgress): void => {
    progressChain = progressChain.then(async () => {
      try {
        const r = (await call('runs.remote.progress', { ...base, progress: p })) as { command: StopCommand };
        command = r.command;
      } catch (e) {
        progressError ??= e;
      }
    });
  };

  const io: RunLoopIO = {
    async restore() {
      const c = opened.checkpoint;
      return {
        checkpoint: c ? { state: c.state, files: { model: base64ToBytes(c.model), optimizer: base64ToBytes(c.optimizer) } } : null,
        recordCount: opened.recordCount,
      };
    },
    async trainBatches(start: BatchPosition): Promise<LoopBatchSource> {
      let next: BatchPosition = { ...start }; // position of the next batch to request
      let handed: BatchPosition = { ...start }; // position of the next batch to hand out
      let ready: LoopBatch[] = [];
      let ended = false;
      let inFlight: Promise<{ batches: WireBatch[]; end: boolean }> | null = null;
      const request = (): void => {
        if (ended || inFlight) return;
        inFlight = call('runs.remote.batches', { ...base, split: 'train', start: next, count: AHEAD }) as Promise<{ batches: WireBatch[]; end: boolean }>;
      };
      const advance = (b: LoopBatch): BatchPosition => (b.lastInEpoch ? { epoch: b.epoch + 1, batchIndex: 0 } : { epoch: b.epoch, batchIndex: b.batchIndex + 1 });
      request();
      return {
        async next() {
          if (ready.length === 0) {
            if (!inFlight) return null;
            const r = await inFlight;
            inFlight = null;
            ready = r.batches.map(toBatch);
            if (ready.length) next = advance(ready[ready.length - 1]);
            ended = r.end;
            request();
            if (ready.length === 0) return null;
          }
          const b = ready.shift()!;
          handed = advance(b);
          return b;
        },
        position: () => ({ ...handed }),
        async close() {
          ended = true;
          await inFlight?.catch(() => undefined);
          ready = [];
        },
      };
    },
    devCount: opened.devCount,
    devBatches: () => evalBatches('dev', opened.devCount),
    testBatches: async () => (opened.testCount > 0 ? evalBatches('test', opened.testCount) : null),
    async appendMetrics(from, records) {
      const r = (await call('runs.remote.metrics', { ...base, from, records })) as { command: StopCommand };
      command = r.command;
    },
    async writeCheckpoint(state: LoopCheckpointState, files: LoopCheckpointFiles) {
      await upload('model', files.model);
      await upload('optimizer', files.optimizer);
      await call('runs.remote.checkpoint', { ...base, state, modelBytes: files.model.length, optimizerBytes: files.optimizer.length });
      lastCheckpoint = state.name;
    },
    async pruneCheckpoints(keep, protect) {
      await call('runs.remote.prune', { ...base, keep, protect: [...protect] });
    },
    latestCheckpointName: async () => lastCheckpoint,
    async writeResults() {
      // sent with runs.remote.finish (the run completes with its results)
    },
    progress: sendProgress,
  };
  return {
    config,
    graph,
    io,
    command: () => {
      if (progressError) throw progressError;
      return command;
    },
    async heartbeat() {
      const r = (await call('runs.remote.heartbeat', base)) as { command: StopCommand };
      command = r.command;
    },
    flush: () => progressChain,
  };
}
