/**
 * Model zoo calls: the families with their option schemas (JSON Schema, from
 * the zod schemas in src-engine/models, so the UI can build the options form),
 * and the layer table of a configuration (pure: no GPU, fast enough to call on
 * every keystroke of the options form).
 */
import { z } from 'zod';

export const LayerRow = z.object({
  /** Parameter-name prefix / layer path, e.g. `layers.3` or `layers.4.body.1`. */
  name: z.string(),
  type: z.string(),
  /** Per-sample output shape, e.g. [6, 28, 28]. */
  outputShape: z.array(z.number()),
  params: z.number(),
  /** FLOPs per sample (2 × multiply-adds). */
  flops: z.number(),
  /** Nesting depth (0 = top level) for indentation in the table and diagram. */
  depth: z.number().int().min(0).default(0),
  /** Short summary of the settings, e.g. "5×5 s1 p2, 6". */
  detail: z.string().default(''),
});
export type LayerRow = z.infer<typeof LayerRow>;

export const ModelFamilyInfo = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  teaches: z.string(),
  defaults: z.record(z.string(), z.unknown()),
  /** JSON Schema of the options object. */
  optionsSchema: z.record(z.string(), z.unknown()),
});
export type ModelFamilyInfo = z.infer<typeof ModelFamilyInfo>;

const InputShape = z.tuple([z.number().int().min(1).max(4), z.number().int().min(1).max(1024), z.number().int().min(1).max(1024)]);

export const modelCalls = {
  'models.list': { args: z.object({}).strict(), result: z.array(ModelFamilyInfo) },
  /**
   * Layer table of a configuration. A bad configuration is not an API error:
   * it comes back as `error` with the offending layer path, so the form can
   * mark the field or layer. Paths count the graph's `normalize` layer as
   * `layers.0`, so a custom stack's i-th layer (0-based) is `layers.<i+1>`.
   */
  'models.describe': {
    args: z
      .object({
        family: z.string().min(1).max(50),
        options: z.record(z.string(), z.unknown()),
        /** [C, H, W] */
        input: InputShape,
        classes: z.number().int().min(2).max(65535),
      })
      .strict(),
    result: z.union([
      z.object({ ok: z.literal(true), rows: z.array(LayerRow), totalParams: z.number(), totalFlops: z.number(), graph: z.record(z.string(), z.unknown()) }),
      z.object({ ok: z.literal(false), error: z.string(), layer: z.string().optional(), option: z.string().optional() }),
    ]),
  },
} as const;
