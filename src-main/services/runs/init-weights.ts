/**
 * Starting a run from a safetensors weights file (fine-tune, continue, or
 * inspect exported weights): a file exported by LayerLab (`layerlab export
 * --format safetensors`, or the PyTorch export's `weights.safetensors`) or
 * written by PyTorch (`safetensors.torch.save_file(model.state_dict())`, our
 * generated train.py).
 *
 * The file is checked against the run's compiled model like PyTorch's
 * load_state_dict(strict=True), but every problem is listed: missing,
 * unexpected, wrong-shape and wrong-dtype tensors, BatchNorm running
 * statistics included (the BN counter may be I64, I32 or F32).
 *
 * The seam: the new run folder is created with a starting checkpoint
 * `checkpoints/epoch-0/` (the model weights, a fresh optimizer state, data
 * position 0, seed position 0, no metrics), written in the same layout and by
 * the same atomic folder rename as the run itself (store.ts). The unchanged
 * training loop then "resumes" from it (the run manager always starts a run
 * with resume: true); `layerlab eval` / export before any training use these
 * weights. Provenance (file name, sha256, bytes, source run) is recorded in
 * the run config as `initWeights`.
 *
 * Pure Node + engine I/O (no GPU): the fresh optimizer state is computed from
 * the optimizer config (the same state names and initial values the engine's
 * optimizers allocate; test/main/runs/init-weights.test.ts checks it against
 * each real optimizer's checkpoint).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute } from 'node:path';
import { z } from 'zod';
import { decodeSafetensors, encodeSafetensors, type SafetensorsCheck, type SafetensorsFile, type SafetensorsTensor, checkAgainst, SafetensorsError } from '../../../src-engine/io/safetensors.ts';
import { expectedWeights, weightsFromSafetensors, weightsToSafetensors, type WeightTensor } from '../../../src-engine/io/weights.ts';
import { describeGraph, type ModelGraph } from '../../../src-engine/models/index.ts';
import type { OptimizerConfig } from '../../../src-engine/optim/config.ts';
import { learningRate, type ScheduleConfig } from '../../../src-engine/optim/index.ts';

/** Name of the starting checkpoint a run created from a weights file gets. */
export const INIT_CHECKPOINT = 'epoch-0';

/** The largest weights file read (a safetensors file is read whole). */
export const MAX_INIT_WEIGHTS_BYTES = 4 * 1024 ** 3;

/** Provenance of a run's starting weights (config.json `initWeights`). */
export const InitWeightsInfo = z.object({
  /** File name (no folder: an upload's is a temporary one). */
  file: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().min(0),
  tensors: z.number().int().min(0),
  /** From the file's metadata when LayerLab exported it. */
  producer: z.string().optional(),
  sourceRun: z.string().optional(),
  sourceCheckpoint: z.string().optional(),
});
export type InitWeightsInfo = z.infer<typeof InitWeightsInfo>;

/** A weights file that cannot be used; the message says exactly why (every mismatch, one per line). */
export class InitWeightsError extends Error {
  override readonly name = 'InitWeightsError';
}

export interface WeightsFileRead {
  bytes: Uint8Array;
  file: SafetensorsFile;
  info: InitWeightsInfo;
}

/** Reads and decodes a safetensors file (InitWeightsError for an unreadable or malformed file). */
export async function readWeightsFile(path: string): Promise<WeightsFileRead> {
  const name = basename(path);
  if (!isAbsolute(path)) throw new InitWeightsError(`${name}: the weights file path must be absolute.`);
  if (!/\.safetensors$/i.test(path)) throw new InitWeightsError(`${name} is not a .safetensors file.`);
  let buf: Buffer;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new InitWeightsError(`${name} is not a file.`);
    if (st.size > MAX_INIT_WEIGHTS_BYTES) throw new InitWeightsError(`${name} is ${st.size} bytes, more than the ${MAX_INIT_WEIGHTS_BYTES} bytes a weights file may have.`);
    buf = await readFile(path);
  } catch (e) {
    if (e instanceof InitWeightsError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InitWeightsError(code === 'ENOENT' ? `${name}: no such file.` : `${name} cannot be read (${(e as Error).message}).`);
  }
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  let file: SafetensorsFile;
  try {
    file = decodeSafetensors(bytes);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new InitWeightsError(`${name} is not a valid safetensors file: ${e.message}`);
    throw e;
  }
  const meta = file.metadata;
  const info: InitWeightsInfo = {
    file: name,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.byteLength,
    tensors: file.tensors.size,
    ...(meta.producer ? { producer: meta.producer.slice(0, 200) } : {}),
    ...(meta.run_id ? { sourceRun: meta.run_id.slice(0, 200) } : {}),
    ...(meta.checkpoint ? { sourceCheckpoint: meta.checkpoint.slice(0, 200) } : {}),
  };
  return { bytes, file, info };
}

/**
 * The file checked against what the model needs. The BN counter
 * (`num_batches_tracked`) may be I64 (PyTorch, our exports), I32 or F32.
 */
