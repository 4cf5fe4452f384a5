/**
 * The JSON layer graph: the one description every model (zoo family or custom
 * stack) compiles to. The same graph drives the engine interpreter
 * (models/build.ts), the layer table (models/describe.ts), ONNX export and
 * PyTorch code generation, so its parameter names ARE the PyTorch state_dict
 * keys of the equivalent module tree.
 *
 * Shapes are per sample (no batch axis): images [C, H, W], feature vectors
 * [F], token sequences [T, D]. `input` is the image shape [C, H, W].
 *
 * ## Input convention
 * Every graph starts with a `normalize` layer: the model receives RAW pixel
 * values 0..255 as float32 [N, C, H, W] and normalises inside
 * (y = (x / 255 − mean[c]) / std[c]), so an exported model takes raw pixels.
 *
 * ## Layers and their parameter names (prefix `layers.<i>.` at top level)
 *   normalize {mean[C], std[C]}                 no state_dict entries (PyTorch: non-persistent buffers)
 *   conv2d {out, kernel, stride=1, padding=0, dilation=1, groups=1, bias=true, in?}
 *       weight [out, C/groups, kH, kW], bias [out]                 (nn.Conv2d; `in` only checks C)
 *   linear {out, bias=true, in?}               over the last axis of [F] or [T, D]
 *       weight [out, F], bias [out]                                (nn.Linear)
 *   batchnorm {eps=1e-5, momentum=0.1}         [C,H,W] → nn.BatchNorm2d(C), [F] → nn.BatchNorm1d(F)
 *       weight [C], bias [C]; buffers running_mean [C], running_var [C], num_batches_tracked []
 *   layernorm {eps=1e-5}                        over the last axis D
 *       weight [D], bias [D]                                       (nn.LayerNorm(D))
 *   activation {kind, alpha?}                   relu|leakyRelu(alpha=0.01)|elu(alpha=1)|gelu(erf)|sigmoid|tanh|softplus
 *   maxpool2d / avgpool2d {kernel, stride=kernel, padding=0}   (avg: count_include_pad=True, ceil_mode=False)
 *   globalavgpool {}                            [C,H,W] → [C,1,1]  (nn.AdaptiveAvgPool2d(1))
 *   adaptiveavgpool {size}                      [C,H,W] → [C,h,w]  (nn.AdaptiveAvgPool2d(size))
 *   flatten {}                                  everything → [F]   (nn.Flatten())
 *   dropout {p}                                 (nn.Dropout(p))
 *   residual {body, shortcut='identity', activation=null}
 *       out = act(body(x) + shortcut(x)); body params `body.<j>.*`, shortcut params `shortcut.<j>.*`.
 *       shortcut: 'identity' | 'none' (a plain block: out = act(body(x)), same parameter names)
 *                 | {kind:'A'} (He et al. option A: x[:, :, ::s, ::s], channels zero-padded
 *                   floor((out−in)/2) before and the rest after; s = H_in / H_out)
 *                 | LayerSpec[] (option B: usually 1×1 conv stride s + batchnorm)
 *   concat {branches}                           channel concat (axis 0 per sample) of branch outputs;
 *       params `branches.<b>.<j>.*` (an nn.ModuleList of nn.Sequential)
 *   recurrent {cell: rnn|gru|lstm, hidden, layers=1, bidirectional=false, nonlinearity=tanh (rnn only),
 *              readout: last|max = last, dropout=0 (between stacked layers, like PyTorch)}
 *       input [C,H,W] is read row by row: sequence length H, features C·W
 *       (x.permute(0,2,1,3).reshape(N, H, C·W)); input [T, F] is used as is.
 *       Params exactly as nn.RNN/nn.GRU/nn.LSTM(batch_first=True) at `layers.<i>.` (the PyTorch
 *       module subclasses it): weight_ih_l<k> [G·hidden, in_k], weight_hh_l<k> [G·hidden, hidden],
 *       bias_ih_l<k> [G·hidden], bias_hh_l<k> [G·hidden], and *_reverse for the backward direction;
 *       G = 1 (rnn), 3 (gru: r,z,n), 4 (lstm: i,f,g,o).
 *       readout last: concat(h_n forward, h_n reverse) of the last layer → [D·hidden];
 *       readout max: max over time of the last layer's output → [D·hidden].
 *   patchembed {patch, dim}                    conv kernel = stride = patch, then tokens:
 *       [C,H,W] → [dim, H/p, W/p] → [T = (H/p)(W/p), dim] (flatten(2).transpose(1, 2));
 *       params proj.weight [dim, C, p, p], proj.bias [dim]
 *   clstoken {}                                 prepends a learned token: [T, D] → [T+1, D]; param cls [1, 1, D]
 *   positions {kind: sinusoidal|learned}        adds position embeddings to [T, D];
 *       learned: param pos [1, T, D]; sinusoidal (Vaswani et al. 2017): fixed, no state_dict entry
 *   transformerblock {heads, mlpRatio=4, dropout=0}   pre-LN encoder block on [T, D], GELU MLP:
 *       x = x + drop(attn(ln1(x)));  x = x + drop(mlp(ln2(x)))
 *       params ln1.weight/bias [D], attn.in_proj_weight [3D, D], attn.in_proj_bias [3D],
 *       attn.out_proj.weight [D, D], attn.out_proj.bias [D] (nn.MultiheadAttention(D, heads,
 *       batch_first=True), no attention dropout), ln2.weight/bias [D],
 *       mlp.0.weight [r·D, D], mlp.0.bias [r·D], mlp.2.weight [D, r·D], mlp.2.bias [D]
 *       (mlp = nn.Sequential(nn.Linear, nn.GELU(), nn.Linear))
 *   tokenpool {kind: cls|mean}                  [T, D] → [D]: token 0, or the mean over tokens
 *
 * Nesting: residual body `layers.<i>.body.<j>.`, shortcut `layers.<i>.shortcut.<j>.`, concat
 * `layers.<i>.branches.<b>.<j>.` — recursively, so a residual inside a concat branch is
 * `layers.<i>.branches.<b>.<j>.body.<k>.weight`. Parameter order = depth-first graph order
 * (the order PyTorch's state_dict lists them); within a layer, the order listed above.
 */
