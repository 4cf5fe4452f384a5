/**
 * An augmentation pipeline is a JSON list of steps, each `{op, p, ...params}`,
 * validated with zod (strict: unknown fields are errors). Defaults follow
 * torchvision's transforms where one exists.
 */
import { z } from 'zod';

const prob = z.number().min(0).max(1);
const range = (lo: number, hi: number) =>
  z
    .tuple([z.number().min(lo).max(hi), z.number().min(lo).max(hi)])
    .refine(([a, b]) => a <= b, { message: 'the first number must not exceed the second' });

export const randomCropSchema = z
  .object({
    op: z.literal('randomCrop'),
    /** Pixels of padding on each side before cropping back to the input size. */
    padding: z.number().int().min(0).max(64).default(4),
    mode: z.enum(['zero', 'reflect']).default('zero'),
    p: prob.default(1),
  })
  .strict();

export const flipSchema = z.object({ op: z.enum(['hflip', 'vflip']), p: prob.default(0.5) }).strict();

export const rotateSchema = z
  .object({
    op: z.literal('rotate'),
    /** Angle drawn uniformly from [-degrees, degrees]. */
    degrees: z.number().min(0).max(180).default(15),
    p: prob.default(1),
  })
  .strict();

export const affineSchema = z
  .object({
    op: z.literal('affine'),
    degrees: z.number().min(0).max(180).default(0),
    /** Zoom factor range. */
    scale: range(0.1, 4).default([1, 1]),
    /** Max shift as a fraction of width and height. */
    translate: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0, 0]),
    p: prob.default(1),
  })
  .strict();

export const colorJitterSchema = z
  .object({
    op: z.literal('colorJitter'),
    /** Factors drawn from [max(0, 1 - x), 1 + x], as torchvision's ColorJitter. */
    brightness: z.number().min(0).max(1).default(0),
    contrast: z.number().min(0).max(1).default(0),
    saturation: z.number().min(0).max(1).default(0),
    /** Hue shift drawn from [-hue, hue] turns (0.5 = half the colour wheel). */
    hue: z.number().min(0).max(0.5).default(0),
    p: prob.default(1),
  })
  .strict();

export const gaussianBlurSchema = z
  .object({
    op: z.literal('gaussianBlur'),
    sigma: range(0.3, 10).default([0.3, 1.5]),
    p: prob.default(0.5),
  })
  .strict();

export const grayscaleSchema = z.object({ op: z.literal('grayscale'), p: prob.default(0.1) }).strict();

export const randomErasingSchema = z
  .object({
    op: z.literal('randomErasing'),
    /** Erased area as a fraction of the image. */
    scale: range(0.001, 1).default([0.02, 0.33]),
    /** Aspect ratio range of the erased rectangle. */
    ratio: range(0.05, 20).default([0.3, 3.3]),
    /** Fill value (0–255), or "random" for random pixels. */
    value: z.union([z.number().int().min(0).max(255), z.literal('random')]).default(0),
    p: prob.default(0.5),
  })
  .strict();

export const augmentStepSchema = z.discriminatedUnion('op', [
  randomCropSchema,
  flipSchema,
  rotateSchema,
  affineSchema,
  colorJitterSchema,
  gaussianBlurSchema,
  grayscaleSchema,
  randomErasingSchema,
]);
export const augmentPipelineSchema = z.array(augmentStepSchema).max(32);

export type AugmentStep = z.infer<typeof augmentStepSchema>;
export type AugmentPipeline = AugmentStep[];
/** What callers may write: every parameter except `op` is optional. */
export type AugmentStepInput = z.input<typeof augmentStepSchema>;

export class AugmentConfigError extends Error {
  override readonly name = 'AugmentConfigError';
}

/** Validates a pipeline (parsed JSON or a JSON string); errors name the step and field. */
export function parsePipeline(input: unknown): AugmentPipeline {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw new AugmentConfigError(`The augmentation pipeline is not valid JSON (${(e as Error).message}).`);
    }
  }
  const r = augmentPipelineSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
  const where = `pipeline${path}`;
  const step = Array.isArray(value) && typeof issue.path[0] === 'number' ? (value[issue.path[0]] as { op?: unknown } | undefined) : undefined;
  const opName = step && typeof step === 'object' && 'op' in step ? ` (step "${String(step.op)}")` : '';
  const known = 'randomCrop, hflip, vflip, rotate, affine, colorJitter, gaussianBlur, grayscale, randomErasing';
  const hint = issue.path.at(-1) === 'op' ? ` Known ops: ${known}.` : '';
  throw new AugmentConfigError(`Invalid augmentation: ${where}${opName}: ${issue.message}.${hint}`);
}
