/**
 * Training state to and from bytes (host-agnostic: the host writes the
 * files). Model weights are a safetensors file in PyTorch state_dict layout
 * (io/weights.ts: the same file the exporter writes, loadable with
 * `safetensors.torch.load_file`); optimizer state is a safetensors file of
 * its state tensors (`<param>.<state>`, e.g. `layers.1.weight.momentum_buffer`)
 * with the step counts as metadata.
 *
 * Reading: all tensors are copied into one GPU buffer and read back in a
 * single round trip (a ResNet has ~100 tensors).
 */
import type { Engine } from '../core/engine.ts';
import { EngineError } from '../core/errors.ts';
import { empty, type Tensor } from '../core/tensor.ts';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../io/safetensors.ts';
import { weightsFromSafetensors, weightsToSafetensors, type WeightTensor } from '../io/weights.ts';
import type { ModelGraph } from '../models/graph.ts';
import type { Optimizer, OptimizerStateMeta } from '../optim/base.ts';

/** Reads many tensors with one readback: name → values (f32). */
export async function readTensors(engine: Engine, tensors: ReadonlyMap<string, Tensor>): Promise<Map<string, Float32Array>> {
  const list = [...tensors.entries()].filter(([, t]) => t.size > 0);
  const total = list.reduce((n, [, t]) => n + t.size, 0);
  const out = new Map<string, Float32Array>();
  for (const [name, t] of tensors) if (t.size === 0) out.set(name, new Float32Array(0));
  if (total === 0) return out;
  const all = empty(engine, [total]); // [Σ sizes]
  try {
    let offset = 0;
    for (const [, t] of list) {
      if (t.dtype !== 'f32') throw new EngineError(`readTensors: '${t.name}' is ${t.dtype}; only f32 state is saved.`);
      engine.copy(t.buffer, 0, all.buffer, offset * 4, t.byteLength);
      offset += t.size;
    }
    const v = await all.read();
    offset = 0;
    for (const [name, t] of list) {
      out.set(name, v.slice(offset, offset + t.size));
      offset += t.size;
    }
    return new Map([...tensors.keys()].map((k) => [k, out.get(k)!]));
  } finally {
    all.dispose();
  }
}

/** What of a model a checkpoint needs. */
export interface CheckpointableModel {
  readonly graph: ModelGraph;
  parameters(): Map<string, Tensor>;
  buffers(): Map<string, Tensor>;
}

function stateOf(model: CheckpointableModel): Map<string, Tensor> {
  return new Map([...model.parameters(), ...model.buffers()]);
}

/** The model's parameters and buffers as a safetensors file (PyTorch state_dict names and dtypes). */
export async function encodeModelWeights(engine: Engine, model: CheckpointableModel, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const values = await readTensors(engine, stateOf(model));
  const weights = new Map<string, WeightTensor>();
  for (const [name, t] of stateOf(model)) weights.set(name, { shape: t.shape, data: values.get(name)! });
  return encodeSafetensors(weightsToSafetensors(model.graph, weights), metadata);
}

/** Loads a safetensors weights file into the model's parameters and buffers (names and shapes checked). */
export function loadModelWeights(engine: Engine, model: CheckpointableModel, bytes: Uint8Array): void {
  const weights = weightsFromSafetensors(model.graph, decodeSafetensors(bytes));
  for (const [name, t] of stateOf(model)) {
    const w = weights.get(name);
    if (!w) throw new EngineError(`Checkpoint has no '${name}'.`);
    engine.upload(t.buffer, w.data);
  }
}

/** Optimizer state tensors + step counts as a safetensors file. */
export async function encodeOptimizerState(engine: Engine, optimizer: Optimizer): Promise<Uint8Array> {
  const state = optimizer.stateTensors();
  const values = await readTensors(engine, state);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, t] of state) tensors.set(name, { dtype: 'F32', shape: [...t.shape], data: values.get(name)! });
  return encodeSafetensors(tensors, { optimizer: JSON.stringify(optimizer.stateMeta()) });
}

/** Restores optimizer state written by encodeOptimizerState. */
export function loadOptimizerState(optimizer: Optimizer, bytes: Uint8Array): void {
  const file = decodeSafetensors(bytes);
  const map = new Map<string, Float32Array>();
  for (const [name, t] of file.tensors) {
    if (!(t.data instanceof Float32Array)) throw new EngineError(`Optimizer state '${name}' is ${t.dtype}, expected F32.`);
    map.set(name, t.data);
  }
  let meta: Partial<OptimizerStateMeta> | undefined;
  try {
    meta = file.metadata.optimizer ? (JSON.parse(file.metadata.optimizer) as OptimizerStateMeta) : undefined;
  } catch {
    throw new EngineError('Optimizer state: its step counts (metadata) are not valid JSON.');
  }
  optimizer.loadState(map, meta);
}
