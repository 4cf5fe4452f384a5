/**
 * Training throughput benchmarks (`npm run bench -- train`), one JSON object
 * per line: {"name", "unit", "ours", "reference"?, "ratio"?}.
 *
 *  - `train <family> <input> b64`: images/s of full training steps (uint8
 *    upload + unpack, forward, cross-entropy, backward, SGD-momentum step,
 *    GPU metric accumulation) at batch 64, for every model family with its
 *    default options, on 28×28×1 and 32×32×3 inputs. Timed after a warm-up
 *    step (pipeline compilation) until at least `minSeconds` and 2 steps,
 *    ending with one metric readback (as training does every N steps).
 *  - `train lenet5 28x28x1 b64 vs TF.js`: the same step for TensorFlow.js's
 *    WebGPU backend (same architecture, SGD momentum 0.9, batch 64, input
 *    converted from uint8 in the step), on a device of the same adapter, in
 *    the same process, timed alternately with ours.
 *  - `lenet5_roofline`: LeNet-5's training FLOP/s (3 × forward FLOPs per
 *    image × images/s) divided by our best matmul FLOP/s on the same adapter.
 *  - `lenet5 step breakdown <kernel>`: where a LeNet-5 step's time goes. One
 *    step's dispatches are captured (engine.run wrapped on this instance) and
 *    each is replayed in isolation many times and timed on the CPU side
 *    (sync before and after): GPU ms per step by kernel, plus the JS time to
 *    record a step. (The device has no timestamp-query feature enabled, so
 *    isolated replay is the per-kernel measurement.)
 *
 * Software adapters (lavapipe) are CPU emulations: compare within one run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getNodeGpu } from '../src-main/gpu/node-gpu.ts';
import { useTfWebGpu } from './tf-reference.ts';
import { Engine, type Bindable } from '../src-engine/core/engine.ts';
import type { Kernel, Params } from '../src-engine/core/kernel.ts';
import { randUniform } from '../src-engine/core/rng.ts';
import { matmul } from '../src-engine/ops/matmul.ts';
import { buildModel, compileModel, describeGraph, FAMILY_NAMES } from '../src-engine/models/index.ts';
import { createOptimizer } from '../src-engine/optim/index.ts';
import { Trainer, type ImageBatch } from '../src-engine/train/index.ts';

export interface TrainBenchLine {
  name: string;
  unit: string;
  ours: number;
  reference?: number;
  ratio?: number;
}

export interface TrainBenchOptions {
  /** Seconds of timed steps per configuration (at least 2 steps). Default 3. */
  minSeconds?: number;
  /** Families to measure (default: all). */
  families?: string[];
  log?: (line: string) => void;
}

const BATCH = 64;
const INPUTS: Array<{ label: string; shape: [number, number, number] }> = [
  { label: '28x28x1', shape: [28, 28, 1] },
  { label: '32x32x3', shape: [32, 32, 3] },
];

/** Options per family: the defaults, except `custom`, whose default is softmax regression. */
const FAMILY_OPTIONS: Record<string, Record<string, unknown>> = {
  custom: {
    layers: [
      { type: 'conv2d', out: 16, kernel: 3, padding: 1 },
      { type: 'activation', kind: 'relu' },
      {
        type: 'residual',
        body: [
          { type: 'conv2d', out: 16, kernel: 3, padding: 1 },
          { type: 'batchnorm' },
          { type: 'activation', kind: 'relu' },
          { type: 'conv2d', out: 16, kernel: 3, padding: 1 },
          { type: 'batchnorm' },
        ],
        activation: 'relu',
      },
      { type: 'maxpool2d', kernel: 2 },
      { type: 'flatten' },
      { type: 'linear', out: 10 },
    ],
  },
};

function randomBatch(shape: [number, number, number], seed: number): ImageBatch {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  };
  const [H, W, C] = shape;
  const images = new Uint8Array(BATCH * H * W * C);
  for (let i = 0; i < images.length; i++) images[i] = next();
  const labels = Int32Array.from({ length: BATCH }, () => next() % 10);
  return { images, labels };
}

export interface Setup {
  trainer: Trainer;
  batch: ImageBatch;
  flopsPerImage: number;
  dispose(): void;
}

/** A trainer for `family` (default options unless given) on random uint8 batches of 64. */
export function setup(engine: Engine, family: string, shape: [number, number, number], options?: Record<string, unknown>): Setup {
  const [H, W, C] = shape;
  const graph = compileModel(family, options ?? FAMILY_OPTIONS[family] ?? {}, [C, H, W], 10);
  const model = buildModel(engine, graph, { seed: 1 });
  const opt = createOptimizer(engine, model.parameters(), { type: 'sgd', lr: 0.01, momentum: 0.9 });
  const trainer = new Trainer(engine, model, opt, { imageShape: shape });
  return {
    trainer,
    batch: randomBatch(shape, 7),
    flopsPerImage: describeGraph(graph).totalFlops,
    dispose() {
      trainer.dispose();
      opt.dispose();
      model.dispose();
    },
  };
}

