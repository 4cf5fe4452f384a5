/**
 * Optimizer and learning-rate schedule configurations: zod schemas (the one
 * place hyper-parameter ranges are decided), their TypeScript types and
 * parse functions whose errors name the offending field.
 *
 * Defaults follow torch.optim. Ranges reject values that are never what the
 * user meant (lr ≤ 0 or > 10, momentum/betas outside [0, 1), …) rather than
 * everything unusual.
 *
 * Regularisation, shared by all optimizers:
 *  - `weightDecay`: coupled L2, added to the gradient (PyTorch's
 *    `weight_decay`), EXCEPT for `adamw`, where — as in torch.optim.AdamW — it
 *    is the decoupled decay (default 1e-2);
 *  - `decoupledWeightDecay`: decoupled decay p ← p·(1 − lr·wd) before the
 *    update (AdamW style; SGDW when used with sgd). Not accepted by `adamw`
 *    (use `weightDecay` there);
 *  - `l1`: l1·sign(p) added to the gradient;
 *  - `decayBiasAndNorm` (default true, as PyTorch without parameter groups):
 *    false exempts 1-D parameters (biases, norm gains/shifts) from all three;
 *  - `clipNorm`: clip the global gradient L2 norm before each step.
 */
import { z } from 'zod';

export class OptimizerConfigError extends Error {
  override readonly name = 'OptimizerConfigError';
}

const lr = z
  .number('lr must be a number')
  .gt(0, 'lr must be > 0')
  .max(10, 'lr must be ≤ 10 (larger learning rates only diverge)');
const unitOpen = (field: string) =>
  z.number(`${field} must be a number`).min(0, `${field} must be in [0, 1)`).lt(1, `${field} must be in [0, 1)`);
const unitClosed = (field: string) =>
  z.number(`${field} must be a number`).min(0, `${field} must be in [0, 1]`).max(1, `${field} must be in [0, 1]`);
const eps = (def: number) =>
  z.number('eps must be a number').gt(0, 'eps must be > 0').max(1, 'eps must be ≤ 1').default(def);
const decay = (field: string, def: number) =>
  z
    .number(`${field} must be a number`)
    .min(0, `${field} must be ≥ 0`)
    .max(1, `${field} must be ≤ 1`)
    .default(def);

/** Fields every optimizer accepts. */
const common = {
  weightDecay: decay('weightDecay', 0),
  decoupledWeightDecay: decay('decoupledWeightDecay', 0),
  l1: decay('l1', 0),
  decayBiasAndNorm: z.boolean('decayBiasAndNorm must be true or false').default(true),
  clipNorm: z
    .number('clipNorm must be a number')
    .gt(0, 'clipNorm must be > 0')
    .max(1e6, 'clipNorm must be ≤ 1e6')
    .nullable()
    .optional(),
};

export const sgdConfigSchema = z
  .object({
    type: z.literal('sgd'),
    lr: lr.default(1e-3),
    momentum: unitOpen('momentum').default(0),
    dampening: unitClosed('dampening').default(0),
    nesterov: z.boolean('nesterov must be true or false').default(false),
    ...common,
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.nesterov && (c.momentum <= 0 || c.dampening !== 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['nesterov'],
        message: 'nesterov needs momentum > 0 and dampening = 0 (as torch.optim.SGD)',
      });
    }
  });

export const adagradConfigSchema = z
  .object({
    type: z.literal('adagrad'),
    lr: lr.default(1e-2),
    lrDecay: decay('lrDecay', 0),
    initialAccumulatorValue: z
      .number('initialAccumulatorValue must be a number')
      .min(0, 'initialAccumulatorValue must be ≥ 0')
      .max(1e3, 'initialAccumulatorValue must be ≤ 1000')
      .default(0),
    eps: eps(1e-10),
    ...common,
  })
  .strict();

export const adadeltaConfigSchema = z
  .object({
    type: z.literal('adadelta'),
    lr: lr.default(1),
    rho: unitClosed('rho').default(0.9),
    eps: eps(1e-6),
    ...common,
  })
  .strict();

export const rmspropConfigSchema = z
  .object({
    type: z.literal('rmsprop'),
    lr: lr.default(1e-2),
    alpha: unitOpen('alpha').default(0.99),
    eps: eps(1e-8),
    momentum: unitOpen('momentum').default(0),
    centered: z.boolean('centered must be true or false').default(false),
    ...common,
  })
  .strict();

const betas = z
  .tuple([unitOpen('betas[0]'), unitOpen('betas[1]')], 'betas must be a pair of numbers [beta1, beta2]')
  .default([0.9, 0.999]);

export const adamConfigSchema = z
  .object({
    type: z.literal('adam'),
    lr: lr.default(1e-3),
    betas,
    eps: eps(1e-8),
    amsgrad: z.boolean('amsgrad must be true or false').default(false),
    ...common,
  })
  .strict();

const { decoupledWeightDecay: _unused, ...commonAdamW } = common;
export const adamwConfigSchema = z
  .object({
    type: z.literal('adamw'),
    lr: lr.default(1e-3),
    betas,
    eps: eps(1e-8),
    amsgrad: z.boolean('amsgrad must be true or false').default(false),
    ...commonAdamW,
    /** Decoupled (AdamW) decay, as torch.optim.AdamW's weight_decay. */
    weightDecay: decay('weightDecay', 1e-2),
  })
  .strict();

export const optimizerConfigSchema = z.discriminatedUnion(
  'type',
  [sgdConfigSchema, adagradConfigSchema, adadeltaConfigSchema, rmspropConfigSchema, adamConfigSchema, adamwConfigSchema],
  'type must be one of sgd, adagrad, adadelta, rmsprop, adam, adamw',
);

