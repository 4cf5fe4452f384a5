/**
 * The GPU interpreter against the float64 CPU interpreter of the same graph
 * with the same weights (test/engine/reference/model.ts): MLPs, a conv net
 * exercising BatchNorm (evaluation and training, running statistics
 * included), option-A and projection residuals, channel concat, pools,
 * grouped/dilated convs, recurrent stacks and ViTs; and a gradient check of
 * a small residual conv net (input pixels and every parameter) against
 * central differences of the reference.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../../src-engine/index.ts';
import { ModelRef } from '../reference/model.ts';
import { expectClose, getEngine, randArray } from '../helpers.ts';

async function readAll(m: Map<string, E.Tensor>): Promise<Map<string, Float64Array>> {
  const out = new Map<string, Float64Array>();
  for (const [k, t] of m) out.set(k, Float64Array.from(await t.read()));
  return out;
}

async function compare(graph: E.ModelGraph, n: number, training: boolean, seed = 1, randomStats = false): Promise<void> {
  const e = await getEngine();
  const model = E.buildModel(e, graph, { seed });
  if (randomStats) {
    // Non-trivial running statistics so evaluation mode is really tested.
    let s = 100;
    for (const [name, t] of model.buffers()) {
      if (name.endsWith('num_batches_tracked')) continue;
      const v = randArray(t.size, s++, name.endsWith('running_var') ? 0.5 : -0.5, name.endsWith('running_var') ? 2 : 0.5);
      const src = E.fromTypedArray(e, v, t.shape);
      t.assign(src);
      src.dispose();
    }
  }
  const [C, H, W] = graph.input;
  const pixels = randArray(n * C * H * W, seed + 50, 0, 255);
  const x = E.fromTypedArray(e, pixels, [n, C, H, W]);
  const ref = new ModelRef(graph, await readAll(model.parameters()), await readAll(model.buffers()));
  const logits = E.tidy(() => model.forward(x, { training }));
  const want = ref.forward(pixels, n, training);
  expect(logits.shape).toEqual(want.shape);
  expectClose(await logits.read(), want.data, { rtol: 2e-3, atol: 1e-3 }, `${graph.family} logits (training ${training})`);
  if (training) {
    const after = await readAll(model.buffers());
    for (const [name, v] of after) {
      if (name.endsWith('num_batches_tracked')) expect(v[0]).toBe(1);
      else expectClose(Float32Array.from(v), ref.buffers.get(name)!, { rtol: 1e-3, atol: 1e-4 }, name);
    }
  }
  x.dispose();
  logits.dispose();
  model.dispose();
}

const CONV_NET: E.LayerSpecInput[] = [
  { type: 'conv2d', out: 6, kernel: 3, padding: 1 },
  { type: 'batchnorm' },
  { type: 'activation', kind: 'relu' },
  {
    type: 'residual',
    body: [
      { type: 'conv2d', out: 8, kernel: 3, stride: 2, padding: 1, bias: false },
      { type: 'batchnorm' },
      { type: 'activation', kind: 'relu' },
      { type: 'conv2d', out: 8, kernel: 3, padding: 1 },
    ],
    shortcut: { kind: 'A' },
    activation: 'relu',
  }, // [8, 5, 5]
  {
    type: 'concat',
    branches: [
      [{ type: 'conv2d', out: 4, kernel: 1 }],
      [{ type: 'avgpool2d', kernel: 3, stride: 1, padding: 1 }],
      [{ type: 'maxpool2d', kernel: 3, stride: 1, padding: 1 }, { type: 'conv2d', out: 2, kernel: [3, 1], padding: [1, 0] }],
    ],
  }, // [14, 5, 5]
  { type: 'conv2d', out: 6, kernel: 3, groups: 2, dilation: 2, padding: 2 }, // [6, 5, 5]
  { type: 'activation', kind: 'elu', alpha: 0.5 },
  { type: 'adaptiveavgpool', size: 2 }, // [6, 2, 2]
  { type: 'residual', body: [{ type: 'conv2d', out: 6, kernel: 1 }], shortcut: [{ type: 'conv2d', out: 6, kernel: 1, bias: false }, { type: 'batchnorm' }] },
  { type: 'globalavgpool' },
  { type: 'flatten' },
  { type: 'linear', out: 4 },
];

describe('GPU forward equals the float64 reference interpreter', () => {
  it('MLPs (tanh with dropout in evaluation; gelu)', async () => {
    await compare(E.compileModel('mlp', { hidden: [16, 12], activation: 'tanh', dropout: 0.3 }, [1, 8, 8], 5), 3, false);
    await compare(E.compileModel('mlp', { hidden: [20], activation: 'gelu' }, [3, 4, 4], 7, { mean: [0.4, 0.5, 0.6], std: [0.2, 0.3, 0.25] }), 4, true);
  });

  it('a conv net: BatchNorm (eval with running stats), option-A and projection residuals, concat, pools, groups, dilation', async () => {
    const g = E.compileModel('custom', { layers: CONV_NET }, [3, 10, 10], 4);
    await compare(g, 3, false, 2, true);
  });

  it('the same conv net in training mode: batch statistics and the running-stat update', async () => {
    const g = E.compileModel('custom', { layers: CONV_NET }, [3, 10, 10], 4);
    await compare(g, 4, true, 3);
  });

  it('LeNet-5 (fused conv + activation) and a small ResNet', async () => {
    await compare(E.compileModel('lenet5', { variant: 'classic1998' }, [1, 28, 28], 10), 2, false);
    await compare(E.compileModel('resnet', { n: 1, shortcut: 'B' }, [3, 8, 8], 10), 2, true);
  });

  it('recurrent stacks: bidirectional 2-layer LSTM (max readout, C > 1), GRU (last), ReLU RNN', async () => {
    await compare(E.compileModel('lstm', { hidden: 6, layers: 2, bidirectional: true, readout: 'max' }, [2, 5, 4], 3), 2, false);
    await compare(E.compileModel('gru', { hidden: 5 }, [1, 6, 5], 3), 3, false);
    await compare(E.compileModel('rnn', { hidden: 4, nonlinearity: 'relu', bidirectional: true }, [1, 6, 5], 3), 2, false);
  });

  it('vision transformers: CLS + learned positions; mean pooling + sinusoidal positions', async () => {
    await compare(E.compileModel('transformer', { patch: 4, width: 8, depth: 2, heads: 2 }, [1, 8, 8], 3), 2, false);
    await compare(E.compileModel('transformer', { patch: 4, width: 8, depth: 1, heads: 4, pooling: 'mean', positions: 'sinusoidal', mlpRatio: 1.5 }, [3, 8, 8], 3), 2, true);
  });
});

describe('gradients through a model', () => {
  it('d(Σ w·logits)/d(pixels, every parameter) of a residual conv net match central differences of the reference', async () => {
    const e = await getEngine();
    const graph = E.compileModel(
      'custom',
      {
        layers: [
          { type: 'conv2d', out: 3, kernel: 3, padding: 1 },
          { type: 'activation', kind: 'tanh' },
          { type: 'residual', body: [{ type: 'conv2d', out: 4, kernel: 3, stride: 2, padding: 1 }], shortcut: { kind: 'A' }, activation: 'tanh' },
          { type: 'flatten' },
          { type: 'linear', out: 3 },
        ],
      },
      [1, 5, 5],
      3,
    );
    const model = E.buildModel(e, graph, { seed: 4 });
    const n = 2;
    const pixels = randArray(n * 25, 8, 0, 255);
    const x = E.fromTypedArray(e, pixels, [n, 1, 5, 5]);
    x.requiresGrad = true;
    const w = randArray(n * 3, 9);
    const params = await readAll(model.parameters());
    const ref = new ModelRef(graph, params, new Map());
    const loss = (xs: Float64Array): number => ref.forward(xs, n, false).data.reduce((s, v, i) => s + v * w[i], 0);
    E.tidy(() => {
      const logits = model.forward(x, { training: true });
      E.backward(logits, E.fromTypedArray(e, w, logits.shape));
    });
    const xs = Float64Array.from(pixels);
    const central = (arr: Float64Array, eps: number): Float64Array =>
      arr.map((_, i) => {
        const keep = arr[i];
        arr[i] = keep + eps;
        const lp = loss(xs);
        arr[i] = keep - eps;
        const lm = loss(xs);
        arr[i] = keep;
        return (lp - lm) / (2 * eps);
      });
    expectClose(await x.grad!.read(), central(xs, 1e-2), { rtol: 1e-2, atol: 2e-3 }, 'd/dpixels');
    for (const [name, t] of model.parameters()) {
      expect(t.grad, name).not.toBeNull();
      expectClose(await t.grad!.read(), central(params.get(name)!, 1e-5), { rtol: 1e-2, atol: 2e-3 }, `d/d${name}`);
    }
    x.dispose();
    model.dispose();
  });
});
