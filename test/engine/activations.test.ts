/**
 * Activations against the CPU reference (GELU in its exact erf form) and
 * finite differences. Tolerances: forward rtol 1e-5 (GELU 2e-6 absolute
 * from the erfc fit), backward rtol 1e-3 / atol 1e-4.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';
import { checkForwardBackward, expectClose, getEngine, randArray, randAwayFromZero } from './helpers.ts';
import { activationsRef, erf } from './reference/elementwise.ts';

describe('activations', () => {
  it('reference erf is accurate (known values)', () => {
    expect(erf(1)).toBeCloseTo(0.8427007929497149, 12);
    expect(erf(-0.3)).toBeCloseTo(-0.3286267594591112, 12);
    expect(erf(3)).toBeCloseTo(0.9999779095030014, 12);
  });

  const cases: Array<[string, (x: E.Tensor) => E.Tensor, (x: number) => number]> = [
    ['relu', E.relu, activationsRef.relu],
    ['leakyRelu(0.2)', (x) => E.leakyRelu(x, 0.2), (x) => activationsRef.leakyRelu(x, 0.2)],
    ['elu(0.7)', (x) => E.elu(x, 0.7), (x) => activationsRef.elu(x, 0.7)],
    ['gelu', E.gelu, activationsRef.gelu],
    ['sigmoid', E.sigmoid, activationsRef.sigmoid],
    ['tanh', E.tanh, activationsRef.tanh],
    ['softplus', E.softplus, activationsRef.softplus],
  ];
  for (const [name, op, ref] of cases) {
    it(`${name} forward and backward`, async () => {
      const e = await getEngine();
      await checkForwardBackward(e, {
        label: name,
        inputs: [{ shape: [4, 9], data: randAwayFromZero(36, 11, 0.05, 4) }],
        gpu: ([x]) => op(x),
        cpu: ([x]) => x.map(ref),
        fwdTol: { rtol: 1e-5, atol: 1e-6 },
        bwdTol: { rtol: 1e-3, atol: 1e-4 },
      });
    });
  }

  it('are finite and saturate correctly at extreme inputs', async () => {
    const e = await getEngine();
    const x = E.fromArray(e, [-100, -20, 20, 100]);
    expectClose(await E.sigmoid(x).read(), [0, 2.061153622438558e-9, 1, 1], { rtol: 1e-5, atol: 1e-7 }, 'sigmoid');
    expectClose(await E.tanh(x).read(), [-1, -1, 1, 1], { rtol: 1e-6, atol: 0 }, 'tanh');
    expectClose(await E.softplus(x).read(), [0, 2.061153622438558e-9, 20, 100], { rtol: 1e-6, atol: 1e-9 }, 'softplus');
    expectClose(await E.gelu(x).read(), [0, 0, 20, 100], { rtol: 1e-6, atol: 1e-9 }, 'gelu');
  });

  it('maxout(k) takes the max of k consecutive features, gradient to the winner', async () => {
    const e = await getEngine();
    const k = 3;
    await checkForwardBackward(e, {
      label: 'maxout',
      inputs: [{ shape: [2, 4, 6], data: randArray(48, 12) }],
      gpu: ([x]) => E.maxout(x, k),
      cpu: ([x]) => {
        const out = new Float64Array(16);
        for (let i = 0; i < 16; i++) out[i] = Math.max(x[i * 3], x[i * 3 + 1], x[i * 3 + 2]);
        return out;
      },
      fwdTol: { rtol: 0, atol: 0 },
      bwdTol: { rtol: 1e-4, atol: 1e-5 },
    });
    expect(() => E.maxout(E.zeros(e, [2, 5]), 2)).toThrow(/maxout/);
  });
});
