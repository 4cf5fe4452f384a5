/**
 * The run manager: a queue of runs, one training at a time, each in its own
 * worker thread; start / pause / resume / stop / delete; `runs.status` and
 * `runs.metrics` events.
 *
 * DECISION (this version): training runs on the HOST side — a Node
 * worker_thread with its own Dawn device (the `webgpu` package) — for the
 * CLI, the web host and the Electron app alike; the renderer only starts and
 * stops runs and displays the metrics events. Why:
 *  - the data and the sharp augmentation live in the main process: batches
 *    go from the dataset to the GPU without being copied over IPC or HTTP;
 *  - one code path for the CLI and the app (the CLI's `train` is this
 *    manager too), so what the tests check is what the app runs;
 *  - a run survives a renderer reload (and a closed browser tab on the web
 *    host): it belongs to the host process, and its files are on disk;
 *  - the UI thread never sees a training step.
 * Known gap: Dawn's Node binding does not load in Electron's main process
 * (../shared/ENVIRONMENT.md); whether it loads in a worker thread of it is
 * untested here (no Electron binary). If it does not, the Electron shell
 * must host this manager in a separate Node process (same messages).
 *
 * Bundling: the worker entry is `train-worker.ts`, started through tsx from
 * source (worker-host.ts). The electron-vite build emits it as its own entry
 * next to the main bundle (`out/main/train-worker.js`, and the augmentation
 * worker `augment-worker.js` likewise; electron.vite.config.ts), where
 * worker-host.ts looks for them.
 *
 * Ownership: status.json records the pid of the process that trains or will
 * train a run; a run whose owner died shows as `interrupted` (store.ts) and
 * is resumed from its last checkpoint. The CLI and the app may train at the
 * same time (one run each): each manager only drives its own runs.
 */
import type { Worker } from 'node:worker_threads';
import type { MetricRecord, RunDetail, RunState, RunStatus, RunSummary } from '../../api/calls/runs.ts';
import type { EventName, EventPayload } from '../../api/contract.ts';
import { dataDirLayout } from '../data-dir.ts';
import { DatasetLibrary } from '../datasets/library.ts';
import { resolveRunConfig, RunConfigError, type StoredRunConfig } from './config.ts';
import { RunNotFoundError, RunStore, type StoredStatus } from './store.ts';
import { defaultTrainWorkerUrl, startWorker } from './worker-host.ts';
import { CONTROL_PAUSE, CONTROL_STOP, type TrainWorkerData, type TrainWorkerMessage } from './worker-protocol.ts';

const REMOTE_MESSAGE = 'training in a browser worker';

export class RunStateError extends Error {
  override readonly name = 'RunStateError';
}

export interface RunEventSink {
  emit<E extends EventName>(name: E, payload: EventPayload<E>): void;
}

export interface RunManagerOptions {
  dataDir: string;
  events: RunEventSink;
  /** The worker entry (bundled builds); default: train-worker next to this module. */
  workerUrl?: URL;
  /** Minimum milliseconds between two `runs.metrics` events of a run (default 250). */
  metricsInterval?: number;
}

interface ActiveRun {
  id: string;
  worker: Worker;
  control: Int32Array;
  status: RunStatus;
  extra: { epochsDone: number; seconds: number; bestDevError: number | null };
  pendingMetrics: { from: number; records: MetricRecord[] } | null;
  metricsTimer: NodeJS.Timeout | null;
  lastStatusWrite: number;
  done: boolean;
}

export class RunManager {
  readonly store: RunStore;
  readonly library: DatasetLibrary;
  private readonly queue: string[] = [];
  private active: ActiveRun | null = null;
  /** The run being started (between leaving the queue and becoming `active`). */
  private starting: string | null = null;
  private readonly waiters = new Map<string, Array<(s: RunState) => void>>();
  private readonly workerUrl: URL;
  private readonly metricsInterval: number;
  private closed = false;
  /** Runs claimed by a remote executor (renderer Web Worker, remote-runs.ts): id → pending command. */
  private readonly remote = new Map<string, { command: 'pause' | 'stop' | null }>();

  constructor(private readonly opts: RunManagerOptions) {
    const layout = dataDirLayout(opts.dataDir);
    this.store = new RunStore(layout);
    this.library = new DatasetLibrary(layout);
    this.workerUrl = opts.workerUrl ?? defaultTrainWorkerUrl();
    this.metricsInterval = opts.metricsInterval ?? 250;
  }

