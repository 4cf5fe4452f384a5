/**
 * The run store: `<dataDir>/runs/<runId>/`, one folder per run.
 *
 *   config.json        the complete validated config (config.ts), written once
 *   model.json         the compiled layer graph (src-engine/models/graph.ts)
 *   status.json        state, progress, owner pid (written atomically by the run manager)
 *   metrics.jsonl      one MetricRecord per line, append-only, each write flushed to the OS
 *   checkpoints/<name>/
 *       model.safetensors      parameters + BN buffers, PyTorch state_dict names
 *       optimizer.safetensors  optimizer state tensors, step counts in the metadata
 *       state.json             position in the data order, seed position, metric sums, timing
 *     <name> = epoch-<n> at the end of epoch n, step-<s> when paused/stopped mid-epoch
 *     epoch-0 = the starting weights of a run created from a weights file (config `initWeights`)
 *   results.json       test-set evaluation of the final weights
 *
 * Atomicity: files are written to a temp name and renamed; a checkpoint is
 * written into `checkpoints/.tmp-*` and the folder renamed into place, so a
 * kill at any moment leaves either the old checkpoint or the new one, never
 * a half-written one. Names starting with '.' are never read as checkpoints
 * and are cleaned up once their writer's pid is gone. A run folder is created
 * the same way (temp folder renamed into runs/), so a half-created run is
 * never listed.
 */
