/**
 * Weights ⇄ safetensors: state_dict order and dtypes (BN's counter as I64,
 * as PyTorch), and loading a file into a graph with every mismatch named.
 */
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../../../src-engine/io/safetensors.ts';
import { expectedWeights, weightsFromSafetensors, weightsToSafetensors, type WeightTensor } from '../../../src-engine/io/weights.ts';
import { exportMetadata, wilsonInterval } from '../../../src-engine/io/export-info.ts';
import { compileModel } from '../../../src-engine/models/registry.ts';

const graph = compileModel(
  'custom',
  {
    layers: [
      { type: 'conv2d', out: 4, kernel: 3, bias: false },
      { type: 'batchnorm' },
      { type: 'residual', body: [{ type: 'conv2d', out: 4, kernel: 1 }, { type: 'batchnorm' }], activation: 'relu' },
      { type: 'flatten' },
      { type: 'linear', out: 3 },
    ],
  },
  [1, 5, 5],
  3,
);

function fakeWeights(): Map<string, WeightTensor> {
  const m = new Map<string, WeightTensor>();
  let k = 0;
  for (const [name, e] of expectedWeights(graph)) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    m.set(name, { shape: e.shape, data: Float32Array.from({ length: n }, () => (name.endsWith('num_batches_tracked') ? 42 : k++ * 0.5)) });
  }
  return m;
}

describe('weights and safetensors', () => {
  it('lists tensors in PyTorch state_dict order: each module’s parameters, then its buffers', () => {
    expect([...expectedWeights(graph).keys()]).toEqual([
      'layers.1.weight',
      'layers.2.weight',
      'layers.2.bias',
      'layers.2.running_mean',
      'layers.2.running_var',
      'layers.2.num_batches_tracked',
      'layers.3.body.0.weight',
      'layers.3.body.0.bias',
      'layers.3.body.1.weight',
      'layers.3.body.1.bias',
      'layers.3.body.1.running_mean',
      'layers.3.body.1.running_var',
      'layers.3.body.1.num_batches_tracked',
      'layers.5.weight',
      'layers.5.bias',
    ]);
    expect(expectedWeights(graph).get('layers.2.num_batches_tracked')).toEqual({ shape: [], dtype: 'I64' });
  });

  it('writes the BN counter as I64 and reads it back (as I64 or F32) into f32 weights', () => {
    const w = fakeWeights();
    const tensors = weightsToSafetensors(graph, w);
    expect(tensors.get('layers.2.num_batches_tracked')).toEqual({ dtype: 'I64', shape: [], data: new BigInt64Array([42n]) });
    const back = weightsFromSafetensors(graph, decodeSafetensors(encodeSafetensors(tensors, {})));
    for (const [name, t] of w) expect(Array.from(back.get(name)!.data), name).toEqual(Array.from(t.data));
    const f32 = new Map(tensors);
    f32.set('layers.2.num_batches_tracked', { dtype: 'F32', shape: [], data: new Float32Array([42]) });
    expect(Array.from(weightsFromSafetensors(graph, { tensors: f32 }).get('layers.2.num_batches_tracked')!.data)).toEqual([42]);
  });

  it('refuses a file for another model, listing every problem', () => {
    const tensors = new Map<string, SafetensorsTensor>(weightsToSafetensors(graph, fakeWeights()));
    tensors.delete('layers.5.bias');
    tensors.set('layers.5.weight', { dtype: 'F32', shape: [3, 99], data: new Float32Array(297) });
    tensors.set('fc.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    expect(() => weightsFromSafetensors(graph, { tensors })).toThrow(
      'The weights file does not match the model:\n' +
        'Missing from the file (1): layers.5.bias\n' +
        'Not in the model (1): fc.weight\n' +
        'Wrong shape for layers.5.weight: the model needs [3, 36], the file has [3, 99]',
    );
  });

  it('refuses to write weights that lack a tensor or have the wrong size', () => {
    const w = fakeWeights();
    w.delete('layers.3.body.1.running_var');
    expect(() => weightsToSafetensors(graph, w)).toThrow('The weights lack 1 tensor(s) the model needs: layers.3.body.1.running_var');
    const v = fakeWeights();
    v.set('layers.1.weight', { shape: [4, 1, 3, 3], data: new Float32Array(5) });
    expect(() => weightsToSafetensors(graph, v)).toThrow("Weight 'layers.1.weight' has 5 values but the model needs [4, 1, 3, 3] (36).");
  });
});

describe('export metadata', () => {
  it('is string-to-string with the graph, classes, input convention and a Wilson interval when none is given', () => {
    const meta = exportMetadata(graph, {
      engineVersion: '9.9.9',
      date: '2026-01-02T03:04:05.000Z',
      runId: 'r',
      classNames: ['a', 'b', 'c'],
      test: { error: 0.1, count: 100 },
    });
    for (const v of Object.values(meta)) expect(typeof v).toBe('string');
    expect(meta.producer).toBe('LayerLab 9.9.9');
    expect(JSON.parse(meta.class_names)).toEqual(['a', 'b', 'c']);
    expect(JSON.parse(meta.input)).toMatchObject({ shape: ['N', 1, 5, 5], mean: [0.5], std: [0.5] });
    const ci = JSON.parse(meta.test).ci95 as [number, number];
    // Wilson 95% for 10/100: [0.0552, 0.1744].
    expect(ci[0]).toBeCloseTo(0.05523, 4);
    expect(ci[1]).toBeCloseTo(0.17437, 4);
    expect(wilsonInterval(0, 50)[0]).toBe(0);
    expect(wilsonInterval(0, 50)[1]).toBeCloseTo(0.07135, 4);
  });
});
