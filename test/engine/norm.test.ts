/**
 * batchNorm and layerNorm against the float64 CPU reference and finite
 * differences. Tolerances: forward rtol 1e-5 / atol 1e-5·max (f32 mean and
 * variance of ≤ 500 values), backward rtol 1e-3 / atol 1e-4·max.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';
import { checkForwardBackward, expectClose, getEngine, randArray, sizeOf } from './helpers.ts';
import { batchNormRef, layerNormRef } from './reference/norm.ts';

const FWD = { rtol: 1e-5, atol: 1e-5 };
const BWD = { rtol: 1e-3, atol: 1e-4 };

/** Positive running variances for inference tests. */
const randVar = (C: number, seed: number): Float32Array => randArray(C, seed, 0.5, 2);

describe('batchNorm', () => {
  it('runs four elements per invocation when a channel plane is a multiple of 4, one otherwise (both checked below)', async () => {
    const e = await getEngine();
    for (const shape of [[2, 3, 4, 5], [1, 2, 3, 3]]) {
      const x = E.fromTypedArray(e, randArray(sizeOf(shape), 5), shape);
      x.requiresGrad = true;
      const y = E.batchNorm(x, null, null, E.zeros(e, [shape[1]]), E.ones(e, [shape[1]]), { training: true });
      E.backward(E.sum(y));
      await x.grad!.read();
    }
    expect(e.compiledKernels()).toEqual(
      expect.arrayContaining(['batchnorm_apply', 'batchnorm_apply4', 'batchnorm_backward_dx', 'batchnorm_backward_dx4']),
    );
  });

  const shapes: number[][] = [
    [6, 3], // BatchNorm1d on [N, C]
    [4, 3, 5], // BatchNorm1d on [N, C, L]
    [2, 3, 4, 5], // BatchNorm2d
    [1, 2, 3, 3], // N = 1: statistics over the spatial dims only
    [3, 2, 12, 12], // > 256 values per channel: several strides of the reduction loop
  ];
  for (const shape of shapes) {
    const C = shape[1];
    for (const training of [true, false]) {
      it(`${training ? 'training' : 'inference'} forward + backward on [${shape}]`, async () => {
        const e = await getEngine();
        const rm0 = randArray(C, 11, -0.5, 0.5);
        const rv0 = randVar(C, 12);
        await checkForwardBackward(e, {
          label: `batchNorm [${shape}] ${training ? 'train' : 'eval'}`,
          inputs: [
            { shape, data: randArray(sizeOf(shape), shape.length + C, -2, 2) },
            { shape: [C], data: randArray(C, 3, 0.5, 1.5) },
            { shape: [C], data: randArray(C, 4) },
          ],
          gpu: ([x, g, b]) => {
            const rm = E.fromTypedArray(e, rm0);
            const rv = E.fromTypedArray(e, rv0);
            const y = E.batchNorm(x, g, b, rm, rv, { training });
            expect(y.shape).toEqual(shape);
            return y;
          },
          cpu: ([x, g, b]) => batchNormRef(x, shape, g, b, rm0, rv0, training).y,
          fwdTol: FWD,
          bwdTol: BWD,
        });
      });
    }
  }

  it('large input [16, 8, 16, 16]: forward vs reference, gradients vs composed ops (mean, variance, …)', async () => {
    const e = await getEngine();
    const shape = [16, 8, 16, 16];
    const C = 8;
    const xd = randArray(sizeOf(shape), 101, -1, 3);
    const gd = randArray(C, 102, 0.5, 1.5);
    const bd = randArray(C, 103);
    const wd = randArray(sizeOf(shape), 104);
    const x = E.fromTypedArray(e, xd, shape);
    const g = E.fromTypedArray(e, gd);
    const b = E.fromTypedArray(e, bd);
    const w = E.fromTypedArray(e, wd, shape);
    for (const t of [x, g, b]) t.requiresGrad = true;
    const rm = E.zeros(e, [C]);
    const rv = E.ones(e, [C]);
    const y = E.batchNorm(x, g, b, rm, rv, { training: true });
    const ref = batchNormRef(xd, shape, gd, bd, new Float64Array(C), new Float64Array(C).fill(1), true);
    expectClose(await y.read(), ref.y, FWD, 'forward');
    expectClose(await rv.read(), ref.runningVar, { rtol: 1e-5, atol: 1e-6 }, 'running var');
    const fused = E.grad(E.sum(E.mul(y, w)), [x, g, b]);
    const axes = [0, 2, 3];
    const m = E.mean(x, axes, true);
    const v = E.variance(x, axes, { keepDims: true });
    const xh = E.div(E.sub(x, m), E.sqrt(E.addScalar(v, 1e-5)));
    const yc = E.add(E.mul(xh, E.reshape(g, [1, C, 1, 1])), E.reshape(b, [1, C, 1, 1]));
    const composed = E.grad(E.sum(E.mul(yc, w)), [x, g, b]);
    for (let i = 0; i < 3; i++) expectClose(await fused[i].read(), await composed[i].read(), BWD, `grad ${i}`);
  });

  it('without affine parameters (gamma = beta = null), training', async () => {
    const e = await getEngine();
    const shape = [3, 4, 2, 3];
    await checkForwardBackward(e, {
      label: 'batchNorm no affine',
      inputs: [{ shape, data: randArray(sizeOf(shape), 21, -3, 3) }],
      gpu: ([x]) => E.batchNorm(x, null, null, E.zeros(e, [4]), E.ones(e, [4]), { training: true }),
      cpu: ([x]) => batchNormRef(x, shape, null, null, [0, 0, 0, 0], [1, 1, 1, 1], true).y,
      fwdTol: FWD,
      bwdTol: BWD,
    });
  });

  it('training and inference differ; inference uses the running stats', async () => {
    const e = await getEngine();
    const shape = [4, 3, 2, 2];
    const x = randArray(sizeOf(shape), 31, 1, 4); // mean far from the running mean 0
    const xt = E.fromTypedArray(e, x, shape);
    const g = E.fromTypedArray(e, randArray(3, 32, 0.5, 1.5));
    const b = E.fromTypedArray(e, randArray(3, 33));
    const rm0 = randArray(3, 34, -0.2, 0.2);
    const rv0 = randVar(3, 35);
    const gd = await g.read();
    const bd = await b.read();
    const rm = E.fromTypedArray(e, rm0);
    const rv = E.fromTypedArray(e, rv0);
    const yEval = await E.batchNorm(xt, g, b, rm, rv, { training: false }).read();
    // Inference leaves the running stats alone.
    expectClose(await rm.read(), rm0, { rtol: 0, atol: 0 }, 'running mean untouched');
    expectClose(await rv.read(), rv0, { rtol: 0, atol: 0 }, 'running var untouched');
    const yTrain = await E.batchNorm(xt, g, b, rm, rv, { training: true }).read();
    expectClose(yEval, batchNormRef(x, shape, gd, bd, rm0, rv0, false).y, FWD, 'eval');
    expectClose(yTrain, batchNormRef(x, shape, gd, bd, rm0, rv0, true).y, FWD, 'train');
    let diff = 0;
    for (let i = 0; i < yEval.length; i++) diff = Math.max(diff, Math.abs(yEval[i] - yTrain[i]));
    expect(diff).toBeGreaterThan(0.5);
    // Training normalises each channel of the batch to mean β, std ≈ γ.
    const ref = batchNormRef(yTrain, shape, null, null, [0, 0, 0], [1, 1, 1], true);
    expectClose(ref.mean, bd, { rtol: 1e-5, atol: 1e-5 }, 'batch mean of the output = beta');
  });

  for (const shape of [[5, 4], [3, 4, 3, 2], [1, 4, 3, 3]]) {
    it(`running stats after 2 training steps follow PyTorch (momentum 0.1, unbiased var) on [${shape}]`, async () => {
      const e = await getEngine();
      const C = shape[1];
      const rm = E.zeros(e, [C]); // PyTorch init: running_mean 0, running_var 1
      const rv = E.ones(e, [C]);
      const x1 = randArray(sizeOf(shape), 41, -1, 3);
      const x2 = randArray(sizeOf(shape), 42, -2, 1);
      const g = E.ones(e, [C]);
      const b = E.zeros(e, [C]);
      E.batchNorm(E.fromTypedArray(e, x1, shape), g, b, rm, rv, { training: true, momentum: 0.1 });
      const y2 = E.batchNorm(E.fromTypedArray(e, x2, shape), g, b, rm, rv, { training: true, momentum: 0.1 });
      // running = (1 − m)·running + m·stat, with the unbiased variance for running_var.
      const s1 = batchNormRef(x1, shape, null, null, new Float64Array(C), new Float64Array(C).fill(1), true);
      const s2 = batchNormRef(x2, shape, null, null, new Float64Array(C), new Float64Array(C).fill(1), true);
      const m = 0.1;
      const expMean = new Float64Array(C);
      const expVar = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        expMean[c] = (1 - m) * ((1 - m) * 0 + m * s1.mean[c]) + m * s2.mean[c];
        expVar[c] = (1 - m) * ((1 - m) * 1 + m * s1.varUnbiased[c]) + m * s2.varUnbiased[c];
        // The unbiased variance is what PyTorch stores, not the biased one used to normalise.
        expect(s2.varUnbiased[c]).not.toBeCloseTo(s2.varBiased[c], 4);
      }
      const gotMean = await rm.read();
      const gotVar = await rv.read();
      for (let c = 0; c < C; c++) {
        expect(Math.abs(gotMean[c] - expMean[c])).toBeLessThan(1e-5);
        expect(Math.abs(gotVar[c] - expVar[c])).toBeLessThan(1e-5);
      }
      // The second step normalised with its own batch statistics (biased variance).
      expectClose(await y2.read(), s2.y, FWD, 'step 2 output');
      // Inference after the two steps uses the updated running stats.
      const yEval = E.batchNorm(E.fromTypedArray(e, x2, shape), null, null, rm, rv, { training: false });
      expectClose(await yEval.read(), batchNormRef(x2, shape, null, null, expMean, expVar, false).y, FWD, 'eval after 2 steps');
    });
  }

  it('momentum option is honoured', async () => {
    const e = await getEngine();
    const shape = [4, 2];
    const x = randArray(8, 45);
    const rm = E.zeros(e, [2]);
    const rv = E.ones(e, [2]);
    E.batchNorm(E.fromTypedArray(e, x, shape), null, null, rm, rv, { training: true, momentum: 0.5 });
    const ref = batchNormRef(x, shape, null, null, [0, 0], [1, 1], true, 0.5);
    expectClose(await rm.read(), ref.runningMean, { rtol: 1e-5, atol: 1e-6 }, 'mean');
    expectClose(await rv.read(), ref.runningVar, { rtol: 1e-5, atol: 1e-6 }, 'var');
  });

  it('running stats are not differentiated and do not need grad', async () => {
    const e = await getEngine();
    const shape = [3, 2, 4];
    const x = E.fromTypedArray(e, randArray(24, 51), shape);
    x.requiresGrad = true;
    const rm = E.zeros(e, [2]);
    const rv = E.ones(e, [2]);
    for (const training of [true, false]) {
      const y = E.batchNorm(x, null, null, rm, rv, { training });
      const w = E.fromTypedArray(e, randArray(24, 52), shape);
      const [gx, grm, grv] = E.grad(E.sum(E.mul(y, w)), [x, rm, rv]);
      expect(y.node?.inputs.length).toBe(1);
      expect(y.node?.inputs[0]).toBe(x);
      expectClose(await grm.read(), [0, 0], { rtol: 0, atol: 0 }, 'd/d running mean');
      expectClose(await grv.read(), [0, 0], { rtol: 0, atol: 0 }, 'd/d running var');
      expect(Math.max(...(await gx.read()).map(Math.abs))).toBeGreaterThan(0);
    }
    expect(rm.grad).toBeNull();
    expect(rv.grad).toBeNull();
  });

  it('eps: a constant channel gives beta and a finite gradient; eps changes the scale as in the reference', async () => {
    const e = await getEngine();
    const shape = [4, 2, 3];
    const x = randArray(24, 61, -1, 1);
    for (let n = 0; n < 4; n++) for (let s = 0; s < 3; s++) x[(n * 2 + 1) * 3 + s] = 2.5; // channel 1 constant
    const g = [1.5, 0.7];
    const b = [0.2, -0.3];
    for (const eps of [1e-5, 0.1]) {
      await checkForwardBackward(e, {
        label: `batchNorm eps ${eps}`,
        inputs: [{ shape, data: x }],
        gpu: ([xt]) => E.batchNorm(xt, E.fromArray(e, g), E.fromArray(e, b), E.zeros(e, [2]), E.ones(e, [2]), { training: true, eps }),
        cpu: ([xd]) => batchNormRef(xd, shape, g, b, [0, 0], [1, 1], true, 0.1, eps).y,
        fwdTol: FWD,
        bwdTol: BWD,
      });
    }
    const xt = E.fromTypedArray(e, x, shape);
    xt.requiresGrad = true;
    const y = E.batchNorm(xt, E.fromArray(e, g), E.fromArray(e, b), E.zeros(e, [2]), E.ones(e, [2]), { training: true });
    const w = randArray(24, 62);
    E.backward(y, E.fromTypedArray(e, w, shape));
    const yd = await y.read();
    const gd = await xt.grad!.read();
    // x̂ = 0 on the constant channel: y = β and dx = γ/√ε · (g − mean g), finite.
    const idx = [0, 1, 2, 3].flatMap((n) => [0, 1, 2].map((s) => (n * 2 + 1) * 3 + s));
    const meanW = idx.reduce((a, i) => a + w[i], 0) / idx.length;
    for (const i of idx) {
      expect(yd[i]).toBeCloseTo(-0.3, 6);
      expect(Number.isFinite(gd[i])).toBe(true);
      expect(gd[i]).toBeCloseTo((0.7 / Math.sqrt(1e-5)) * (w[i] - meanW), 2);
    }
  });

  it('shape errors name the shapes', async () => {
    const e = await getEngine();
    const rm = E.zeros(e, [3]);
    const rv = E.ones(e, [3]);
    expect(() => E.batchNorm(E.zeros(e, [6]), null, null, rm, rv, { training: true })).toThrow(E.ShapeError);
    expect(() => E.batchNorm(E.zeros(e, [1, 3, 2, 2, 2]), null, null, rm, rv, { training: true })).toThrow(/\[1, 3, 2, 2, 2\]/);
    expect(() => E.batchNorm(E.zeros(e, [2, 3, 4]), E.ones(e, [4]), null, rm, rv, { training: true })).toThrow(
      /gamma.*\[2, 3, 4\] and \[4\]/,
    );
    expect(() => E.batchNorm(E.zeros(e, [2, 3]), null, null, E.zeros(e, [2]), rv, { training: false })).toThrow(/runningMean/);
    // PyTorch: "Expected more than 1 value per channel when training".
    expect(() => E.batchNorm(E.zeros(e, [1, 3]), null, null, rm, rv, { training: true })).toThrow(/more than one value per channel.*\[1, 3\]/);
    // …but inference on a single sample is fine.
    expect(E.batchNorm(E.zeros(e, [1, 3]), null, null, rm, rv, { training: false }).shape).toEqual([1, 3]);
  });

  it('frees its saved statistics with the graph (tidy) and keeps none without grad', async () => {
    const e = await getEngine();
    const shape = [4, 3, 2, 2];
    const x = E.fromTypedArray(e, randArray(48, 71), shape);
    const g = E.ones(e, [3]);
    const b = E.zeros(e, [3]);
    const rm = E.zeros(e, [3]);
    const rv = E.ones(e, [3]);
    g.requiresGrad = true;
    b.requiresGrad = true;
    await e.sync();
    const before = e.liveTensors;
    E.tidy(() => {
      const y = E.batchNorm(x, g, b, rm, rv, { training: true });
      E.backward(E.sum(E.mul(y, y)));
    });
    expect(e.liveTensors).toBe(before + 2); // g.grad, b.grad
    E.zeroGrad([g, b]);
    E.noGrad(() => E.batchNorm(x, g, b, rm, rv, { training: true })).dispose();
    expect(e.liveTensors).toBe(before);
  });
});

