/**
 * Small models of every family (and custom stacks covering the remaining
 * layer options), built on the engine with buildModel, with the parameters
 * that start at constants (norm weights, attention biases) and the BN running
 * statistics randomised so that every weight's wiring shows in the logits.
 * Shared by the ONNX and PyTorch parity tests and the export service tests.
 */
import { spawnSync } from 'node:child_process';
import type { Engine } from '../../../src-engine/core/engine.ts';
import { tidy } from '../../../src-engine/core/tape.ts';
import { fromTypedArray, type Tensor } from '../../../src-engine/core/tensor.ts';
import { buildModel, type Model } from '../../../src-engine/models/build.ts';
import type { ModelGraph } from '../../../src-engine/models/graph.ts';
import { compileModel } from '../../../src-engine/models/registry.ts';
import type { WeightTensor } from '../../../src-engine/io/weights.ts';
import { randArray, rng } from '../helpers.ts';

export interface FamilyCase {
  /** Test title. */
  name: string;
  family: string;
  options: Record<string, unknown>;
  input: [number, number, number];
  classes: number;
  mean?: number[];
  std?: number[];
}

const conv = (out: number, kernel: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ type: 'conv2d', out, kernel, ...extra });

export const FAMILY_CASES: FamilyCase[] = [
  { name: 'mlp (gelu)', family: 'mlp', options: { hidden: [24, 16], activation: 'gelu' }, input: [1, 10, 10], classes: 5 },
  { name: 'lenet5 modern (relu, max-pool)', family: 'lenet5', options: {}, input: [1, 28, 28], classes: 10 },
  { name: 'lenet5 classic1998 (tanh, avg-pool)', family: 'lenet5', options: { variant: 'classic1998' }, input: [1, 32, 32], classes: 10 },
  {
    name: 'alexnet (BatchNorm, dropout)',
    family: 'alexnet',
    options: { width: 0.125, fcWidth: 32, batchnorm: true },
    input: [3, 32, 32],
    classes: 10,
    mean: [0.49, 0.48, 0.45],
    std: [0.25, 0.24, 0.26],
  },
  { name: 'resnet cifar (shortcut A)', family: 'resnet', options: { n: 1, shortcut: 'A' }, input: [3, 16, 16], classes: 10 },
  { name: 'resnet cifar (shortcut B)', family: 'resnet', options: { n: 1, shortcut: 'B' }, input: [3, 16, 16], classes: 10 },
  { name: 'rnn (relu, 2 layers, bidirectional)', family: 'rnn', options: { hidden: 8, layers: 2, bidirectional: true, nonlinearity: 'relu' }, input: [1, 8, 8], classes: 4 },
  { name: 'rnn (tanh, max readout)', family: 'rnn', options: { hidden: 8, readout: 'max' }, input: [1, 8, 8], classes: 4 },
  { name: 'gru (2 layers, bidirectional, RGB rows)', family: 'gru', options: { hidden: 8, layers: 2, bidirectional: true }, input: [3, 6, 5], classes: 4 },
  { name: 'lstm (last readout)', family: 'lstm', options: { hidden: 8 }, input: [1, 8, 8], classes: 4 },
  { name: 'lstm (bidirectional, max readout)', family: 'lstm', options: { hidden: 6, bidirectional: true, readout: 'max' }, input: [1, 8, 8], classes: 4 },
  {
    name: 'transformer (cls token, learned positions)',
    family: 'transformer',
    options: { patch: 4, width: 16, depth: 2, heads: 2 },
    input: [1, 16, 16],
    classes: 5,
  },
  {
    name: 'transformer (mean pooling, sinusoidal positions)',
    family: 'transformer',
    options: { patch: 2, width: 12, depth: 1, heads: 3, mlpRatio: 1.5, positions: 'sinusoidal', pooling: 'mean', dropout: 0.1 },
    input: [3, 8, 8],
    classes: 5,
  },
  {
    name: 'custom: grouped/dilated conv, padded pools, adaptive pools, concat, projection residual, activations',
    family: 'custom',
    options: {
      layers: [
        conv(8, 3, { padding: 1, bias: false }),
        { type: 'batchnorm' },
        { type: 'activation', kind: 'leakyRelu', alpha: 0.2 },
        conv(8, 3, { padding: 2, dilation: 2, groups: 4 }),
        { type: 'activation', kind: 'elu', alpha: 0.7 },
        { type: 'maxpool2d', kernel: 3, stride: 2, padding: 1 },
        {
          type: 'concat',
          branches: [
            [conv(4, 1), { type: 'activation', kind: 'sigmoid' }],
            [{ type: 'avgpool2d', kernel: 3, stride: 1, padding: 1 }, conv(3, 3, { padding: [1, 0], kernel: [3, 1] })],
          ],
        },
        {
          type: 'residual',
          body: [conv(10, 3, { stride: 2, padding: 1 }), { type: 'activation', kind: 'softplus' }, conv(10, 1)],
          shortcut: [conv(10, 1, { stride: 2 }), { type: 'batchnorm', eps: 1e-3 }],
          activation: 'tanh',
        },
        { type: 'adaptiveavgpool', size: [3, 2] },
        { type: 'layernorm' },
        { type: 'flatten' },
        { type: 'batchnorm' },
        { type: 'dropout', p: 0.3 },
        { type: 'linear', out: 7 },
      ],
    },
    input: [2, 13, 11],
    classes: 7,
  },
  {
    name: 'custom: adaptive pool with overlapping bins, global pool, residual without shortcut',
    family: 'custom',
    options: {
      layers: [
        conv(4, 3),
        { type: 'adaptiveavgpool', size: 3 },
        { type: 'residual', body: [conv(4, 3, { padding: 1 })], shortcut: 'none', activation: 'relu' },
        { type: 'residual', body: [conv(6, 1)], shortcut: { kind: 'A' } },
        { type: 'globalavgpool' },
        { type: 'flatten' },
        { type: 'linear', out: 3, bias: false },
      ],
    },
    input: [1, 9, 9],
    classes: 3,
  },
  {
    name: 'custom: recurrent over tokens, token BatchNorm, linear on tokens',
    family: 'custom',
    options: {
      layers: [
        { type: 'patchembed', patch: 2, dim: 6 },
        { type: 'batchnorm' },
        { type: 'linear', out: 5 },
        { type: 'activation', kind: 'gelu' },
        { type: 'recurrent', cell: 'gru', hidden: 7, readout: 'max' },
        { type: 'linear', out: 4 },
      ],
    },
    input: [1, 8, 8],
    classes: 4,
  },
];