export function checkWeights(graph: ModelGraph, file: Pick<SafetensorsFile, 'tensors'>): SafetensorsCheck {
  const expected = expectedWeights(graph);
  for (const [name, want] of expected) {
    const got = file.tensors.get(name);
    if (name.endsWith('.num_batches_tracked') && got && (got.dtype === 'F32' || got.dtype === 'I32')) expected.set(name, { ...want, dtype: got.dtype });
  }
  return checkAgainst(expected, file);
}

/** The mismatch report of a file for a model (InitWeightsError when it does not match). */
export function weightsForModel(graph: ModelGraph, read: Pick<WeightsFileRead, 'file' | 'info'>): Map<string, WeightTensor> {
  const check = checkWeights(graph, read.file);
  if (!check.ok) throw new InitWeightsError(`${read.info.file} does not match the model (${graph.family}):\n${check.message}`);
  const weights = weightsFromSafetensors(graph, read.file);
  for (const [name, w] of weights) {
    for (let i = 0; i < w.data.length; i++) {
      if (!Number.isFinite(w.data[i])) throw new InitWeightsError(`${read.info.file}: tensor ${name} holds a non-finite value (NaN or ±Inf) at index ${i}.`);
    }
  }
  return weights;
}

/** State names and initial values of a fresh optimizer (as src-engine/optim allocates them). */
function optimizerSlots(c: OptimizerConfig): Array<{ key: string; init: number }> {
  switch (c.type) {
    case 'sgd':
      return c.momentum !== 0 ? [{ key: 'momentum_buffer', init: 0 }] : [];
    case 'adagrad':
      return [{ key: 'sum', init: c.initialAccumulatorValue }];
    case 'adadelta':
      return [
        { key: 'square_avg', init: 0 },
        { key: 'acc_delta', init: 0 },
      ];
    case 'rmsprop':
      return [{ key: 'square_avg', init: 0 }, ...(c.momentum !== 0 ? [{ key: 'momentum_buffer', init: 0 }] : []), ...(c.centered ? [{ key: 'grad_avg', init: 0 }] : [])];
    case 'adam':
    case 'adamw':
      return [{ key: 'exp_avg', init: 0 }, { key: 'exp_avg_sq', init: 0 }, ...(c.amsgrad ? [{ key: 'max_exp_avg_sq', init: 0 }] : [])];
  }
}

/** optimizer.safetensors of an optimizer that has not stepped (what encodeOptimizerState writes for it). */
export function freshOptimizerState(graph: ModelGraph, optimizer: OptimizerConfig): Uint8Array {
  const slots = optimizerSlots(optimizer);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const p of describeGraph(graph).parameters) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    for (const s of slots) tensors.set(`${p.name}.${s.key}`, { dtype: 'F32', shape: [...p.shape], data: new Float32Array(n).fill(s.init) });
  }
  return encodeSafetensors(tensors, { optimizer: JSON.stringify({ type: optimizer.type, stepCount: 0, skipped: {} }) });
}

/** What RunStore.create writes as the run's starting checkpoint (state.json fields of store.ts's CheckpointState). */
export interface InitialCheckpoint {
  state: {
    name: string;
    epoch: number;
    step: number;
    midEpoch: boolean;
    position: { epoch: number; batchIndex: number };
    seedCount: number;
    metricsBytes: number;
    metricsCount: number;
    seconds: number;
    gpuSums: { lossSum: number; correct: number; count: number };
    epochSums: { lossSum: number; correct: number; count: number };
    lr: number;
    devError: number | null;
    bestDevError: number | null;
    bestCheckpoint: string | null;
    created: string;
  };
  files: { model: Uint8Array; optimizer: Uint8Array };
}

/**
 * The starting checkpoint of a run: the imported weights (re-encoded in
 * state_dict order and dtypes, like every checkpoint), a fresh optimizer,
 * data position 0, no metrics — what the loop would hold before its first step.
 */
export function initialCheckpoint(
  run: { id: string; optimizer: OptimizerConfig; schedule: ScheduleConfig; derived: { stepsPerEpoch: number; totalSteps: number } },
  graph: ModelGraph,
  weights: ReadonlyMap<string, WeightTensor>,
  info: InitWeightsInfo,
): InitialCheckpoint {
  const zero = { lossSum: 0, correct: 0, count: 0 };
  return {
    state: {
      name: INIT_CHECKPOINT,
      epoch: 0,
      step: 0,
      midEpoch: false,
      position: { epoch: 0, batchIndex: 0 },
      seedCount: 0,
      metricsBytes: 0,
      metricsCount: 0,
      seconds: 0,
      gpuSums: zero,
      epochSums: { ...zero },
      lr: learningRate(run.schedule, run.optimizer.lr, 0, run.derived.totalSteps, run.derived.stepsPerEpoch),
      devError: null,
      bestDevError: null,
      bestCheckpoint: null,
      created: new Date().toISOString(),
    },
    files: {
      model: encodeSafetensors(weightsToSafetensors(graph, weights), { run: run.id, checkpoint: INIT_CHECKPOINT, init_weights: info.file, init_sha256: info.sha256 }),
      optimizer: freshOptimizerState(graph, run.optimizer),
    },
  };
}
