/**
 * Pooling against the float64 CPU reference: forward, and backward against
 * central finite differences of the reference (max pooling: values are kept
 * apart so no window has a near-tie the step could flip).
 */
import { describe, expect, it } from 'vitest';
import {
  adaptiveAvgPool2d,
  avgPool2d,
  backward,
  fromTypedArray,
  globalAvgPool2d,
  maxPool2d,
  ShapeError,
} from '../../src-engine/index.ts';
import { checkForwardBackward, expectClose, getEngine, randArray, sizeOf } from './helpers.ts';
import { adaptiveAvgPoolRef, avgPoolRef, maxPoolRef, poolOutSize, type PoolRefOpts } from './reference/pool.ts';

const FWD = { rtol: 1e-6, atol: 1e-6 };
const BWD = { rtol: 1e-4, atol: 1e-5 };

/** Distinct values (a shuffled grid with gaps of 0.01): max pooling has no ties. */
function distinct(n: number, seed: number, lo = -1): Float32Array {
  const r = randArray(n, seed);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => r[a] - r[b]);
  const out = new Float32Array(n);
  order.forEach((idx, rank) => (out[idx] = lo + rank * 0.01));
  return out;
}

const pair = (v: number | [number, number] | undefined): [number, number] | undefined =>
  v === undefined ? undefined : typeof v === 'number' ? [v, v] : v;

