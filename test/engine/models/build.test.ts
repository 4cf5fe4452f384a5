/**
 * buildModel on the GPU: every family builds and runs forward to finite
 * logits [N, classes]; the parameters and buffers it creates are exactly the
 * ones describeGraph lists (names, shapes, count); the same seed gives the
 * same weights; BatchNorm behaves differently in training and evaluation;
 * capture sees every layer; dispose frees everything.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../../src-engine/index.ts';
import { getEngine, randArray } from '../helpers.ts';

const MNIST: [number, number, number] = [1, 28, 28];
const CIFAR: [number, number, number] = [3, 32, 32];

function pixels(e: E.Engine, n: number, input: readonly number[], seed: number): E.Tensor {
  return E.fromTypedArray(e, randArray(n * input[0] * input[1] * input[2], seed, 0, 255), [n, ...input]);
}

const cases: Array<[string, object, [number, number, number]]> = [
  ['mlp', { hidden: [32, 16], activation: 'tanh', dropout: 0.2 }, MNIST],
  ['lenet5', {}, MNIST],
  ['lenet5', { variant: 'classic1998' }, CIFAR],
  ['alexnet', { width: 0.125, fcWidth: 64, batchnorm: true }, CIFAR],
  ['alexnet', { width: 0.125, fcWidth: 64, removeConv34: true, removeFc67: true }, MNIST],
  ['resnet', { n: 1 }, CIFAR],
  ['resnet', { n: 1, shortcut: 'B' }, MNIST],
  ['resnet', { n: 1, plain: true }, CIFAR],
  ['rnn', { hidden: 16, nonlinearity: 'relu' }, MNIST],
  ['gru', { hidden: 16, readout: 'max' }, CIFAR],
  ['lstm', { hidden: 12, layers: 2, bidirectional: true, dropout: 0.1 }, MNIST],
  ['transformer', { patch: 7, width: 16, depth: 2, heads: 2, dropout: 0.1 }, MNIST],
  ['transformer', { patch: 8, width: 16, depth: 1, heads: 4, positions: 'sinusoidal', pooling: 'mean' }, CIFAR],
];

describe('buildModel: every family runs forward', () => {
  it.each(cases)('%s %j', async (family, options, input) => {
    const e = await getEngine();
    const before = e.memory().liveTensors;
    const graph = E.compileModel(family, options, input, 10);
    const d = E.describeGraph(graph);
    const model = E.buildModel(e, graph, { seed: 7 });
    const params = model.parameters();
    expect([...params.keys()]).toEqual(d.parameters.map((p) => p.name));
    for (const p of d.parameters) expect(params.get(p.name)!.shape, p.name).toEqual(p.shape);
    expect([...params.values()].reduce((a, t) => a + t.size, 0)).toBe(d.totalParams);
    expect([...params.values()].every((t) => t.requiresGrad)).toBe(true);
    expect([...model.buffers().keys()]).toEqual(d.buffers.map((b) => b.name));
    for (const training of [true, false]) {
      const logits = E.tidy(() => model.forward(pixels(e, 2, input, 3), { training }));
      expect(logits.shape).toEqual([2, 10]);
      const v = await logits.read();
      expect(v.every(Number.isFinite), `${family} logits finite`).toBe(true);
      expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(1e-4);
      logits.dispose();
    }
    model.dispose();
    expect(e.memory().liveTensors).toBe(before);
  });
});

describe('buildModel: initialisation', () => {
  it('same seed → same weights; another seed → different; per-role initialisers', async () => {
    const e = await getEngine();
    const graph = E.compileModel('resnet', { n: 1, shortcut: 'B', init: 'default' }, CIFAR, 10);
    const a = E.buildModel(e, graph, { seed: 1 });
    const b = E.buildModel(e, graph, { seed: 1 });
    const c = E.buildModel(e, graph, { seed: 2 });
    const name = 'layers.4.body.0.weight'; // [16, 16, 3, 3]: fan-in 144
    const wa = await a.parameters().get(name)!.read();
    expect(Array.from(await b.parameters().get(name)!.read())).toEqual(Array.from(wa));
    expect(Array.from(await c.parameters().get(name)!.read())).not.toEqual(Array.from(wa));
    // PyTorch default: U(±1/√fan_in) — bound 1/12, variance bound²/3.
    const bound = 1 / 12;
    expect(wa.reduce((m, x) => Math.max(m, Math.abs(x)), 0)).toBeLessThanOrEqual(bound);
    const variance = wa.reduce((s, v) => s + v * v, 0) / wa.length;
    expect(variance).toBeGreaterThan(0.7 * (bound * bound) / 3);
    expect(variance).toBeLessThan(1.3 * (bound * bound) / 3);
    expect(Array.from(await a.parameters().get('layers.2.weight')!.read())).toEqual(new Array(16).fill(1));
    expect(Array.from(await a.buffers().get('layers.2.running_var')!.read())).toEqual(new Array(16).fill(1));
    for (const m of [a, b, c]) m.dispose();

    // He: N(0, 2/fan_in), zero biases.
    const he = E.buildModel(e, E.compileModel('mlp', { hidden: [256], init: 'he' }, MNIST, 10), { seed: 3 });
    const w = await he.parameters().get('layers.2.weight')!.read(); // [256, 784]
    const v = w.reduce((s, x) => s + x * x, 0) / w.length;
    expect(v).toBeGreaterThan(0.95 * (2 / 784));
    expect(v).toBeLessThan(1.05 * (2 / 784));
    expect(Array.from(await he.parameters().get('layers.2.bias')!.read()).every((x) => x === 0)).toBe(true);
    he.dispose();
    // Glorot: U(±√(6/(fan_in + fan_out))).
    const gl = E.buildModel(e, E.compileModel('mlp', { hidden: [256], init: 'glorot' }, MNIST, 10), { seed: 3 });
    const g = await gl.parameters().get('layers.2.weight')!.read();
    const lim = Math.sqrt(6 / (784 + 256));
    const gmax = g.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(gmax).toBeLessThanOrEqual(lim);
    expect(gmax).toBeGreaterThan(0.99 * lim);
    gl.dispose();
  });
});

describe('buildModel: BatchNorm, capture, input checks', () => {
  it('BatchNorm uses batch statistics in training (and updates running stats), running stats in evaluation', async () => {
    const e = await getEngine();
    const layers = [
      { type: 'conv2d', out: 4, kernel: 3, padding: 1 }, { type: 'batchnorm', momentum: 0.5 }, { type: 'activation', kind: 'relu' },
      { type: 'flatten' }, { type: 'linear', out: 3 },
    ];
    const model = E.buildModel(e, E.compileModel('custom', { layers }, [1, 6, 6], 3), { seed: 5 });
    const x = pixels(e, 4, [1, 6, 6], 11);
    const rm = model.buffers().get('layers.2.running_mean')!;
    const nbt = model.buffers().get('layers.2.num_batches_tracked')!;
    const evalBefore = await E.tidy(() => model.forward(x, { training: false })).read();
    expect(Array.from(await rm.read())).toEqual([0, 0, 0, 0]);
    const train1 = await E.tidy(() => model.forward(x, { training: true })).read();
    const rm1 = await rm.read();
    expect(rm1.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    expect(await nbt.item()).toBe(1);
    const evalAfter = await E.tidy(() => model.forward(x, { training: false })).read();
    expect(Array.from(await rm.read())).toEqual(Array.from(rm1)); // evaluation leaves the stats alone
    expect(await nbt.item()).toBe(1);
    const differs = (a: Float32Array, b: Float32Array): number => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    expect(differs(train1, evalBefore)).toBeGreaterThan(1e-3);
    expect(differs(evalAfter, evalBefore)).toBeGreaterThan(1e-3);
    x.dispose();
    model.dispose();
  });

  it('capture receives every layer output by path (and attention weights); results equal the fused forward', async () => {
    const e = await getEngine();
    const graph = E.compileModel('transformer', { patch: 7, width: 8, depth: 1, heads: 2 }, MNIST, 10);
    const model = E.buildModel(e, graph, { seed: 9 });
    const x = pixels(e, 2, MNIST, 4);
    const seen = new Map<string, number[]>();
    const captured = E.tidy(() =>
      model.forward(x, { training: false, capture: (name, t) => seen.set(name, [...t.shape]) }),
    );
    const plain = E.tidy(() => model.forward(x, { training: false }));
    expect([...seen.keys()]).toEqual([
      'layers.0', 'layers.1', 'layers.2', 'layers.3', 'layers.4.attn', 'layers.4', 'layers.5', 'layers.6', 'layers.7',
    ]);
    expect(seen.get('layers.4.attn')).toEqual([2, 2, 17, 17]);
    expect(seen.get('layers.1')).toEqual([2, 16, 8]);
    const [a, b] = [await captured.read(), await plain.read()];
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 5);
    // Fused conv+relu vs separate: a conv net with capture gives the same logits too.
    const lenet = E.buildModel(e, E.compileModel('lenet5', {}, MNIST, 10), { seed: 2 });
    const names: string[] = [];
    const l1 = await E.tidy(() => lenet.forward(x, { training: false, capture: (n) => names.push(n) })).read();
    const l2 = await E.tidy(() => lenet.forward(x, { training: false })).read();
    expect(names).toHaveLength(13);
    for (let i = 0; i < l1.length; i++) expect(l1[i]).toBeCloseTo(l2[i], 4);
    for (const t of [x, captured, plain]) t.dispose();
    lenet.dispose();
    model.dispose();
  });

  it('rejects inputs of the wrong shape, and use after dispose', async () => {
    const e = await getEngine();
    const model = E.buildModel(e, E.compileModel('mlp', { hidden: [4] }, MNIST, 10), { seed: 1 });
    const x = pixels(e, 2, [3, 28, 28], 1);
    expect(() => model.forward(x, { training: false })).toThrow(/expects raw pixels \[N, 1, 28, 28\]/);
    model.dispose();
    model.dispose();
    expect(() => model.forward(x, { training: false })).toThrow(/disposed/);
    x.dispose();
  });
});
