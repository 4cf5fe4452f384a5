/**
 * The trainer on the GPU: input unpacking, GPU metric accumulators and
 * confusion counts against hand-computed values, a training step equal to
 * forward + backward + the optimizer's rule, no readback between metric
 * reads, no live-tensor growth per step, checkpoints that continue the same
 * trajectory, and divergence detection.
 */
import { describe, expect, it, vi } from 'vitest';
import { Engine } from '../../../src-engine/core/engine.ts';
import { backward, noGrad, tidy, zeroGrad } from '../../../src-engine/core/tape.ts';
import { fromTypedArray } from '../../../src-engine/core/tensor.ts';
import { compileModel, buildModel, type Model } from '../../../src-engine/models/index.ts';
import { crossEntropy } from '../../../src-engine/ops/losses.ts';
import { createOptimizer, SGD } from '../../../src-engine/optim/index.ts';
import {
  ConfusionAccumulator,
  DivergenceError,
  encodeModelWeights,
  encodeOptimizerState,
  evaluate,
  imagesToTensor,
  loadModelWeights,
  loadOptimizerState,
  MetricAccumulator,
  SeedTracker,
  Trainer,
  type ImageBatch,
} from '../../../src-engine/train/index.ts';
import { createPixelNormalizer, normalizePixels } from '../../../src-engine/nn/normalize.ts';
import { testDevice } from '../../helpers/gpu.ts';
import { getEngine, rng } from '../helpers.ts';

/** Synthetic 8×8 grayscale classes: class k has a bright k-th row band (learnable in a few steps). */
function batchOf(n: number, seed: number, classes = 4): ImageBatch {
  const r = rng(seed);
  const images = new Uint8Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(r() * classes);
    labels[i] = k;
    for (let p = 0; p < 64; p++) {
      const row = Math.floor(p / 8);
      images[i * 64 + p] = Math.min(255, Math.floor(r() * 60) + (row === 2 * k || row === 2 * k + 1 ? 180 : 0));
    }
  }
  return { images, labels };
}

function mlp(engine: Engine, opts: Record<string, unknown> = { hidden: [16] }, seed = 3): Model {
  return buildModel(engine, compileModel('mlp', opts, [1, 8, 8], 4), { seed });
}

describe('imagesToTensor', () => {
  it('unpacks [B, H, W, C] uint8 into [B, C, H, W] f32 0..255 exactly (odd sizes, bytes not a multiple of 4)', async () => {
    const engine = await getEngine();
    const [B, H, W, C] = [3, 2, 5, 3];
    const bytes = new Uint8Array(B * H * W * C);
    const r = rng(7);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
    bytes[0] = 255;
    bytes[bytes.length - 1] = 0;
    const t = imagesToTensor(engine, bytes, [B, H, W, C]);
    expect(t.shape).toEqual([B, C, H, W]);
    const got = await t.read();
    t.dispose();
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++)
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) {
            expect(got[((b * C + c) * H + y) * W + x]).toBe(bytes[((b * H + y) * W + x) * C + c]);
          }
  });

  it('unpacks single-channel images four bytes at a time, exactly (255, 0 and the byte order within a word)', async () => {
    const engine = await getEngine();
    const [B, H, W, C] = [2, 3, 6, 1]; // 36 bytes: nine whole words
    const bytes = new Uint8Array(B * H * W * C);
    const r = rng(8);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
    bytes.set([255, 0, 1, 128], 4);
    const t = imagesToTensor(engine, bytes, [B, H, W, C]);
    expect(t.shape).toEqual([B, 1, H, W]);
    expect(Array.from(await t.read())).toEqual(Array.from(bytes));
    t.dispose();
    expect(engine.compiledKernels()).toContain('train.unpack_u8x4');
  });

  it('normalises in the same dispatch exactly as the normalize layer of a model does (1 and 3 channels)', async () => {
    const engine = await getEngine();
    for (const [B, H, W, C, mean, std] of [
      [2, 3, 6, 1, [0.286], [0.353]],
      [3, 2, 5, 3, [0.49, 0.48, 0.45], [0.25, 0.24, 0.26]],
    ] as const) {
      const bytes = new Uint8Array(B * H * W * C);
      const r = rng(9 + C);
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
      const norm = createPixelNormalizer(engine, mean, std);
      const raw = imagesToTensor(engine, bytes, [B, H, W, C]);
      const ref = normalizePixels(raw, norm);
      const fused = imagesToTensor(engine, bytes, [B, H, W, C], norm);
      expect(await fused.read()).toEqual(await ref.read());
      for (const t of [raw, ref, fused, norm.scale, norm.shift]) t.dispose();
    }
  });

  it('a model forward on pre-normalised input equals the forward on raw pixels', async () => {
    const engine = await getEngine();
    const model = buildModel(engine, compileModel('lenet5', {}, [1, 16, 16], 4), { seed: 3 });
    const batch = new Uint8Array(2 * 256).map((_, i) => (i * 37) % 256);
    const norm = model.inputNormalizer();
    expect(norm).not.toBeNull();
    const a = model.forward(imagesToTensor(engine, batch, [2, 16, 16, 1]), { training: false });
    const b = model.forward(imagesToTensor(engine, batch, [2, 16, 16, 1], norm), { training: false, normalized: true });
    expect(await b.read()).toEqual(await a.read());
    a.dispose();
    b.dispose();
    model.dispose();
  });

  it('rejects a byte count that does not match the shape', async () => {
    const engine = await getEngine();
    expect(() => imagesToTensor(engine, new Uint8Array(10), [1, 2, 2, 3])).toThrow(/10 bytes do not make a batch of 1×2×2×3/);
  });
});

