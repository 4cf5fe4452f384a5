/**
 * Engine benchmarks against TensorFlow.js's WebGPU backend, run in the same
 * process on the same adapter (the reference backend is handed a device of
 * the same adapter). Prints one JSON object per line:
 *   {"name", "unit", "ours", "reference", "ratio"}   ratio > 1 = we are faster.
 *
 * Run: npx tsx bench/engine.ts [--iters N]   (or through the CLI's `bench engine`)
 * These are CPU emulations of a GPU on CI (Mesa lavapipe): compare only
 * within one run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getNodeGpu } from '../src-main/gpu/node-gpu.ts';
import { useTfWebGpu } from './tf-reference.ts';
import { backward, conv2d, Engine, matmul, randUniform, type Tensor } from '../src-engine/index.ts';

export interface BenchLine {
  name: string;
  unit: string;
  ours: number;
  reference: number;
  ratio: number;
}

/**
 * Times `ours` and `reference` alternately (`reps` rounds of `iters` calls
 * each, after a warm-up that compiles pipelines) and returns the median ms
 * per call of each: alternating keeps a noisy shared machine from favouring
 * whichever side ran in a quiet moment.
 */
async function timePair(
  engine: Engine,
  reps: number,
  iters: number,
  ours: () => Tensor,
  reference: () => tf.Tensor,
): Promise<{ ours: number; reference: number }> {
  const runOurs = async (n: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) ours().dispose();
    await engine.sync();
    return (performance.now() - t0) / n;
  };
  const runRef = async (n: number): Promise<number> => {
    const t0 = performance.now();
    let last: tf.Tensor | null = null;
    for (let i = 0; i < n; i++) {
      last?.dispose();
      last = reference();
    }
    await last!.data();
    last!.dispose();
    return (performance.now() - t0) / n;
  };
  await runOurs(1);
  await runRef(1);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < reps; r++) {
    a.push(await runOurs(iters));
    b.push(await runRef(iters));
  }
  return { ours: median(a), reference: median(b) };
}