export function compileCase(c: FamilyCase): ModelGraph {
  return compileModel(c.family, c.options, c.input, c.classes, { mean: c.mean, std: c.std });
}

/** Assign random values to parameters and buffers that start at constants. */
function randomiseConstants(model: Model, seed: number): void {
  const r = rng(seed);
  const setRandom = (t: Tensor, lo: number, hi: number): void => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
    tidy(() => {
      t.assign(fromTypedArray(t.engine, data, t.shape));
    });
  };
  for (const p of model.description.parameters) {
    const t = model.parameters().get(p.name)!;
    if (p.role === 'normWeight') setRandom(t, 0.5, 1.5);
    else if (p.role === 'normBias' || p.role === 'zero') setRandom(t, -0.3, 0.3);
  }
  for (const b of model.description.buffers) {
    const t = model.buffers().get(b.name)!;
    if (b.role === 'runningMean') setRandom(t, -0.3, 0.3);
    else if (b.role === 'runningVar') setRandom(t, 0.5, 2);
    else tidy(() => t.assign(fromTypedArray(t.engine, new Float32Array([17]), t.shape)));
  }
}

export interface BuiltCase {
  graph: ModelGraph;
  model: Model;
  /** Parameters and buffers read back, by state_dict name. */
  weights: Map<string, WeightTensor>;
}

export async function buildCase(engine: Engine, c: FamilyCase, seed = 7): Promise<BuiltCase> {
  const graph = compileCase(c);
  const model = buildModel(engine, graph, { seed });
  randomiseConstants(model, seed + 1);
  const weights = new Map<string, WeightTensor>();
  for (const [name, t] of [...model.parameters(), ...model.buffers()]) weights.set(name, { shape: [...t.shape], data: await t.read() });
  return { graph, model, weights };
}

/** Integer pixel values 0..255 as float32 [n, C, H, W]. */
export function randomPixels(input: readonly number[], n: number, seed: number): Float32Array {
  return randArray(n * input[0] * input[1] * input[2], seed, 0, 256).map(Math.floor);
}

/** The engine's logits [n, classes] in inference mode. */
export async function engineLogits(engine: Engine, model: Model, pixels: Float32Array, n: number): Promise<Float32Array> {
  const out = tidy(() => model.forward(fromTypedArray(engine, pixels, [n, ...model.graph.input]), { training: false }).keep());
  const data = await out.read();
  out.dispose();
  return data;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// ------------------------------------------------------------ Python probes

export interface PythonProbe {
  /** The interpreter that has the module, or null. */
  python: string | null;
  /** Why not, for the skip title. */
  reason: string;
}

/** Finds a Python that imports `module`: `python3` on PATH first, then Debian's /usr/bin/python3. */
export function findPython(module: string): PythonProbe {
  const tried: string[] = [];
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', `import ${module}`], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return { python: py, reason: '' };
    tried.push(`${py}: ${r.error ? 'not found' : (r.stderr.trim().split('\n').pop() ?? 'failed')}`);
  }
  return { python: null, reason: `no python3 can import ${module} (${tried.join('; ')})` };
}