describe('GPU metric accumulators', () => {
  it('sum loss, count argmax hits and examples across batches; confusion[true][pred] on a known case', async () => {
    const engine = await getEngine();
    // 5 rows, 3 classes: predictions (first max) 1, 0, 2, 0 (tie 0/2 → 0), 2
    const logits = fromTypedArray(engine, new Float32Array([0, 5, 1, 3, 2, 1, 0, 0, 9, 4, -1, 4, 1, 1, 2]), [5, 3]);
    const labels = fromTypedArray(engine, new Int32Array([1, 2, 2, 0, 1]), [5]);
    const rowLoss = fromTypedArray(engine, new Float32Array([0.5, 1.25, 0.125, 2, 0.25]), [5]);
    const acc = new MetricAccumulator(engine);
    const conf = new ConfusionAccumulator(engine, 3);
    acc.add(rowLoss, logits, labels);
    acc.add(rowLoss, logits, labels);
    conf.add(logits, labels);
    const s = await acc.read();
    expect(s).toEqual({ lossSum: 8.25, correct: 6, count: 10 });
    expect(await acc.read()).toEqual({ lossSum: 0, correct: 0, count: 0 }); // read clears
    expect(await conf.read()).toEqual([
      [1, 0, 0], // true 0: row 3 → 0
      [0, 1, 1], // true 1: row 0 → 1, row 4 → 2
      [1, 0, 1], // true 2: row 1 → 0, row 2 → 2
    ]);
    acc.load({ lossSum: 1.5, correct: 2, count: 3 });
    expect(await acc.read(false)).toEqual({ lossSum: 1.5, correct: 2, count: 3 });
    for (const t of [logits, labels, rowLoss]) t.dispose();
    acc.dispose();
    conf.dispose();
  });
});

describe('Trainer.step', () => {
  it('equals forward + cross-entropy + backward + SGD by hand (one step, momentum 0)', async () => {
    const engine = await getEngine();
    const batch = batchOf(12, 1);
    const a = mlp(engine);
    const b = mlp(engine);
    const lr = 0.05;
    // by hand on model b
    const pb = b.parameters();
    const before = new Map<string, Float32Array>();
    for (const [n, p] of pb) before.set(n, await p.read());
    const grads = new Map<string, Float32Array>();
    tidy(() => {
      const x = imagesToTensor(engine, batch.images, [12, 8, 8, 1]);
      const y = fromTypedArray(engine, batch.labels);
      backward(crossEntropy(b.forward(x, { training: true }), y));
    });
    for (const [n, p] of pb) grads.set(n, await p.grad!.read());
    zeroGrad(pb.values());
    // through the trainer on model a
    const opt = createOptimizer(engine, a.parameters(), { type: 'sgd', lr });
    const trainer = new Trainer(engine, a, opt, { imageShape: [8, 8, 1] });
    trainer.step(batch, lr);
    for (const [n, p] of a.parameters()) {
      const got = await p.read();
      const w = before.get(n)!;
      const g = grads.get(n)!;
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - (w[i] - lr * g[i]))).toBeLessThan(1e-6 + 1e-5 * Math.abs(w[i]));
      expect(p.grad).toBeNull(); // gradients freed after the step
    }
    const m = await trainer.readMetrics();
    expect(m.count).toBe(12);
    trainer.dispose();
    opt.dispose();
    a.dispose();
    b.dispose();
  });

  it('reads nothing back between metric reads, keeps live tensors constant, and learns', async () => {
    const engine = await getEngine();
    const model = mlp(engine, { hidden: [16], dropout: 0.1 });
    const opt = createOptimizer(engine, model.parameters(), { type: 'sgd', lr: 0.1, momentum: 0.9 });
    const trainer = new Trainer(engine, model, opt, { imageShape: [8, 8, 1] });
    const readSpy = vi.spyOn(engine, 'readBuffer');
    const live: number[] = [];
    for (let s = 0; s < 12; s++) {
      trainer.step(batchOf(16, 100 + s), 0.1, { gradNorms: s === 5 });
      await trainer.throttle();
      live.push(engine.liveTensors);
    }
    expect(readSpy).toHaveBeenCalledTimes(0);
    expect(new Set(live.slice(6)).size).toBe(1); // constant once the pending grad-norm tensor is gone
    const first = await trainer.readMetrics();
    expect(readSpy).toHaveBeenCalledTimes(1);
    const norms = await trainer.readGradNorms();
    expect([...norms!.keys()]).toEqual([...model.parameters().keys()]);
    for (const v of norms!.values()) expect(v).toBeGreaterThan(0);
    for (let s = 0; s < 40; s++) trainer.step(batchOf(16, 200 + s), 0.1);
    const later = await trainer.readMetrics();
    expect(first.count).toBe(12 * 16);
    expect(later.loss!).toBeLessThan(first.loss! * 0.6);
    readSpy.mockRestore();
    trainer.dispose();
    opt.dispose();
    model.dispose();
  });

  it('stops with DivergenceError naming the step when the loss becomes NaN/Inf (lr = 1e6)', async () => {
    const engine = await getEngine();
    const model = mlp(engine);
    // The config schema rejects lr > 10 (absurd); construct the optimizer directly to force divergence.
    const opt = new SGD(engine, model.parameters(), { type: 'sgd', lr: 1e6, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, decoupledWeightDecay: 0, l1: 0, decayBiasAndNorm: true });
    const trainer = new Trainer(engine, model, opt, { imageShape: [8, 8, 1] });
    let err: unknown = null;
    try {
      for (let s = 0; s < 30; s++) {
        trainer.step(batchOf(16, 300 + s), 1e6);
        if (s % 5 === 4) await trainer.readMetrics();
      }
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DivergenceError);
    expect((err as Error).message).toMatch(/Training diverged: the loss became (NaN|Infinity|-Infinity) by step \d+\. Start a new run with a lower learning rate/);
    trainer.dispose();
    opt.dispose();
    model.dispose();
  });
});

