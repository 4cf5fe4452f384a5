/**
 * clipGradNorm / gradNorms against float64 norms: nine gradients (more than
 * one binding group of four, one larger than a sumsq workgroup's grid-stride
 * span), parameters without gradients, small gradients left bit-identical,
 * no submit (hence no readback) while recording, the dispatch counts, and an
 * optimizer with `clipNorm` against the reference fed clipped gradients.
 * Tolerance 1e-5 relative: f32 sums of up to 7·10⁴ squares.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';
import { expectClose, getEngine, randArray } from './helpers.ts';
import { clipRef, RefOptimizer } from './reference/optim.ts';

const TOL = { rtol: 1e-5, atol: 1e-6 };
const SHAPES = [[7], [3, 5], [70_000], [1], [4, 4, 2], [300], [2, 3], [17], [5, 129]];

interface Setup {
  params: E.Tensor[];
  grads: Float64Array[]; // per param (empty when it has no gradient)
}

async function setup(withGrad: (k: number) => boolean, scale = 1): Promise<Setup> {
  const engine = await getEngine();
  const params: E.Tensor[] = [];
  const grads: Float64Array[] = [];
  SHAPES.forEach((shape, k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const p = E.fromTypedArray(engine, randArray(n, 50 + k), shape).keep();
    if (withGrad(k)) {
      const g = randArray(n, 80 + k).map((v) => v * scale * (k + 1));
      p.grad = E.fromTypedArray(engine, g, shape).keep();
      grads.push(Float64Array.from(g));
    } else grads.push(new Float64Array(0));
    params.push(p);
  });
  return { params, grads };
}

const dispose = (s: Setup): void => s.params.forEach((p) => p.dispose());

describe('clipGradNorm', () => {
  it('scales every gradient by maxNorm / norm when the norm is larger, without submitting', async () => {
    const engine = await getEngine();
    const s = await setup(() => true);
    const { norm } = clipRef(s.grads, Infinity);
    const maxNorm = norm / 3;
    const before = engine.memory();
    const total = E.clipGradNorm(s.params, maxNorm);
    const after = engine.memory();
    expect(after.submits, 'submits while clipping').toBe(before.submits);
    // ⌈9/4⌉ sumsq + 1 finish + ⌈9/4⌉ scale.
    expect(after.dispatches - before.dispatches).toBe(3 + 1 + 3);
    expect(total.shape).toEqual([]);
    expectClose([await total.item()], [norm], TOL, 'total norm');
    const coef = maxNorm / (norm + 1e-6);
    for (let k = 0; k < s.params.length; k++) {
      expectClose(await s.params[k].grad!.read(), s.grads[k].map((v) => v * coef), TOL, `grad ${k}`);
    }
    // The clipped gradients now have (almost exactly) norm maxNorm.
    const again = E.gradNorms(s.params);
    const n2 = Math.hypot(...(await again.read()));
    expect(Math.abs(n2 - maxNorm) / maxNorm).toBeLessThan(1e-5);
    for (const t of [total, again]) t.dispose();
    dispose(s);
  });

  it('leaves gradients with a smaller norm bit-identical', async () => {
    const s = await setup(() => true, 1e-3);
    const { norm } = clipRef(s.grads, Infinity);
    const before = await Promise.all(s.params.map((p) => p.grad!.read()));
    const total = E.clipGradNorm(s.params, norm * 1.01);
    expectClose([await total.item()], [norm], TOL, 'total norm');
    for (let k = 0; k < s.params.length; k++) expect(await s.params[k].grad!.read()).toEqual(before[k]);
    total.dispose();
    dispose(s);
  });

  it('skips parameters without a gradient (Map input too)', async () => {
    const has = (k: number): boolean => k % 3 !== 1;
    const s = await setup(has);
    const present = s.grads.filter((_, k) => has(k));
    const { norm, coef } = clipRef(present, 1);
    const total = E.clipGradNorm(new Map(s.params.map((p, k) => [`p${k}`, p])), 1);
    expectClose([await total.item()], [norm], TOL, 'total norm');
    expect(coef).toBeLessThan(1);
    for (let k = 0; k < s.params.length; k++) {
      if (!has(k)) expect(s.params[k].grad).toBeNull();
      else expectClose(await s.params[k].grad!.read(), s.grads[k].map((v) => v * coef), TOL, `grad ${k}`);
    }
    total.dispose();
    dispose(s);
  });

  it('returns 0 when no parameter has a gradient; rejects a bad maxNorm', async () => {
    const s = await setup(() => false);
    const total = E.clipGradNorm(s.params, 1);
    expect(await total.item()).toBe(0);
    total.dispose();
    expect(() => E.clipGradNorm(s.params, 0)).toThrow(/maxNorm/);
    expect(() => E.clipGradNorm(s.params, Number.NaN)).toThrow(/maxNorm/);
    expect(() => E.clipGradNorm([], 1)).toThrow(/no parameters/);
    dispose(s);
  });
});

describe('gradNorms', () => {
  it('per-parameter L2 norms in ⌈P/4⌉ + 1 dispatches, no submit', async () => {
    const engine = await getEngine();
    const s = await setup(() => true);
    const before = engine.memory();
    const norms = E.gradNorms(s.params);
    const after = engine.memory();
    expect(after.submits).toBe(before.submits);
    expect(after.dispatches - before.dispatches).toBe(Math.ceil(SHAPES.length / 4) + 1);
    expect(norms.shape).toEqual([SHAPES.length]);
    expectClose(await norms.read(), clipRef(s.grads, 1).norms, TOL, 'norms');
    norms.dispose();
    dispose(s);
  });

  it('gives 0 for parameters without a gradient', async () => {
    const has = (k: number): boolean => k !== 0 && k !== 4;
    const s = await setup(has);
    const norms = E.gradNorms(s.params);
    const expected = clipRef(s.grads, 1).norms.map((v, k) => (has(k) ? v : 0));
    expectClose(await norms.read(), expected, TOL, 'norms');
    norms.dispose();
    dispose(s);
  });
});

describe('optimizer with clipNorm', () => {
  it('clips before the update (= reference fed clipped gradients) and exposes the norm', async () => {
    const engine = await getEngine();
    const s = await setup(() => true);
    const params = new Map(s.params.map((p, k) => [`p${k}`, p]));
    const init = new Map<string, Float64Array>();
    for (const [n, p] of params) init.set(n, Float64Array.from(await p.read()));
    const cfg = E.parseOptimizerConfig({ type: 'sgd', lr: 0.1, momentum: 0.9, clipNorm: 1 });
    const opt = E.createOptimizer(engine, params, cfg);
    const ref = new RefOptimizer(cfg, init);
    const before = engine.memory();
    opt.step(0.1);
    expect(engine.memory().submits).toBe(before.submits);
    const { norm, coef } = clipRef(s.grads, 1);
    ref.step(0.1, new Map(s.grads.map((g, k) => [`p${k}`, g.map((v) => v * coef)])));
    expectClose([await opt.lastGradNorm!.item()], [norm], TOL, 'lastGradNorm');
    for (const [n, p] of params) expectClose(await p.read(), ref.params.get(n)!, TOL, n);
    opt.dispose();
    dispose(s);
  });
});
