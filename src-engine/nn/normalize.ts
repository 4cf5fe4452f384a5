/**
 * Input normalisation inside the model: raw pixels 0..255 (f32) →
 * (x/255 − mean[c]) / std[c], as one fused multiply-add with per-channel
 * constants scale = 1/(255·std), shift = −mean/std (torchvision's Normalize
 * after ToTensor). Differentiable in x (saliency maps need d logits / d pixels).
 */
import type { Engine } from '../core/engine.ts';
import { ShapeError } from '../core/errors.ts';
import { record } from '../core/tape.ts';
import { fromTypedArray, type Tensor } from '../core/tensor.ts';
import { mapN } from '../ops/map.ts';

export interface PixelNormalizer {
  /** [C, 1, 1] */
  scale: Tensor;
  /** [C, 1, 1] */
  shift: Tensor;
}

export function createPixelNormalizer(engine: Engine, mean: readonly number[], std: readonly number[]): PixelNormalizer {
  const c = mean.length;
  const scale = fromTypedArray(engine, Float32Array.from(std, (s) => 1 / (255 * s)), [c, 1, 1]).keep();
  const shift = fromTypedArray(engine, Float32Array.from(mean, (m, i) => -m / std[i]), [c, 1, 1]).keep();
  return { scale, shift };
}

/** x [N, C, H, W] raw pixels → normalised [N, C, H, W]. */
export function normalizePixels(x: Tensor, n: PixelNormalizer): Tensor {
  if (x.rank !== 4 || x.shape[1] !== n.scale.shape[0] || x.dtype !== 'f32') {
    throw new ShapeError('normalize', `expects float32 pixels [N, ${n.scale.shape[0]}, H, W]`, [x.shape]);
  }
  const out = mapN(x.engine, 'a * b + c', [x, n.scale, n.shift], x.shape, { op: 'normalize' }); // [N, C, H, W]
  return record('normalize', [x], out, (gy) => [mapN(x.engine, 'a * b', [gy, n.scale], x.shape)]);
}