import { appendFileSync, existsSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { MetricRecord, RunResults, RunState, type RunSummary } from '../../api/calls/runs.ts';
import { parseGraph, type ModelGraph } from '../../../src-engine/models/index.ts';
import type { DataDirLayout } from '../data-dir.ts';
import { StoredRunConfig, type ResolvedRun } from './config.ts';

const RUN_ID = /^[a-z0-9][a-z0-9-]{0,99}$/;

export class RunNotFoundError extends Error {
  override readonly name = 'RunNotFoundError';
  constructor(id: string) {
    super(`No run "${id}" in the data directory (layerlab runs list shows the runs).`);
  }
}

export class RunFileError extends Error {
  override readonly name = 'RunFileError';
}

/** status.json */
export const StoredStatus = z.object({
  state: RunState,
  message: z.string().optional(),
  /** Process that trains (running) or will train (queued) the run; used to detect a dead owner. */
  pid: z.number().int().optional(),
  epoch: z.number().int().min(0),
  epochsDone: z.number().int().min(0),
  step: z.number().int().min(0),
  imagesPerSec: z.number().min(0),
  etaSeconds: z.number().min(0),
  /** Training wall time so far. */
  seconds: z.number().min(0),
  bestDevError: z.number().nullable(),
  updated: z.string(),
});
export type StoredStatus = z.infer<typeof StoredStatus>;

/** checkpoints/<name>/state.json */
export const CheckpointState = z.object({
  name: z.string(),
  /** Epochs completed. */
  epoch: z.number().int().min(0),
  /** Optimizer steps done. */
  step: z.number().int().min(0),
  midEpoch: z.boolean(),
  /** Position of the next batch in the data order. */
  position: z.object({ epoch: z.number().int().min(0), batchIndex: z.number().int().min(0) }),
  /** Seeds drawn from the engine (dropout masks) so far. */
  seedCount: z.number().int().min(0),
  /** metrics.jsonl length (bytes, records) when the checkpoint was taken: a resume truncates to it. */
  metricsBytes: z.number().int().min(0),
  metricsCount: z.number().int().min(0),
  /** Training wall time so far. */
  seconds: z.number().min(0),
  /** Unread GPU metric sums (f32 values) at a mid-epoch checkpoint. */
  gpuSums: z.object({ lossSum: z.number(), correct: z.number(), count: z.number() }),
  /** Sums of the epoch in progress already read back (f64). */
  epochSums: z.object({ lossSum: z.number(), correct: z.number(), count: z.number() }),
  /** Learning rate of the last step. */
  lr: z.number(),
  devError: z.number().nullable(),
  bestDevError: z.number().nullable(),
  bestCheckpoint: z.string().nullable(),
  created: z.string(),
});
export type CheckpointState = z.infer<typeof CheckpointState>;

export interface CheckpointFiles {
  model: Uint8Array;
  optimizer: Uint8Array;
}

/** Test hooks: called after each checkpoint file is fully written (before the folder is renamed into place). */
export interface CheckpointWriteHooks {
  afterFile?: (file: string) => Promise<void> | void;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes a file durably: temp name in the same folder, fsync, rename. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

async function writeDurable(file: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function checkpointOrder(a: CheckpointState, b: CheckpointState): number {
  return a.step - b.step || Number(b.midEpoch) - Number(a.midEpoch);
}

export class RunStore {
  constructor(readonly layout: DataDirLayout) {}

  get root(): string {
    return this.layout.runs;
  }

  dir(id: string): string {
    if (!RUN_ID.test(id)) throw new RunNotFoundError(id);
    return join(this.layout.runs, id);
  }

  exists(id: string): boolean {
    return RUN_ID.test(id) && existsSync(join(this.layout.runs, id, 'config.json'));
  }

  private async need(id: string): Promise<string> {
    const d = this.dir(id);
    if (!existsSync(join(d, 'config.json'))) throw new RunNotFoundError(id);
    return d;
  }

  /** A new run id: sortable by creation time, readable, unique. */
  newId(family: string): string {
    const t = new Date();
    const p = (n: number, w = 2): string => String(n).padStart(w, '0');
    const stamp = `${t.getFullYear()}${p(t.getMonth() + 1)}${p(t.getDate())}-${p(t.getHours())}${p(t.getMinutes())}${p(t.getSeconds())}`;
    const slug = family.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 30) || 'run';
    for (;;) {
      const id = `${stamp}-${slug}-${Math.random().toString(16).slice(2, 6)}`;
      if (!existsSync(join(this.layout.runs, id))) return id;
    }
  }

  /** Creates the run folder atomically (temp folder renamed into runs/). */
  async create(run: ResolvedRun, status: StoredStatus): Promise<void> {
    const id = run.config.id;
    const final = this.dir(id);
    await mkdir(this.layout.runs, { recursive: true });
    const tmp = join(this.layout.runs, `.tmp-${process.pid}-${id}`);
    await rm(tmp, { recursive: true, force: true });
    try {
      await this.fillRunFolder(tmp, run, status);
      await rename(tmp, final);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true }); // a failed create leaves no run folder behind
      throw e;
    }
  }

  private async fillRunFolder(tmp: string, run: ResolvedRun, status: StoredStatus): Promise<void> {
    await mkdir(join(tmp, 'checkpoints'), { recursive: true });
    await writeDurable(join(tmp, 'model.json'), JSON.stringify(run.graph, null, 2) + '\n');
    await writeDurable(join(tmp, 'status.json'), JSON.stringify(status, null, 2) + '\n');
    await writeDurable(join(tmp, 'metrics.jsonl'), '');
    if (run.initial) {
      // Starting weights (config `initWeights`): a checkpoint the first start resumes from (init-weights.ts).
      const state = CheckpointState.parse(run.initial.state);
      const ckpt = join(tmp, 'checkpoints', state.name);
      await mkdir(ckpt);
      await writeDurable(join(ckpt, 'model.safetensors'), run.initial.files.model);
      await writeDurable(join(ckpt, 'optimizer.safetensors'), run.initial.files.optimizer);
      await writeDurable(join(ckpt, 'state.json'), JSON.stringify(state, null, 2) + '\n');
    }
    await writeDurable(join(tmp, 'config.json'), JSON.stringify(run.config, null, 2) + '\n');
  }

  /** Ids of every complete run (folders with a config.json), oldest first. */
  async ids(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.layout.runs);
    } catch {
      return [];
    }
    return names.filter((n) => RUN_ID.test(n) && existsSync(join(this.layout.runs, n, 'config.json'))).sort();
  }

  private async readJson<T>(file: string, schema: z.ZodType<T>, what: string): Promise<T> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      throw new RunFileError(`${file}: cannot read the ${what} (${(e as Error).message}).`);
    }
    const r = schema.safeParse(json);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new RunFileError(`${file}: field "${i.path.join('.')}" of the ${what} is invalid (${i.message}); the file was edited or written by another LayerLab version.`);
    }
    return r.data;
  }

  async readConfig(id: string): Promise<StoredRunConfig> {
    return this.readJson(join(await this.need(id), 'config.json'), StoredRunConfig, 'run config');
  }

  async readGraph(id: string): Promise<ModelGraph> {
    const file = join(await this.need(id), 'model.json');
    try {
      return parseGraph(JSON.parse(await readFile(file, 'utf8')));
    } catch (e) {
      throw new RunFileError(`${file}: ${(e as Error).message}`);
    }
  }

  async readStatus(id: string): Promise<StoredStatus> {
    return this.readJson(join(await this.need(id), 'status.json'), StoredStatus, 'run status');
  }

  async writeStatus(id: string, status: StoredStatus): Promise<void> {
    await writeFileAtomic(join(this.dir(id), 'status.json'), JSON.stringify(status, null, 2) + '\n');
  }

  async updateStatus(id: string, patch: Partial<StoredStatus>): Promise<StoredStatus> {
    const next: StoredStatus = { ...(await this.readStatus(id)), ...patch, updated: new Date().toISOString() };
    await this.writeStatus(id, next);
    return next;
  }

  async readResults(id: string): Promise<RunResults | null> {
    const file = join(await this.need(id), 'results.json');
    if (!existsSync(file)) return null;
    return this.readJson(file, RunResults, 'test results');
  }

  async writeResults(id: string, r: RunResults): Promise<void> {
    await writeFileAtomic(join(this.dir(id), 'results.json'), JSON.stringify(r, null, 2) + '\n');
  }

  async rename(id: string, name: string): Promise<StoredRunConfig> {
    const config = { ...(await this.readConfig(id)), name };
    await writeFileAtomic(join(this.dir(id), 'config.json'), JSON.stringify(config, null, 2) + '\n');
    return config;
  }

  async delete(id: string): Promise<void> {
    const d = await this.need(id);
    // Out of runs/ first (atomic), then remove: a crash mid-delete leaves only tmp litter.
    await mkdir(this.layout.tmp, { recursive: true });
    const trash = join(this.layout.tmp, `delete-${process.pid}-run-${id}-${Date.now()}`);
    await rename(d, trash);
    await rm(trash, { recursive: true, force: true });
  }

  // ----------------------------------------------------------------- metrics

  metricsFile(id: string): string {
    return join(this.dir(id), 'metrics.jsonl');
  }

  /** Appends records (one line each) in one write, flushed to the OS before returning. */
  appendMetrics(id: string, records: readonly MetricRecord[]): void {
    if (records.length === 0) return;
    appendFileSync(this.metricsFile(id), records.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  metricsBytes(id: string): number {
    try {
      return statSync(this.metricsFile(id)).size;
    } catch {
      return 0;
    }
  }

  /** Cuts metrics.jsonl back to `bytes` (a resume drops records after its checkpoint: they are recomputed). */
  truncateMetrics(id: string, bytes: number): void {
    truncateSync(this.metricsFile(id), bytes);
  }

  /** Complete records from index `since`; a trailing partial line (being written) is not counted. */
  async readMetrics(id: string, since = 0): Promise<{ records: MetricRecord[]; total: number }> {
    await this.need(id);
    return this.readMetricsSync(id, since);
  }

  readMetricsSync(id: string, since = 0): { records: MetricRecord[]; total: number } {
    let text = '';
    try {
      text = readFileSync(this.metricsFile(id), 'utf8');
    } catch {
      return { records: [], total: 0 };
    }
    const end = text.lastIndexOf('\n');
    const lines = end < 0 ? [] : text.slice(0, end).split('\n');
    const records: MetricRecord[] = [];
    for (let i = since; i < lines.length; i++) {
      const r = MetricRecord.safeParse(JSON.parse(lines[i]));
      if (!r.success) throw new RunFileError(`${this.metricsFile(id)}: line ${i + 1} is not a metric record (${r.error.issues[0].message}).`);
      records.push(r.data);
    }
    return { records, total: lines.length };
  }

  // ------------------------------------------------------------- checkpoints

  checkpointsDir(id: string): string {
    return join(this.dir(id), 'checkpoints');
  }

  /** Complete checkpoints, oldest first (by step; an epoch-end one after a mid-epoch one at the same step). */
  async listCheckpoints(id: string): Promise<CheckpointState[]> {
    const dir = this.checkpointsDir(id);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const out: CheckpointState[] = [];
    for (const n of names) {
      if (n.startsWith('.')) continue;
      try {
        out.push(await this.readJson(join(dir, n, 'state.json'), CheckpointState, 'checkpoint state'));
      } catch {
        // not a complete checkpoint: never used
      }
    }
    return out.sort(checkpointOrder);
  }

  async latestCheckpoint(id: string): Promise<CheckpointState | null> {
    return (await this.listCheckpoints(id)).at(-1) ?? null;
  }

  async readCheckpoint(id: string, name: string): Promise<{ state: CheckpointState; files: CheckpointFiles }> {
    if (!/^(epoch|step)-\d+$/.test(name)) throw new RunFileError(`"${name}" is not a checkpoint name (epoch-<n> or step-<n>).`);
    const dir = join(this.checkpointsDir(id), name);
    const state = await this.readJson(join(dir, 'state.json'), CheckpointState, 'checkpoint state');
    const read = async (f: string): Promise<Uint8Array> => {
      const b = await readFile(join(dir, f));
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    };
    return { state, files: { model: await read('model.safetensors'), optimizer: await read('optimizer.safetensors') } };
  }

  /** Writes a checkpoint atomically: temp folder (files fsynced, state.json last), then rename into place. */
  async writeCheckpoint(id: string, state: CheckpointState, files: CheckpointFiles, hooks: CheckpointWriteHooks = {}): Promise<void> {
    const dir = this.checkpointsDir(id);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${process.pid}-${state.name}-${Date.now()}`);
    await mkdir(tmp);
    for (const [file, data] of [
      ['model.safetensors', files.model],
      ['optimizer.safetensors', files.optimizer],
      ['state.json', JSON.stringify(state, null, 2) + '\n'],
    ] as const) {
      await writeDurable(join(tmp, file), data);
      await hooks.afterFile?.(file);
    }
    const final = join(dir, state.name);
    if (existsSync(final)) {
      // Re-written after a resume: move the old one aside first (a folder cannot be renamed over a non-empty one).
      const old = join(dir, `.old-${process.pid}-${state.name}-${Date.now()}`);
      await rename(final, old);
      await rename(tmp, final);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, final);
    }
  }

  /** Keeps the newest `keep` epoch checkpoints, `protect` (the best-dev one) and the latest; removes the rest. */
  async pruneCheckpoints(id: string, keep: number, protect: ReadonlyArray<string | null>): Promise<void> {
    const list = await this.listCheckpoints(id);
    const epochs = list.filter((c) => !c.midEpoch);
    const latest = list.at(-1)?.name;
    const keepNames = new Set<string>([...epochs.slice(-keep).map((c) => c.name), ...protect.filter((p): p is string => !!p)]);
    if (latest) keepNames.add(latest);
    for (const c of list) {
      if (!keepNames.has(c.name)) await rm(join(this.checkpointsDir(id), c.name), { recursive: true, force: true });
    }
  }

  /** Removes checkpoints taken after `step` (a resumed run re-creates them; stale ones must not be resumed from). */
  async dropCheckpointsAfter(id: string, step: number): Promise<void> {
    for (const c of await this.listCheckpoints(id)) {
      if (c.step > step) await rm(join(this.checkpointsDir(id), c.name), { recursive: true, force: true });
    }
  }

  /** Removes temp/old checkpoint folders whose writer process is gone. */
  async cleanupCheckpointTemp(id: string): Promise<void> {
    const dir = this.checkpointsDir(id);
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const m = /^\.(tmp|old)-(\d+)-/.exec(n);
      if (m && (!processAlive(Number(m[2])) || Number(m[2]) === process.pid)) await rm(join(dir, n), { recursive: true, force: true });
    }
  }

  /** Removes half-created run folders (runs/.tmp-<pid>-*) whose process is gone. */
  async cleanupStaleTemp(): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(this.layout.runs);
    } catch {
      return;
    }
    for (const n of names) {
      const m = /^\.tmp-(\d+)-/.exec(n);
      if (m && !processAlive(Number(m[1]))) await rm(join(this.layout.runs, n), { recursive: true, force: true });
    }
  }

  // ----------------------------------------------------------------- summary

  /** State as seen from outside: a 'running'/'queued' run whose owner process is gone was interrupted. */
  effectiveState(s: StoredStatus): StoredStatus['state'] {
    if ((s.state === 'running' || s.state === 'queued') && s.pid !== undefined && s.pid !== process.pid && !processAlive(s.pid)) return 'interrupted';
    return s.state;
  }

  async summary(id: string): Promise<RunSummary> {
    const [config, status, results] = await Promise.all([this.readConfig(id), this.readStatus(id), this.readResults(id)]);
    const state = this.effectiveState(status);
    return {
      id,
      name: config.name,
      state,
      ...(status.message ? { message: status.message } : state === 'interrupted' && status.state !== 'interrupted' ? { message: 'The process training this run ended unexpectedly; resume it to continue from its last checkpoint.' } : {}),
      model: config.model.family,
      modelOptions: config.model.options,
      dataset: { id: config.datasetId, name: config.datasetName },
      optimizer: config.optimizer.type,
      lr: config.optimizer.lr,
      batchSize: config.batchSize,
      epochs: config.epochs,
      epochsDone: status.epochsDone,
      bestDevError: status.bestDevError,
      testError: results?.testError ?? null,
      testErrorCi95: results?.testErrorCi95 ?? null,
      params: config.derived.params,
      seconds: status.seconds,
      created: config.created,
    };
  }
}