  /**
   * At host start: runs left `running` by a dead process become
   * `interrupted`; runs left `queued` by a dead process are queued here.
   */
  async recover(): Promise<void> {
    await this.store.cleanupStaleTemp();
    for (const id of await this.store.ids()) {
      try {
        const s = await this.store.readStatus(id);
        if (this.store.effectiveState(s) !== 'interrupted' || s.state === 'interrupted') continue;
        if (s.state === 'queued') {
          await this.store.updateStatus(id, { pid: process.pid });
          this.queue.push(id);
        } else {
          await this.store.updateStatus(id, {
            state: 'interrupted',
            message: 'The process training this run ended unexpectedly; resume it to continue from its last checkpoint.',
          });
        }
      } catch {
        // an unreadable run stays as it is; runs.list reports it
      }
    }
    this.pump();
  }

  // ------------------------------------------------------------------ create

  async validate(input: unknown): Promise<
    | { ok: true; params: number; stepsPerEpoch: number; totalSteps: number; counts: StoredRunConfig['derived']['counts'] }
    | { ok: false; error: string; field?: string }
  > {
    try {
      const { config } = await resolveRunConfig(input, (id) => this.library.get(id));
      const d = config.derived;
      return { ok: true, params: d.params, stepsPerEpoch: d.stepsPerEpoch, totalSteps: d.totalSteps, counts: d.counts };
    } catch (e) {
      if (e instanceof RunConfigError) return { ok: false, error: e.message, field: e.field };
      throw e;
    }
  }

  /**
   * Validates (RunConfigError names the field), stores and queues a run. Returns its id.
   * `claim`: the run is created claimed by a remote executor instead (no worker here).
   */
  async create(input: unknown, opts: { claim?: boolean } = {}): Promise<string> {
    const family = typeof input === 'object' && input && 'model' in input ? String((input as { model?: { family?: unknown } }).model?.family ?? 'run') : 'run';
    const id = this.store.newId(family);
    const resolved = await resolveRunConfig(input, (d) => this.library.get(d), { id, created: new Date().toISOString() });
    if (opts.claim) this.remote.set(id, { command: null });
    await this.store.create(resolved, opts.claim ? { ...this.initialStatus('running'), message: REMOTE_MESSAGE } : this.initialStatus('queued'));
    this.opts.events.emit('runs.changed', { reason: 'created', id });
    if (!opts.claim) this.enqueue(id, resolved.config);
    return id;
  }

  // ------------------------------------------------------- remote executor

  /**
   * Takes a queued (not yet started), paused, stopped, failed or interrupted
   * run for a remote executor: no worker is started for it here until it is
   * released. Its status becomes `running` (owned by this process).
   */
  async claim(id: string): Promise<void> {
    const s = await this.need(id);
    if (this.active?.id === id) throw new RunStateError(`Run ${id} is training on the host; pause it before training it in the browser.`);
    if (this.remote.has(id)) throw new RunStateError(`Run ${id} is already being trained in a browser worker.`);
    const q = this.queue.indexOf(id);
    if (q >= 0) this.queue.splice(q, 1);
    else {
      const state = this.store.effectiveState(s);
      if (state === 'completed') throw new RunStateError(`Run ${id} is completed: there is nothing to train.`);
      if ((state === 'running' || state === 'queued') && s.pid === process.pid) throw new RunStateError(`Run ${id} is starting on the host; pause it before training it in the browser.`);
      if (state === 'running' || state === 'queued') throw new RunStateError(`Run ${id} is ${state} in another LayerLab process (pid ${s.pid}); stop it there first.`);
    }
    this.remote.set(id, { command: null });
    await this.store.updateStatus(id, { state: 'running', pid: process.pid, message: REMOTE_MESSAGE });
  }

  /** Whether `id` is claimed by a remote executor. */
  isClaimed(id: string): boolean {
    return this.remote.has(id);
  }

  /** The pause/stop request pending for a claimed run (null: keep training). */
  remoteCommand(id: string): 'pause' | 'stop' | null {
    return this.remote.get(id)?.command ?? null;
  }

  /** A remote executor's live status → `runs.status`. */
  publishStatus(s: RunStatus): void {
    this.emitStatus(s);
  }

  /** Ends a claim: the run takes `state` (completed, paused, stopped, failed or interrupted). */
  async release(id: string, state: RunState, message?: string, status?: RunStatus): Promise<void> {
    if (!this.remote.delete(id)) return;
    await this.finish(id, state, message?.slice(0, 4000), status);
  }

