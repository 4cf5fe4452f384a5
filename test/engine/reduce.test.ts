/**
 * Reductions over any axes against the CPU reference and finite differences.
 * Tolerances: forward rtol 1e-5 with atol 1e-6·max (f32 sums of ≤ 10⁵ terms
 * relative to their magnitude), backward rtol 1e-3 / atol 1e-4.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';
import { checkForwardBackward, expectClose, getEngine, randArray, sizeOf } from './helpers.ts';
import { argmaxRef, maxRef, meanRef, sumRef, varianceRef } from './reference/reduce.ts';
import { sumRows2 } from '../../src-engine/ops/reduce.ts';

const FWD = { rtol: 1e-5, atol: 1e-6 };
const BWD = { rtol: 1e-3, atol: 1e-4 };

const axesCases: Array<[number[], number[] | undefined]> = [
  [[2, 3, 4], undefined],
  [[2, 3, 4], [2]],
  [[2, 3, 4], [0]],
  [[2, 3, 4], [1]],
  [[2, 3, 4], [0, 2]],
  [[2, 3, 4, 5], [1, 3]],
  [[5, 1, 7], [0, 1]],
  [[1], [0]],
];

describe('sum / mean / max / variance over any axes', () => {
  for (const [shape, axes] of axesCases) {
    const ax = axes ?? shape.map((_, i) => i);
    const label = `[${shape}] axes ${axes ? '[' + axes + ']' : 'all'}`;
    it(`sum ${label} (keepDims and not)`, async () => {
      const e = await getEngine();
      for (const keep of [false, true]) {
        await checkForwardBackward(e, {
          label: 'sum ' + label,
          inputs: [{ shape, data: randArray(sizeOf(shape), 1) }],
          gpu: ([x]) => {
            const y = E.sum(x, axes, keep);
            if (keep) expect(y.shape).toEqual(shape.map((d, i) => (ax.includes(i) ? 1 : d)));
            else expect(y.shape).toEqual(shape.filter((_, i) => !ax.includes(i)));
            return y;
          },
          cpu: ([x]) => sumRef(x, shape, ax).data,
          fwdTol: FWD,
          bwdTol: BWD,
        });
      }
    });
    it(`mean ${label}`, async () => {
      const e = await getEngine();
      await checkForwardBackward(e, {
        label: 'mean ' + label,
        inputs: [{ shape, data: randArray(sizeOf(shape), 2) }],
        gpu: ([x]) => E.mean(x, axes),
        cpu: ([x]) => meanRef(x, shape, ax).data,
        fwdTol: FWD,
        bwdTol: BWD,
      });
    });
    it(`max ${label}`, async () => {
      const e = await getEngine();
      await checkForwardBackward(e, {
        label: 'max ' + label,
        inputs: [{ shape, data: randArray(sizeOf(shape), 3) }],
        gpu: ([x]) => E.max(x, axes),
        cpu: ([x]) => maxRef(x, shape, ax).data,
        fwdTol: { rtol: 0, atol: 0 },
        bwdTol: BWD,
      });
    });
    it(`variance ${label} (population and unbiased)`, async () => {
      const e = await getEngine();
      for (const correction of [0, 1]) {
        if (sizeOf(ax.map((a) => shape[a])) <= correction) continue;
        await checkForwardBackward(e, {
          label: 'variance ' + label,
          inputs: [{ shape, data: randArray(sizeOf(shape), 4) }],
          gpu: ([x]) => E.variance(x, axes, { correction }),
          cpu: ([x]) => varianceRef(x, shape, ax, correction),
          fwdTol: { rtol: 1e-4, atol: 1e-5 },
          bwdTol: BWD,
        });
      }
    });
  }

  it('min and argmin/argmax pick the first extreme along an axis', async () => {
    const e = await getEngine();
    const data = new Float32Array([3, 1, 3, 0, 5, 5, -1, 2, -1]);
    const x = E.fromTypedArray(e, data, [3, 3]);
    expect(Array.from(await E.argmax(x, 1).readRaw())).toEqual([0, 1, 1]);
    expect(Array.from(await E.argmin(x, 1).readRaw())).toEqual([1, 0, 0]);
    expect(Array.from(await E.argmax(x, 0).readRaw())).toEqual([0, 1, 1]);
    expect(Array.from(await E.min(x, 0).read())).toEqual([-1, 1, -1]);
    const big = randArray(7 * 300 * 5, 9);
    const am = E.argmax(E.fromTypedArray(e, big, [7, 300, 5]), 1);
    expect(Array.from(await am.readRaw())).toEqual(Array.from(argmaxRef(big, [7, 300, 5], 1)));
  });

  it('long rows (R = 100 000) sum within f32 accuracy', async () => {
    const e = await getEngine();
    const data = randArray(2 * 100_000, 10, 0, 1);
    const s = E.sum(E.fromTypedArray(e, data, [2, 100_000]), 1);
    expectClose(await s.read(), sumRef(data, [2, 100_000], [1]).data, { rtol: 1e-5, atol: 0 }, 'long rows');
  });

  it('many short rows (one invocation per row) and few long rows (one workgroup tree per row) agree with the reference', async () => {
    const e = await getEngine();
    for (const shape of [[300, 37], [130, 4096], [3, 4097], [127, 50]]) {
      const data = randArray(sizeOf(shape), shape[0] + shape[1]);
      const x = E.fromTypedArray(e, data, shape);
      const label = `[${shape}]`;
      expectClose(await E.sum(x, 1).read(), sumRef(data, shape, [1]).data, { rtol: 1e-5, atol: 1e-5 }, `sum ${label}`);
      expectClose(await E.mean(x, 1).read(), meanRef(data, shape, [1]).data, { rtol: 1e-5, atol: 1e-6 }, `mean ${label}`);
      expectClose(await E.max(x, 1).read(), maxRef(data, shape, [1]).data, FWD, `max ${label}`);
      expect(Array.from(await E.argmax(x, 1).readRaw())).toEqual(Array.from(argmaxRef(data, shape, 1)));
      x.dispose();
    }
  });

  it('folds a tree row reduction past a lowered workgroup limit (8 per dimension)', async () => {
    const e = await getEngine();
    const limits = e.limits as { maxWorkgroupsPerDimension: number };
    const keep = limits.maxWorkgroupsPerDimension;
    limits.maxWorkgroupsPerDimension = 8;
    try {
      const shape = [20, 5000]; // 20 workgroups → an 8 × 3 grid
      const data = randArray(sizeOf(shape), 12);
      const x = E.fromTypedArray(e, data, shape);
      expectClose(await E.sum(x, 1).read(), sumRef(data, shape, [1]).data, { rtol: 1e-5, atol: 1e-5 }, 'folded tree sum');
      expect(Array.from(await E.argmax(x, 1).readRaw())).toEqual(Array.from(argmaxRef(data, shape, 1)));
    } finally {
      limits.maxWorkgroupsPerDimension = keep;
    }
  });

  it('70 000 short rows (more than 65535 invocation groups would be needed one row per workgroup)', async () => {
    const e = await getEngine();
    const rows = 70_000;
    const data = randArray(rows * 5, 11);
    const x = E.fromTypedArray(e, data, [rows, 5]);
    expect(rows).toBeGreaterThan(e.limits.maxWorkgroupsPerDimension);
    expectClose(await E.sum(x, 1).read(), sumRef(data, [rows, 5], [1]).data, FWD, 'folded sum');
    expect(Array.from(await E.argmax(x, 1).readRaw())).toEqual(Array.from(argmaxRef(data, [rows, 5], 1)));
  });

  it('sumToShape reduces a broadcast gradient back to the input shape', async () => {
    const e = await getEngine();
    const g = E.fromTypedArray(e, Float32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
    expect(Array.from(await E.sumToShape(g, [3, 1]).read())).toEqual(Array.from(sumRef(await g.read(), [2, 3, 4], [0, 2]).data));
    expect(E.sumToShape(g, [2, 3, 4])).toBe(g);
  });
});

describe('sumRows2 (split weight-grad and bias partial sums in one dispatch)', () => {
  it('sums the columns of two matrices with the same row count, as two sum(·, 0) would', async () => {
    const e = await getEngine();
    for (const [R, n1, n2] of [[25, 2400, 16], [203, 150, 6], [1, 70, 3]]) {
      const a = E.fromTypedArray(e, randArray(R * n1, R + n1), [R, n1]);
      const b = E.fromTypedArray(e, randArray(R * n2, R + n2), [R, n2]);
      const [sa, sb] = sumRows2(a, b);
      expect(await sa.read()).toEqual(await E.sum(a, 0).read()); // same order of additions
      expect(await sb.read()).toEqual(await E.sum(b, 0).read());
      expectClose(await sb.read(), sumRef(await b.read(), [R, n2], [0]).data, { rtol: 1e-5, atol: 1e-5 }, `${R}×${n2}`);
      for (const t of [a, b, sa, sb]) t.dispose();
    }
    expect(() => sumRows2(E.zeros(e, [2, 3]), E.zeros(e, [3, 3]))).toThrow(E.ShapeError);
  });
});