import { z } from 'zod';
import { EngineError } from '../core/errors.ts';

/** A user-correctable model configuration error (bad option, shape mismatch in a layer stack). */
export class ModelConfigError extends EngineError {
  constructor(
    message: string,
    /** Layer path (`layers.3.body.1`) or option name (`hidden`), when one is to blame. */
    readonly where = '',
  ) {
    super(message);
  }
}

// ------------------------------------------------------------ small pieces

const int = (min: number, max: number): z.ZodInt => z.int().min(min).max(max);
/** A size given once for both axes or as [h, w]. */
const pair = (min: number, max: number): z.ZodUnion<[z.ZodInt, z.ZodTuple<[z.ZodInt, z.ZodInt], null>]> =>
  z.union([int(min, max), z.tuple([int(min, max), int(min, max)])]);

export const ACTIVATION_KINDS = ['relu', 'leakyRelu', 'elu', 'gelu', 'sigmoid', 'tanh', 'softplus'] as const;
export const ActivationKindSchema = z.enum(ACTIVATION_KINDS);
export type ActivationKind = z.infer<typeof ActivationKindSchema>;

export const MAX_CHANNELS = 16384;
export const MAX_KERNEL = 64;

// ------------------------------------------------------------ leaf layers

export const NormalizeSpec = z.strictObject({
  type: z.literal('normalize'),
  /** Per-channel mean in [0, 1] pixel units (torchvision convention). */
  mean: z.array(z.number().min(0).max(1)).min(1).max(MAX_CHANNELS),
  /** Per-channel standard deviation in [0, 1] pixel units. */
  std: z.array(z.number().gt(0).max(10)).min(1).max(MAX_CHANNELS),
});

