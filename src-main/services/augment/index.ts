/** Data augmentation: sharp for resampling/colour/blur, typed arrays for pixel moves; deterministic per (seed, epoch, index). */
export {
  parsePipeline,
  augmentPipelineSchema,
  augmentStepSchema,
  AugmentConfigError,
  type AugmentPipeline,
  type AugmentStep,
  type AugmentStepInput,
} from './pipeline-schema.ts';
export { augmentImage, augmentBatch, type AugmentKey } from './augment.ts';
export { previewAugment, type PreviewAugmentOptions } from './preview.ts';
export { rawImage, type RawImage } from './raw-image.ts';
export { CounterRng, hashKeys, mix32, shuffleInPlace } from './rng.ts';
export { padCrop, hflip, vflip, grayscale, affineWarp } from './pixel-ops.ts';