  private initialStatus(state: RunState): StoredStatus {
    return {
      state,
      pid: process.pid,
      epoch: 0,
      epochsDone: 0,
      step: 0,
      imagesPerSec: 0,
      etaSeconds: 0,
      seconds: 0,
      bestDevError: null,
      updated: new Date().toISOString(),
    };
  }

  private enqueue(id: string, config: StoredRunConfig): void {
    this.queue.push(id);
    const position = this.queue.length + (this.active ? 1 : 0);
    this.emitStatus({
      runId: id,
      state: 'queued',
      ...(position > 1 ? { message: `waiting for ${position - 1} run${position > 2 ? 's' : ''} ahead` } : {}),
      epoch: 0,
      epochs: config.epochs,
      step: 0,
      totalSteps: config.derived.totalSteps,
      imagesPerSec: 0,
      etaSeconds: 0,
    });
    this.pump();
  }

  // ------------------------------------------------------------------ queue

  private pump(): void {
    // `starting` closes the window between taking a run off the queue and `active` being set
    // (start() awaits file reads first): without it a second run queued meanwhile would start too.
    if (this.active || this.starting || this.closed) return;
    const id = this.queue.shift();
    if (!id) return;
    this.starting = id;
    this.start(id)
      .then(() => {
        this.starting = null;
      })
      .catch(async (e: Error) => {
        this.starting = null;
        this.active = null;
        await this.finish(id, 'failed', `Could not start training: ${e.message}`);
        this.pump();
      });
  }

  private async start(id: string): Promise<void> {
    const config = await this.store.readConfig(id);
    const prev = await this.store.readStatus(id);
    const control = new Int32Array(new SharedArrayBuffer(4));
    const data: TrainWorkerData = { dataDir: this.opts.dataDir, runId: id, resume: true, control: control.buffer as SharedArrayBuffer };
    const status: RunStatus = { ...this.toRunStatus(id, prev, config), state: 'running', message: 'starting', imagesPerSec: 0, etaSeconds: 0 };
    await this.store.updateStatus(id, { state: 'running', pid: process.pid, message: undefined });
    const worker = startWorker(this.workerUrl, { workerData: data });
    const run: ActiveRun = {
      id,
      worker,
      control,
      status,
      extra: { epochsDone: prev.epochsDone, seconds: prev.seconds, bestDevError: prev.bestDevError },
      pendingMetrics: null,
      metricsTimer: null,
      lastStatusWrite: 0,
      done: false,
    };
    this.active = run;
    this.emitStatus(status);
    worker.on('message', (m: TrainWorkerMessage) => void this.onMessage(run, m));
    worker.on('error', (e) => void this.onWorkerEnd(run, 'failed', `The training worker crashed: ${e.message}`));
    worker.on('exit', (code) => void this.onWorkerEnd(run, 'failed', `The training worker stopped unexpectedly (exit code ${code}). Resume the run to continue from its last checkpoint.`));
  }

  private async onMessage(run: ActiveRun, m: TrainWorkerMessage): Promise<void> {
    switch (m.type) {
      case 'progress': {
        const p = m.progress;
        run.status = {
          ...run.status,
          epoch: p.epoch,
          step: p.step,
          totalSteps: p.totalSteps,
          imagesPerSec: p.imagesPerSec,
          etaSeconds: p.etaSeconds,
          ...(p.message ? { message: p.message } : {}),
        };
        if (!p.message) delete run.status.message;
        const epochChanged = p.epochsDone !== run.extra.epochsDone;
        run.extra = { epochsDone: p.epochsDone, seconds: p.seconds, bestDevError: p.bestDevError };
        this.emitStatus(run.status);
        if (epochChanged || Date.now() - run.lastStatusWrite > 5000) {
          run.lastStatusWrite = Date.now();
          await this.writeProgress(run).catch(() => undefined);
        }
        return;
      }
      case 'metrics': {
        if (run.pendingMetrics && run.pendingMetrics.from + run.pendingMetrics.records.length === m.from) run.pendingMetrics.records.push(...m.records);
        else {
          this.flushMetrics(run);
          run.pendingMetrics = { from: m.from, records: [...m.records] };
        }
        run.metricsTimer ??= setTimeout(() => this.flushMetrics(run), this.metricsInterval);
        return;
      }
      case 'finished':
        await this.onWorkerEnd(run, m.outcome);
        return;
      case 'failed':
        await this.onWorkerEnd(run, 'failed', m.message);
        return;
    }
  }

