/**
 * GRU training-step benchmark: one layer over MNIST rows (B=64, T=28, I=28,
 * H=128), then a 10-way linear head and softmax cross-entropy on hN, forward
 * + backward (no optimizer update), on our engine (ops/recurrent.ts: one
 * input-projection GEMM, 2 dispatches per step each way) and on TensorFlow.js's
 * WebGPU backend (the same GRU written from tf ops, gradients by
 * tf.variableGrads) on a device of the same adapter, timed alternately.
 *
 * Run: npx tsx bench/recurrent.ts [--iters N] [--reps N]
 * On CI this is Mesa lavapipe (a CPU emulating a GPU): compare only within one run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getNodeGpu } from '../src-main/gpu/node-gpu.ts';
import { useTfWebGpu } from './tf-reference.ts';
import {
  backward,
  crossEntropy,
  Engine,
  fromTypedArray,
  gruSequence,
  linear,
  noGrad,
  randUniform,
  type Tensor,
  tidy,
  zeroGrad,
} from '../src-engine/index.ts';

const B = 64;
const T = 28;
const I = 28;
const H = 128;
const CLASSES = 10;

export interface RecurrentBenchResult {
  config: { B: number; T: number; I: number; H: number; classes: number; cell: 'gru' };
  adapter: string;
  ours: { msPerStep: number; stepsPerSecond: number; forwardMs: number; dispatchesPerStep: number };
  reference: { msPerStep: number; stepsPerSecond: number } | { error: string };
  /** reference ms / our ms: > 1 means we are faster. */
  ratio: number | null;
}

