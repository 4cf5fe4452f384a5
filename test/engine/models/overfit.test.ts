/**
 * End to end: a tiny conv net built from a graph memorises 64 random images
 * with random labels (cross-entropy below 0.1 within 200 full-batch steps of
 * plain SGD written here, no optimizer module), memory stays flat across
 * steps, and in evaluation mode it then classifies all 64 correctly.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../../src-engine/index.ts';
import { getEngine, randArray, rng } from '../helpers.ts';

describe('a model overfits 64 samples', () => {
  it('cross-entropy < 0.1 in ≤ 200 plain SGD steps, 100% training accuracy', async () => {
    const e = await getEngine();
    const n = 64;
    const classes = 4;
    const graph = E.compileModel(
      'custom',
      {
        layers: [
          { type: 'conv2d', out: 8, kernel: 3, padding: 1 },
          { type: 'batchnorm' },
          { type: 'activation', kind: 'relu' },
          { type: 'conv2d', out: 16, kernel: 3, stride: 2, padding: 1 },
          { type: 'activation', kind: 'relu' },
          { type: 'flatten' },
          { type: 'linear', out: classes },
        ],
      },
      [1, 8, 8],
      classes,
    );
    const model = E.buildModel(e, graph, { seed: 1 });
    const params = [...model.parameters().values()];
    const r = rng(5);
    const labelsArr = Int32Array.from({ length: n }, () => Math.floor(r() * classes));
    const x = E.fromTypedArray(e, randArray(n * 64, 6, 0, 255), [n, 1, 8, 8]);
    const labels = E.fromTypedArray(e, labelsArr, [n]);
    const lr = 0.5;
    const losses: number[] = [];
    let stepsTaken = 0;
    let mem = e.memory();
    for (let step = 0; step < 200; step++) {
      const loss = E.tidy(() => {
        const l = E.crossEntropy(model.forward(x, { training: true }), labels);
        E.backward(l);
        E.noGrad(() => {
          for (const p of params) p.assign(E.sub(p, E.mulScalar(p.grad!, lr)));
        });
        E.zeroGrad(params);
        return l;
      });
      stepsTaken = step + 1;
      const read = step % 10 === 0 || step === 199 ? await loss.item() : null;
      loss.dispose();
      if (step === 1) mem = e.memory();
      if (read !== null) {
        losses.push(read);
        if (read < 0.1) break;
      }
    }
    expect(e.memory().liveTensors).toBe(mem.liveTensors);
    expect(losses[0]).toBeGreaterThan(1);
    expect(losses[losses.length - 1]).toBeLessThan(0.1);
    expect(stepsTaken).toBeLessThanOrEqual(200);
    const pred = E.tidy(() => E.argmax(model.forward(x, { training: false }), 1));
    const p = await pred.readRaw();
    expect(Array.from(p)).toEqual(Array.from(labelsArr));
    console.log(`[overfit] losses every 10 steps: ${losses.map((l) => l.toFixed(3)).join(' ')} (${stepsTaken} steps)`);
    for (const t of [x, labels, pred]) t.dispose();
    model.dispose();
  });
});
