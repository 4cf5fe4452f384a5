/**
 * Sensible starting hyper-parameters per model family: what the papers or
 * the usual course recipes use, scaled to the small runs a lab does.
 */
export interface TrainDefaults {
  optimizer: Record<string, unknown>;
  schedule: Record<string, unknown>;
  batchSize: number;
  epochs: number;
  why: string;
}

export const FAMILY_DEFAULTS: Record<string, TrainDefaults> = {
  mlp: {
    optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 },
    schedule: { type: 'constant' },
    batchSize: 64,
    epochs: 10,
    why: 'SGD with momentum: the baseline every other model is compared with.',
  },
  lenet5: {
    optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 },
    schedule: { type: 'constant' },
    batchSize: 64,
    epochs: 10,
    why: 'SGD with momentum 0.9; LeNet trains quickly at lr 0.05.',
  },
  alexnet: {
    optimizer: { type: 'sgd', lr: 0.01, momentum: 0.9, weightDecay: 5e-4 },
    schedule: { type: 'cosine' },
    batchSize: 128,
    epochs: 20,
    why: 'Krizhevsky et al.: SGD, momentum 0.9, weight decay 5e-4; cosine decay instead of manual drops.',
  },
  resnet: {
    optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 1e-4 },
    schedule: { type: 'cosine', warmupEpochs: 1 },
    batchSize: 128,
    epochs: 30,
    why: 'He et al.: SGD lr 0.1, momentum 0.9, weight decay 1e-4; a one-epoch warm-up keeps deep nets stable.',
  },
  rnn: {
    optimizer: { type: 'adam', lr: 1e-3, clipNorm: 1 },
    schedule: { type: 'constant' },
    batchSize: 64,
    epochs: 10,
    why: 'Adam with gradient clipping at 1: recurrent nets suffer from exploding gradients.',
  },
  gru: {
    optimizer: { type: 'adam', lr: 1e-3, clipNorm: 1 },
    schedule: { type: 'constant' },
    batchSize: 64,
    epochs: 10,
    why: 'Adam with gradient clipping at 1.',
  },
  lstm: {
    optimizer: { type: 'adam', lr: 1e-3, clipNorm: 1 },
    schedule: { type: 'constant' },
    batchSize: 64,
    epochs: 10,
    why: 'Adam with gradient clipping at 1.',
  },
  transformer: {
    optimizer: { type: 'adamw', lr: 1e-3, weightDecay: 0.05 },
    schedule: { type: 'cosine', warmupEpochs: 2 },
    batchSize: 128,
    epochs: 30,
    why: 'ViT recipe: AdamW with weight decay 0.05, warm-up then cosine decay.',
  },
  custom: {
    optimizer: { type: 'adam', lr: 1e-3 },
    schedule: { type: 'constant' },
    batchSize: 64,
    epochs: 10,
    why: 'Adam at 1e-3: forgiving for an untested architecture.',
  },
};

export const defaultsFor = (family: string): TrainDefaults => FAMILY_DEFAULTS[family] ?? FAMILY_DEFAULTS.custom;

/** Optimizer fields the form shows per type (all others keep their defaults). */
export const OPTIMIZER_FIELDS: Record<string, Array<{ key: string; label: string; kind: 'number' | 'bool' | 'pair' | 'nullable'; step?: number; help?: string }>> = {
  sgd: [
    { key: 'lr', label: 'Learning rate', kind: 'number', step: 0.001 },
    { key: 'momentum', label: 'Momentum', kind: 'number', step: 0.05 },
    { key: 'nesterov', label: 'Nesterov', kind: 'bool' },
  ],
  adagrad: [
    { key: 'lr', label: 'Learning rate', kind: 'number', step: 0.001 },
    { key: 'lrDecay', label: 'LR decay', kind: 'number', step: 0.0001 },
  ],
  adadelta: [
    { key: 'lr', label: 'Learning rate', kind: 'number', step: 0.1 },
    { key: 'rho', label: 'ρ', kind: 'number', step: 0.01 },
  ],
  rmsprop: [
    { key: 'lr', label: 'Learning rate', kind: 'number', step: 0.001 },
    { key: 'alpha', label: 'α (smoothing)', kind: 'number', step: 0.01 },
    { key: 'momentum', label: 'Momentum', kind: 'number', step: 0.05 },
    { key: 'centered', label: 'Centered', kind: 'bool' },
  ],
  adam: [
    { key: 'lr', label: 'Learning rate', kind: 'number', step: 0.0001 },
    { key: 'betas', label: 'β₁, β₂', kind: 'pair', step: 0.001 },
    { key: 'amsgrad', label: 'AMSGrad', kind: 'bool' },
  ],
  adamw: [
    { key: 'lr', label: 'Learning rate', kind: 'number', step: 0.0001 },
    { key: 'betas', label: 'β₁, β₂', kind: 'pair', step: 0.001 },
    { key: 'amsgrad', label: 'AMSGrad', kind: 'bool' },
  ],
};
/** Shown for every optimizer. */
export const COMMON_OPTIMIZER_FIELDS = [
  { key: 'weightDecay', label: 'Weight decay', kind: 'number' as const, step: 0.0001, help: 'L2 penalty (decoupled for AdamW)' },
  { key: 'clipNorm', label: 'Clip grad norm', kind: 'nullable' as const, step: 0.1, help: 'empty: no clipping' },
];

export const SCHEDULE_FIELDS: Record<string, Array<{ key: string; label: string; kind: 'number' | 'int' | 'intList'; step?: number; help?: string }>> = {
  constant: [],
  step: [
    { key: 'stepSize', label: 'Every (epochs)', kind: 'int' },
    { key: 'gamma', label: 'Multiply by', kind: 'number', step: 0.05 },
  ],
  multistep: [
    { key: 'milestones', label: 'At epochs', kind: 'intList', help: 'e.g. 30, 80' },
    { key: 'gamma', label: 'Multiply by', kind: 'number', step: 0.05 },
  ],
  exponential: [{ key: 'gamma', label: 'Per-epoch factor', kind: 'number', step: 0.01 }],
  cosine: [
    { key: 'warmupEpochs', label: 'Warm-up epochs', kind: 'number', step: 0.5 },
    { key: 'minLr', label: 'Final LR', kind: 'number', step: 0.0001 },
  ],
  onecycle: [
    { key: 'maxLr', label: 'Peak LR', kind: 'number', step: 0.001, help: 'empty: the base LR' },
    { key: 'pctStart', label: 'Rising fraction', kind: 'number', step: 0.05 },
  ],
};

export const OPTIMIZER_LABELS: Record<string, string> = {
  sgd: 'SGD',
  adagrad: 'Adagrad',
  adadelta: 'Adadelta',
  rmsprop: 'RMSprop',
  adam: 'Adam',
  adamw: 'AdamW',
};
export const SCHEDULE_LABELS: Record<string, string> = {
  constant: 'Constant',
  step: 'Step decay',
  multistep: 'Multi-step decay',
  exponential: 'Exponential decay',
  cosine: 'Cosine (with warm-up)',
  onecycle: 'One-cycle',
};
