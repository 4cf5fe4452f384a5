/**
 * conv2d(…, relu) → maxPool2d: the pool's gradient carries the ReLU's mask
 * and the conv's backward skips its own mask pass (ops/relu-mask.ts). The
 * gradients must be bit-identical to the unfused path (separate ReLU op,
 * whose output the pool does not know to be a ReLU output), including
 * windows whose maximum is exactly 0 (all-negative pre-activations), and
 * the mask must still run when the ReLU output has a second consumer.
 * Likewise linear(…, relu) → linear: the second layer's input-gradient is
 * computed masked (direct GEMM) and the first layer's backward skips the mask.
 */
import { describe, expect, it } from 'vitest';
import { add, backward, conv2d, type Engine, fromTypedArray, linear, maxPool2d, mul, relu, sum, type Tensor } from '../../src-engine/index.ts';
import { getEngine, randArray } from './helpers.ts';

/** Runs backward(loss) and returns how many map dispatches it recorded (a ReLU mask pass is one). */
function backwardCountingMaps(e: Engine, loss: Tensor): number {
  let maps = 0;
  const original = e.run.bind(e);
  e.run = (kernel, buffers, params, workgroups): void => {
    if (kernel.name.startsWith('map')) maps++;
    original(kernel, buffers, params, workgroups);
  };
  try {
    backward(loss);
  } finally {
    e.run = original;
  }
  return maps;
}

interface Grads {
  dx: Float32Array;
  dw: Float32Array;
  db: Float32Array;
  /** map dispatches recorded by backward (a ReLU mask pass is one). */
  backwardMaps: number;
}

const X: [number, number, number, number] = [3, 2, 10, 10];
const Wt: [number, number, number, number] = [5, 2, 3, 3];

/**
 * conv (+ ReLU fused or a separate op) → 2×2 max-pool, loss Σ pooled·g
 * [+ Σ y·h: a second consumer of the ReLU output y]; gradients of x, w, b.
 */
async function run(e: Engine, fused: boolean, secondConsumer = false): Promise<Grads> {
  const x = fromTypedArray(e, randArray(600, 1), X);
  const w = fromTypedArray(e, randArray(90, 2, -0.5, 0.5), Wt);
  // Biases of −3 on two channels: every pre-activation negative there, so
  // those planes' windows all have max 0 (relu′ = 0 at the argmax).
  const b = fromTypedArray(e, Float32Array.from([0.1, -3, 0, -3, 0.2]), [5]);
  x.requiresGrad = w.requiresGrad = b.requiresGrad = true;
  const made: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => (made.push(t), t);
  try {
    const y = keep(fused ? conv2d(x, w, b, { padding: 1, activation: 'relu' }) : relu(keep(conv2d(x, w, b, { padding: 1 }))));
    const p = keep(maxPool2d(y, { kernel: 2 }));
    const gp = keep(fromTypedArray(e, randArray(p.size, 3), p.shape));
    let loss = keep(sum(keep(mul(p, gp))));
    if (secondConsumer) {
      const h = keep(fromTypedArray(e, randArray(y.size, 4), y.shape));
      loss = keep(add(loss, keep(sum(keep(mul(y, h))))));
    }
    const backwardMaps = backwardCountingMaps(e, loss);
    return { dx: await x.grad!.read(), dw: await w.grad!.read(), db: await b.grad!.read(), backwardMaps };
  } finally {
    for (const t of [x, w, b, ...made]) t.dispose();
  }
}

