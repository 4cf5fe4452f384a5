/**
 * Inspect calls: look inside a trained run's checkpoint. First-layer filters
 * as an image grid, the feature maps of every convolution (and the attention
 * maps of every transformer block) for one test image with its class
 * probabilities, and the test images the model gets wrong most confidently.
 *
 * Images travel as PNG (base64); grids are laid out by the service so the
 * renderer only draws them. A run without a checkpoint is an ordinary error
 * naming what to do.
 *
 * This module is imported by the renderer: it must import nothing but zod.
 */
import { z } from 'zod';

const RunId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,99}$/, 'a run id');
const Checkpoint = z.string().regex(/^(epoch|step)-\d+$/, 'a checkpoint name (epoch-<n> or step-<n>)');

/** A grid of small images in one PNG: `count` tiles of `tile` px, `cols` per row, 1 px gaps. */
export const ImageGrid = z.object({
  pngBase64: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  cols: z.number().int().min(1),
  count: z.number().int().min(0),
  /** Tile side in pixels (before any display scaling). */
  tile: z.number().int().min(1),
});
export type ImageGrid = z.infer<typeof ImageGrid>;

export const FilterView = z.object({
  /** Layer path, e.g. `layers.1`. */
  layer: z.string(),
  type: z.string(),
  /** Weight shape, e.g. [6, 1, 5, 5]. */
  shape: z.array(z.number().int()),
  /** How the tiles were made, e.g. "each 5×5 filter scaled to its own range; RGB when the input has 3 channels". */
  note: z.string(),
  grid: ImageGrid,
});

export const FeatureMapView = z.object({
  layer: z.string(),
  type: z.string(),
  /** Per-sample output shape [C, H, W]. */
  shape: z.array(z.number().int()),
  /** Channels drawn (the first ones, at most 64). */
  shown: z.number().int(),
  grid: ImageGrid,
});

export const AttentionView = z.object({
  layer: z.string(),
  heads: z.number().int(),
  /** Patch grid side: the class token's (or, without one, the mean token's) attention to each patch, per head. */
  side: z.number().int(),
  /** One tile per head, upscaled to the image size. */
  grid: ImageGrid,
});

const Common = { runId: RunId, checkpoint: Checkpoint.optional() };

export const inspectCalls = {
  /** Which checkpoint, the classes, the test-set size and the first layer's filters. */
  'inspect.overview': {
    args: z.object(Common).strict(),
    result: z.object({
      runId: z.string(),
      checkpoint: z.string(),
      classNames: z.array(z.string()),
      /** [H, W, C] of the dataset images. */
      imageShape: z.tuple([z.number(), z.number(), z.number()]),
      testCount: z.number().int(),
      filters: FilterView.nullable(),
      /** Layers whose feature maps `inspect.example` returns. */
      mapLayers: z.array(z.string()),
      hasAttention: z.boolean(),
    }),
  },
  /** One test image through the network: probabilities, feature maps, attention maps. */
  'inspect.example': {
    args: z.object({ ...Common, index: z.number().int().min(0) }).strict(),
    result: z.object({
      index: z.number().int(),
      label: z.number().int(),
      predicted: z.number().int(),
      probabilities: z.array(z.number()),
      imagePngBase64: z.string(),
      featureMaps: z.array(FeatureMapView),
      attention: z.array(AttentionView),
    }),
  },
  /** The test images misclassified with the highest confidence. */
  'inspect.mistakes': {
    args: z.object({ ...Common, limit: z.number().int().min(1).max(200).default(24) }).strict(),
    result: z.object({
      examined: z.number().int(),
      wrong: z.number().int(),
      mistakes: z.array(
        z.object({
          index: z.number().int(),
          label: z.number().int(),
          predicted: z.number().int(),
          /** Probability given to the wrong class. */
          confidence: z.number(),
          imagePngBase64: z.string(),
        }),
      ),
    }),
  },
} as const;
