/**
 * conv2dReluPool (ops/conv-pool.ts) against conv2d(…, relu) → maxPool2d: the
 * same pooled values and the same gradients of x, w and b bit for bit —
 * odd planes (last row and column in no window), channels whose windows
 * are all zero (negative bias), strides, groups, LeNet-5's two layers — in
 * one dispatch fewer (and on lavapipe no scatter of the pool's gradient:
 * the conv's backward kernels read it with the argmax), and the fallback
 * where the direct kernel does not run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backward, CONV_FLAGS, conv2d, conv2dReluPool, type Engine, fromTypedArray, maxPool2d, type Tensor } from '../../src-engine/index.ts';
import { getEngine, randArray, sizeOf } from './helpers.ts';

interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  opt: { stride?: number; padding?: number; groups?: number };
}

const CASES: Case[] = [
  { name: 'LeNet-5 conv1: 1→6, 28×28, k5 pad 2', x: [4, 1, 28, 28], w: [6, 1, 5, 5], opt: { padding: 2 } },
  { name: 'LeNet-5 conv2: 6→16, 14×14, k5', x: [3, 6, 14, 14], w: [16, 6, 5, 5], opt: {} },
  { name: 'odd 9×11 output (last row and column pooled by none)', x: [2, 3, 9, 11], w: [5, 3, 3, 3], opt: { padding: 1 } },
  { name: 'stride 2, groups 2', x: [2, 4, 13, 13], w: [6, 2, 3, 3], opt: { stride: 2, groups: 2 } },
  // One input channel at stride 1: the sliding-window kernel (conv-wgsl.ts windowLoop) on pairs of pooled outputs.
  { name: 'one channel, odd pooled width 5 (a pair with one output), 3×3 pad 1', x: [3, 1, 9, 11], w: [5, 1, 3, 3], opt: { padding: 1 } },
  { name: 'one channel, 7×7 pad 3 on 12×10, 20 output channels (two row tiles)', x: [2, 1, 12, 10], w: [20, 1, 7, 7], opt: { padding: 3 } },
];

interface Out {
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
  db: Float32Array;
  dispatches: number;
}

async function run(e: Engine, c: Case, fused: boolean): Promise<Out> {
  const x = fromTypedArray(e, randArray(sizeOf(c.x), 1), c.x);
  const w = fromTypedArray(e, randArray(sizeOf(c.w), 2, -0.5, 0.5), c.w);
  // Every other channel with a bias of −100 (|w·x| ≤ 75 here): all its pre-activations negative, its windows all 0.
  const b = fromTypedArray(e, Float32Array.from({ length: c.w[0] }, (_, i) => (i % 2 ? -100 : 0.1)), [c.w[0]]);
  x.requiresGrad = w.requiresGrad = b.requiresGrad = true;
  const made: Tensor[] = [];
  try {
    const before = e.memory().dispatches;
    let y: Tensor;
    if (fused) y = conv2dReluPool(x, w, b, c.opt);
    else {
      const h = conv2d(x, w, b, { ...c.opt, activation: 'relu' });
      made.push(h);
      y = maxPool2d(h, { kernel: 2 });
    }
    const dispatches = e.memory().dispatches - before;
    made.push(y);
    const g = fromTypedArray(e, randArray(y.size, 3), y.shape);
    made.push(g);
    backward(y, g);
    return { y: await y.read(), dx: await x.grad!.read(), dw: await w.grad!.read(), db: await b.grad!.read(), dispatches };
  } finally {
    for (const t of [x, w, b, ...made]) t.dispose();
  }
}

describe('conv2dReluPool', () => {
  for (const c of CASES) {
    it(`${c.name}: equals conv2d(relu) → maxPool2d bit for bit, one dispatch fewer`, async () => {
      const e = await getEngine();
      const fused = await run(e, c, true);
      const plain = await run(e, c, false);
      expect(fused.y).toEqual(plain.y);
      expect(fused.dx).toEqual(plain.dx);
      expect(fused.dw).toEqual(plain.dw);
      expect(fused.db).toEqual(plain.db);
      expect(fused.db[1]).toBe(0); // a channel whose windows are all zero gets no gradient
      expect(fused.y.some((v) => v > 0)).toBe(true);
      expect(fused.dispatches).toBe(plain.dispatches - 1);
    });
  }

  it('ran the pooled forward kernel, and its sliding-window form for one input channel', async () => {
    const e = await getEngine();
    expect(e.compiledKernels().some((k) => /^convd_fwd_.*_pool2$/.test(k))).toBe(true);
    expect(e.compiledKernels().some((k) => /^convd_fwd_.*_pool2_win$/.test(k))).toBe(true);
  });

  it('read the pool gradient and argmax in place of dz in its backward on lavapipe (no scatter pass)', async () => {
    const e = await getEngine();
    const pooled = e.compiledKernels().filter((k) => k.endsWith('_pooled'));
    if (e.isLavapipe) expect(pooled).toEqual(expect.arrayContaining(['conv_dwb_4x5x5_pooled', 'conv_dxr_3x5x14x10x0x2_pooled']));
    else expect(pooled).toEqual([]); // the by-blocks / by-rows kernels are lavapipe-only
  });

  describe('where the direct kernel does not run (many channels on a GPU): plain conv2d → maxPool2d', () => {
    const keep = { ...CONV_FLAGS.directMaxM };
    beforeAll(() => {
      CONV_FLAGS.directMaxM.software = 0;
      CONV_FLAGS.directMaxM.gpu = 0;
    });
    afterAll(() => Object.assign(CONV_FLAGS.directMaxM, keep));
    it('gives the same values and gradients', async () => {
      const e = await getEngine();
      const c = CASES[1];
      const fused = await run(e, c, true);
      const plain = await run(e, c, false);
      expect(fused.y).toEqual(plain.y);
      expect(fused.dw).toEqual(plain.dw);
      expect(fused.dispatches).toBe(plain.dispatches);
    });
  });
});
