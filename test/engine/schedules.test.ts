/**
 * Learning-rate schedules at hand-computed points (epoch boundaries,
 * milestones, the end of warm-up, one-cycle's phase boundary) and the
 * schedule schemas.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';

const S = E.parseScheduleConfig;
/** learningRate(schedule, baseLr, step, totalSteps, stepsPerEpoch) */
const lr = E.learningRate;
const close = (a: number, b: number): void => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b)));

describe('learning-rate schedules', () => {
  it('constant', () => {
    const c = S({ type: 'constant' });
    for (const step of [0, 7, 999]) expect(lr(c, 0.1, step, 1000, 10)).toBe(0.1);
  });

  it('step: gamma every stepSize epochs', () => {
    const s = S({ type: 'step', stepSize: 2, gamma: 0.5 });
    // 10 steps per epoch: epochs 0–1 → 0.1, 2–3 → 0.05, 4–5 → 0.025.
    expect(lr(s, 0.1, 0, 100, 10)).toBe(0.1);
    expect(lr(s, 0.1, 19, 100, 10)).toBe(0.1);
    close(lr(s, 0.1, 20, 100, 10), 0.05);
    close(lr(s, 0.1, 39, 100, 10), 0.05);
    close(lr(s, 0.1, 45, 100, 10), 0.025);
  });

  it('multistep: gamma at each milestone epoch', () => {
    const s = S({ type: 'multistep', milestones: [2, 5], gamma: 0.1 });
    expect(lr(s, 1, 9, 100, 5)).toBe(1); // epoch 1
    close(lr(s, 1, 10, 100, 5), 0.1); // epoch 2: first milestone
    close(lr(s, 1, 24, 100, 5), 0.1); // epoch 4
    close(lr(s, 1, 25, 100, 5), 0.01); // epoch 5: second milestone
    close(lr(s, 1, 99, 100, 5), 0.01);
  });

  it('exponential: gamma per epoch', () => {
    const s = S({ type: 'exponential', gamma: 0.9 });
    expect(lr(s, 0.2, 3, 100, 4)).toBe(0.2); // epoch 0
    close(lr(s, 0.2, 4, 100, 4), 0.18);
    close(lr(s, 0.2, 12, 100, 4), 0.2 * 0.729); // epoch 3
  });

  it('cosine with linear warm-up (warmupSteps and warmupEpochs agree)', () => {
    const bySteps = S({ type: 'cosine', warmupSteps: 10, minLr: 0.01 });
    const byEpochs = S({ type: 'cosine', warmupEpochs: 2, minLr: 0.01 });
    for (const s of [bySteps, byEpochs]) {
      const f = (step: number): number => lr(s, 0.1, step, 110, 5);
      close(f(0), 0.01); // 0.1 · 1/10
      close(f(4), 0.05);
      close(f(9), 0.1); // last warm-up step reaches the base lr
      close(f(10), 0.1); // cosine starts at the top
      close(f(35), 0.01 + 0.09 * 0.5 * (1 + Math.SQRT1_2)); // a quarter of the way: cos(π/4)
      close(f(60), 0.055); // half-way: the mean of base and min
      close(f(110), 0.01); // the end
    }
    const noWarm = S({ type: 'cosine' });
    close(lr(noWarm, 1, 0, 100, 10), 1);
    close(lr(noWarm, 1, 50, 100, 10), 0.5);
    close(lr(noWarm, 1, 100, 100, 10), 0);
  });

  it('one-cycle: PyTorch OneCycleLR at the start, the phase boundary and the end', () => {
    const s = S({ type: 'onecycle', maxLr: 1, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4 });
    const f = (step: number): number => lr(s, 0.123 /* ignored: maxLr given */, step, 100, 10);
    close(f(0), 0.04); // maxLr / divFactor
    close(f(29), 1); // pct_start·T − 1 = 29: the peak
    close(f(14), 1 + ((0.04 - 1) / 2) * (Math.cos((Math.PI * 14) / 29) + 1));
    close(f(64), (1 + 4e-6) / 2); // half-way through phase 2: (35 of 70 steps)
    close(f(99), 4e-6); // initial / finalDivFactor
    // Defaults: maxLr = base lr; a fractional phase end (0.25·10 − 1 = 1.5) as PyTorch.
    const d = S({ type: 'onecycle', pctStart: 0.25 });
    close(lr(d, 0.5, 0, 10, 10), 0.02);
    close(lr(d, 0.5, 1, 10, 10), 0.5 + ((0.02 - 0.5) / 2) * (Math.cos(Math.PI / 1.5) + 1));
    close(lr(d, 0.5, 2, 10, 10), 0.02 / 1e4 + ((0.5 - 0.02 / 1e4) / 2) * (Math.cos((Math.PI * 0.5) / 7.5) + 1));
    close(lr(d, 0.5, 9, 10, 10), 0.02 / 1e4);
  });

  it('learningRateAt takes named progress and agrees with learningRate', () => {
    const s = S({ type: 'cosine', warmupSteps: 3 });
    expect(E.learningRateAt(s, 0.1, { step: 40, totalSteps: 90, stepsPerEpoch: 9 })).toBe(lr(s, 0.1, 40, 90, 9));
  });

  it('rejects impossible progress values', () => {
    const c = S({ type: 'constant' });
    expect(() => lr(c, 0.1, -1, 10, 2)).toThrow(/step/);
    expect(() => lr(c, 0.1, 1.5, 10, 2)).toThrow(/step/);
    expect(() => lr(c, 0.1, 0, 10, 0)).toThrow(/stepsPerEpoch/);
    expect(() => lr(c, 0.1, 0, 0, 2)).toThrow(/totalSteps/);
  });
});

describe('schedule schemas', () => {
  it('fill defaults', () => {
    expect(S({ type: 'step' })).toEqual({ type: 'step', stepSize: 10, gamma: 0.1 });
    expect(S({ type: 'cosine' })).toEqual({ type: 'cosine', minLr: 0 });
    expect(S({ type: 'onecycle' })).toEqual({ type: 'onecycle', pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4 });
  });
  const bad: Array<[unknown, RegExp]> = [
    [{ type: 'step', gamma: 0 }, /schedule\.gamma: gamma must be in \(0, 1\] \(got 0\)/],
    [{ type: 'exponential', gamma: 1.5 }, /schedule\.gamma/],
    [{ type: 'step', stepSize: 0 }, /schedule\.stepSize: stepSize must be ≥ 1/],
    [{ type: 'step', stepSize: 1.5 }, /schedule\.stepSize: stepSize must be a whole number/],
    [{ type: 'multistep', milestones: [5, 3] }, /schedule\.milestones: milestones must be strictly increasing/],
    [{ type: 'cosine', warmupSteps: 5, warmupEpochs: 1 }, /schedule\.warmupSteps: give warmupEpochs or warmupSteps, not both/],
    [{ type: 'cosine', minLr: -1 }, /schedule\.minLr/],
    [{ type: 'onecycle', pctStart: 1 }, /schedule\.pctStart: pctStart must be in \(0, 1\)/],
    [{ type: 'onecycle', maxLr: 50 }, /schedule\.maxLr: lr must be ≤ 10/],
    [{ type: 'onecycle', divFactor: 0.5 }, /schedule\.divFactor/],
    [{ type: 'warmup' }, /schedule\.type: type must be one of constant/],
  ];
  for (const [input, msg] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      expect(() => S(input)).toThrow(E.OptimizerConfigError);
      expect(() => S(input)).toThrow(msg);
    });
  }
});