function median(v: number[]): number {
  const s = [...v].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export async function runRecurrentBench(opts: { iters?: number; reps?: number; reference?: boolean; log?: (line: string) => void } = {}): Promise<RecurrentBenchResult> {
  const iters = opts.iters ?? 4;
  const reps = opts.reps ?? 3;
  const log = opts.log ?? ((l: string) => console.log(l));
  const gpu = await getNodeGpu();
  const engine = new Engine(gpu.device, { seed: 1 });
  const k = 1 / Math.sqrt(H);

  // ---- our engine
  const x = randUniform(engine, [B, T, I], { seed: 1 }); // [B, T, I]
  const labelsData = Int32Array.from({ length: B }, (_, i) => (i * 7) % CLASSES);
  const labels = fromTypedArray(engine, labelsData, [B]);
  const params = [
    randUniform(engine, [3 * H, I], { seed: 2, low: -k, high: k }),
    randUniform(engine, [3 * H, H], { seed: 3, low: -k, high: k }),
    randUniform(engine, [3 * H], { seed: 4, low: -k, high: k }),
    randUniform(engine, [3 * H], { seed: 5, low: -k, high: k }),
    randUniform(engine, [CLASSES, H], { seed: 6, low: -k, high: k }),
    randUniform(engine, [CLASSES], { seed: 7, low: -k, high: k }),
  ];
  for (const p of params) p.keep().requiresGrad = true;
  const [wIh, wHh, bIh, bHh, wO, bO] = params;
  const step = (): void => {
    tidy(() => {
      const { hN } = gruSequence(x, null, wIh, wHh, bIh, bHh); // [B, H]
      const loss = crossEntropy(linear(hN, wO, bO), labels); // []
      backward(loss);
    });
    zeroGrad(params);
  };
  const forwardOnly = (): void => {
    tidy(() => {
      noGrad(() => gruSequence(x, null, wIh, wHh, bIh, bHh));
    });
  };
  const runOurs = async (n: number, fn: () => void): Promise<number> => {
    await engine.sync();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    await engine.sync();
    return (performance.now() - t0) / n;
  };

  // ---- TF.js: the same GRU from tf ops
  let refStep: (() => Promise<void>) | null = null;
  let refError: string | null = null;
  const tfVars: tf.Variable[] = [];
  if (opts.reference ?? true) {
    try {
      await useTfWebGpu(gpu.adapter, gpu.device, { gradients: true });
      const tx = tf.randomUniform([B, T, I], 0, 1, 'float32', 1);
      const onehot = tf.oneHot(tf.tensor1d(Array.from(labelsData), 'int32'), CLASSES);
      const v = (shape: number[], seed: number): tf.Variable => {
        const t = tf.variable(tf.randomUniform(shape, -k, k, 'float32', seed));
        tfVars.push(t);
        return t;
      };
      const [twIh, twHh, tbIh, tbHh, twO, tbO] = [v([3 * H, I], 2), v([3 * H, H], 3), v([3 * H], 4), v([3 * H], 5), v([CLASSES, H], 6), v([CLASSES], 7)];
      const loss = (): tf.Scalar => {
        const xp = tf.reshape(tf.add(tf.matMul(tf.reshape(tx, [B * T, I]), twIh, false, true), tbIh), [B, T, 3 * H]);
        let h: tf.Tensor2D = tf.zeros([B, H]);
        for (let t = 0; t < T; t++) {
          const xt = tf.reshape(tf.slice(xp, [0, t, 0], [B, 1, 3 * H]), [B, 3 * H]);
          const hp = tf.add(tf.matMul(h, twHh, false, true), tbHh);
          const [xr, xz, xn] = tf.split(xt, 3, 1);
          const [hr, hz, hn] = tf.split(hp, 3, 1);
          const r = tf.sigmoid(tf.add(xr, hr));
          const z = tf.sigmoid(tf.add(xz, hz));
          const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
          h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor2D;
        }
        const logits = tf.add(tf.matMul(h, twO, false, true), tbO);
        return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
      };
      refStep = async () => {
        const { value, grads } = tf.variableGrads(loss, tfVars);
        for (const g of Object.values(grads)) g.dispose();
        await value.data();
        value.dispose();
      };
    } catch (e) {
      refError = String(e);
    }
  }
  const runRef = async (n: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await refStep!();
    return (performance.now() - t0) / n;
  };

  // Warm-up (compiles pipelines), and dispatches per step.
  await runOurs(1, step);
  await runOurs(1, forwardOnly);
  const d0 = engine.memory().dispatches;
  step();
  const dispatchesPerStep = engine.memory().dispatches - d0;
  await engine.sync();
  if (refStep) {
    try {
      await runRef(1);
    } catch (e) {
      refError = String(e);
      refStep = null;
    }
  }

  const ours: number[] = [];
  const fwd: number[] = [];
  const ref: number[] = [];
  for (let r = 0; r < reps; r++) {
    ours.push(await runOurs(iters, step));
    fwd.push(await runOurs(iters, forwardOnly));
    if (refStep) ref.push(await runRef(Math.max(1, Math.ceil(iters / 2))));
    log(JSON.stringify({ rep: r, oursMs: round(ours[r]), forwardMs: round(fwd[r]), referenceMs: refStep ? round(ref[r]) : null }));
  }
  const msOurs = median(ours);
  const msRef = ref.length ? median(ref) : null;
  const result: RecurrentBenchResult = {
    config: { B, T, I, H, classes: CLASSES, cell: 'gru' },
    adapter: `${gpu.info.description || gpu.info.device} (${gpu.backend})`,
    ours: { msPerStep: round(msOurs), stepsPerSecond: round(1000 / msOurs), forwardMs: round(median(fwd)), dispatchesPerStep },
    reference: msRef !== null ? { msPerStep: round(msRef), stepsPerSecond: round(1000 / msRef) } : { error: refError ?? 'skipped' },
    ratio: msRef !== null ? round(msRef / msOurs) : null,
  };
  log(JSON.stringify(result));

  for (const t of [x, labels, ...params] as Tensor[]) t.dispose();
  for (const t of tfVars) t.dispose();
  return result;
}

// Run directly: `npx tsx bench/recurrent.ts [--iters N] [--reps N] [--no-reference]`
const isMain = typeof process !== 'undefined' && process.argv[1] !== undefined && /bench[\\/]recurrent\.ts$/.test(process.argv[1]);
if (isMain) {
  const arg = (name: string): number | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  runRecurrentBench({ iters: arg('--iters'), reps: arg('--reps'), reference: !process.argv.includes('--no-reference') })
    .then(() => process.exit(0))
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
