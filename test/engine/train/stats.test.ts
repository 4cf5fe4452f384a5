/** Statistics of a test evaluation: the 95% interval of an error rate and per-class accuracy. */
import { describe, expect, it } from 'vitest';
import { confusionError, errorCi95, perClassAccuracy } from '../../../src-engine/train/index.ts';

describe('errorCi95', () => {
  it('is e ± 1.96·√(e(1−e)/m)', () => {
    // e = 0.1, m = 10,000: half-width 1.96 · √(0.09 / 10⁴) = 1.96 · 0.003 = 0.00588
    const [lo, hi] = errorCi95(0.1, 10_000);
    expect(lo).toBeCloseTo(0.09412, 12);
    expect(hi).toBeCloseTo(0.10588, 12);
    // e = 0.25, m = 300: 1.96 · √(0.1875 / 300) = 1.96 · 0.025 = 0.049
    const [lo2, hi2] = errorCi95(0.25, 300);
    expect(lo2).toBeCloseTo(0.201, 12);
    expect(hi2).toBeCloseTo(0.299, 12);
  });

  it('is clamped to [0, 1] and degenerate at e = 0 or 1', () => {
    expect(errorCi95(0, 100)).toEqual([0, 0]);
    expect(errorCi95(1, 100)).toEqual([1, 1]);
    const [lo] = errorCi95(0.01, 10);
    expect(lo).toBe(0);
  });

  it('rejects impossible inputs', () => {
    expect(() => errorCi95(1.5, 10)).toThrow(/0 ≤ error ≤ 1 and m > 0/);
    expect(() => errorCi95(0.5, 0)).toThrow(/m > 0/);
  });
});

describe('confusion statistics', () => {
  const confusion = [
    [8, 1, 1], // class 0: 10 examples, 8 right
    [0, 0, 0], // class 1: none in the set
    [2, 3, 5], // class 2: 10 examples, 5 right
  ];
  it('per-class accuracy is the diagonal over the row sum, null for an empty class', () => {
    expect(perClassAccuracy(confusion)).toEqual([0.8, null, 0.5]);
  });
  it('overall error is 1 − trace / total', () => {
    expect(confusionError(confusion)).toEqual({ error: 1 - 13 / 20, count: 20 });
  });
});
