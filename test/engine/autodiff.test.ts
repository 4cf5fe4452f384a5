/** The tape: accumulation, shared subexpressions, noGrad, detach, grad() w.r.t. inputs, multi-output nodes, tidy + backward. */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';
import { expectClose, getEngine } from './helpers.ts';

const close = { rtol: 1e-6, atol: 1e-7 };

describe('autodiff', () => {
  it('backward accumulates into .grad across calls; zeroGrad clears it', async () => {
    const e = await getEngine();
    const x = E.fromArray(e, [1, 2, 3]);
    x.requiresGrad = true;
    const y = E.sum(E.mul(x, x)); // Σ x², dy/dx = 2x
    E.backward(y);
    expectClose(await x.grad!.read(), [2, 4, 6], close, 'first');
    E.backward(y);
    expectClose(await x.grad!.read(), [4, 8, 12], close, 'accumulated');
    E.zeroGrad([x]);
    expect(x.grad).toBeNull();
  });

  it('sums the gradients of a tensor used twice, four at a time when the size allows', async () => {
    const e = await getEngine();
    for (const n of [8, 6]) {
      const xs = Array.from({ length: n }, (_, i) => i - 2.5);
      const x = E.fromArray(e, xs);
      x.requiresGrad = true;
      // y = Σ 3x + Σ x²: two gradient contributions for x, summed by the tape → 3 + 2x.
      E.backward(E.add(E.sum(E.mulScalar(x, 3)), E.sum(E.mul(x, x))));
      expectClose(await x.grad!.read(), xs.map((v) => 3 + 2 * v), close, `n = ${n}`);
    }
    expect(e.compiledKernels()).toEqual(expect.arrayContaining(['tape.add_same4', 'tape.add_same']));
  });

  it('handles shared subexpressions and inputs used twice (x + x, x·x + x)', async () => {
    const e = await getEngine();
    const x = E.fromArray(e, [0.5, -1, 2]);
    x.requiresGrad = true;
    const a = E.add(x, x);
    const y = E.add(E.mul(a, x), x); // 2x² + x → 4x + 1
    E.backward(E.sum(y));
    expectClose(await x.grad!.read(), [3, -3, 9], close, 'diamond');
  });

  it('two leaves fed the same pass-through gradient get independent buffers', async () => {
    const e = await getEngine();
    const a = E.fromArray(e, [1, 2]);
    const b = E.fromArray(e, [3, 4]);
    a.requiresGrad = b.requiresGrad = true;
    E.backward(E.sum(E.add(a, b)));
    expect(a.grad!.buffer).not.toBe(b.grad!.buffer);
    a.grad!.dispose();
    expectClose(await b.grad!.read(), [1, 1], close, 'b survives');
  });

  it('noGrad records nothing; detach stops the gradient', async () => {
    const e = await getEngine();
    const x = E.fromArray(e, [1, 2]);
    x.requiresGrad = true;
    const y = E.noGrad(() => E.mul(x, x));
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    const z = E.add(E.mul(x.detach(), x), x); // d/dx = detached x + 1
    E.backward(E.sum(z));
    expectClose(await x.grad!.read(), [2, 3], close, 'detach');
  });

  it('grad(outputs, inputs) returns gradients w.r.t. leaves and intermediates without touching .grad', async () => {
    const e = await getEngine();
    const x = E.fromArray(e, [1, 2, 3]);
    const w = E.fromArray(e, [0.5, 0.5, 0.5]);
    x.requiresGrad = w.requiresGrad = true;
    const h = E.mul(x, w); // [3]
    const y = E.sum(E.mul(h, h)); // Σ (xw)²
    const [gh, gx, unrelated] = E.grad(y, [h, x, E.fromArray(e, [9])]);
    expectClose(await gh.read(), [1, 2, 3], close, 'dy/dh = 2h');
    expectClose(await gx.read(), [0.5, 1, 1.5], close, 'dy/dx = 2h·w');
    expect(Array.from(await unrelated.read())).toEqual([0]);
    expect(x.grad).toBeNull();
    expect(w.grad).toBeNull();
  });

  it('multi-output nodes receive zeros for outputs that got no gradient', async () => {
    const e = await getEngine();
    const x = E.fromArray(e, [1, 2]);
    x.requiresGrad = true;
    // A custom op with two outputs: (2x, 3x).
    const o1 = E.mulScalar(E.noGrad(() => x), 2);
    const o2 = E.mulScalar(E.noGrad(() => x), 3);
    let seen: number[][] = [];
    E.recordMulti('twoOut', [x], [o1, o2], (gys) => {
      seen = gys.map((g) => g.shape.slice());
      return [E.add(E.mulScalar(gys[0], 2), E.mulScalar(gys[1], 3))];
    });
    E.backward(E.sum(o2)); // only the second output is used
    expect(seen).toEqual([[2], [2]]);
    expectClose(await x.grad!.read(), [3, 3], close, 'multi');
  });

  it('tidy disposes everything it created when its function throws', async () => {
    const e = await getEngine();
    const before = e.memory().liveTensors;
    expect(() =>
      E.tidy(() => {
        E.ones(e, [3]);
        E.add(E.ones(e, [2]), E.ones(e, [5]));
      }),
    ).toThrow(E.ShapeError);
    expect(e.memory().liveTensors).toBe(before);
  });

  it('a whole step inside tidy leaves only the kept results alive', async () => {
    const e = await getEngine();
    const w = E.randNormal(e, [4, 3], { seed: 1 });
    w.requiresGrad = true;
    const x = E.randNormal(e, [5, 3], { seed: 2 });
    const before = e.memory().liveTensors;
    const loss = E.tidy(() => {
      const l = E.mean(E.square(E.matmul(x, w, { transposeB: true })));
      E.backward(l);
      return l;
    });
    expect(e.memory().liveTensors).toBe(before + 2); // loss + w.grad
    expect(w.grad!.shape).toEqual([4, 3]);
    expect(await loss.item()).toBeGreaterThan(0);
  });
});