export type OptimizerConfig = z.output<typeof optimizerConfigSchema>;
/** What a user may write (every field but `type` optional). */
export type OptimizerConfigInput = z.input<typeof optimizerConfigSchema>;
export type OptimizerType = OptimizerConfig['type'];
export type SgdConfig = z.output<typeof sgdConfigSchema>;
export type AdagradConfig = z.output<typeof adagradConfigSchema>;
export type AdadeltaConfig = z.output<typeof adadeltaConfigSchema>;
export type RmspropConfig = z.output<typeof rmspropConfigSchema>;
export type AdamConfig = z.output<typeof adamConfigSchema>;
export type AdamWConfig = z.output<typeof adamwConfigSchema>;

export const OPTIMIZER_TYPES: readonly OptimizerType[] = ['sgd', 'adagrad', 'adadelta', 'rmsprop', 'adam', 'adamw'];

// ---------------------------------------------------------------- schedules

const gamma = (def: number) =>
  z.number('gamma must be a number').gt(0, 'gamma must be in (0, 1]').max(1, 'gamma must be in (0, 1]').default(def);

export const scheduleConfigSchema = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('constant') }).strict(),
    /** lr · gamma^⌊epoch / stepSize⌋ (StepLR stepped per epoch). */
    z
      .object({
        type: z.literal('step'),
        stepSize: z.number('stepSize must be a number').int('stepSize must be a whole number of epochs').min(1, 'stepSize must be ≥ 1').default(10),
        gamma: gamma(0.1),
      })
      .strict(),
    /** lr · gamma^(number of milestones ≤ epoch) (MultiStepLR). */
    z
      .object({
        type: z.literal('multistep'),
        milestones: z
          .array(z.number('milestones must be numbers').int('milestones must be whole epochs').min(1, 'milestones must be ≥ 1'), 'milestones must be a list of epochs')
          .max(100, 'milestones: at most 100')
          .refine((m) => m.every((v, i) => i === 0 || v > m[i - 1]), 'milestones must be strictly increasing')
          .default([30, 80]),
        gamma: gamma(0.1),
      })
      .strict(),
    /** lr · gamma^epoch (ExponentialLR stepped per epoch). */
    z.object({ type: z.literal('exponential'), gamma: gamma(0.95) }).strict(),
    /** Linear warm-up then cosine annealing to minLr over the remaining steps. */
    z
      .object({
        type: z.literal('cosine'),
        warmupEpochs: z.number('warmupEpochs must be a number').min(0, 'warmupEpochs must be ≥ 0').max(1000, 'warmupEpochs must be ≤ 1000').optional(),
        warmupSteps: z.number('warmupSteps must be a number').int('warmupSteps must be a whole number').min(0, 'warmupSteps must be ≥ 0').optional(),
        minLr: z.number('minLr must be a number').min(0, 'minLr must be ≥ 0').max(10, 'minLr must be ≤ 10').default(0),
      })
      .strict()
      .superRefine((c, ctx) => {
        if (c.warmupEpochs !== undefined && c.warmupSteps !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['warmupSteps'], message: 'give warmupEpochs or warmupSteps, not both' });
        }
      }),
    /** PyTorch OneCycleLR (two phases, cosine annealing). maxLr defaults to the base lr. */
    z
      .object({
        type: z.literal('onecycle'),
        maxLr: lr.optional(),
        pctStart: z.number('pctStart must be a number').gt(0, 'pctStart must be in (0, 1)').lt(1, 'pctStart must be in (0, 1)').default(0.3),
        divFactor: z.number('divFactor must be a number').min(1, 'divFactor must be ≥ 1').max(1e6, 'divFactor must be ≤ 1e6').default(25),
        finalDivFactor: z.number('finalDivFactor must be a number').min(1, 'finalDivFactor must be ≥ 1').max(1e8, 'finalDivFactor must be ≤ 1e8').default(1e4),
      })
      .strict(),
  ],
  'type must be one of constant, step, multistep, exponential, cosine, onecycle',
);

export type ScheduleConfig = z.output<typeof scheduleConfigSchema>;
export type ScheduleConfigInput = z.input<typeof scheduleConfigSchema>;
export type ScheduleType = ScheduleConfig['type'];

// ------------------------------------------------------------------- parsing

/** Validates and fills defaults; throws OptimizerConfigError naming the field ("optimizer.momentum: …"). */
export function parseOptimizerConfig(input: unknown): OptimizerConfig {
  return parseWith(optimizerConfigSchema, input, 'optimizer');
}

/** Validates a schedule; throws OptimizerConfigError naming the field ("schedule.gamma: …"). */
export function parseScheduleConfig(input: unknown): ScheduleConfig {
  return parseWith(scheduleConfigSchema, input, 'schedule');
}

function parseWith<T extends z.ZodType>(schema: T, raw: unknown, root: string): z.output<T> {
  // Keys set to undefined (form state, spreads) mean "not given", as they would in JSON.
  const input =
    raw !== null && typeof raw === 'object' && !Array.isArray(raw)
      ? Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined))
      : raw;
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
  let got = '';
  if (issue.code !== 'unrecognized_keys' && issue.path.length > 0) {
    let v: unknown = input;
    for (const k of issue.path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
    if (v !== undefined && (typeof v !== 'object' || v === null)) got = ` (got ${JSON.stringify(v)})`;
  }
  const where = path ? `setting ${root}${path}` : 'settings';
  throw new OptimizerConfigError(`Invalid ${root} ${where}: ${issue.message}${got}.`);
}