function median(v: number[]): number {
  const s = [...v].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

export async function runEngineBench(opts: { iters?: number; reps?: number; log?: (line: string) => void } = {}): Promise<BenchLine[]> {
  const iters = opts.iters ?? 2;
  const reps = opts.reps ?? 5;
  const log = opts.log ?? ((l: string) => console.log(l));
  const gpu = await getNodeGpu();
  const engine = new Engine(gpu.device, { seed: 1 });

  await useTfWebGpu(gpu.adapter, gpu.device);

  const lines: BenchLine[] = [];
  const emit = (l: BenchLine): void => {
    lines.push(l);
    log(JSON.stringify(l));
  };

  // f32 matmul 1024³ (GFLOP/s, higher is better)
  {
    const n = 1024;
    const flop = 2 * n * n * n;
    const a = randUniform(engine, [n, n], { seed: 1 });
    const b = randUniform(engine, [n, n], { seed: 2 });
    const ta = tf.randomUniform([n, n], 0, 1, 'float32', 1);
    const tb = tf.randomUniform([n, n], 0, 1, 'float32', 2);
    const t = await timePair(engine, reps, iters, () => matmul(a, b), () => tf.matMul(ta, tb));
    const msOurs = t.ours;
    const msRef = t.reference;
    const ours = flop / msOurs / 1e6;
    const reference = flop / msRef / 1e6;
    emit({ name: 'matmul f32 1024x1024x1024', unit: 'GFLOP/s', ours: round(ours), reference: round(reference), ratio: round(ours / reference) });
    a.dispose();
    b.dispose();
    ta.dispose();
    tb.dispose();
  }
  // conv2d (GFLOP/s): a LeNet-like and a ResNet-like layer, forward alone and
  // a training step (forward + input-grad + weight-grad, no bias). TF.js runs
  // its native NHWC layout with HWIO filters, we run NCHW / OIHW (PyTorch):
  // the same arithmetic, each library in its own layout.
  const convLayers = [
    // The issue's lines: LeNet-5's second conv and a ResNet 3×3 64→64 conv on 32×32 maps, batch 32.
    { name: 'LeNet-5 conv2 N=32 6->16 14x14 k5', N: 32, C: 6, H: 14, W: 14, O: 16, k: 5, pad: 0 },
    { name: 'ResNet 3x3 N=32 64->64 32x32 pad1', N: 32, C: 64, H: 32, W: 32, O: 64, k: 3, pad: 1 },
    // LeNet-5's first conv (one input channel): our weakest case, kept visible.
    { name: 'LeNet-5 conv1 N=64 1->6 28x28 k5', N: 64, C: 1, H: 28, W: 28, O: 6, k: 5, pad: 0 },
  ];
  for (const L of convLayers) {
    const Ho = L.H + 2 * L.pad - L.k + 1;
    const Wo = L.W + 2 * L.pad - L.k + 1;
    const flop = 2 * L.N * L.O * Ho * Wo * L.C * L.k * L.k;
    const x = randUniform(engine, [L.N, L.C, L.H, L.W], { seed: 3 });
    const w = randUniform(engine, [L.O, L.C, L.k, L.k], { seed: 4 });
    const dy = randUniform(engine, [L.N, L.O, Ho, Wo], { seed: 5 });
    const tx = tf.randomUniform([L.N, L.H, L.W, L.C], 0, 1, 'float32', 3);
    const tw = tf.randomUniform([L.k, L.k, L.C, L.O], 0, 1, 'float32', 4);
    const tdy = tf.randomUniform([L.N, Ho, Wo, L.O], 0, 1, 'float32', 5);
    const tfPad = L.pad === 0 ? 'valid' : 'same';
    const fwd = await timePair(
      engine, reps, iters,
      () => conv2d(x, w, null, { padding: L.pad }),
      () => tf.conv2d(tx as tf.Tensor4D, tw as tf.Tensor4D, 1, tfPad),
    );
    emitRate(`conv2d fwd ${L.name}`, flop, fwd);
    x.requiresGrad = true;
    w.requiresGrad = true;
    // TF.js's Conv2D gradient is conv2DBackpropInput + conv2DBackpropFilter;
    // its gradient registry is not in the Node bundle, so run those kernels directly.
    const tfStep = (): tf.Tensor => {
      const ty = tf.conv2d(tx as tf.Tensor4D, tw as tf.Tensor4D, 1, tfPad);
      const gx = tf.conv2dTranspose(tdy as tf.Tensor4D, tw as tf.Tensor4D, [L.N, L.H, L.W, L.C], 1, tfPad);
      const gw = tf.engine().runKernel('Conv2DBackpropFilter', { x: tx, dy: tdy }, {
        strides: [1, 1], pad: tfPad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [L.k, L.k, L.C, L.O],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      ty.dispose();
      gx.dispose();
      return gw;
    };
    const step = await timePair(
      engine, reps, iters,
      () => {
        const y = conv2d(x, w, null, { padding: L.pad });
        backward(y, dy);
        y.dispose();
        const gw = w.grad!;
        w.grad = null;
        x.grad?.dispose();
        x.grad = null;
        return gw;
      },
      tfStep,
    );
    emitRate(`conv2d train step (fwd+dX+dW) ${L.name}`, 3 * flop, step);
    for (const t of [x, w, dy]) t.dispose();
    for (const t of [tx, tw, tdy]) t.dispose();
  }
  return lines;

  function emitRate(name: string, flop: number, t: { ours: number; reference: number }): void {
    const ours = flop / t.ours / 1e6;
    const reference = flop / t.reference / 1e6;
    emit({ name, unit: 'GFLOP/s', ours: round(ours), reference: round(reference), ratio: round(ours / reference) });
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

// Run directly: `npx tsx bench/engine.ts [--iters N] [--reps N]`
const isMain = typeof process !== 'undefined' && process.argv[1] !== undefined && /bench[\\/]engine\.ts$/.test(process.argv[1]);
if (isMain) {
  const arg = (name: string): number | undefined => {
    const k = process.argv.indexOf(name);
    return k > 0 ? Number(process.argv[k + 1]) : undefined;
  };
  runEngineBench({ iters: arg('--iters'), reps: arg('--reps') })
    .then(() => process.exit(0))
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