describe('maxPool2d', () => {
  const cases: Array<{ name: string; x: [number, number, number, number]; o: { kernel: number | [number, number]; stride?: number | [number, number]; padding?: number | [number, number] } }> = [
    { name: '2×2 (stride = kernel)', x: [2, 3, 8, 6], o: { kernel: 2 } },
    { name: 'overlapping 3×3 stride 2, 9×9', x: [2, 2, 9, 9], o: { kernel: 3, stride: 2 } },
    { name: 'overlapping 3×3 stride 2 pad 1, odd 7×8', x: [1, 3, 7, 8], o: { kernel: 3, stride: 2, padding: 1 } },
    { name: 'non-square 2×3 kernel, stride [1, 2], pad [1, 1]', x: [2, 2, 6, 7], o: { kernel: [2, 3], stride: [1, 2], padding: [1, 1] } },
    { name: '3×3 stride 1 pad 1 (every cell in 9 windows)', x: [1, 2, 5, 5], o: { kernel: 3, stride: 1, padding: 1 } },
    // Disjoint windows (stride ≥ kernel) take the per-output scatter backward:
    { name: '2×2 on odd 7×9 (last row and column in no window)', x: [2, 3, 7, 9], o: { kernel: 2 } },
    { name: '2×2 stride 3 (gaps between windows)', x: [1, 2, 8, 8], o: { kernel: 2, stride: 3 } },
    { name: '2×2 pad 1 on 7×7 (disjoint, clipped at both borders)', x: [1, 2, 7, 7], o: { kernel: 2, padding: 1 } },
    // 2×2/2 with W even and outputs in fours: the unrolled vec2 kernels (maxpool2_fwd4 / maxpool2_bwd4).
    { name: '2×2 on 7×10 (unrolled kernels; last row in no window)', x: [4, 1, 7, 10], o: { kernel: 2 } },
  ];
  for (const c of cases) {
    it(`forward + finite differences: ${c.name}`, async () => {
      const e = await getEngine();
      const ro: PoolRefOpts = { kernel: pair(c.o.kernel)!, stride: pair(c.o.stride), padding: pair(c.o.padding) };
      await checkForwardBackward(e, {
        label: `maxPool ${c.name}`,
        inputs: [{ shape: c.x, data: distinct(sizeOf(c.x), sizeOf(c.x)) }],
        gpu: ([x]) => {
          const y = maxPool2d(x, c.o);
          expect(y.shape).toEqual([c.x[0], c.x[1], ...poolOutSize(c.x[2], c.x[3], ro)]);
          return y;
        },
        cpu: ([x]) => maxPoolRef(x, c.x, ro).y,
        fwdTol: FWD,
        bwdTol: BWD,
        eps: 1e-4,
      });
    });
  }

  it('ran the unrolled 2×2 kernels for the 2×2/2 cases with W even', async () => {
    const e = await getEngine();
    expect(e.compiledKernels()).toEqual(expect.arrayContaining(['maxpool2_fwd4', 'maxpool2_bwd4']));
  });

  it('2×2 unrolled kernels: the first maximum in scan order wins ties, NaN wins over numbers', async () => {
    const e = await getEngine();
    // Four 2×2 windows of a [1, 1, 2, 8] plane: ties at (0,1)/(1,0), all equal, a NaN at (1,1), a NaN at (0,0).
    const row0 = [1, 5, 2, 2, 0, 1, Number.NaN, 9];
    const row1 = [5, 3, 2, 2, 4, Number.NaN, 3, 9];
    const x = fromTypedArray(e, Float32Array.from([...row0, ...row1]), [1, 1, 2, 8]);
    x.requiresGrad = true;
    const y = maxPool2d(x, { kernel: 2 });
    const got = await y.read();
    expect(got[0]).toBe(5);
    expect(got[1]).toBe(2);
    expect(got.slice(2).every((v) => Number.isNaN(v))).toBe(true);
    backward(y, fromTypedArray(e, Float32Array.from([10, 20, 30, 40]), [1, 1, 1, 4]));
    // Gradient at the argmax: window 0 → (0,1), window 1 → (0,2), window 2 → (1,5), window 3 → (0,6).
    expect(Array.from(await x.grad!.read())).toEqual([0, 10, 20, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 30, 0, 0]);
  });

  it('padding counts as −∞: all-negative inputs never pool a padded zero', async () => {
    const e = await getEngine();
    const shape = [1, 2, 5, 6];
    const data = randArray(sizeOf(shape), 5, -3, -1);
    const y = maxPool2d(fromTypedArray(e, data, shape), { kernel: 3, stride: 2, padding: 1 });
    const out = await y.read();
    expect(Math.max(...out)).toBeLessThan(0);
    expectClose(out, maxPoolRef(data, shape, { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }).y, FWD, 'negative');
  });

  it('the argmax (i32) lives with the output and is freed with it', async () => {
    const e = await getEngine();
    const x = fromTypedArray(e, distinct(2 * 3 * 6 * 6, 9), [2, 3, 6, 6]);
    x.requiresGrad = true;
    const before = e.memory().liveTensors;
    const y = maxPool2d(x, { kernel: 2 });
    expect(e.memory().liveTensors).toBe(before + 2); // output + owned index tensor
    y.dispose();
    expect(e.memory().liveTensors).toBe(before);
    x.requiresGrad = false;
    const z = maxPool2d(x, { kernel: 2 }); // inference: no index kept
    expect(e.memory().liveTensors).toBe(before + 1);
    z.dispose();
    x.dispose();
  });

  it('disjoint windows: cells in no window get an exact 0 even in a recycled buffer full of NaN', async () => {
    const e = await getEngine();
    const shape = [2, 3, 9, 9];
    const n = sizeOf(shape);
    const data = distinct(n, 13);
    const x = fromTypedArray(e, data, shape);
    x.requiresGrad = true;
    const y = maxPool2d(x, { kernel: 2, stride: 3 }); // 3×3 windows of 2×2 with 1-cell gaps
    const g = randArray(y.size, 14);
    const gy = fromTypedArray(e, g, y.shape);
    // Leave NaN in a pooled buffer of the size the gradient will take.
    fromTypedArray(e, new Float32Array(n).fill(Number.NaN), shape).dispose();
    backward(y, gy);
    const { arg } = maxPoolRef(data, shape, { kernel: [2, 2], stride: [3, 3] });
    const dx = new Float64Array(n);
    const plane = 81;
    arg.forEach((a, i) => (dx[Math.floor(i / 9) * plane + a] += g[i]));
    const got = await x.grad!.read();
    expect(got.every((v) => Number.isFinite(v))).toBe(true);
    expectClose(got, dx, FWD, 'dx');
  });

  it('routes every overlapping window to its own argmax (gradient sums where windows share it)', async () => {
    const e = await getEngine();
    const shape = [1, 1, 7, 7];
    const data = distinct(49, 11);
    const x = fromTypedArray(e, data, shape);
    x.requiresGrad = true;
    const y = maxPool2d(x, { kernel: 3, stride: 2 });
    const g = randArray(y.size, 12);
    backward(y, fromTypedArray(e, g, y.shape));
    const { arg } = maxPoolRef(data, shape, { kernel: [3, 3], stride: [2, 2] });
    const dx = new Float64Array(49);
    arg.forEach((a, i) => (dx[a] += g[i]));
    expectClose(await x.grad!.read(), dx, FWD, 'dx');
  });
});