export const Conv2dSpec = z.strictObject({
  type: z.literal('conv2d'),
  out: int(1, MAX_CHANNELS),
  kernel: pair(1, MAX_KERNEL),
  stride: pair(1, MAX_KERNEL).default(1),
  padding: pair(0, MAX_KERNEL).default(0),
  dilation: pair(1, MAX_KERNEL).default(1),
  groups: int(1, MAX_CHANNELS).default(1),
  bias: z.boolean().default(true),
  /** Optional: the expected input channels (checked, never inferred from). */
  in: int(1, MAX_CHANNELS).optional(),
});

export const LinearSpec = z.strictObject({
  type: z.literal('linear'),
  out: int(1, 1 << 20),
  bias: z.boolean().default(true),
  /** Optional: the expected input features (checked). */
  in: int(1, 1 << 24).optional(),
});

export const BatchNormSpec = z.strictObject({
  type: z.literal('batchnorm'),
  eps: z.number().gt(0).max(1).default(1e-5),
  momentum: z.number().gt(0).max(1).default(0.1),
});

export const LayerNormSpec = z.strictObject({
  type: z.literal('layernorm'),
  eps: z.number().gt(0).max(1).default(1e-5),
});

export const ActivationSpec = z.strictObject({
  type: z.literal('activation'),
  kind: ActivationKindSchema,
  /** Negative slope (leakyRelu, default 0.01) or α (elu, default 1). */
  alpha: z.number().min(0).max(100).optional(),
});

const poolFields = {
  kernel: pair(1, MAX_KERNEL),
  /** Default: the kernel size (PyTorch). */
  stride: pair(1, MAX_KERNEL).optional(),
  padding: pair(0, MAX_KERNEL).default(0),
};
export const MaxPool2dSpec = z.strictObject({ type: z.literal('maxpool2d'), ...poolFields });
export const AvgPool2dSpec = z.strictObject({ type: z.literal('avgpool2d'), ...poolFields });
export const GlobalAvgPoolSpec = z.strictObject({ type: z.literal('globalavgpool') });
export const AdaptiveAvgPoolSpec = z.strictObject({ type: z.literal('adaptiveavgpool'), size: pair(1, 4096) });
export const FlattenSpec = z.strictObject({ type: z.literal('flatten') });
export const DropoutSpec = z.strictObject({ type: z.literal('dropout'), p: z.number().min(0).lt(1) });

export const RecurrentSpec = z.strictObject({
  type: z.literal('recurrent'),
  cell: z.enum(['rnn', 'gru', 'lstm']),
  hidden: int(1, 8192),
  layers: int(1, 16).default(1),
  bidirectional: z.boolean().default(false),
  /** Plain RNN only (PyTorch's `nonlinearity`). */
  nonlinearity: z.enum(['tanh', 'relu']).default('tanh'),
  readout: z.enum(['last', 'max']).default('last'),
  /** Dropout on the outputs of every layer but the last (PyTorch's `dropout`). */
  dropout: z.number().min(0).lt(1).default(0),
});

export const PatchEmbedSpec = z.strictObject({
  type: z.literal('patchembed'),
  patch: int(1, 256),
  dim: int(1, 8192),
});
export const ClsTokenSpec = z.strictObject({ type: z.literal('clstoken') });
export const PositionsSpec = z.strictObject({ type: z.literal('positions'), kind: z.enum(['sinusoidal', 'learned']) });
export const TransformerBlockSpec = z.strictObject({
  type: z.literal('transformerblock'),
  heads: int(1, 256),
  mlpRatio: z.number().gt(0).max(16).default(4),
  dropout: z.number().min(0).lt(1).default(0),
});
export const TokenPoolSpec = z.strictObject({ type: z.literal('tokenpool'), kind: z.enum(['cls', 'mean']) });

const LEAF_SCHEMAS = [
  NormalizeSpec, Conv2dSpec, LinearSpec, BatchNormSpec, LayerNormSpec, ActivationSpec,
  MaxPool2dSpec, AvgPool2dSpec, GlobalAvgPoolSpec, AdaptiveAvgPoolSpec, FlattenSpec, DropoutSpec,
  RecurrentSpec, PatchEmbedSpec, ClsTokenSpec, PositionsSpec, TransformerBlockSpec, TokenPoolSpec,
] as const;

