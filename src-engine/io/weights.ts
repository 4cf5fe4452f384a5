/**
 * A model's weights as plain arrays, keyed by PyTorch state_dict name (the
 * names describeGraph lists), and their conversion to and from safetensors
 * tensors. Parameters and the BatchNorm running statistics are f32; BN's
 * `num_batches_tracked` is an f32 scalar in the engine but int64 in PyTorch,
 * so exported files store it as I64 (torch's load_state_dict(strict=True)
 * then accepts the file unchanged) and loading accepts either.
 */
import { describeGraph } from '../models/describe.ts';
import type { ModelGraph } from '../models/graph.ts';
import {
  assertMatches,
  type ExpectedTensor,
  type SafetensorsFile,
  type SafetensorsTensor,
  SafetensorsError,
} from './safetensors.ts';

export interface WeightTensor {
  shape: readonly number[];
  data: Float32Array;
}

/** state_dict name → values (parameters and buffers). */
export type ModelWeights = ReadonlyMap<string, WeightTensor>;

const isCounter = (name: string): boolean => name.endsWith('.num_batches_tracked');

/** What a weights file for this graph must hold, in state_dict order (parameters, then buffers by layer). */
export function expectedWeights(graph: ModelGraph): Map<string, ExpectedTensor> {
  const d = describeGraph(graph);
  const entries: Array<[string, ExpectedTensor]> = [
    ...d.parameters.map((p): [string, ExpectedTensor] => [p.name, { shape: p.shape, dtype: 'F32' }]),
    ...d.buffers.map((b): [string, ExpectedTensor] => [b.name, { shape: b.shape, dtype: isCounter(b.name) ? 'I64' : 'F32' }]),
  ];
  // PyTorch's state_dict lists a module's parameters, then its buffers, module by module:
  // order by the layer path so a BN's running stats follow its weight and bias.
  const layerOf = (name: string): string => name.slice(0, name.lastIndexOf('.'));
  const firstIndex = new Map<string, number>();
  entries.forEach(([name], i) => {
    if (!firstIndex.has(layerOf(name))) firstIndex.set(layerOf(name), i);
  });
  const order = entries.map((e, i) => ({ e, i, layer: firstIndex.get(layerOf(e[0])) ?? i }));
  order.sort((a, b) => a.layer - b.layer || a.i - b.i);
  return new Map(order.map((o) => o.e));
}

/** The weights as safetensors tensors, in state_dict order; checks that every expected tensor is there. */
export function weightsToSafetensors(graph: ModelGraph, weights: ModelWeights): Map<string, SafetensorsTensor> {
  const expected = expectedWeights(graph);
  const out = new Map<string, SafetensorsTensor>();
  const missing = [...expected.keys()].filter((n) => !weights.has(n));
  if (missing.length) throw new SafetensorsError(`The weights lack ${missing.length} tensor(s) the model needs: ${missing.join(', ')}`);
  for (const [name, want] of expected) {
    const w = weights.get(name)!;
    const n = want.shape.reduce((a, b) => a * b, 1);
    if (w.data.length !== n) {
      throw new SafetensorsError(`Weight '${name}' has ${w.data.length} values but the model needs [${want.shape.join(', ')}] (${n}).`);
    }
    out.set(
      name,
      want.dtype === 'I64'
        ? { dtype: 'I64', shape: [...want.shape], data: BigInt64Array.from(w.data, (v) => BigInt(Math.round(v))) }
        : { dtype: 'F32', shape: [...want.shape], data: w.data },
    );
  }
  return out;
}

/**
 * Reads a decoded file into weights for `graph`, after checking names, shapes
 * and dtypes (SafetensorsError listing every mismatch). The BN counter may be
 * I64 (PyTorch, our exports) or F32.
 */
export function weightsFromSafetensors(graph: ModelGraph, file: Pick<SafetensorsFile, 'tensors'>): Map<string, WeightTensor> {
  const expected = expectedWeights(graph);
  for (const [name, want] of expected) {
    const got = file.tensors.get(name);
    if (isCounter(name) && got && (got.dtype === 'F32' || got.dtype === 'I32')) expected.set(name, { ...want, dtype: got.dtype });
  }
  assertMatches(expected, file);
  const out = new Map<string, WeightTensor>();
  for (const name of expected.keys()) {
    const t = file.tensors.get(name)!;
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number | bigint>, Number);
    out.set(name, { shape: t.shape, data });
  }
  return out;
}