  private flushMetrics(run: ActiveRun): void {
    if (run.metricsTimer) clearTimeout(run.metricsTimer);
    run.metricsTimer = null;
    const p = run.pendingMetrics;
    run.pendingMetrics = null;
    if (p && p.records.length) this.opts.events.emit('runs.metrics', { runId: run.id, from: p.from, records: p.records });
  }

  private async writeProgress(run: ActiveRun): Promise<void> {
    await this.store.updateStatus(run.id, {
      epoch: run.status.epoch,
      epochsDone: run.extra.epochsDone,
      step: run.status.step,
      imagesPerSec: run.status.imagesPerSec,
      etaSeconds: run.status.etaSeconds,
      seconds: run.extra.seconds,
      bestDevError: run.extra.bestDevError,
    });
  }

  private async onWorkerEnd(run: ActiveRun, state: RunState, fullMessage?: string): Promise<void> {
    if (run.done) return;
    const message = fullMessage?.slice(0, 4000);
    run.done = true;
    this.flushMetrics(run);
    run.worker.removeAllListeners('exit');
    run.worker.on('exit', () => undefined);
    void run.worker.terminate().catch(() => undefined);
    run.status = { ...run.status, state, imagesPerSec: state === 'completed' ? run.status.imagesPerSec : 0, etaSeconds: 0 };
    if (message) run.status.message = message;
    else delete run.status.message;
    try {
      await this.writeProgress(run);
    } catch {
      // the run folder may have been deleted meanwhile
    }
    await this.finish(run.id, state, message, run.status);
    if (this.active === run) this.active = null;
    this.pump();
  }

  private async finish(id: string, state: RunState, message?: string, status?: RunStatus): Promise<void> {
    try {
      const s = await this.store.updateStatus(id, { state, message, etaSeconds: 0 });
      const config = await this.store.readConfig(id);
      this.emitStatus(status ?? this.toRunStatus(id, s, config));
    } catch {
      // deleted while it ran
    }
    for (const w of this.waiters.get(id) ?? []) w(state);
    this.waiters.delete(id);
  }

  private emitStatus(s: RunStatus): void {
    this.opts.events.emit('runs.status', s);
  }

  private toRunStatus(id: string, s: StoredStatus, config: StoredRunConfig): RunStatus {
    const state = this.store.effectiveState(s);
    return {
      runId: id,
      state,
      ...(s.message ? { message: s.message } : {}),
      epoch: s.epoch,
      epochs: config.epochs,
      step: s.step,
      totalSteps: config.derived.totalSteps,
      imagesPerSec: state === 'running' ? s.imagesPerSec : 0,
      etaSeconds: state === 'running' ? s.etaSeconds : 0,
    };
  }

  // --------------------------------------------------------------- controls

  private async need(id: string): Promise<StoredStatus> {
    if (!this.store.exists(id)) throw new RunNotFoundError(id);
    return this.store.readStatus(id);
  }

  /** Resolves when the run reaches completed / paused / stopped / failed. */
  waitFor(id: string): Promise<RunState> {
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
  }

  /** Asks the running run to checkpoint and stop (or takes a queued run off the queue). */
  async pause(id: string): Promise<RunState> {
    return this.halt(id, 'paused');
  }

  async stop(id: string): Promise<RunState> {
    return this.halt(id, 'stopped');
  }

  private async halt(id: string, to: 'paused' | 'stopped'): Promise<RunState> {
    const s = await this.need(id);
    const claimed = this.remote.get(id);
    if (claimed) {
      claimed.command = to === 'paused' ? 'pause' : 'stop';
      return 'running';
    }
    if (this.active?.id === id) {
      Atomics.store(this.active.control, 0, to === 'paused' ? CONTROL_PAUSE : CONTROL_STOP);
      this.active.status = { ...this.active.status, message: to === 'paused' ? 'pausing after this step' : 'stopping after this step' };
      this.emitStatus(this.active.status);
      return 'running';
    }
    const q = this.queue.indexOf(id);
    if (q >= 0) {
      this.queue.splice(q, 1);
      await this.finish(id, to);
      return to;
    }
    const state = this.store.effectiveState(s);
    if (state === 'interrupted' && to === 'stopped') {
      await this.finish(id, 'stopped');
      return 'stopped';
    }
    throw new RunStateError(`Run ${id} is ${state}: only a queued or running run can be ${to === 'paused' ? 'paused' : 'stopped'}.`);
  }

