/** Dropout (seeded masks, inverted scaling, backward reuses the mask) and initialisers (PyTorch bounds and moments). */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';
import { checkForwardBackward, getEngine, randArray } from './helpers.ts';
import { philox4x32_10 } from './reference/philox.ts';

describe('dropout', () => {
  it('zeroes about p of the elements, scales the rest by 1/(1−p), and the gradient uses the same mask', async () => {
    const e = await getEngine();
    const n = 40_000;
    const x = E.full(e, [n], 2);
    x.requiresGrad = true;
    const y = E.dropout(x, 0.3, { seed: 5 });
    E.backward(y);
    const yv = await y.read();
    const gv = await x.grad!.read();
    let zeros = 0;
    for (let i = 0; i < n; i++) {
      if (yv[i] === 0) {
        zeros++;
        expect(gv[i]).toBe(0);
      } else {
        expect(yv[i]).toBeCloseTo(2 / 0.7, 5);
        expect(gv[i]).toBeCloseTo(1 / 0.7, 5);
      }
    }
    expect(Math.abs(zeros / n - 0.3)).toBeLessThan(0.01);
  });

  it('matches a CPU reference built from the CPU Philox mask, forward and finite-difference backward', async () => {
    const e = await getEngine();
    const [p, seed, n] = [0.4, 123, 37];
    const keep = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const word = philox4x32_10([Math.floor(i / 4), 0, 0, 0], [seed, 0])[i % 4];
      keep[i] = (word >>> 8) / 16777216 >= p ? 1 / (1 - p) : 0;
    }
    await checkForwardBackward(e, {
      label: 'dropout',
      inputs: [{ shape: [n], data: randArray(n, 3) }],
      gpu: ([x]) => E.dropout(x, p, { seed }),
      cpu: ([x]) => x.map((v, i) => v * keep[i]),
      fwdTol: { rtol: 1e-6, atol: 0 },
      bwdTol: { rtol: 1e-4, atol: 1e-5 },
    });
  });

  it('same seed → same mask; inference returns x unchanged', async () => {
    const e = await getEngine();
    const x = E.randNormal(e, [1000], { seed: 1 });
    const a = await E.dropout(x, 0.5, { seed: 9 }).readRaw();
    const b = await E.dropout(x, 0.5, { seed: 9 }).readRaw();
    const c = await E.dropout(x, 0.5, { seed: 10 }).readRaw();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(E.dropout(x, 0.5, { training: false })).toBe(x);
    expect(Array.from(await E.dropout(x, 1, { seed: 1 }).read()).every((v) => v === 0)).toBe(true);
  });
});

describe('initialisers', () => {
  const stats = (v: Float32Array): { mean: number; std: number; lo: number; hi: number } => {
    let s = 0, s2 = 0, lo = Infinity, hi = -Infinity;
    for (const x of v) { s += x; s2 += x * x; lo = Math.min(lo, x); hi = Math.max(hi, x); }
    const mean = s / v.length;
    return { mean, std: Math.sqrt(s2 / v.length - mean * mean), lo, hi };
  };

  it('fan in/out follow PyTorch for linear and conv weights; gains match calculate_gain', () => {
    expect(E.fans([300, 100])).toEqual([100, 300]);
    expect(E.fans([64, 3, 5, 5])).toEqual([75, 1600]);
    expect(E.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(E.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(E.calculateGain('leakyRelu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04), 12);
  });

  it('Xavier/Glorot uniform and normal have the right bound and std', async () => {
    const e = await getEngine();
    const shape = [256, 512];
    const u = stats(await E.xavierUniform(e, shape, { seed: 1 }).read());
    const a = Math.sqrt(6 / (256 + 512));
    expect(u.lo).toBeGreaterThanOrEqual(-a);
    expect(u.hi).toBeLessThanOrEqual(a);
    expect(u.std).toBeCloseTo(a / Math.sqrt(3), 3);
    const nrm = stats(await E.xavierNormal(e, shape, { seed: 2, gain: 2 }).read());
    expect(Math.abs(nrm.std / (2 * Math.sqrt(2 / 768)) - 1)).toBeLessThan(0.01);
    expect(Math.abs(nrm.mean)).toBeLessThan(0.002);
  });

  it('He/Kaiming uniform and normal (fan_in, relu gain) have the right bound and std', async () => {
    const e = await getEngine();
    const shape = [128, 64, 3, 3]; // fan_in = 576
    const std = Math.SQRT2 / Math.sqrt(576);
    const u = stats(await E.kaimingUniform(e, shape, { seed: 3, nonlinearity: 'relu' }).read());
    expect(u.hi).toBeLessThanOrEqual(Math.sqrt(3) * std);
    expect(u.lo).toBeGreaterThanOrEqual(-Math.sqrt(3) * std);
    expect(Math.abs(u.std / std - 1)).toBeLessThan(0.01);
    const nrm = stats(await E.kaimingNormal(e, shape, { seed: 4, nonlinearity: 'relu', mode: 'fanOut' }).read());
    expect(Math.abs(nrm.std / (Math.SQRT2 / Math.sqrt(128 * 9)) - 1)).toBeLessThan(0.01);
  });

  it('zeros and constant; same seed gives the same weights', async () => {
    const e = await getEngine();
    expect(Array.from(await E.zerosInit(e, [3]).read())).toEqual([0, 0, 0]);
    expect(Array.from(await E.constantInit(e, [2], 0.25).read())).toEqual([0.25, 0.25]);
    const a = await E.kaimingNormal(e, [10, 10], { seed: 77 }).readRaw();
    const b = await E.kaimingNormal(e, [10, 10], { seed: 77 }).readRaw();
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});
