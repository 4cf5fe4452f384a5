/**
 * The augmentation editor's catalogue: each op with a label, a one-line
 * explanation and how to edit its parameters. Ranges, defaults and validation
 * come from the service's zod schema (one source of truth); this file only
 * says how to present them.
 */
import { augmentStepSchema, type AugmentStep, type AugmentStepInput } from '../../src-main/services/augment/pipeline-schema.ts';

export type AugmentOp = AugmentStep['op'];

export type ParamField =
  | { key: string; label: string; kind: 'number'; min: number; max: number; step: number; integer?: boolean; help?: string }
  | { key: string; label: string; kind: 'pair'; min: number; max: number; step: number; help?: string }
  | { key: string; label: string; kind: 'select'; options: string[]; help?: string }
  | { key: string; label: string; kind: 'fill'; help?: string };

export interface OpInfo {
  op: AugmentOp;
  label: string;
  help: string;
  fields: ParamField[];
}

export const AUGMENT_OPS: OpInfo[] = [
  {
    op: 'randomCrop',
    label: 'Random crop',
    help: 'Pads the image, then crops a random window of the original size (shifts objects a few pixels).',
    fields: [
      { key: 'padding', label: 'Padding (px)', kind: 'number', min: 0, max: 64, step: 1, integer: true },
      { key: 'mode', label: 'Padding fill', kind: 'select', options: ['zero', 'reflect'] },
    ],
  },
  { op: 'hflip', label: 'Horizontal flip', help: 'Mirrors left–right. Fine for clothes and objects, wrong for digits.', fields: [] },
  { op: 'vflip', label: 'Vertical flip', help: 'Mirrors top–bottom. Rarely label-preserving for natural images.', fields: [] },
  {
    op: 'rotate',
    label: 'Rotate',
    help: 'Rotates by an angle drawn uniformly from ±degrees.',
    fields: [{ key: 'degrees', label: 'Max angle (°)', kind: 'number', min: 0, max: 180, step: 1 }],
  },
  {
    op: 'affine',
    label: 'Affine',
    help: 'Random rotation, zoom and shift in one resampling.',
    fields: [
      { key: 'degrees', label: 'Max angle (°)', kind: 'number', min: 0, max: 180, step: 1 },
      { key: 'scale', label: 'Zoom range', kind: 'pair', min: 0.1, max: 4, step: 0.05 },
      { key: 'translate', label: 'Max shift (fraction of w, h)', kind: 'pair', min: 0, max: 1, step: 0.01 },
    ],
  },
  {
    op: 'colorJitter',
    label: 'Colour jitter',
    help: 'Random brightness, contrast, saturation and hue changes (torchvision ColorJitter).',
    fields: [
      { key: 'brightness', label: 'Brightness', kind: 'number', min: 0, max: 1, step: 0.05 },
      { key: 'contrast', label: 'Contrast', kind: 'number', min: 0, max: 1, step: 0.05 },
      { key: 'saturation', label: 'Saturation', kind: 'number', min: 0, max: 1, step: 0.05 },
      { key: 'hue', label: 'Hue', kind: 'number', min: 0, max: 0.5, step: 0.01 },
    ],
  },
  {
    op: 'gaussianBlur',
    label: 'Gaussian blur',
    help: 'Blurs with σ drawn from a range.',
    fields: [{ key: 'sigma', label: 'σ range', kind: 'pair', min: 0.3, max: 10, step: 0.1 }],
  },
  { op: 'grayscale', label: 'Greyscale', help: 'Drops colour (no effect on grey datasets).', fields: [] },
  {
    op: 'randomErasing',
    label: 'Random erasing',
    help: 'Blanks a random rectangle (Zhong et al. 2017): teaches the model not to rely on one region.',
    fields: [
      { key: 'scale', label: 'Area range (fraction)', kind: 'pair', min: 0.001, max: 1, step: 0.01 },
      { key: 'ratio', label: 'Aspect ratio range', kind: 'pair', min: 0.05, max: 20, step: 0.05 },
      { key: 'value', label: 'Fill', kind: 'fill' },
    ],
  },
];

export const opInfo = (op: string): OpInfo | undefined => AUGMENT_OPS.find((o) => o.op === op);

/** A new step with every default filled in. */
export function defaultStep(op: AugmentOp): AugmentStep {
  return augmentStepSchema.parse({ op } as AugmentStepInput);
}

/** Field → message for one step, from the schema (empty when valid). */
export function validateStep(step: Record<string, unknown>): Record<string, string> {
  const r = augmentStepSchema.safeParse(step);
  if (r.success) return {};
  const out: Record<string, string> = {};
  for (const issue of r.error.issues) {
    const key = String(issue.path[0] ?? 'op');
    if (!out[key]) out[key] = issue.message;
  }
  return out;
}

/** A short text for a step, e.g. "Rotate ±15°, p 1". */
export function describeStep(step: Record<string, unknown>): string {
  const info = opInfo(String(step.op));
  const parts = (info?.fields ?? []).map((f) => {
    const v = step[f.key];
    return `${f.key} ${Array.isArray(v) ? v.join('–') : String(v)}`;
  });
  return [info?.label ?? String(step.op), ...parts, `p ${String(step.p)}`].join(', ');
}
