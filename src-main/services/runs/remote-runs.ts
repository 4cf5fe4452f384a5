/**
 * The remote executor of runs, host side: a run claimed by a renderer Web
 * Worker (src-renderer/train-worker/) that trains it on its own WebGPU
 * device with the shared loop (src-engine/train/run-loop.ts). This service
 * is that loop's I/O seen from the host: it keeps the data (the same
 * BatchProducer, seed and positions as host-side training, so the data order
 * is identical), the run store (metrics.jsonl, checkpoints, results) and the
 * events. Every call names the claim's lease; a lease not renewed for
 * `leaseMs` expires and the run becomes `interrupted` (the worker's tab was
 * closed, the renderer crashed…), resumable from its last checkpoint.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { decodeSafetensors, SafetensorsError } from '../../../src-engine/io/safetensors.ts';
import { weightsFromSafetensors } from '../../../src-engine/io/weights.ts';
import type { ModelGraph } from '../../../src-engine/models/graph.ts';
import type { RemoteBatch, RemoteCheckpointState } from '../../api/calls/remote-runs.ts';
import { REMOTE_BATCH_BYTES, REMOTE_MAX_FILE_BYTES } from '../../api/calls/remote-runs.ts';
import type { MetricRecord, RunResults, RunState, RunStatus } from '../../api/calls/runs.ts';
import type { BatchPosition, BatchProducer } from '../batches/batch-producer.ts';
import type { SplitData } from '../datasets/format.ts';
import type { StoredRunConfig } from './config.ts';
import type { RunEventSink, RunManager } from './run-manager.ts';
import { checkedRunIndices, createTrainProducer, plainBatches } from './train-loop.ts';

/** A remote call the caller got wrong (bad lease, out-of-order metrics, malformed checkpoint): a bad-request. */
export class RemoteRunError extends Error {
  override readonly name = 'RemoteRunError';
}

export interface RemoteRunOptions {
  /** Milliseconds without a call after which a claim expires (default 30 000). */
  leaseMs?: number;
  /** Augmentation worker threads for training batches (default: min(2, cores) when the run augments). */
  augmentWorkers?: number;
}

interface Claim {
  runId: string;
  lease: string;
  timer: NodeJS.Timeout | null;
  config: StoredRunConfig;
  graph: ModelGraph;
  data: SplitData | null;
  idx: { train: Int32Array; dev: Int32Array } | null;
  test: SplitData | null | undefined;
  producer: BatchProducer | null;
  recordCount: number;
  uploads: { model: Uint8Array[]; optimizer: Uint8Array[]; sizes: { model: number; optimizer: number } };
  status: RunStatus;
  lastStatusWrite: number;
  progress: { epochsDone: number; seconds: number; bestDevError: number | null };
}

