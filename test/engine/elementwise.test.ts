/**
 * Elementwise ops: forward against the broadcasting CPU reference, backward
 * against float64 central differences of it (gradients summed over
 * broadcast axes). Tolerances: forward rtol 1e-5 (one f32 rounding, a few
 * ulps for exp/log/pow); backward rtol 1e-3 / atol 1e-4 (f32 gradient vs
 * f64 finite differences).
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';
import type { Tensor } from '../../src-engine/index.ts';
import { checkForwardBackward, expectClose, getEngine, randArray, randAwayFromZero, sizeOf } from './helpers.ts';
import { mapBroadcast } from './reference/elementwise.ts';

const FWD = { rtol: 1e-5, atol: 1e-6 };
const BWD = { rtol: 1e-3, atol: 1e-4 };

type Bin = (a: Tensor, b: Tensor) => Tensor;
const binaries: Array<[string, Bin, (a: number, b: number) => number, 'any' | 'positive']> = [
  ['add', E.add, (a, b) => a + b, 'any'],
  ['sub', E.sub, (a, b) => a - b, 'any'],
  ['mul', E.mul, (a, b) => a * b, 'any'],
  ['div', E.div, (a, b) => a / b, 'positive'],
  ['pow', E.pow, (a, b) => a ** b, 'positive'],
  ['maximum', E.maximum, Math.max, 'any'],
  ['minimum', E.minimum, Math.min, 'any'],
];
const shapePairs: Array<[number[], number[]]> = [
  [[3, 4], [3, 4]],
  [[2, 3, 4], [4]],
  [[2, 1, 4], [3, 1]],
  [[1], [2, 5]],
  [[5, 1, 3], [1, 2, 1]],
];

describe('binary ops with broadcasting', () => {
  for (const [name, op, ref, domain] of binaries) {
    for (const [sa, sb] of shapePairs) {
      it(`${name} [${sa}] ⊕ [${sb}] forward and backward`, async () => {
        const e = await getEngine();
        const gen = (n: number, seed: number): Float32Array =>
          domain === 'positive' ? randArray(n, seed, 0.5, 2) : randAwayFromZero(n, seed, 0.05);
        await checkForwardBackward(e, {
          label: `${name} [${sa}] [${sb}]`,
          inputs: [
            { shape: sa, data: gen(sizeOf(sa), 1) },
            { shape: sb, data: gen(sizeOf(sb), 2) },
          ],
          gpu: ([a, b]) => op(a, b),
          cpu: ([a, b]) => mapBroadcast([{ shape: sa, data: a }, { shape: sb, data: b }], ref).data,
          fwdTol: FWD,
          bwdTol: BWD,
        });
      });
    }
  }

  it('maximum splits the gradient evenly on ties (as PyTorch)', async () => {
    const e = await getEngine();
    const a = E.fromArray(e, [1, 2, 3]);
    const b = E.fromArray(e, [1, 5, 0]);
    a.requiresGrad = b.requiresGrad = true;
    E.backward(E.sum(E.maximum(a, b)));
    expect(Array.from(await a.grad!.read())).toEqual([0.5, 0, 1]);
    expect(Array.from(await b.grad!.read())).toEqual([0.5, 1, 0]);
  });

  it('broadcasts along a dimension of 2²⁴ + 5 (past the integers f32 holds exactly: index math must stay integer)', async () => {
    const e = await getEngine();
    const n = 2 ** 24 + 5;
    const a = E.fromTypedArray(e, Float32Array.from({ length: n }, (_, i) => i % 1000), [n]);
    const b = E.fromTypedArray(e, new Float32Array([0.5]), [1]);
    const y = await E.add(a, b).read();
    for (const i of [0, 1, 999, 2 ** 24 - 1, 2 ** 24, n - 1]) expect(y[i]).toBe((i % 1000) + 0.5);
    a.dispose();
    b.dispose();
  });

  it('elementwise maps give the same values with four outputs per invocation (size % 4 = 0) and one (odd size), for f32 and i32 results', async () => {
    const e = await getEngine();
    const { mapN } = await import('../../src-engine/ops/map.ts');
    for (const n of [12, 13]) {
      const a = randArray(n, n);
      const b = randArray(n, n + 1);
      const at = E.fromTypedArray(e, a, [n]);
      const bt = E.fromTypedArray(e, b, [n]);
      const s = E.fromTypedArray(e, new Float32Array([0.25]), [1]);
      const y = mapN(e, 'a * b + c + s.x', [at, bt, s], [n], { scalars: [2] });
      expectClose(await y.read(), Float64Array.from(a, (v, i) => v * b[i] + 0.25 + 2), { rtol: 1e-6, atol: 1e-6 }, `f32 n=${n}`);
      const k = mapN(e, 'select(-1, 1, a > b)', [at, bt], [n], { dtype: 'i32' });
      expect(Array.from(await k.readRaw())).toEqual(Array.from(a, (v, i) => (v > b[i] ? 1 : -1)));
      for (const t of [at, bt, s, y, k]) t.dispose();
    }
    expect(e.compiledKernels()).toEqual(expect.arrayContaining(['map', 'map_v4']));
  });

  it('rejects shapes that do not broadcast, naming the op and both shapes', async () => {
    const e = await getEngine();
    expect(() => E.add(E.zeros(e, [2, 3]), E.zeros(e, [4]))).toThrow(/add.*\[2, 3\].*\[4\]/);
  });
});

type Un = (x: Tensor) => Tensor;
const unaries: Array<[string, Un, (x: number) => number, 'any' | 'positive']> = [
  ['neg', E.neg, (x) => -x, 'any'],
  ['exp', E.exp, Math.exp, 'any'],
  ['log', E.log, Math.log, 'positive'],
  ['sqrt', E.sqrt, Math.sqrt, 'positive'],
  ['abs', E.abs, Math.abs, 'any'],
  ['square', E.square, (x) => x * x, 'any'],
  ['reciprocal', E.reciprocal, (x) => 1 / x, 'positive'],
  ['clamp(-0.5, 0.3)', (x) => E.clamp(x, -0.5, 0.3), (x) => Math.min(Math.max(x, -0.5), 0.3), 'any'],
  ['pow 3 (negative base)', (x) => E.powScalar(x, 3), (x) => x ** 3, 'any'],
  ['pow 2.5', (x) => E.powScalar(x, 2.5), (x) => x ** 2.5, 'positive'],
  ['pow -2 (negative base)', (x) => E.powScalar(x, -2), (x) => x ** -2, 'any'],
  ['addScalar', (x) => E.addScalar(x, 1.5), (x) => x + 1.5, 'any'],
  ['subScalar', (x) => E.subScalar(x, 1.5), (x) => x - 1.5, 'any'],
  ['mulScalar', (x) => E.mulScalar(x, -3), (x) => -3 * x, 'any'],
  ['divScalar', (x) => E.divScalar(x, 4), (x) => x / 4, 'any'],
  ['rsubScalar', (x) => E.rsubScalar(x, 2), (x) => 2 - x, 'any'],
  ['rdivScalar', (x) => E.rdivScalar(x, 2), (x) => 2 / x, 'positive'],
  ['maximum with scalar', (x) => E.maximum(x, 0.1), (x) => Math.max(x, 0.1), 'any'],
];

describe('unary and scalar ops', () => {
  for (const [name, op, ref, domain] of unaries) {
    it(`${name} forward and backward`, async () => {
      const e = await getEngine();
      const shape = [3, 7];
      // Keep clear of kinks (abs at 0, clamp bounds, maximum at 0.1).
      let data = domain === 'positive' ? randArray(21, 3, 0.3, 2) : randAwayFromZero(21, 3, 0.15, 1.5);
      if (name.startsWith('clamp')) data = data.map((v) => (Math.abs(v + 0.5) < 0.05 || Math.abs(v - 0.3) < 0.05 ? v + 0.11 : v));
      await checkForwardBackward(e, {
        label: name,
        inputs: [{ shape, data }],
        gpu: ([x]) => op(x),
        cpu: ([x]) => x.map(ref),
        fwdTol: { rtol: 2e-6 * 10, atol: 1e-6 },
        bwdTol: BWD,
      });
    });
  }

  it('x⁰ is 1 even at 0, and integer powers keep the sign of negative bases', async () => {
    const e = await getEngine();
    const x = E.fromArray(e, [-2, 0, 3]);
    expect(Array.from(await E.powScalar(x, 0).read())).toEqual([1, 1, 1]);
    expectClose(await E.powScalar(x, 3).read(), [-8, 0, 27], FWD, 'cube');
  });
});

describe('where, comparisons, cast', () => {
  it('where(mask) selects with broadcasting and routes gradients by the mask', async () => {
    const e = await getEngine();
    const cond = new Float32Array([1, 0, 0, 1]);
    await checkForwardBackward(e, {
      label: 'where',
      inputs: [
        { shape: [3, 4], data: randArray(12, 4) },
        { shape: [1, 4], data: randArray(4, 5) },
      ],
      gpu: ([a, b]) => E.where(E.fromTypedArray(e, cond, [4]), a, b),
      cpu: ([a, b]) =>
        mapBroadcast([{ shape: [4], data: cond }, { shape: [3, 4], data: a }, { shape: [1, 4], data: b }], (c, x, y) => (c ? x : y)).data,
      fwdTol: FWD,
      bwdTol: BWD,
    });
  });

  it('comparisons give 0/1 float masks; cast converts dtypes', async () => {
    const e = await getEngine();
    const a = E.fromArray(e, [1, 2, 3, 4]);
    expect(Array.from(await E.greater(a, 2).read())).toEqual([0, 0, 1, 1]);
    expect(Array.from(await E.lessEqual(a, E.fromArray(e, [2, 2, 2, 2])).read())).toEqual([1, 1, 0, 0]);
    expect(Array.from(await E.equal(a, 3).read())).toEqual([0, 0, 1, 0]);
    const i = E.cast(E.fromArray(e, [1.7, -2.2, 3]), 'i32');
    expect(i.dtype).toBe('i32');
    expect(Array.from(await i.readRaw())).toEqual([1, -2, 3]);
    expect(Array.from(await E.cast(i, 'f32').read())).toEqual([1, -2, 3]);
  });

  it('a 3-input broadcast over rank 6 matches the reference', async () => {
    const e = await getEngine();
    const sa = [2, 1, 3, 1, 2, 2];
    const sb = [3, 4, 1, 2];
    const a = randArray(sizeOf(sa), 6);
    const b = randArray(sizeOf(sb), 7);
    const out = E.mul(E.fromTypedArray(e, a, sa), E.fromTypedArray(e, b, sb));
    expectClose(await out.read(), mapBroadcast([{ shape: sa, data: a }, { shape: sb, data: b }], (x, y) => x * y).data, FWD, 'rank 6');
  });
});
