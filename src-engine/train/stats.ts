/**
 * Pure statistics of an evaluation: the error's 95% confidence interval and
 * per-class accuracy from a confusion matrix. No GPU.
 */

/**
 * Normal-approximation (Wald) 95% interval of an error rate e measured on m
 * independent test examples: e ± 1.96·√(e(1−e)/m), clamped to [0, 1].
 * (The usual figure quoted with a test error, e.g. in Bishop's and
 * Mitchell's textbooks; with m = 10,000 and e = 0.1 it is ±0.0059.)
 */
export function errorCi95(error: number, m: number): [number, number] {
  if (!(m > 0) || !(error >= 0 && error <= 1)) throw new RangeError(`errorCi95: needs 0 ≤ error ≤ 1 and m > 0, got ${error}, ${m}`);
  const half = 1.96 * Math.sqrt((error * (1 - error)) / m);
  return [Math.max(0, error - half), Math.min(1, error + half)];
}

/** Accuracy of each true class (row): diagonal / row sum; null for a class with no examples. */
export function perClassAccuracy(confusion: readonly (readonly number[])[]): Array<number | null> {
  return confusion.map((row, c) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n === 0 ? null : row[c] / n;
  });
}

/** Overall error rate from a confusion matrix (1 − trace / total). */
export function confusionError(confusion: readonly (readonly number[])[]): { error: number; count: number } {
  let total = 0;
  let right = 0;
  confusion.forEach((row, c) => {
    for (const v of row) total += v;
    right += row[c];
  });
  return { error: total === 0 ? 0 : 1 - right / total, count: total };
}
