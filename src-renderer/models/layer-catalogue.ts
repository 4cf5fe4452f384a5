/**
 * The custom layer-stack editor's palette: each layer type of the graph
 * format (src-engine/models/graph.ts) with a starting configuration and the
 * fields the editor shows. Composite layers (residual, concat) are edited as
 * JSON. The services check everything; this only decides presentation.
 */

export type LayerField =
  | { key: string; label: string; kind: 'int'; min: number; optional?: boolean }
  | { key: string; label: string; kind: 'number'; min: number; max: number; step: number; optional?: boolean }
  | { key: string; label: string; kind: 'bool'; default: boolean }
  | { key: string; label: string; kind: 'select'; options: string[] };

export interface LayerTypeInfo {
  type: string;
  label: string;
  start: Record<string, unknown>;
  fields: LayerField[];
  /** Edited as JSON (nested layer lists). */
  composite?: boolean;
}

const ACTS = ['relu', 'leakyRelu', 'elu', 'gelu', 'sigmoid', 'tanh', 'softplus'];

export const LAYER_TYPES: LayerTypeInfo[] = [
  {
    type: 'conv2d',
    label: 'Conv 2D',
    start: { type: 'conv2d', out: 16, kernel: 3, padding: 1 },
    fields: [
      { key: 'out', label: 'Channels', kind: 'int', min: 1 },
      { key: 'kernel', label: 'Kernel', kind: 'int', min: 1 },
      { key: 'stride', label: 'Stride', kind: 'int', min: 1, optional: true },
      { key: 'padding', label: 'Padding', kind: 'int', min: 0, optional: true },
      { key: 'bias', label: 'Bias', kind: 'bool', default: true },
    ],
  },
  {
    type: 'linear',
    label: 'Linear',
    start: { type: 'linear', out: 64 },
    fields: [
      { key: 'out', label: 'Outputs', kind: 'int', min: 1 },
      { key: 'bias', label: 'Bias', kind: 'bool', default: true },
    ],
  },
  { type: 'activation', label: 'Activation', start: { type: 'activation', kind: 'relu' }, fields: [{ key: 'kind', label: 'Function', kind: 'select', options: ACTS }] },
  {
    type: 'maxpool2d',
    label: 'Max pool',
    start: { type: 'maxpool2d', kernel: 2 },
    fields: [
      { key: 'kernel', label: 'Kernel', kind: 'int', min: 1 },
      { key: 'stride', label: 'Stride', kind: 'int', min: 1, optional: true },
    ],
  },
  {
    type: 'avgpool2d',
    label: 'Average pool',
    start: { type: 'avgpool2d', kernel: 2 },
    fields: [
      { key: 'kernel', label: 'Kernel', kind: 'int', min: 1 },
      { key: 'stride', label: 'Stride', kind: 'int', min: 1, optional: true },
    ],
  },
  { type: 'batchnorm', label: 'Batch norm', start: { type: 'batchnorm' }, fields: [] },
  { type: 'layernorm', label: 'Layer norm', start: { type: 'layernorm' }, fields: [] },
  { type: 'dropout', label: 'Dropout', start: { type: 'dropout', p: 0.25 }, fields: [{ key: 'p', label: 'Drop prob.', kind: 'number', min: 0, max: 0.99, step: 0.05 }] },
  { type: 'flatten', label: 'Flatten', start: { type: 'flatten' }, fields: [] },
  { type: 'globalavgpool', label: 'Global avg pool', start: { type: 'globalavgpool' }, fields: [] },
  { type: 'adaptiveavgpool', label: 'Adaptive avg pool', start: { type: 'adaptiveavgpool', size: 1 }, fields: [{ key: 'size', label: 'Output size', kind: 'int', min: 1 }] },
  {
    type: 'recurrent',
    label: 'Recurrent (rows)',
    start: { type: 'recurrent', cell: 'lstm', hidden: 64 },
    fields: [
      { key: 'cell', label: 'Cell', kind: 'select', options: ['rnn', 'gru', 'lstm'] },
      { key: 'hidden', label: 'Hidden', kind: 'int', min: 1 },
      { key: 'layers', label: 'Layers', kind: 'int', min: 1, optional: true },
      { key: 'bidirectional', label: 'Bidirectional', kind: 'bool', default: false },
    ],
  },
  {
    type: 'patchembed',
    label: 'Patch embedding',
    start: { type: 'patchembed', patch: 4, dim: 64 },
    fields: [
      { key: 'patch', label: 'Patch', kind: 'int', min: 1 },
      { key: 'dim', label: 'Width', kind: 'int', min: 1 },
    ],
  },
  { type: 'clstoken', label: 'CLS token', start: { type: 'clstoken' }, fields: [] },
  { type: 'positions', label: 'Positions', start: { type: 'positions', kind: 'learned' }, fields: [{ key: 'kind', label: 'Kind', kind: 'select', options: ['learned', 'sinusoidal'] }] },
  {
    type: 'transformerblock',
    label: 'Transformer block',
    start: { type: 'transformerblock', heads: 4 },
    fields: [
      { key: 'heads', label: 'Heads', kind: 'int', min: 1 },
      { key: 'mlpRatio', label: 'MLP ratio', kind: 'number', min: 0.25, max: 16, step: 0.25, optional: true },
    ],
  },
  { type: 'tokenpool', label: 'Token pool', start: { type: 'tokenpool', kind: 'cls' }, fields: [{ key: 'kind', label: 'Kind', kind: 'select', options: ['cls', 'mean'] }] },
  {
    type: 'residual',
    label: 'Residual block',
    start: {
      type: 'residual',
      body: [
        { type: 'conv2d', out: 16, kernel: 3, padding: 1 },
        { type: 'activation', kind: 'relu' },
        { type: 'conv2d', out: 16, kernel: 3, padding: 1 },
      ],
      activation: 'relu',
    },
    fields: [],
    composite: true,
  },
  { type: 'concat', label: 'Concat branches', start: { type: 'concat', branches: [[{ type: 'conv2d', out: 8, kernel: 1 }], [{ type: 'conv2d', out: 8, kernel: 3, padding: 1 }]] }, fields: [], composite: true },
];

export const layerInfo = (type: string): LayerTypeInfo | undefined => LAYER_TYPES.find((t) => t.type === type);

/** A small CNN to start a custom stack from (28×28 or 32×32 inputs). */
export function starterStack(classes: number): Record<string, unknown>[] {
  return [
    { type: 'conv2d', out: 16, kernel: 3, padding: 1 },
    { type: 'activation', kind: 'relu' },
    { type: 'maxpool2d', kernel: 2 },
    { type: 'conv2d', out: 32, kernel: 3, padding: 1 },
    { type: 'activation', kind: 'relu' },
    { type: 'maxpool2d', kernel: 2 },
    { type: 'flatten' },
    { type: 'linear', out: classes },
  ];
}

/**
 * Which top-level layer of a custom stack a service path blames.
 * Paths count the prepended normalize layer as layers.0, so stack index i is layers.<i+1>.
 */
export function stackIndexOfPath(path: string | undefined, stackStartsWithNormalize = false): number | null {
  const m = /^layers\.(\d+)(\.|$)/.exec(path ?? '');
  if (!m) return null;
  const i = Number(m[1]) - (stackStartsWithNormalize ? 0 : 1);
  return i >= 0 ? i : null;
}
