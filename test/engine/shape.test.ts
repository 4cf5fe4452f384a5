/**
 * Shape ops: exact data movement (tolerance 0) and gradients against finite
 * differences (rtol 1e-4: gradients are copies of the upstream values).
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';
import { checkForwardBackward, getEngine, randArray, sizeOf } from './helpers.ts';
import { concatRef, padRef, permuteRef, sliceRef } from './reference/shape.ts';

const EXACT = { rtol: 0, atol: 0 };
const BWD = { rtol: 1e-4, atol: 1e-5 };

describe('shape ops', () => {
  it('reshape (with -1) and flatten are views with gradients', async () => {
    const e = await getEngine();
    await checkForwardBackward(e, {
      label: 'reshape',
      inputs: [{ shape: [2, 3, 4], data: randArray(24, 1) }],
      gpu: ([x]) => {
        const y = E.reshape(x, [4, -1]);
        expect(y.shape).toEqual([4, 6]);
        return E.mul(y, y);
      },
      cpu: ([x]) => x.map((v) => v * v),
      fwdTol: { rtol: 1e-6, atol: 0 },
      bwdTol: BWD,
    });
    const f = E.flatten(E.zeros(e, [2, 3, 4, 5]));
    expect(f.shape).toEqual([2, 60]);
    expect(E.flatten(E.zeros(e, [2, 3, 4, 5]), 1, 2).shape).toEqual([2, 12, 5]);
    expect(() => E.reshape(E.zeros(e, [2, 3]), [4, 2])).toThrow(/reshape/);
  });

  for (const [shape, perm] of [
    [[2, 3], [1, 0]],
    [[2, 3, 4], [2, 0, 1]],
    [[2, 1, 3, 5], [3, 1, 0, 2]],
  ] as Array<[number[], number[]]>) {
    it(`permute [${shape}] by [${perm}]`, async () => {
      const e = await getEngine();
      await checkForwardBackward(e, {
        label: 'permute',
        inputs: [{ shape, data: randArray(sizeOf(shape), 2) }],
        gpu: ([x]) => E.permute(x, perm),
        cpu: ([x]) => permuteRef(x, shape, perm),
        fwdTol: EXACT,
        bwdTol: BWD,
      });
    });
  }

  it('transpose swaps the last two axes', async () => {
    const e = await getEngine();
    const t = E.transpose(E.fromArray(e, [[1, 2, 3], [4, 5, 6]]));
    expect(t.shape).toEqual([3, 2]);
    expect(Array.from(await t.read())).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('slice (negative begin, -1 size) forward and backward', async () => {
    const e = await getEngine();
    const shape = [4, 5, 3];
    await checkForwardBackward(e, {
      label: 'slice',
      inputs: [{ shape, data: randArray(60, 3) }],
      gpu: ([x]) => E.slice(x, [1, -3, 0], [2, -1, 2]),
      cpu: ([x]) => sliceRef(x, shape, [1, 2, 0], [2, 3, 2]),
      fwdTol: EXACT,
      bwdTol: BWD,
    });
    expect(() => E.slice(E.zeros(e, [3]), [2], [5])).toThrow(/slice/);
  });

  it('pad with a constant forward and backward', async () => {
    const e = await getEngine();
    const shape = [2, 3, 2];
    const pads: Array<[number, number]> = [[0, 1], [2, 0], [1, 1]];
    await checkForwardBackward(e, {
      label: 'pad',
      inputs: [{ shape, data: randArray(12, 4) }],
      gpu: ([x]) => E.pad(x, pads, 0.5),
      cpu: ([x]) => padRef(x, shape, pads, 0.5),
      fwdTol: EXACT,
      bwdTol: BWD,
    });
  });

  for (const axis of [0, 1, 2]) {
    it(`concat along axis ${axis} forward and backward`, async () => {
      const e = await getEngine();
      const shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]].map((s, k) => s.map((d, i) => (i === axis ? d + k : d)));
      await checkForwardBackward(e, {
        label: 'concat',
        inputs: shapes.map((s, k) => ({ shape: s, data: randArray(sizeOf(s), 10 + k) })),
        gpu: (xs) => E.concat(xs, axis),
        cpu: (xs) => concatRef(xs.map((d, k) => ({ data: d, shape: shapes[k] })), axis),
        fwdTol: EXACT,
        bwdTol: BWD,
      });
    });
  }

  it('squeeze/unsqueeze', async () => {
    const e = await getEngine();
    expect(E.unsqueeze(E.zeros(e, [2, 3]), 1).shape).toEqual([2, 1, 3]);
    expect(E.squeeze(E.zeros(e, [1, 2, 1, 3])).shape).toEqual([2, 3]);
  });
});