const b64 = (a: Uint8Array | Int32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

export class RemoteRuns {
  private readonly claims = new Map<string, Claim>();
  readonly leaseMs: number;

  constructor(
    private readonly runs: RunManager,
    private readonly events: RunEventSink,
    private readonly opts: RemoteRunOptions = {},
  ) {
    this.leaseMs = opts.leaseMs ?? 30_000;
  }

  /** Claims an existing run, or creates one already claimed. */
  async claim(what: { id: string } | { config: unknown }): Promise<{ runId: string; lease: string; leaseMs: number }> {
    let runId: string;
    if ('id' in what) {
      await this.runs.claim(what.id);
      runId = what.id;
    } else {
      runId = await this.runs.create(what.config, { claim: true });
    }
    try {
      const store = this.runs.store;
      const [config, graph, prev] = await Promise.all([store.readConfig(runId), store.readGraph(runId), store.readStatus(runId)]);
      const claim: Claim = {
        runId,
        lease: randomBytes(18).toString('base64url'),
        timer: null,
        config,
        graph,
        data: null,
        idx: null,
        test: undefined,
        producer: null,
        recordCount: 0,
        uploads: { model: [], optimizer: [], sizes: { model: 0, optimizer: 0 } },
        status: {
          runId,
          state: 'running',
          message: 'training in a browser worker',
          epoch: prev.epoch,
          epochs: config.epochs,
          step: prev.step,
          totalSteps: config.derived.totalSteps,
          imagesPerSec: 0,
          etaSeconds: 0,
        },
        lastStatusWrite: 0,
        progress: { epochsDone: prev.epochsDone, seconds: prev.seconds, bestDevError: prev.bestDevError },
      };
      this.claims.set(runId, claim);
      this.renew(claim);
      this.runs.publishStatus(claim.status);
      return { runId, lease: claim.lease, leaseMs: this.leaseMs };
    } catch (e) {
      await this.runs.release(runId, 'failed', `Could not start training in the browser: ${(e as Error).message}`);
      throw e;
    }
  }

  private need(runId: string, lease: string): Claim {
    const c = this.claims.get(runId);
    if (!c || c.lease !== lease) throw new RemoteRunError(`Run ${runId} is not claimed with this lease (it expired, was released or deleted): claim it again.`);
    if (!this.runs.isClaimed(runId)) {
      void this.drop(c);
      throw new RemoteRunError(`Run ${runId} was deleted.`);
    }
    this.renew(c);
    return c;
  }

  private renew(c: Claim): void {
    if (c.timer) clearTimeout(c.timer);
    c.timer = setTimeout(() => {
      void this.end(c, 'interrupted', 'The browser worker training this run stopped answering (tab closed or renderer reloaded); resume it to continue from its last checkpoint.');
    }, this.leaseMs);
    c.timer.unref?.();
  }

  private async drop(c: Claim): Promise<void> {
    if (c.timer) clearTimeout(c.timer);
    c.timer = null;
    this.claims.delete(c.runId);
    const p = c.producer;
    c.producer = null;
    await p?.close();
  }

  private async end(c: Claim, state: RunState, message?: string): Promise<RunState> {
    if (this.claims.get(c.runId) !== c) return state;
    await this.drop(c);
    c.status = { ...c.status, state, imagesPerSec: state === 'completed' ? c.status.imagesPerSec : 0, etaSeconds: 0 };
    if (message) c.status.message = message.slice(0, 4000);
    else delete c.status.message;
    await this.writeProgress(c).catch(() => undefined);
    await this.runs.release(c.runId, state, message, c.status);
    return state;
  }

  private async writeProgress(c: Claim): Promise<void> {
    await this.runs.store.updateStatus(c.runId, {
      epoch: c.status.epoch,
      epochsDone: c.progress.epochsDone,
      step: c.status.step,
      imagesPerSec: c.status.imagesPerSec,
      etaSeconds: c.status.etaSeconds,
      seconds: c.progress.seconds,
      bestDevError: c.progress.bestDevError,
    });
  }

  private async trainData(c: Claim): Promise<{ data: SplitData; idx: { train: Int32Array; dev: Int32Array } }> {
    if (!c.data || !c.idx) {
      const data = await this.runs.library.readSplit(c.config.datasetId, 'train');
      c.idx = checkedRunIndices(c.config, data.labels);
      c.data = data;
    }
    return { data: c.data, idx: c.idx };
  }

  private async testData(c: Claim): Promise<SplitData | null> {
    if (c.test === undefined) {
      const ds = await this.runs.library.get(c.config.datasetId);
      c.test = ds.splits.test && ds.splits.test.count > 0 ? await this.runs.library.readSplit(c.config.datasetId, 'test') : null;
    }
    return c.test;
  }

  /** Config, graph, resume checkpoint; cuts metrics and checkpoints after it (as the host-side loop does). */
  async open(runId: string, lease: string, resume: boolean) {
    const c = this.need(runId, lease);
    const store = this.runs.store;
    await store.cleanupCheckpointTemp(runId);
    const { idx } = await this.trainData(c);
    const test = await this.testData(c);
    const ckpt = resume ? await store.latestCheckpoint(runId) : null;
    let checkpoint: { state: RemoteCheckpointState; model: string; optimizer: string } | null = null;
    if (ckpt) {
      const { files } = await store.readCheckpoint(runId, ckpt.name);
      const { metricsBytes: _b, created: _c, ...state } = ckpt;
      checkpoint = { state, model: b64(files.model), optimizer: b64(files.optimizer) };
      store.truncateMetrics(runId, ckpt.metricsBytes);
      await store.dropCheckpointsAfter(runId, ckpt.step);
    } else {
      store.truncateMetrics(runId, 0);
      await store.dropCheckpointsAfter(runId, -1);
    }
    c.recordCount = store.readMetricsSync(runId).total;
    return {
      config: c.config as unknown as Record<string, unknown>,
      graph: c.graph as unknown as Record<string, unknown>,
      checkpoint,
      recordCount: c.recordCount,
      devCount: idx.dev.length,
      testCount: test?.count ?? 0,
    };
  }

  /** Training batches from a data-order position, or dev/test batches from an example offset. */
  async batches(
    args: { runId: string; lease: string; count: number } & ({ split: 'train'; start: BatchPosition } | { split: 'dev' | 'test'; from: number }),
  ): Promise<{ batches: RemoteBatch[]; end: boolean }> {
    const c = this.need(args.runId, args.lease);
    const [H, W, C] = c.config.derived.imageShape;
    const perBatch = c.config.batchSize * H * W * C;
    const count = Math.max(1, Math.min(args.count, Math.floor(REMOTE_BATCH_BYTES / perBatch)));
    const out: RemoteBatch[] = [];
    if (args.split === 'train') {
      const { data, idx } = await this.trainData(c);
      const pos = c.producer?.position();
      if (!c.producer || !pos || pos.epoch !== args.start.epoch || pos.batchIndex !== args.start.batchIndex) {
        await c.producer?.close();
        c.producer = null;
        if (args.start.epoch >= c.config.epochs) return { batches: [], end: true };
        if (args.start.batchIndex >= c.config.derived.stepsPerEpoch) throw new RemoteRunError(`Batch ${args.start.batchIndex} is past the end of an epoch (${c.config.derived.stepsPerEpoch} batches).`);
        const workers = c.config.augment.length > 0 ? (this.opts.augmentWorkers ?? Math.min(2, availableParallelism())) : 0;
        c.producer = createTrainProducer(c.config, data, idx.train, args.start, workers);
      }
      for (let k = 0; k < count; k++) {
        const b = await c.producer.next();
        if (!b) return { batches: out, end: true };
        out.push({ epoch: b.epoch, batchIndex: b.batchIndex, lastInEpoch: b.lastInEpoch, images: b64(b.images), labels: b64(b.labels) });
      }
      const p = c.producer.position();
      return { batches: out, end: p.epoch >= c.config.epochs };
    }
    let split: Pick<SplitData, 'images' | 'labels' | 'shape'>;
    let indices: Int32Array;
    if (args.split === 'dev') {
      const { data, idx } = await this.trainData(c);
      split = data;
      indices = idx.dev;
    } else {
      const test = await this.testData(c);
      if (!test) throw new RemoteRunError(`Dataset "${c.config.datasetName}" has no test split.`);
      split = test;
      indices = Int32Array.from({ length: test.count }, (_, i) => i);
    }
    const bs = c.config.batchSize;
    const slice = indices.subarray(Math.min(args.from, indices.length), Math.min(indices.length, args.from + count * bs));
    let i = 0;
    for (const b of plainBatches(split, slice, bs)) {
      out.push({ epoch: 0, batchIndex: Math.floor(args.from / bs) + i++, lastInEpoch: false, images: b64(b.images), labels: b64(b.labels) });
    }
    return { batches: out, end: args.from + slice.length >= indices.length };
  }

  async metrics(runId: string, lease: string, from: number, records: MetricRecord[]): Promise<{ total: number; command: 'pause' | 'stop' | null }> {
    const c = this.need(runId, lease);
    if (from !== c.recordCount) throw new RemoteRunError(`Metric records out of order: got records from index ${from}, the run has ${c.recordCount}.`);
    this.runs.store.appendMetrics(runId, records);
    c.recordCount += records.length;
    this.events.emit('runs.metrics', { runId, from, records });
    return { total: c.recordCount, command: this.runs.remoteCommand(runId) };
  }

  upload(runId: string, lease: string, file: 'model' | 'optimizer', offset: number, data: string): { bytes: number } {
    const c = this.need(runId, lease);
    const u = c.uploads;
    if (offset === 0) {
      u[file] = [];
      u.sizes[file] = 0;
    }
    if (offset !== u.sizes[file]) throw new RemoteRunError(`Upload of ${file}.safetensors out of order: chunk at byte ${offset}, ${u.sizes[file]} bytes received.`);
    const bytes = Buffer.from(data, 'base64');
    if (u.sizes[file] + bytes.length > REMOTE_MAX_FILE_BYTES) throw new RemoteRunError(`${file}.safetensors is larger than ${REMOTE_MAX_FILE_BYTES} bytes.`);
    u[file].push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    u.sizes[file] += bytes.length;
    return { bytes: u.sizes[file] };
  }

  /** Validates the uploaded files and writes the checkpoint atomically. */
  async checkpoint(runId: string, lease: string, state: RemoteCheckpointState, sizes: { modelBytes: number; optimizerBytes: number }): Promise<{ name: string }> {
    const c = this.need(runId, lease);
    const u = c.uploads;
    const take = (file: 'model' | 'optimizer', expected: number): Uint8Array => {
      if (u.sizes[file] !== expected) throw new RemoteRunError(`Checkpoint ${state.name}: ${file}.safetensors has ${u.sizes[file]} bytes uploaded, ${expected} announced.`);
      const out = new Uint8Array(expected);
      let at = 0;
      for (const part of u[file]) {
        out.set(part, at);
        at += part.length;
      }
      u[file] = [];
      u.sizes[file] = 0;
      return out;
    };
    const model = take('model', sizes.modelBytes);
    const optimizer = take('optimizer', sizes.optimizerBytes);
    validateCheckpointFiles(c.graph, state.name, model, optimizer);
    if (state.metricsCount !== c.recordCount) {
      throw new RemoteRunError(`Checkpoint ${state.name} counts ${state.metricsCount} metric records, the run has ${c.recordCount}.`);
    }
    if (state.step > c.config.derived.totalSteps || state.epoch > c.config.epochs) throw new RemoteRunError(`Checkpoint ${state.name} is past the end of the run.`);
    const store = this.runs.store;
    await store.writeCheckpoint(runId, { ...state, metricsBytes: store.metricsBytes(runId), created: new Date().toISOString() }, { model, optimizer });
    return { name: state.name };
  }

  async prune(runId: string, lease: string, keep: number, protect: ReadonlyArray<string | null>): Promise<void> {
    this.need(runId, lease);
    await this.runs.store.pruneCheckpoints(runId, keep, protect);
  }

  async progress(runId: string, lease: string, p: { epoch: number; epochsDone: number; step: number; totalSteps: number; imagesPerSec: number; etaSeconds: number; seconds: number; bestDevError: number | null; message?: string }) {
    const c = this.need(runId, lease);
    c.status = { runId, state: 'running', epoch: p.epoch, epochs: c.config.epochs, step: p.step, totalSteps: p.totalSteps, imagesPerSec: p.imagesPerSec, etaSeconds: p.etaSeconds, ...(p.message ? { message: p.message } : {}) };
    const epochChanged = p.epochsDone !== c.progress.epochsDone;
    c.progress = { epochsDone: p.epochsDone, seconds: p.seconds, bestDevError: p.bestDevError };
    this.runs.publishStatus(c.status);
    if (epochChanged || Date.now() - c.lastStatusWrite > 5000) {
      c.lastStatusWrite = Date.now();
      await this.writeProgress(c).catch(() => undefined);
    }
    return { command: this.runs.remoteCommand(runId) };
  }

  heartbeat(runId: string, lease: string): { command: 'pause' | 'stop' | null } {
    this.need(runId, lease);
    return { command: this.runs.remoteCommand(runId) };
  }

  async finish(
    args: { runId: string; lease: string } & ({ outcome: 'completed'; results: RunResults | null } | { outcome: 'paused' | 'stopped' } | { outcome: 'failed'; message: string }),
  ): Promise<{ state: RunState }> {
    const c = this.need(args.runId, args.lease);
    if (args.outcome === 'completed') {
      const last = await this.runs.store.latestCheckpoint(args.runId);
      if (!last || last.step < c.config.derived.totalSteps) {
        throw new RemoteRunError(`Run ${args.runId} cannot complete: its last checkpoint is at step ${last?.step ?? 0} of ${c.config.derived.totalSteps}.`);
      }
      if (args.results) await this.runs.store.writeResults(args.runId, args.results);
      return { state: await this.end(c, 'completed') };
    }
    if (args.outcome === 'failed') return { state: await this.end(c, 'failed', args.message) };
    return { state: await this.end(c, args.outcome) };
  }

  /** Host shutdown: claims end as interrupted (resumable). */
  async close(): Promise<void> {
    for (const c of [...this.claims.values()]) await this.end(c, 'interrupted', 'The host closed while a browser worker trained this run; resume it to continue from its last checkpoint.');
  }
}

/** Throws RemoteRunError naming the file and the exact SafetensorsError message. */
export function validateCheckpointFiles(graph: ModelGraph, name: string, model: Uint8Array, optimizer: Uint8Array): void {
  const check = (file: string, fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      if (e instanceof SafetensorsError) throw new RemoteRunError(`Checkpoint ${name}: ${file} is not valid: ${e.message}`);
      throw e;
    }
  };
  check('model.safetensors', () => weightsFromSafetensors(graph, decodeSafetensors(model)));
  check('optimizer.safetensors', () => {
    const f = decodeSafetensors(optimizer);
    if (f.metadata.optimizer !== undefined) {
      try {
        JSON.parse(f.metadata.optimizer);
      } catch {
        throw new SafetensorsError('its "optimizer" metadata is not valid JSON');
      }
    }
  });
}