/** Images/s of `trainer` over ≥ minSeconds (after one warm-up step), ending with a metric readback. */
export async function timeOurs(s: Setup, minSeconds: number, minSteps = 2): Promise<number> {
  s.trainer.step(s.batch, 0.01);
  await s.trainer.readMetrics();
  const t0 = performance.now();
  let steps = 0;
  while (steps < minSteps || performance.now() - t0 < minSeconds * 1000) {
    s.trainer.step(s.batch, 0.01);
    await s.trainer.throttle();
    steps++;
    if (steps % 8 === 0) await s.trainer.readMetrics();
  }
  await s.trainer.readMetrics();
  return (steps * BATCH) / ((performance.now() - t0) / 1000);
}

// ------------------------------------------------------------------ TF.js

/** LeNet-5 (modern, padding 2 on 28×28) in TF.js core ops, NHWC, trained with SGD momentum 0.9. */
function tfLenet5(batch: ImageBatch): { step: () => tf.Scalar; dispose: () => void } {
  const v = (shape: number[], fanIn: number): tf.Variable => tf.variable(tf.randomUniform(shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn), 'float32', 1));
  const vars = [v([5, 5, 1, 6], 25), v([6], 25), v([5, 5, 6, 16], 150), v([16], 150), v([400, 120], 400), v([120], 400), v([120, 84], 120), v([84], 120), v([84, 10], 84), v([10], 84)];
  const [w1, b1, w2, b2, w3, b3, w4, b4, w5, b5] = vars;
  const opt = tf.train.momentum(0.01, 0.9);
  const pixels = Float32Array.from(batch.images);
  const onehot = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), 10);
  const step = (): tf.Scalar =>
    opt.minimize(() => {
      const x = tf.div(tf.sub(tf.div(tf.tensor4d(pixels, [BATCH, 28, 28, 1]), 255), 0.5), 0.5) as tf.Tensor4D;
      let h = tf.relu(tf.add(tf.conv2d(x, w1 as tf.Tensor4D, 1, 2), b1)) as tf.Tensor4D;
      h = tf.maxPool(h, 2, 2, 'valid');
      h = tf.relu(tf.add(tf.conv2d(h, w2 as tf.Tensor4D, 1, 'valid'), b2)) as tf.Tensor4D;
      h = tf.maxPool(h, 2, 2, 'valid');
      let f = tf.reshape(h, [BATCH, 400]) as tf.Tensor2D;
      f = tf.relu(tf.add(tf.matMul(f, w3 as tf.Tensor2D), b3)) as tf.Tensor2D;
      f = tf.relu(tf.add(tf.matMul(f, w4 as tf.Tensor2D), b4)) as tf.Tensor2D;
      const logits = tf.add(tf.matMul(f, w5 as tf.Tensor2D), b5);
      return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
    }, true, vars) as tf.Scalar;
  return {
    step,
    dispose() {
      for (const x of vars) x.dispose();
      onehot.dispose();
      opt.dispose();
    },
  };
}

async function timeTf(m: { step: () => tf.Scalar }, iters: number): Promise<number> {
  const t0 = performance.now();
  let last: tf.Scalar | null = null;
  for (let i = 0; i < iters; i++) {
    last?.dispose();
    last = m.step();
  }
  await last!.data();
  last!.dispose();
  return (iters * BATCH) / ((performance.now() - t0) / 1000);
}

// --------------------------------------------------------------- roofline

async function bestMatmulFlops(engine: Engine): Promise<{ flops: number; size: string }> {
  let best = { flops: 0, size: '' };
  for (const [m, k, n] of [
    [1024, 1024, 1024],
    [2048, 1024, 1024],
    [512, 512, 512],
  ]) {
    const a = randUniform(engine, [m, k], { seed: 1 });
    const b = randUniform(engine, [k, n], { seed: 2 });
    matmul(a, b).dispose();
    await engine.sync();
    const reps: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      for (let i = 0; i < 2; i++) matmul(a, b).dispose();
      await engine.sync();
      reps.push((performance.now() - t0) / 2);
    }
    reps.sort((x, y) => x - y);
    const flops = (2 * m * k * n) / (reps[0] / 1000);
    if (flops > best.flops) best = { flops, size: `${m}x${k}x${n}` };
    a.dispose();
    b.dispose();
  }
  return best;
}

// -------------------------------------------------------------- breakdown

interface Dispatch {
  kernel: Kernel;
  buffers: Bindable[];
  params: Uint8Array | null;
  workgroups: number | readonly [number, number, number];
}