  /** Queues a paused / stopped / failed / interrupted run again; it continues from its last checkpoint. */
  async resume(id: string): Promise<RunState> {
    const s = await this.need(id);
    const state = this.store.effectiveState(s);
    if (this.active?.id === id || this.queue.includes(id)) return this.active?.id === id ? 'running' : 'queued';
    if (this.remote.has(id)) return 'running';
    if (state === 'running' || state === 'queued') {
      throw new RunStateError(`Run ${id} is ${state} in another LayerLab process (pid ${s.pid}); stop it there first.`);
    }
    if (state === 'completed') throw new RunStateError(`Run ${id} is completed: there is nothing to resume.`);
    const config = await this.store.readConfig(id);
    await this.store.updateStatus(id, { state: 'queued', pid: process.pid, message: undefined });
    this.enqueue(id, config);
    return 'queued';
  }

  async rename(id: string, name: string): Promise<RunSummary> {
    await this.need(id);
    await this.store.rename(id, name);
    this.opts.events.emit('runs.changed', { reason: 'renamed', id });
    return this.store.summary(id);
  }

  /** Deletes a run (stopping it first when it trains here). */
  async delete(id: string): Promise<void> {
    const s = await this.need(id);
    if (this.active?.id === id) {
      const done = this.waitFor(id);
      Atomics.store(this.active.control, 0, CONTROL_STOP);
      await done;
    }
    const q = this.queue.indexOf(id);
    if (q >= 0) this.queue.splice(q, 1);
    this.remote.delete(id); // the remote executor's next call fails: the run is gone
    const state = this.store.effectiveState(s);
    if ((state === 'running' || state === 'queued') && s.pid !== process.pid) {
      throw new RunStateError(`Run ${id} is ${state} in another LayerLab process (pid ${s.pid}); stop it there first.`);
    }
    await this.store.delete(id);
    this.opts.events.emit('runs.changed', { reason: 'deleted', id });
  }

  // ------------------------------------------------------------------ reads

  async status(id: string): Promise<RunStatus> {
    if (this.active?.id === id) return this.active.status;
    const [s, config] = await Promise.all([this.need(id), this.store.readConfig(id)]);
    return this.toRunStatus(id, s, config);
  }

  async list(): Promise<RunSummary[]> {
    const out: RunSummary[] = [];
    for (const id of await this.store.ids()) {
      try {
        out.push(this.withLive(await this.store.summary(id)));
      } catch {
        // unreadable run folder: not listed (its files say why: layerlab runs show <id>)
      }
    }
    return out.sort((a, b) => b.created.localeCompare(a.created));
  }

  private withLive(s: RunSummary): RunSummary {
    const a = this.active;
    if (!a || a.id !== s.id) return s;
    return { ...s, state: 'running', epochsDone: a.extra.epochsDone, seconds: a.extra.seconds, bestDevError: a.extra.bestDevError };
  }

  async get(id: string): Promise<RunDetail> {
    await this.need(id);
    const [summary, config, graph, status, results, checkpoints] = await Promise.all([
      this.store.summary(id),
      this.store.readConfig(id),
      this.store.readGraph(id),
      this.status(id),
      this.store.readResults(id),
      this.store.listCheckpoints(id),
    ]);
    return {
      summary: this.withLive(summary),
      config: config as unknown as Record<string, unknown>,
      graph: graph as unknown as Record<string, unknown>,
      status,
      results,
      checkpoints: checkpoints.map((c) => ({ name: c.name, epoch: c.epoch, step: c.step, midEpoch: c.midEpoch, devError: c.devError })),
      counts: config.derived.counts,
    };
  }

  async metrics(id: string, since = 0): Promise<{ records: MetricRecord[]; total: number }> {
    return this.store.readMetrics(id, since);
  }

  /** Whether a run is queued or training in this process. */
  isBusy(): boolean {
    return this.active !== null || this.queue.length > 0;
  }

  /**
   * Host shutdown: the running run checkpoints and pauses (it is resumed
   * with `runs.resume`), queued runs stay queued for the next start.
   */
  async close(): Promise<void> {
    this.closed = true;
    const a = this.active;
    if (a && !a.done) {
      const done = this.waitFor(a.id);
      Atomics.store(a.control, 0, CONTROL_PAUSE);
      await done;
    }
    this.queue.length = 0;
  }
}