describe('layerNorm', () => {
  const affines: Array<[boolean, boolean]> = [[true, true], [false, false], [true, false], [false, true]];
  for (const shape of [[3, 5], [2, 3, 70], [130, 8], [1, 1, 64]]) {
    for (const [hg, hb] of affines) {
      it(`[${shape}] gamma ${hg ? 'yes' : 'no'}, beta ${hb ? 'yes' : 'no'}`, async () => {
        const e = await getEngine();
        const D = shape[shape.length - 1];
        const inputs = [{ shape, data: randArray(sizeOf(shape), D + shape.length, -2, 3) }];
        if (hg) inputs.push({ shape: [D], data: randArray(D, 5, 0.5, 1.5) });
        if (hb) inputs.push({ shape: [D], data: randArray(D, 6) });
        await checkForwardBackward(e, {
          label: `layerNorm [${shape}] ${hg}/${hb}`,
          inputs,
          gpu: ([x, a, c]) => E.layerNorm(x, hg ? a : null, hb ? (hg ? c : a) : null),
          cpu: ([x, a, c]) => layerNormRef(x, D, hg ? a : null, hb ? (hg ? c : a) : null),
          fwdTol: FWD,
          bwdTol: BWD,
        });
      });
    }
  }

  it('ran both row shapes: a workgroup per row (few rows) and an invocation per row (≥ 128 short rows)', async () => {
    const names = (await getEngine()).compiledKernels();
    expect(names).toEqual(expect.arrayContaining(['layernorm_forward', 'layernorm_forward_seq', 'layernorm_backward_dx', 'layernorm_backward_dx_seq']));
  });

  it('large input [512, 256]: gradients vs composed ops (mean, variance, …)', async () => {
    const e = await getEngine();
    const [rows, D] = [512, 256];
    const xd = randArray(rows * D, 111, -2, 2);
    const x = E.fromTypedArray(e, xd, [rows, D]);
    const g = E.fromTypedArray(e, randArray(D, 112, 0.5, 1.5));
    const b = E.fromTypedArray(e, randArray(D, 113));
    const w = E.fromTypedArray(e, randArray(rows * D, 114), [rows, D]);
    for (const t of [x, g, b]) t.requiresGrad = true;
    const y = E.layerNorm(x, g, b);
    expectClose(await y.read(), layerNormRef(xd, D, await g.read(), await b.read()), FWD, 'forward');
    const fused = E.grad(E.sum(E.mul(y, w)), [x, g, b]);
    const xh = E.div(E.sub(x, E.mean(x, -1, true)), E.sqrt(E.addScalar(E.variance(x, -1, { keepDims: true }), 1e-5)));
    const composed = E.grad(E.sum(E.mul(E.add(E.mul(xh, g), b), w)), [x, g, b]);
    for (let i = 0; i < 3; i++) expectClose(await fused[i].read(), await composed[i].read(), BWD, `grad ${i}`);
  });

  it('eps option (a constant row gives beta; eps 0.5 vs the reference)', async () => {
    const e = await getEngine();
    const x = randArray(12, 81);
    x.fill(3, 4, 8); // row 1 constant
    const gm = [1, 2, 3, 4];
    const bt = [0.1, 0.2, 0.3, 0.4];
    for (const eps of [1e-5, 0.5]) {
      await checkForwardBackward(e, {
        label: `layerNorm eps ${eps}`,
        inputs: [{ shape: [3, 4], data: x }],
        gpu: ([xt]) => E.layerNorm(xt, E.fromArray(e, gm), E.fromArray(e, bt), { eps }),
        cpu: ([xd]) => layerNormRef(xd, 4, gm, bt, eps),
        fwdTol: FWD,
        bwdTol: BWD,
      });
    }
    const y = await E.layerNorm(E.fromTypedArray(e, x, [3, 4]), null, E.fromArray(e, bt)).read();
    expectClose(y.slice(4, 8), bt, { rtol: 1e-6, atol: 1e-6 }, 'constant row');
  });

  it('gradient of gamma and beta only (x without grad), many rows', async () => {
    const e = await getEngine();
    const [rows, D] = [300, 7];
    const x = randArray(rows * D, 91, -2, 2);
    const xt = E.fromTypedArray(e, x, [rows, D]);
    await checkForwardBackward(e, {
      label: 'layerNorm params only',
      inputs: [
        { shape: [D], data: randArray(D, 92, 0.5, 1.5) },
        { shape: [D], data: randArray(D, 93) },
      ],
      gpu: ([g, b]) => E.layerNorm(xt, g, b),
      cpu: ([g, b]) => layerNormRef(x, D, g, b),
      fwdTol: FWD,
      bwdTol: BWD,
    });
  });

  it('shape errors name the shapes; no saved tensors leak', async () => {
    const e = await getEngine();
    expect(() => E.layerNorm(E.zeros(e, [2, 5]), E.ones(e, [4]), null)).toThrow(/gamma.*\[2, 5\] and \[4\]/);
    expect(() => E.layerNorm(E.zeros(e, [2, 5]), null, E.ones(e, [5, 1]))).toThrow(E.ShapeError);
    const x = E.fromTypedArray(e, randArray(20, 95), [4, 5]);
    x.requiresGrad = true;
    const g = E.ones(e, [5]);
    await e.sync();
    const before = e.liveTensors;
    E.tidy(() => E.backward(E.sum(E.layerNorm(x, g, null))));
    expect(e.liveTensors).toBe(before + 1); // x.grad
  });
});
