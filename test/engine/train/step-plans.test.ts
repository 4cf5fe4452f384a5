/**
 * Step plans (core/step-plan.ts, train/step-plans.ts): a trainer that
 * replays recorded steps gives bit for bit the losses, gradient norms and
 * weights of one that runs every step normally — across batch-size changes
 * (the last partial batch of an epoch), gradient-norm steps and metric reads
 * — and leaves no tensor behind; steps with random ops never replay.
 */
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../../src-engine/core/engine.ts';
import { sameCapture, type Capture } from '../../../src-engine/core/step-plan.ts';
import { buildModel, compileModel } from '../../../src-engine/models/index.ts';
import { createOptimizer } from '../../../src-engine/optim/index.ts';
import { Trainer, type ImageBatch } from '../../../src-engine/train/index.ts';
import { getEngine, rng } from '../helpers.ts';

/** n images of side×side pixels, 4 classes (class k: a bright k-th quarter of the rows). */
function batchOf(n: number, seed: number, side: number): ImageBatch {
  const r = rng(seed);
  const px = side * side;
  const images = new Uint8Array(n * px);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(r() * 4);
    labels[i] = k;
    for (let p = 0; p < px; p++) images[i * px + p] = Math.min(255, Math.floor(r() * 60) + (Math.floor((4 * p) / px) === k ? 180 : 0));
  }
  return { images, labels };
}

/** Batch sizes of the schedule: epochs of 16s ending in a partial batch of 5. */
const SIZES = [16, 16, 16, 16, 16, 16, 5, 16, 16, 16, 16, 16, 16, 5, 16, 16, 16, 16, 16];

interface Outcome {
  losses: number[];
  norms: number[][];
  weights: Float32Array[];
  replays: number;
  off: string | null;
}

async function train(engine: Engine, family: string, opts: Record<string, unknown>, stepPlans: boolean, side = 8): Promise<Outcome> {
  const before = engine.liveTensors;
  const model = buildModel(engine, compileModel(family, opts, [1, side, side], 4), { seed: 11 });
  const opt = createOptimizer(engine, model.parameters(), { type: 'adam', lr: 0.01 });
  const trainer = new Trainer(engine, model, opt, { imageShape: [side, side, 1], stepPlans });
  const out: Outcome = { losses: [], norms: [], weights: [], replays: 0, off: null };
  for (const [s, n] of SIZES.entries()) {
    trainer.step(batchOf(n, 700 + s, side), 0.01, { gradNorms: s === 9 || s === 15 });
    await trainer.throttle();
    if (s % 4 === 3) out.losses.push((await trainer.readMetrics()).loss!);
    const norms = await trainer.readGradNorms();
    if (norms) out.norms.push([...norms.values()]);
  }
  out.losses.push((await trainer.readMetrics()).loss!);
  for (const p of model.parameters().values()) out.weights.push(await p.read());
  out.replays = trainer.plans.replays;
  out.off = trainer.plans.off;
  trainer.dispose();
  opt.dispose();
  model.dispose();
  expect(engine.liveTensors, 'tensors left behind').toBe(before);
  return out;
}

describe('step plans', () => {
  for (const [family, opts, side] of [
    ['mlp', { hidden: [16, 12] }, 8],
    ['lenet5', {}, 16],
  ] as const) {
    it(`${family}: replayed steps equal normal steps bit for bit (partial batches, gradient norms, metric reads)`, async () => {
      const engine = await getEngine();
      const normal = await train(engine, family, opts, false, side);
      const planned = await train(engine, family, opts, true, side);
      expect(normal.replays).toBe(0);
      // Per run of 16s: two captured steps make the plan, the rest replay (gradient-norm steps too,
      // the norms are taken after the plan); a gradient-norm step is not captured (steps 14 and 16 make the last plan).
      expect(planned.replays).toBe(4 + 4 + 2);
      expect(planned.off).toBeNull();
      expect(planned.losses).toEqual(normal.losses);
      expect(planned.norms).toEqual(normal.norms);
      expect(planned.norms.length).toBe(2);
      planned.weights.forEach((w, i) => expect(w).toEqual(normal.weights[i]));
    });
  }

  it('never replays a step with random ops (dropout), and says why', async () => {
    const engine = await getEngine();
    const planned = await train(engine, 'mlp', { hidden: [16], dropout: 0.2 }, true);
    expect(planned.replays).toBe(0);
    expect(planned.off).toMatch(/random seeds/);
  });

  it('compares captures up to which pooled buffer held each tensor, not beyond', () => {
    const b = (label: string) => ({ label, size: 256, mapAsync: () => undefined }) as unknown as GPUBuffer;
    const [p, q, r, s] = [b('p'), b('q'), b('r'), b('s')];
    const k = { name: 'k', code: '', entry: 'main', bindings: [], key: 'k' };
    const run = (x: GPUBuffer, y: GPUBuffer, u = 1): Capture['ops'][number] => ({ kind: 'run', kernel: k, buffers: [x, y], params: new Uint8Array([u]), workgroups: 1 });
    const cap = (...ops: Capture['ops']): Capture => ({ ops, broken: null });
    // The same dataflow through other buffers: equal.
    expect(sameCapture(cap(run(p, q), run(q, r)), cap(run(r, s), run(s, p)))).toBe(true);
    // The second op reads a different producer: not equal.
    expect(sameCapture(cap(run(p, q), run(q, r)), cap(run(r, s), run(p, q)))).toBe(false);
    // Different uniforms: not equal.
    expect(sameCapture(cap(run(p, q, 1)), cap(run(p, q, 2)))).toBe(false);
    // A broken capture never matches.
    expect(sameCapture(cap(run(p, q)), { ops: [run(p, q)], broken: 'it draws random seeds' })).toBe(false);
  });
});
