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
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { getNodeGpu } from '../src-main/gpu/node-gpu.ts';
import { Engine, matmul, randUniform, type Tensor } from '../src-engine/index.ts';

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

  // TF.js on its own device from the same adapter (it installs its own error
  // handlers and queues), falling back to the shared device.
  let refDevice: GPUDevice = gpu.device;
  try {
    refDevice = await gpu.adapter.requestDevice({
      requiredLimits: {
        maxComputeWorkgroupStorageSize: gpu.adapter.limits.maxComputeWorkgroupStorageSize,
        maxStorageBufferBindingSize: gpu.adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: gpu.adapter.limits.maxBufferSize,
      },
    });
  } catch {
    refDevice = gpu.device;
  }
  // TF.js refuses to construct unless navigator.gpu exists (Node 20 has no
  // navigator); it only checks presence, the device is what it uses.
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu) {
    Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: {} }, configurable: true });
  }
  // Kernels are registered under the name 'webgpu': replace its factory with one using our adapter.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(refDevice, gpu.adapter.info));
  await tf.setBackend('webgpu');
  await tf.ready();

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
  return lines;
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