describe('avgPool2d', () => {
  const cases: Array<{ name: string; x: [number, number, number, number]; o: { kernel: number | [number, number]; stride?: number | [number, number]; padding?: number | [number, number]; countIncludePad?: boolean } }> = [
    { name: '2×2 non-overlapping', x: [2, 3, 6, 8], o: { kernel: 2 } },
    { name: '3×3 stride 2 pad 1, countIncludePad (default)', x: [2, 2, 7, 7], o: { kernel: 3, stride: 2, padding: 1 } },
    { name: '3×3 stride 2 pad 1, countIncludePad false', x: [2, 2, 7, 7], o: { kernel: 3, stride: 2, padding: 1, countIncludePad: false } },
    { name: 'non-square [3, 2], stride [2, 1], pad [1, 1], countIncludePad false', x: [1, 3, 8, 5], o: { kernel: [3, 2], stride: [2, 1], padding: [1, 1], countIncludePad: false } },
    { name: 'overlapping 3×3 stride 1, odd 5×7', x: [1, 2, 5, 7], o: { kernel: 3, stride: 1 } },
  ];
  for (const c of cases) {
    it(`forward + finite differences: ${c.name}`, async () => {
      const e = await getEngine();
      const ro: PoolRefOpts = {
        kernel: pair(c.o.kernel)!,
        stride: pair(c.o.stride),
        padding: pair(c.o.padding),
        countIncludePad: c.o.countIncludePad,
      };
      await checkForwardBackward(e, {
        label: `avgPool ${c.name}`,
        inputs: [{ shape: c.x, data: randArray(sizeOf(c.x), sizeOf(c.x) + 3) }],
        gpu: ([x]) => avgPool2d(x, c.o),
        cpu: ([x]) => avgPoolRef(x, c.x, ro),
        fwdTol: FWD,
        bwdTol: BWD,
      });
    });
  }

  it('countIncludePad changes the border averages only', async () => {
    const e = await getEngine();
    const x = fromTypedArray(e, new Float32Array(16).fill(1), [1, 1, 4, 4]);
    const incl = await avgPool2d(x, { kernel: 3, stride: 1, padding: 1 }).read();
    const excl = await avgPool2d(x, { kernel: 3, stride: 1, padding: 1, countIncludePad: false }).read();
    expect(incl[0]).toBeCloseTo(4 / 9, 6); // corner: 4 real cells of 9
    expect(incl[5]).toBeCloseTo(1, 6); // interior
    expect([...excl].every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
  });
});

describe('adaptiveAvgPool2d and globalAvgPool2d', () => {
  const cases: Array<{ name: string; x: [number, number, number, number]; out: [number, number] }> = [
    { name: '7×9 → 3×4 (sizes that do not divide: overlapping bins)', x: [2, 2, 7, 9], out: [3, 4] },
    { name: '5×5 → 3×3', x: [1, 3, 5, 5], out: [3, 3] },
    { name: '4×4 → 6×5 (more outputs than inputs)', x: [1, 2, 4, 4], out: [6, 5] },
    { name: '6×8 → 2×4 (divides: plain 3×2 average)', x: [2, 1, 6, 8], out: [2, 4] },
    { name: '5×7 → 1×1', x: [2, 3, 5, 7], out: [1, 1] },
  ];
  for (const c of cases) {
    it(`adaptive forward + finite differences: ${c.name}`, async () => {
      const e = await getEngine();
      await checkForwardBackward(e, {
        label: `adaptive ${c.name}`,
        inputs: [{ shape: c.x, data: randArray(sizeOf(c.x), sizeOf(c.x) + 7) }],
        gpu: ([x]) => {
          const y = adaptiveAvgPool2d(x, c.out);
          expect(y.shape).toEqual([c.x[0], c.x[1], ...c.out]);
          return y;
        },
        cpu: ([x]) => adaptiveAvgPoolRef(x, c.x, c.out[0], c.out[1]),
        fwdTol: FWD,
        bwdTol: BWD,
      });
    });
  }

  it('a single number means a square output', async () => {
    const e = await getEngine();
    const data = randArray(2 * 10 * 10, 3);
    const y = adaptiveAvgPool2d(fromTypedArray(e, data, [1, 2, 10, 10]), 3);
    expect(y.shape).toEqual([1, 2, 3, 3]);
    expectClose(await y.read(), adaptiveAvgPoolRef(data, [1, 2, 10, 10], 3, 3), FWD, 'square');
  });

  it('global average pooling gives [N, C, 1, 1], forward + finite differences', async () => {
    const e = await getEngine();
    const shape = [3, 4, 5, 7];
    await checkForwardBackward(e, {
      label: 'global',
      inputs: [{ shape, data: randArray(sizeOf(shape), 17) }],
      gpu: ([x]) => {
        const y = globalAvgPool2d(x);
        expect(y.shape).toEqual([3, 4, 1, 1]);
        return y;
      },
      cpu: ([x]) => adaptiveAvgPoolRef(x, shape, 1, 1),
      fwdTol: { rtol: 1e-5, atol: 1e-6 },
      bwdTol: BWD,
    });
  });
});

describe('pooling dispatch folding and errors', () => {
  it('folds dispatches past a lowered workgroup limit (4 per dimension), forward and backward', async () => {
    const e = await getEngine();
    const limits = e.limits as { maxWorkgroupsPerDimension: number };
    const keep = limits.maxWorkgroupsPerDimension;
    const shape = [2, 3, 20, 22]; // 2640 cells: 11 workgroups of 256 → a 4 × 3 grid
    const data = distinct(sizeOf(shape), 23);
    limits.maxWorkgroupsPerDimension = 4;
    try {
      for (const [name, f, ref] of [
        ['max', (x: Parameters<typeof maxPool2d>[0]) => maxPool2d(x, { kernel: 1 }), maxPoolRef(data, shape, { kernel: [1, 1] }).y],
        ['avg', (x: Parameters<typeof maxPool2d>[0]) => avgPool2d(x, { kernel: 1 }), avgPoolRef(data, shape, { kernel: [1, 1] })],
      ] as const) {
        const x = fromTypedArray(e, data, shape);
        x.requiresGrad = true;
        const y = f(x);
        expectClose(await y.read(), ref, FWD, `${name} folded forward`);
        const g = randArray(y.size, 24);
        backward(y, fromTypedArray(e, g, y.shape));
        expectClose(await x.grad!.read(), g, FWD, `${name} folded backward`); // 1×1 pooling: identity
        x.dispose();
        y.dispose();
      }
    } finally {
      limits.maxWorkgroupsPerDimension = keep;
    }
  });

  it('rejects bad ranks, padding over half the kernel, and windows larger than the input', async () => {
    const e = await getEngine();
    const x3 = fromTypedArray(e, new Float32Array(12), [1, 3, 4]);
    expect(() => maxPool2d(x3, { kernel: 2 })).toThrow(ShapeError);
    expect(() => globalAvgPool2d(x3)).toThrow(/\[1, 3, 4\]/);
    const x = fromTypedArray(e, new Float32Array(32), [1, 2, 4, 4]);
    expect(() => maxPool2d(x, { kernel: 2, padding: 2 })).toThrow(/half the kernel/);
    expect(() => avgPool2d(x, { kernel: 5 })).toThrow(/does not fit/);
    expect(() => adaptiveAvgPool2d(x, [0, 2])).toThrow(ShapeError);
    x3.dispose();
    x.dispose();
  });
});
