import { describe, expect, it } from 'vitest';
import { lttb, lttbIndices } from '../../src-renderer/charts/lttb.ts';

/** A noisy decaying "loss curve" with one spike and one dip, deterministic. */
function curve(n: number): { xs: number[]; ys: number[] } {
  const xs: number[] = [];
  const ys: number[] = [];
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    xs.push(i);
    ys.push(2 * Math.exp(-i / (n / 4)) + 0.1 * (s / 2 ** 31));
  }
  ys[Math.floor(n * 0.37)] = 9; // spike (global max)
  ys[Math.floor(n * 0.81)] = -1; // dip (global min)
  return { xs, ys };
}

describe('LTTB down-sampling', () => {
  it('keeps the first and last points and returns increasing indices', () => {
    const { xs, ys } = curve(10_000);
    const idx = lttbIndices(xs, ys, 500);
    expect(idx[0]).toBe(0);
    expect(idx[idx.length - 1]).toBe(9_999);
    for (let i = 1; i < idx.length; i++) expect(idx[i]).toBeGreaterThan(idx[i - 1]);
  });

  it('keeps the global maximum and minimum (a spike and a dip survive)', () => {
    const { xs, ys } = curve(10_000);
    for (const threshold of [10, 50, 500, 2000]) {
      const idx = lttbIndices(xs, ys, threshold);
      expect(idx).toContain(3_700);
      expect(idx).toContain(8_100);
      expect(idx.length).toBeLessThanOrEqual(threshold + 1);
      expect(idx.length).toBeGreaterThanOrEqual(threshold);
    }
  });

  it('returns short series unchanged and reduces to the endpoints below 3 points', () => {
    expect(lttbIndices([0, 1, 2], [5, 6, 7], 10)).toEqual([0, 1, 2]);
    expect(lttbIndices([0, 1, 2, 3, 4], [1, 2, 3, 2, 1], 2)).toEqual([0, 4]);
  });

  it('picks, in each bucket, the point forming the largest triangle (as the paper describes)', () => {
    // Extremes at the endpoints, so every bucket is decided by area alone.
    const n = 1_000;
    const xs = Array.from({ length: n }, (_, i) => i * 0.5);
    const ys = xs.map((_, i) => Math.sin(i / 17) * Math.cos(i / 5));
    ys[0] = 5;
    ys[n - 1] = -5;
    const threshold = 40;
    // Plain reference: Steinarsson's algorithm, written for clarity.
    const every = (n - 2) / (threshold - 2);
    const ref = [0];
    let a = 0;
    for (let b = 0; b < threshold - 2; b++) {
      const start = Math.floor(b * every) + 1;
      const end = Math.min(Math.floor((b + 1) * every) + 1, n - 1);
      const nEnd = Math.min(Math.floor((b + 2) * every) + 1, n);
      let ax = 0;
      let ay = 0;
      for (let j = end; j < nEnd; j++) {
        ax += xs[j] / (nEnd - end);
        ay += ys[j] / (nEnd - end);
      }
      let best = start;
      let bestArea = -1;
      for (let j = start; j < end; j++) {
        const area = 0.5 * Math.abs(xs[a] * (ys[j] - ay) + xs[j] * (ay - ys[a]) + ax * (ys[a] - ys[j]));
        if (area > bestArea) [best, bestArea] = [j, area];
      }
      ref.push(best);
      a = best;
    }
    ref.push(n - 1);
    expect(lttbIndices(xs, ys, threshold)).toEqual(ref);
  });

  it('ignores non-finite values when choosing a bucket winner', () => {
    const xs = [0, 1, 2, 3, 4];
    const ys = [0, NaN, 2, Infinity, 0];
    const idx = lttbIndices(xs, ys, 3);
    expect(idx).toEqual([0, 2, 4]);
  });

  it('down-samples [x, y] pairs to the same points as the index form', () => {
    const { xs, ys } = curve(1_000);
    const pts = xs.map((x, i) => [x, ys[i]] as [number, number]);
    const out = lttb(pts, 100);
    expect(out).toEqual(lttbIndices(xs, ys, 100).map((i) => pts[i]));
  });
});