describe('ReLU mask carried by max-pool gradients', () => {
  it('gives bit-identical gradients to the unfused path, with all-zero windows', async () => {
    const e = await getEngine();
    const fused = await run(e, true);
    const plain = await run(e, false);
    expect(fused.dx).toEqual(plain.dx);
    expect(fused.dw).toEqual(plain.dw);
    expect(fused.db).toEqual(plain.db);
    // The negative-bias channels get no gradient at all, the others do.
    expect(fused.db[1]).toBe(0);
    expect(fused.db[3]).toBe(0);
    expect(Math.abs(fused.db[0])).toBeGreaterThan(0);
  });

  it('skips the mask pass only where it is redundant', async () => {
    const e = await getEngine();
    // Unfused: the separate ReLU's backward is one map; fused through the pool: none.
    const plain = (await run(e, false)).backwardMaps;
    expect(plain).toBeGreaterThanOrEqual(1);
    expect((await run(e, true)).backwardMaps).toBe(plain - 1);
    // A second consumer of the ReLU output: y's gradient is a sum, the mask runs as usual.
    expect((await run(e, true, true)).backwardMaps).toBe((await run(e, false, true)).backwardMaps);
  });

  it('keeps the masked and unmasked gradients equal when the ReLU output has a second consumer', async () => {
    const e = await getEngine();
    const fused = await run(e, true, true);
    const plain = await run(e, false, true);
    expect(fused.dx).toEqual(plain.dx);
    expect(fused.dw).toEqual(plain.dw);
    expect(fused.db).toEqual(plain.db);
  });
});

/** linear(…, relu) (fused, or linear then a separate ReLU) → linear; loss Σ out·g [+ Σ h·k]. */
async function runLinear(e: Engine, fused: boolean, secondConsumer = false): Promise<Grads & { dW2: Float32Array }> {
  const x = fromTypedArray(e, randArray(7 * 9, 11), [7, 9]);
  const W1 = fromTypedArray(e, randArray(12 * 9, 12, -0.5, 0.5), [12, 9]);
  // Biases of −3 on some units: those are 0 after the ReLU for every row.
  const b1 = fromTypedArray(e, Float32Array.from({ length: 12 }, (_, i) => (i % 4 === 1 ? -3 : 0.1 * i - 0.5)), [12]);
  const W2 = fromTypedArray(e, randArray(5 * 12, 13, -0.5, 0.5), [5, 12]);
  const b2 = fromTypedArray(e, randArray(5, 14), [5]);
  for (const t of [x, W1, b1, W2, b2]) t.requiresGrad = true;
  const made: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => (made.push(t), t);
  try {
    const h = keep(fused ? linear(x, W1, b1, 'relu') : relu(keep(linear(x, W1, b1))));
    const out = keep(linear(h, W2, b2));
    let loss = keep(sum(keep(mul(out, keep(fromTypedArray(e, randArray(out.size, 15), out.shape))))));
    if (secondConsumer) loss = keep(add(loss, keep(sum(keep(mul(h, keep(fromTypedArray(e, randArray(h.size, 16), h.shape))))))));
    const backwardMaps = backwardCountingMaps(e, loss);
    return { dx: await x.grad!.read(), dw: await W1.grad!.read(), db: await b1.grad!.read(), dW2: await W2.grad!.read(), backwardMaps };
  } finally {
    for (const t of [x, W1, b1, W2, b2, ...made]) t.dispose();
  }
}

describe('ReLU mask carried by the input-gradient of a linear layer', () => {
  it('gives bit-identical gradients to the unfused path and skips one mask pass', async () => {
    const e = await getEngine();
    const fused = await runLinear(e, true);
    const plain = await runLinear(e, false);
    expect(fused.dx).toEqual(plain.dx);
    expect(fused.dw).toEqual(plain.dw);
    expect(fused.db).toEqual(plain.db);
    expect(fused.dW2).toEqual(plain.dW2);
    expect(fused.db[1]).toBe(0); // a unit that is always off gets no gradient
    expect(fused.backwardMaps).toBe(plain.backwardMaps - 1);
    expect(e.compiledKernels().some((k) => /_masked$/.test(k))).toBe(true);
  });

  it('with a second consumer of the ReLU output: equal gradients, the mask runs as usual', async () => {
    const e = await getEngine();
    const fused = await runLinear(e, true, true);
    const plain = await runLinear(e, false, true);
    expect(fused.dx).toEqual(plain.dx);
    expect(fused.dw).toEqual(plain.dw);
    expect(fused.db).toEqual(plain.db);
    expect(fused.backwardMaps).toBe(plain.backwardMaps);
  });
});
