/**
 * Evaluation of a model on a stream of batches: mean cross-entropy, error
 * rate, confusion matrix and per-class accuracy. Inference mode (dropout off,
 * BatchNorm on running statistics), no autodiff; everything accumulates on
 * the GPU and is read once at the end.
 */
import type { Engine } from '../core/engine.ts';
import { noGrad, tidy } from '../core/tape.ts';
import { crossEntropy } from '../ops/losses.ts';
import { imagesToTensor, labelsToTensor } from './input.ts';
import { ConfusionAccumulator, MetricAccumulator } from './metrics.ts';
import { perClassAccuracy } from './stats.ts';
import type { ImageBatch, TrainableModel } from './trainer.ts';

export interface EvalResult {
  /** Mean cross-entropy (no label smoothing); null for an empty set. */
  loss: number | null;
  error: number;
  count: number;
  /** confusion[true][predicted]. */
  confusion: number[][];
  perClassAccuracy: Array<number | null>;
}

export interface EvaluateOptions {
  imageShape: readonly [number, number, number];
  classes: number;
  /** Batches recorded before waiting for the GPU to catch up (bounds queued work). Default 4. */
  maxInFlight?: number;
}

/** Forward-only pass over `batches`; one readback at the end. */
export async function evaluate(
  engine: Engine,
  model: TrainableModel,
  batches: AsyncIterable<ImageBatch> | Iterable<ImageBatch>,
  opts: EvaluateOptions,
): Promise<EvalResult> {
  const [H, W, C] = opts.imageShape;
  const metrics = new MetricAccumulator(engine);
  const confusion = new ConfusionAccumulator(engine, opts.classes);
  const inFlight: Array<Promise<unknown>> = [];
  try {
    for await (const batch of batches) {
      const B = batch.labels.length;
      if (B === 0) continue;
      noGrad(() =>
        tidy(() => {
          const x = imagesToTensor(engine, batch.images, [B, H, W, C]); // [B, C, H, W]
          const y = labelsToTensor(engine, batch.labels); // [B]
          const logits = model.forward(x, { training: false }); // [B, classes]
          const rowLoss = crossEntropy(logits, y, { reduction: 'none' }); // [B]
          metrics.add(rowLoss, logits, y);
          confusion.add(logits, y);
        }),
      );
      engine.flush();
      inFlight.push(engine.device.queue.onSubmittedWorkDone());
      while (inFlight.length > (opts.maxInFlight ?? 4)) {
        try {
          await inFlight.shift();
        } catch {
          engine.checkAlive();
        }
      }
    }
    const sums = await metrics.read();
    const matrix = await confusion.read();
    const count = sums.count;
    return {
      loss: count ? sums.lossSum / count : null,
      error: count ? 1 - sums.correct / count : 0,
      count,
      confusion: matrix,
      perClassAccuracy: perClassAccuracy(matrix),
    };
  } finally {
    metrics.dispose();
    confusion.dispose();
  }
}
