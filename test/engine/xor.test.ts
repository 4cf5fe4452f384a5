/**
 * The classic end-to-end check: a 2-layer MLP (2 → 8 tanh → 1 sigmoid)
 * learns XOR with MSE and plain full-batch SGD to loss < 0.01. The loss is
 * read only every 250 steps, as the trainer will do.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';
import { getEngine } from './helpers.ts';

describe('XOR', () => {
  it('a 2-layer MLP learns XOR to MSE < 0.01 with SGD, and memory stays flat', async () => {
    const e = await getEngine();
    const x = E.fromArray(e, [[0, 0], [0, 1], [1, 0], [1, 1]]); // [4, 2]
    const y = E.fromArray(e, [[0], [1], [1], [0]]); // [4, 1]
    const params = [
      E.xavierUniform(e, [8, 2], { seed: 1, gain: E.calculateGain('tanh') }), // W1 [8, 2]
      E.zerosInit(e, [8]), // b1
      E.xavierUniform(e, [1, 8], { seed: 2 }), // W2 [1, 8]
      E.zerosInit(e, [1]), // b2
    ];
    for (const p of params) p.requiresGrad = true;
    const [W1, b1, W2, b2] = params;
    const lr = 2;
    const losses: number[] = [];
    let memAfterFirst = e.memory();
    for (let step = 0; step < 2000; step++) {
      const loss = E.tidy(() => {
        const h = E.linear(x, W1, b1, 'tanh'); // [4, 8]
        const out = E.linear(h, W2, b2, 'sigmoid'); // [4, 1]
        const l = E.mse(out, y); // []
        E.backward(l);
        E.noGrad(() => {
          for (const p of params) p.assign(E.sub(p, E.mulScalar(p.grad!, lr)));
        });
        E.zeroGrad(params);
        return l;
      });
      if (step % 250 === 0 || step === 1999) losses.push(await loss.item());
      loss.dispose();
      if (step === 0) memAfterFirst = e.memory();
    }
    const mem = e.memory();
    expect(mem.liveTensors).toBe(memAfterFirst.liveTensors);
    expect(mem.liveBytes).toBe(memAfterFirst.liveBytes);
    expect(losses[0]).toBeGreaterThan(0.1);
    expect(losses[losses.length - 1]).toBeLessThan(0.01);
    const pred = await E.noGrad(() => E.linear(E.linear(x, W1, b1, 'tanh'), W2, b2, 'sigmoid')).read();
    expect(Array.from(pred, (v) => Math.round(v))).toEqual([0, 1, 1, 0]);
  });
});
