/**
 * softmax, logSoftmax, crossEntropy (fused, label smoothing) and mse against
 * the CPU reference and finite differences. Tolerances: forward rtol 1e-5
 * (1e-4 for losses: f32 log-sum-exp), backward rtol 1e-3 / atol 1e-4.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';
import { checkForwardBackward, expectClose, getEngine, randArray } from './helpers.ts';
import { crossEntropyGradRef, crossEntropyRowsRef, softmaxRef } from './reference/softmax.ts';
import { permuteRef } from './reference/shape.ts';

const BWD = { rtol: 1e-3, atol: 1e-4 };

describe('softmax / logSoftmax', () => {
  for (const [rows, C] of [[1, 1], [3, 5], [4, 70], [2, 300]]) {
    for (const mode of ['softmax', 'logSoftmax'] as const) {
      it(`${mode} over ${C} classes × ${rows} rows`, async () => {
        const e = await getEngine();
        await checkForwardBackward(e, {
          label: mode,
          inputs: [{ shape: [rows, C], data: randArray(rows * C, rows + C, -4, 4) }],
          gpu: ([x]) => (mode === 'softmax' ? E.softmax(x) : E.logSoftmax(x)),
          cpu: ([x]) => softmaxRef(x, C, mode === 'logSoftmax'),
          fwdTol: { rtol: 1e-5, atol: 1e-6 },
          bwdTol: BWD,
        });
      });
    }
  }

  it('is stable for huge logits (no overflow) and works along a non-last axis', async () => {
    const e = await getEngine();
    const x = E.fromArray(e, [[1000, 1001, 1002], [-1000, -1000, -1000]]);
    expectClose(await E.softmax(x).read(), softmaxRef([0, 1, 2, 0, 0, 0], 3), { rtol: 1e-6, atol: 1e-7 }, 'huge');
    const d = randArray(12, 5);
    const s0 = E.softmax(E.fromTypedArray(e, d, [3, 4]), 0);
    // softmax over axis 0 = transpose, softmax over rows, transpose back
    const ref = permuteRef(softmaxRef(permuteRef(d, [3, 4], [1, 0]), 3), [4, 3], [1, 0]);
    expectClose(await s0.read(), ref, { rtol: 1e-5, atol: 1e-6 }, 'axis 0');
  });

  for (const mode of ['softmax', 'logSoftmax'] as const) {
    it(`${mode} along axis 0 passes gradients back to its input`, async () => {
      const e = await getEngine();
      await checkForwardBackward(e, {
        label: `${mode} axis 0`,
        inputs: [{ shape: [3, 4], data: randArray(12, 17, -3, 3) }],
        gpu: ([x]) => (mode === 'softmax' ? E.softmax(x, 0) : E.logSoftmax(x, 0)),
        cpu: ([x]) => permuteRef(softmaxRef(permuteRef(x, [3, 4], [1, 0]), 3, mode === 'logSoftmax'), [4, 3], [1, 0]),
        fwdTol: { rtol: 1e-5, atol: 1e-6 },
        bwdTol: BWD,
      });
    });
  }

  it('folds more than 65535 rows', async () => {
    const e = await getEngine();
    const rows = 66_000;
    const d = randArray(rows * 3, 6);
    expectClose(await E.softmax(E.fromTypedArray(e, d, [rows, 3])).read(), softmaxRef(d, 3), { rtol: 1e-5, atol: 1e-6 }, 'folded');
  });
});

describe('crossEntropy', () => {
  for (const eps of [0, 0.1]) {
    for (const [rows, C] of [[1, 2], [5, 7], [3, 130]]) {
      it(`mean loss and gradient, ${rows}×${C}, labelSmoothing ${eps}`, async () => {
        const e = await getEngine();
        const labels = Int32Array.from({ length: rows }, (_, i) => (i * 5 + 1) % C);
        const lt = E.fromTypedArray(e, labels);
        await checkForwardBackward(e, {
          label: `ce ${eps}`,
          inputs: [{ shape: [rows, C], data: randArray(rows * C, rows * C, -3, 3) }],
          gpu: ([x]) => E.crossEntropy(x, lt, { labelSmoothing: eps }),
          cpu: ([x]) => {
            const r = crossEntropyRowsRef(x, labels, C, eps);
            return Float64Array.of(r.reduce((a, b) => a + b, 0) / rows);
          },
          fwdTol: { rtol: 1e-5, atol: 1e-6 },
          bwdTol: BWD,
        });
      });
    }
  }

  for (const [rows, C] of [[64, 10], [150, 10]]) it(`the analytic reference gradient (softmax − q)/N matches the GPU on a larger batch, ${rows}×${C}`, async () => {
    const e = await getEngine();
    const x = randArray(rows * C, 3, -5, 5);
    const labels = Int32Array.from({ length: rows }, (_, i) => (i * 7) % C);
    const xt = E.fromTypedArray(e, x, [rows, C]);
    xt.requiresGrad = true;
    const loss = E.crossEntropy(xt, E.fromTypedArray(e, labels), { labelSmoothing: 0.2 });
    E.backward(loss);
    const rowsRef = crossEntropyRowsRef(x, labels, C, 0.2);
    expect(await loss.item()).toBeCloseTo(rowsRef.reduce((a, b) => a + b, 0) / rows, 5);
    expectClose(await xt.grad!.read(), crossEntropyGradRef(x, labels, C, 0.2), { rtol: 1e-4, atol: 1e-5 }, 'grad');
  });

  it('ran both row shapes: an invocation per row (≤ 32 classes) and a workgroup per row (130 classes)', async () => {
    const names = (await getEngine()).compiledKernels();
    expect(names).toEqual(
      expect.arrayContaining(['cross_entropy_rows', 'cross_entropy_rows_seq', 'cross_entropy_backward', 'cross_entropy_backward_seq']),
    );
  });

  it("reduction 'none' gives one loss per row of a [B, T, C] input", async () => {
    const e = await getEngine();
    const x = randArray(2 * 3 * 4, 9);
    const labels = Int32Array.from([0, 1, 2, 3, 0, 1]);
    const l = E.crossEntropy(E.fromTypedArray(e, x, [2, 3, 4]), E.fromTypedArray(e, labels, [2, 3]), { reduction: 'none' });
    expect(l.shape).toEqual([2, 3]);
    expectClose(await l.read(), crossEntropyRowsRef(x, labels, 4), { rtol: 1e-5, atol: 1e-6 }, 'none');
    expect(() => E.crossEntropy(E.zeros(e, [2, 4]), E.zeros(e, [2]))).toThrow(/integer labels/);
  });
});

describe('mse', () => {
  it('mean squared error forward and backward (both arguments)', async () => {
    const e = await getEngine();
    await checkForwardBackward(e, {
      label: 'mse',
      inputs: [
        { shape: [4, 3], data: randArray(12, 1) },
        { shape: [4, 3], data: randArray(12, 2) },
      ],
      gpu: ([p, t]) => E.mse(p, t),
      cpu: ([p, t]) => Float64Array.of(p.reduce((s, v, i) => s + (v - t[i]) ** 2, 0) / 12),
      fwdTol: { rtol: 1e-5, atol: 1e-7 },
      bwdTol: BWD,
    });
  });
});