/** GPU ms per LeNet-5 step by kernel name (isolated replays), and the JS ms to record a step. */
export async function stepBreakdown(engine: Engine, s: Setup): Promise<{ byKernel: Map<string, number>; recordMs: number; stepMs: number }> {
  const captured: Dispatch[] = [];
  const original = engine.run.bind(engine);
  engine.run = (kernel, buffers, params, workgroups): void => {
    captured.push({
      kernel,
      // keep the raw buffers: the tensors are disposed at the end of the step, their buffers pooled
      buffers: buffers.map((b) => ('mapAsync' in b ? b : { buffer: b.buffer, byteLength: b.byteLength })),
      params: params === null ? null : params instanceof Uint8Array ? params.slice() : (params as Params).bytes().slice(),
      workgroups,
    });
    original(kernel, buffers, params, workgroups);
  };
  await engine.sync();
  const t0 = performance.now();
  s.trainer.step(s.batch, 0.01);
  const recordMs = performance.now() - t0;
  engine.run = original;
  await s.trainer.readMetrics();
  const t1 = performance.now();
  for (let i = 0; i < 10; i++) s.trainer.step(s.batch, 0.01);
  await s.trainer.readMetrics();
  const stepMs = (performance.now() - t1) / 10;

  const byKernel = new Map<string, number>();
  // Each replay batch ends with a wait that may wake up to 1 ms late (Dawn's
  // polling back-off, src-main/gpu/dawn-poll.ts): 50 replays keep that under
  // 0.02 ms per kernel.
  const REPS = 50;
  for (const d of captured) {
    await engine.sync();
    const t = performance.now();
    for (let r = 0; r < REPS; r++) original(d.kernel, d.buffers, d.params, d.workgroups);
    await engine.sync();
    const ms = (performance.now() - t) / REPS;
    byKernel.set(d.kernel.name, (byKernel.get(d.kernel.name) ?? 0) + ms);
  }
  // the replays wrote garbage into pooled buffers and metric sums: start clean
  await s.trainer.readMetrics().catch(() => undefined);
  return { byKernel, recordMs, stepMs };
}

// --------------------------------------------------------------------- run

export async function runTrainBench(opts: TrainBenchOptions = {}): Promise<TrainBenchLine[]> {
  const minSeconds = opts.minSeconds ?? 3;
  const log = opts.log ?? ((l: string) => console.log(l));
  const gpu = await getNodeGpu();
  const engine = new Engine(gpu.device, { seed: 1 });
  const lines: TrainBenchLine[] = [];
  const emit = (l: TrainBenchLine): void => {
    const r = (v: number | undefined): number | undefined => (v === undefined ? undefined : Math.round(v * 1000) / 1000);
    const line = { name: l.name, unit: l.unit, ours: r(l.ours)!, ...(l.reference !== undefined ? { reference: r(l.reference), ratio: r(l.ratio) } : {}) };
    lines.push(line);
    log(JSON.stringify(line));
  };

  // LeNet-5 vs TF.js first (the headline), alternating rounds.
  const lenet = setup(engine, 'lenet5', [28, 28, 1]);
  await useTfWebGpu(gpu.adapter, gpu.device, { gradients: true });
  const ref = tfLenet5(lenet.batch);
  await timeTf(ref, 1); // compile
  const oursRuns: number[] = [];
  const refRuns: number[] = [];
  for (let round = 0; round < 3; round++) {
    oursRuns.push(await timeOurs(lenet, minSeconds / 2));
    refRuns.push(await timeTf(ref, 4));
  }
  ref.dispose();
  const med = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const lenetOurs = med(oursRuns);
  const lenetRef = med(refRuns);
  emit({ name: 'train lenet5 28x28x1 b64 vs TF.js WebGPU', unit: 'images/s', ours: lenetOurs, reference: lenetRef, ratio: lenetOurs / lenetRef });

  const mm = await bestMatmulFlops(engine);
  const lenetFlops = lenetOurs * 3 * lenet.flopsPerImage;
  emit({ name: `lenet5_roofline (training ${(lenetFlops / 1e9).toFixed(2)} GFLOP/s / best matmul ${mm.size} ${(mm.flops / 1e9).toFixed(2)} GFLOP/s)`, unit: 'fraction', ours: lenetFlops / mm.flops });

  const br = await stepBreakdown(engine, lenet);
  const gpuMs = [...br.byKernel.values()].reduce((a, b) => a + b, 0);
  emit({ name: 'lenet5 step wall time', unit: 'ms', ours: br.stepMs });
  emit({ name: 'lenet5 step JS recording time', unit: 'ms', ours: br.recordMs });
  emit({ name: 'lenet5 step GPU time (sum of isolated kernels)', unit: 'ms', ours: gpuMs });
  for (const [name, ms] of [...br.byKernel].sort((a, b) => b[1] - a[1])) emit({ name: `lenet5 step breakdown ${name}`, unit: 'ms', ours: ms });
  lenet.dispose();

  for (const family of opts.families ?? FAMILY_NAMES) {
    for (const input of INPUTS) {
      const s = setup(engine, family, input.shape);
      try {
        emit({ name: `train ${family} ${input.label} b64`, unit: 'images/s', ours: await timeOurs(s, minSeconds) });
      } finally {
        s.dispose();
      }
    }
  }
  engine.dispose();
  return lines;
}

// Run directly: `npx tsx bench/train.ts [family…]`
const isMain = typeof process !== 'undefined' && process.argv[1] !== undefined && /bench[\\/]train\.ts$/.test(process.argv[1]);
if (isMain) {
  const families = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  runTrainBench({ families: families.length ? families : undefined })
    .then(() => process.exit(0))
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