export type NormalizeLayer = z.output<typeof NormalizeSpec>;
export type Conv2dLayer = z.output<typeof Conv2dSpec>;
export type LinearLayer = z.output<typeof LinearSpec>;
export type BatchNormLayer = z.output<typeof BatchNormSpec>;
export type LayerNormLayer = z.output<typeof LayerNormSpec>;
export type ActivationLayer = z.output<typeof ActivationSpec>;
export type MaxPool2dLayer = z.output<typeof MaxPool2dSpec>;
export type AvgPool2dLayer = z.output<typeof AvgPool2dSpec>;
export type AdaptiveAvgPoolLayer = z.output<typeof AdaptiveAvgPoolSpec>;
export type DropoutLayer = z.output<typeof DropoutSpec>;
export type RecurrentLayer = z.output<typeof RecurrentSpec>;
export type PatchEmbedLayer = z.output<typeof PatchEmbedSpec>;
export type PositionsLayer = z.output<typeof PositionsSpec>;
export type TransformerBlockLayer = z.output<typeof TransformerBlockSpec>;
export type TokenPoolLayer = z.output<typeof TokenPoolSpec>;

type LeafLayer = z.output<(typeof LEAF_SCHEMAS)[number]>;
type LeafLayerInput = z.input<(typeof LEAF_SCHEMAS)[number]>;

// ------------------------------------------------------------ composite layers

export type Shortcut = 'identity' | 'none' | { kind: 'A' } | LayerSpec[];
export type ShortcutInput = 'identity' | 'none' | { kind: 'A' } | LayerSpecInput[];

export interface ResidualLayer {
  type: 'residual';
  body: LayerSpec[];
  shortcut: Shortcut;
  /** Applied after the addition (ResNet's final ReLU of a block); null for none. */
  activation: ActivationKind | null;
}
export interface ResidualLayerInput {
  type: 'residual';
  body: LayerSpecInput[];
  shortcut?: ShortcutInput;
  activation?: ActivationKind | null;
}
export interface ConcatLayer {
  type: 'concat';
  branches: LayerSpec[][];
}
export interface ConcatLayerInput {
  type: 'concat';
  branches: LayerSpecInput[][];
}

/** A layer with every default filled in (what parsing returns). */
export type LayerSpec = LeafLayer | ResidualLayer | ConcatLayer;
/** A layer as a user may write it (defaults optional). */
export type LayerSpecInput = LeafLayerInput | ResidualLayerInput | ConcatLayerInput;
export type LayerType = LayerSpec['type'];

const layerList = (): z.ZodArray<z.ZodType<LayerSpec, LayerSpecInput>> => z.array(z.lazy(() => LayerSpecSchema)).max(4096);

export const ResidualSpec = z.strictObject({
  type: z.literal('residual'),
  body: layerList().min(1),
  shortcut: z
    .union([z.literal('identity'), z.literal('none'), z.strictObject({ kind: z.literal('A') }), layerList().min(1)])
    .default('identity'),
  activation: ActivationKindSchema.nullable().default(null),
});

export const ConcatSpec = z.strictObject({
  type: z.literal('concat'),
  branches: z.array(layerList().min(1)).min(1).max(64),
});

export const LayerSpecSchema: z.ZodType<LayerSpec, LayerSpecInput> = z.discriminatedUnion('type', [
  ...LEAF_SCHEMAS,
  ResidualSpec,
  ConcatSpec,
]);

export const LAYER_TYPES: readonly LayerType[] = [...LEAF_SCHEMAS.map((s) => s.shape.type.value), 'residual', 'concat'];

// ------------------------------------------------------------ the graph

export const InitSchema = z.enum(['default', 'he', 'glorot']);
/**
 * default: PyTorch's (nn.Linear/Conv: U(±1/√fan_in) for weight and bias; RNN: U(±1/√hidden);
 *          MultiheadAttention: Xavier-uniform in_proj, zero biases);
 * he:      Kaiming normal (fan_in, ReLU gain √2) for conv/linear/recurrent weights, zero biases;
 * glorot:  Xavier uniform for those weights, zero biases.
 * Norm layers always start at weight 1, bias 0; cls/pos embeddings at N(0, 0.02²).
 */
