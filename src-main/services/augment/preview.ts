/** N augmented variants of one image as PNGs, for the augmentation editor. */
import sharp from 'sharp';
import { augmentImage } from './augment.ts';
import { parsePipeline, type AugmentPipeline } from './pipeline-schema.ts';
import type { RawImage } from './raw-image.ts';

export interface PreviewAugmentOptions {
  seed?: number;
  epoch?: number;
  /** Nearest-neighbour upscaling so 28×28 variants are visible; default 4. */
  scale?: number;
}

/** Variant k uses index k, so the previews show what distinct examples get. */
export async function previewAugment(image: RawImage, pipeline: AugmentPipeline | unknown, n: number, opts: PreviewAugmentOptions = {}): Promise<Buffer[]> {
  const steps = parsePipeline(pipeline);
  const count = Math.max(1, Math.min(64, Math.floor(n)));
  const scale = Math.max(1, Math.min(16, Math.floor(opts.scale ?? 4)));
  const out: Buffer[] = [];
  for (let k = 0; k < count; k++) {
    const r = await augmentImage(image, steps, { seed: opts.seed ?? 0, epoch: opts.epoch ?? 0, index: k });
    out.push(
      await sharp(r.data, { raw: { width: r.width, height: r.height, channels: r.channels } })
        .resize(r.width * scale, r.height * scale, { kernel: 'nearest' })
        .png()
        .toBuffer(),
    );
  }
  return out;
}
