/**
 * The trainer's loss head (train/loss-head.ts): cross-entropy, its gradient
 * for the batch mean and the metric sums in one dispatch, against the three
 * ops it replaces (crossEntropy → backward(rowLoss, 1/B) →
 * MetricAccumulator.add): bit-identical for classifier-sized rows, within
 * float rounding for wide rows (where crossEntropy sums with a tree), with
 * label smoothing and an out-of-range label.
 */
import { describe, expect, it } from 'vitest';
import { backward } from '../../../src-engine/core/tape.ts';
import { fromTypedArray, full, zeros } from '../../../src-engine/core/tensor.ts';
import { crossEntropy } from '../../../src-engine/ops/losses.ts';
import { lossHead } from '../../../src-engine/train/loss-head.ts';
import { MetricAccumulator } from '../../../src-engine/train/index.ts';
import { expectClose, getEngine, randArray } from '../helpers.ts';

describe('loss head', () => {
  for (const [rows, C, eps, exact] of [
    [70, 10, 0, true],
    [70, 10, 0.1, true],
    [5, 100, 0.2, false],
  ] as const) {
    it(`${rows} rows of ${C} logits, smoothing ${eps}: equals crossEntropy + backward + metrics ${exact ? 'bit for bit' : 'to 1e-6'}`, async () => {
      const e = await getEngine();
      const logitsData = randArray(rows * C, rows + C, -3, 3);
      const labelsData = Int32Array.from({ length: rows }, (_, i) => (i === 3 ? C + 2 : (i * 7) % C)); // row 3: out of range
      const labels = fromTypedArray(e, labelsData, [rows]);
      // The three ops.
      const logits = fromTypedArray(e, logitsData, [rows, C]);
      logits.requiresGrad = true;
      const rowLoss = crossEntropy(logits, labels, { labelSmoothing: eps, reduction: 'none' });
      const metrics = new MetricAccumulator(e);
      metrics.add(rowLoss, logits, labels);
      backward(rowLoss, full(e, [rows], 1 / rows));
      const refGrad = await logits.grad!.read();
      const refSums = await metrics.read();
      // The head.
      const x = fromTypedArray(e, logitsData, [rows, C]);
      const acc = zeros(e, [3]);
      const dx = lossHead(e, x, labels, acc, eps);
      const grad = await dx.read();
      const sums = await acc.read();
      if (exact) {
        expect(grad).toEqual(refGrad);
        expect(Array.from(sums)).toEqual([refSums.lossSum, refSums.correct, refSums.count]);
      } else {
        expectClose(grad, refGrad, { rtol: 1e-6, atol: 1e-7 }, 'gradient');
        expectClose(sums, [refSums.lossSum, refSums.correct, refSums.count], { rtol: 1e-6, atol: 1e-6 }, 'sums');
      }
      expect(sums[2]).toBe(rows);
      expect(Array.from(grad.slice(3 * C, 4 * C)).every((v) => v === 0)).toBe(true); // out-of-range label: no gradient
      for (const t of [labels, logits, rowLoss, x, acc, dx]) t.dispose();
      metrics.dispose();
    });
  }
});