export type InitScheme = z.infer<typeof InitSchema>;

export const ImageShapeSchema = z.tuple([int(1, 64), int(1, 4096), int(1, 4096)]);
export type ImageShape = [number, number, number];

export const ModelGraphSchema = z.strictObject({
  /** Registry name of the family that produced it ('custom' for a user stack). */
  family: z.string().min(1).max(64),
  /** The family options, validated, with defaults filled in (for display and re-compilation). */
  options: z.record(z.string(), z.unknown()),
  /** Per-sample input image shape [C, H, W]. */
  input: ImageShapeSchema,
  classes: int(2, 100000),
  init: InitSchema.default('default'),
  layers: layerList().min(2),
});
export type ModelGraph = z.output<typeof ModelGraphSchema>;
export type ModelGraphInput = z.input<typeof ModelGraphSchema>;

/** Human path of a zod issue inside a graph or layer list: `layers.3.body.1 (conv2d): kernel: …`. */
export function formatZodIssue(issue: z.core.$ZodIssue, root: unknown, prefix = ''): string {
  const path = issue.path.map(String);
  // Longest prefix of the path that names a layer (an object with a `type`).
  let layerDepth = -1;
  let layerType = '';
  let node: unknown = root;
  let value: unknown = root;
  for (let i = 0; i < path.length; i++) {
    if (node === null || typeof node !== 'object') {
      value = undefined;
      break;
    }
    node = (node as Record<string, unknown>)[path[i]];
    value = node;
    if (node && typeof node === 'object' && typeof (node as { type?: unknown }).type === 'string') {
      layerDepth = i + 1;
      layerType = (node as { type: string }).type;
    }
  }
  const join = (parts: string[]): string => [prefix, ...parts].filter(Boolean).join('.');
  const at = layerDepth >= 0 ? `${join(path.slice(0, layerDepth))} (${layerType})` : join(path) || 'graph';
  const field = path.slice(Math.max(layerDepth, 0)).join('.');
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') msg = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  else if (value === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) msg = 'missing (required)';
  return `${at}: ${field && layerDepth >= 0 ? field + ': ' : ''}${msg}`;
}

function zodMessage(error: z.ZodError, root: unknown, prefix = ''): string {
  const shown = error.issues.slice(0, 3).map((i) => formatZodIssue(i, root, prefix));
  const more = error.issues.length - shown.length;
  return shown.join('; ') + (more > 0 ? ` (and ${more} more)` : '');
}

/** Validates a layer graph (schema only; describeGraph checks the shapes). Throws ModelConfigError. */
export function parseGraph(json: unknown): ModelGraph {
  const r = ModelGraphSchema.safeParse(json);
  if (!r.success) {
    throw new ModelConfigError(`Invalid model graph: ${zodMessage(r.error, json)}`, r.error.issues[0].path.join('.'));
  }
  return r.data;
}

/** Validates a layer list (a custom model), naming the offending layer. Throws ModelConfigError. */
export function parseLayers(json: unknown, prefix = 'layers'): LayerSpec[] {
  const r = z.array(LayerSpecSchema).max(4096).safeParse(json);
  if (!r.success) {
    throw new ModelConfigError(zodMessage(r.error, json, prefix), [prefix, ...r.error.issues[0].path.map(String)].join('.'));
  }
  return r.data;
}

/** Validates zod-parsed options, naming the offending option. */
export function zodOptionsMessage(error: z.ZodError, family: string): string {
  return error.issues
    .slice(0, 3)
    .map((i) => {
      const name = i.path.map(String).join('.');
      let msg = i.message;
      if (i.code === 'unrecognized_keys') return `${family}: unknown option${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${k}'`).join(', ')}`;
      if (i.code === 'invalid_type' && /received undefined/.test(msg)) msg = 'missing (required)';
      return `${family}: option '${name}': ${msg}`;
    })
    .join('; ');
}