describe('checkpoints', () => {
  it('weights + optimizer state + seed position restore the exact trajectory on a fresh engine', async () => {
    const device = await testDevice();
    const run = async (stopAt: number | null): Promise<number[]> => {
      const losses: number[] = [];
      let engine = new Engine(device, { seed: 9 });
      let seeds = new SeedTracker(engine);
      const make = (e: Engine) => {
        const model = mlp(e, { hidden: [16], dropout: 0.25 }, 5);
        const opt = createOptimizer(e, model.parameters(), { type: 'adam', lr: 0.01 });
        return { model, opt, trainer: new Trainer(e, model, opt, { imageShape: [8, 8, 1] }) };
      };
      let m = make(engine);
      for (let s = 0; s < 10; s++) {
        if (s === stopAt) {
          const w = await encodeModelWeights(engine, m.model);
          const o = await encodeOptimizerState(engine, m.opt);
          const count = seeds.count;
          m.trainer.dispose();
          m.opt.dispose();
          m.model.dispose();
          engine.dispose();
          engine = new Engine(device, { seed: 9 });
          seeds = new SeedTracker(engine);
          m = make(engine);
          loadModelWeights(engine, m.model, w);
          loadOptimizerState(m.opt, o);
          seeds.advanceTo(count);
        }
        m.trainer.step(batchOf(16, 400 + s), 0.01);
        losses.push((await m.trainer.readMetrics()).loss!);
      }
      m.trainer.dispose();
      m.opt.dispose();
      m.model.dispose();
      engine.dispose();
      return losses;
    };
    const straight = await run(null);
    const resumed = await run(6);
    expect(resumed).toEqual(straight); // bitwise: same kernels, same data, same seeds
  });
});

describe('evaluate', () => {
  it('gives loss, error, confusion and per-class accuracy consistent with each other', async () => {
    const engine = await getEngine();
    const model = mlp(engine);
    const batches = [batchOf(10, 500), batchOf(7, 501)];
    const r = await evaluate(engine, model, batches, { imageShape: [8, 8, 1], classes: 4 });
    expect(r.count).toBe(17);
    const total = r.confusion.flat().reduce((a, b) => a + b, 0);
    const right = r.confusion.reduce((a, row, c) => a + row[c], 0);
    expect(total).toBe(17);
    expect(r.error).toBeCloseTo(1 - right / 17, 6);
    // reference loss with the same model
    const ref = await noGrad(() =>
      tidy(() => {
        const imgs = new Uint8Array([...batches[0].images, ...batches[1].images]);
        const x = imagesToTensor(engine, imgs, [17, 8, 8, 1]);
        const y = fromTypedArray(engine, new Int32Array([...batches[0].labels, ...batches[1].labels]));
        return crossEntropy(model.forward(x, { training: false }), y).keep();
      }),
    ).item();
    expect(r.loss!).toBeCloseTo(ref, 5);
    r.confusion.forEach((row, c) => {
      const n = row.reduce((a, b) => a + b, 0);
      expect(r.perClassAccuracy[c]).toBe(n ? row[c] / n : null);
    });
    model.dispose();
  });
});
