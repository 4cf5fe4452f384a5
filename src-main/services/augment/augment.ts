/**
 * Applies a validated pipeline to one image or a batch. Every step draws its
 * numbers from its own counter-based stream keyed by (seed, epoch, index,
 * step), so an image's augmentation does not depend on which other images
 * are in its batch, on worker scheduling, or on whether earlier steps fired.
 */
import { CounterRng } from './rng.ts';
import type { AugmentPipeline } from './pipeline-schema.ts';
import type { RawImage } from './raw-image.ts';
import { affineWarp, grayscale, hflip, randomErase, randomPadCrop, vflip } from './pixel-ops.ts';
import { sharpBlur, sharpRotate } from './sharp-ops.ts';
import { colourJitter, drawColourJitter } from './colour-ops.ts';

export interface AugmentKey {
  seed: number;
  epoch: number;
  /** The example's index in the dataset split (not its position in the batch). */
  index: number;
}

function stepRng(key: AugmentKey, step: number): CounterRng {
  return new CounterRng(key.seed, key.epoch, key.index, step);
}

export async function augmentImage(img: RawImage, pipeline: AugmentPipeline, key: AugmentKey): Promise<RawImage> {
  let cur = img;
  let i = 0;
  while (i < pipeline.length) {
    const step = pipeline[i];
    const rng = stepRng(key, i);
    i++;
    if (!rng.chance(step.p)) continue;
    switch (step.op) {
      case 'randomCrop':
        cur = randomPadCrop(cur, step.padding, step.mode, rng);
        break;
      case 'hflip':
        cur = hflip(cur);
        break;
      case 'vflip':
        cur = vflip(cur);
        break;
      case 'grayscale':
        cur = grayscale(cur);
        break;
      case 'randomErasing':
        cur = randomErase(cur, step.scale, step.ratio, step.value, rng);
        break;
      case 'colorJitter':
        cur = colourJitter(cur, drawColourJitter(rng, step.brightness, step.contrast, step.saturation, step.hue));
        break;
      case 'gaussianBlur':
        cur = await sharpBlur(cur, rng.uniform(step.sigma[0], step.sigma[1]));
        break;
      case 'rotate':
        cur = await sharpRotate(cur, rng.uniform(-step.degrees, step.degrees));
        break;
      case 'affine': {
        const deg = rng.uniform(-step.degrees, step.degrees);
        const s = rng.uniform(step.scale[0], step.scale[1]);
        const tx = Math.round(rng.uniform(-step.translate[0], step.translate[0]) * cur.width);
        const ty = Math.round(rng.uniform(-step.translate[1], step.translate[1]) * cur.height);
        cur = affineWarp(cur, deg, s, tx, ty);
        break;
      }
    }
  }
  return cur;
}

/**
 * Augments `indices.length` images of shape [h, w, c] packed in `images`
 * (the same order as `indices`), returning a new packed buffer.
 */
export async function augmentBatch(
  images: Uint8Array,
  shape: [number, number, 1 | 3],
  indices: ArrayLike<number>,
  pipeline: AugmentPipeline,
  seed: number,
  epoch: number,
): Promise<Uint8Array> {
  const [h, w, c] = shape;
  const per = h * w * c;
  const out = new Uint8Array(indices.length * per);
  if (pipeline.length === 0) {
    out.set(images.subarray(0, out.length));
    return out;
  }
  // Images run concurrently so sharp's calls overlap in libuv's threads.
  await Promise.all(
    Array.from({ length: indices.length }, async (_, k) => {
      const img: RawImage = { data: images.subarray(k * per, (k + 1) * per), width: w, height: h, channels: c };
      const r = await augmentImage(img, pipeline, { seed, epoch, index: indices[k] });
      out.set(r.data, k * per);
    }),
  );
  return out;
}
