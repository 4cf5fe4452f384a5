/**
 * ONNX export: a ModelGraph and its weights → an ONNX ModelProto (opset 17,
 * IR version 8: what ONNX 1.12 — Debian's python3-onnx — checks and what
 * onnxruntime 1.x runs), encoded with protobufjs and the vendored official
 * onnx.proto.
 *
 * Conventions (issue 7): input `pixels` float32 [N, C, H, W] raw 0..255 with a
 * symbolic batch dimension `N`; the graph's `normalize` layer becomes
 * Div(255) → Sub(mean) → Div(std); output `logits` [N, classes]. Inference
 * only: dropout disappears, BatchNorm uses its running statistics.
 * Parameters keep their state_dict names as initializer names wherever ONNX
 * takes them unchanged (conv and BN weights, learned embeddings); reshaped or
 * reordered copies get a suffix (`layers.3.weight^T`, `layers.1.W_l0`).
 *
 * Layer by layer (see graph.ts for the semantics):
 *   conv2d → Conv (pads, strides, dilations, group); linear → Gemm(transB) on
 *   [N, F], MatMul + Add on [N, T, D]; batchnorm → BatchNormalization;
 *   layernorm → LayerNormalization(axis −1); activations → Relu, LeakyRelu,
 *   Elu, Sigmoid, Tanh, Softplus, and GELU as x·½·(1 + erf(x/√2)) (exact GELU,
 *   like nn.GELU()); maxpool/avgpool → MaxPool / AveragePool
 *   (count_include_pad = 1); globalavgpool → GlobalAveragePool;
 *   adaptiveavgpool → AveragePool when the size divides the input (uniform
 *   bins), else an exact MatMul with PyTorch's bin-averaging matrix
 *   (bins [⌊iH/h⌋, ⌈(i+1)H/h⌉) overlap, which no ONNX pool expresses);
 *   flatten → Flatten(1); residual → Add (+ activation), shortcut A →
 *   Slice(steps s) + Pad(channels); concat → Concat(axis 1);
 *   recurrent → ONNX RNN / GRU / LSTM per stacked layer (time-major, gates
 *   reordered: GRU r,z,n → z,r,h with linear_before_reset = 1 — PyTorch applies
 *   the reset gate after the hidden matmul; LSTM i,f,g,o → i,o,f,c);
 *   patchembed → Conv + Reshape + Transpose; clstoken → Expand + Concat;
 *   positions → Add of the learned or sinusoidal table; transformerblock →
 *   LayerNormalization, MatMul/Softmax attention per head (scores scaled by
 *   1/√d_head), GELU MLP; tokenpool → Gather(token 0) or ReduceMean(axis 1).
 */
import protobuf from 'protobufjs';
import { asPair, describeGraph, mlpHidden, optionAStride, type LayerRow } from '../../models/describe.ts';
import type { ActivationKind, LayerSpec, ModelGraph, RecurrentLayer } from '../../models/graph.ts';
import { sinusoidalPositions } from '../../nn/positions.ts';
import type { ModelWeights } from '../weights.ts';
import { attrF, attrI, attrInts, attrS, attrStrings, OnnxGraphBuilder, valueInfo } from './builder.ts';
import { ONNX_PROTO } from './onnx-proto.ts';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
export const ONNX_INPUT = 'pixels';
export const ONNX_OUTPUT = 'logits';

export interface OnnxExportOptions {
  /** Written as producer_version (the LayerLab version). */
  producerVersion?: string;
  /** Free text shown by model viewers (Netron). */
  docString?: string;
  /** Key/value pairs stored as ModelProto.metadata_props (class names, normalisation, run id, …). */
  metadata?: Record<string, string>;
}

let modelType: protobuf.Type | null = null;
/** The ModelProto message type, parsed once from the vendored onnx.proto. */
export function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

/** Per-sample shape bookkeeping: the exporter works on [N, …perSample]. */
interface Ctx {
  b: OnnxGraphBuilder;
  weights: ModelWeights;
  rows: Map<string, LayerRow>;
}

function param(ctx: Ctx, name: string): Float32Array {
  const w = ctx.weights.get(name);
  if (!w) throw new Error(`ONNX export: the weights have no '${name}'`);
  return w.data;
}

/** Initializer for a parameter under its own state_dict name. */
function paramInit(ctx: Ctx, name: string, shape: readonly number[]): string {
  return ctx.b.weight(name, shape, param(ctx, name));
}

/** W [out, in] → Wᵀ [in, out] (for MatMul on [N, T, in]). */
function transposed(ctx: Ctx, name: string, out: number, inF: number): string {
  const w = param(ctx, name);
  const t = new Float32Array(w.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) t[i * out + o] = w[o * inF + i];
  return ctx.b.weight(`${name}^T`, [inF, out], t);
}

function activation(ctx: Ctx, x: string, kind: ActivationKind, alpha: number | undefined, where: string): string {
  const b = ctx.b;
  switch (kind) {
    case 'relu':
      return b.op('Relu', [x], where);
    case 'leakyRelu':
      return b.op('LeakyRelu', [x], where, { alpha: attrF(alpha ?? 0.01) });
    case 'elu':
      return b.op('Elu', [x], where, { alpha: attrF(alpha ?? 1) });
    case 'sigmoid':
      return b.op('Sigmoid', [x], where);
    case 'tanh':
      return b.op('Tanh', [x], where);
    case 'softplus':
      return b.op('Softplus', [x], where);
    case 'gelu': {
      // Exact GELU (nn.GELU(approximate='none')): x · ½ · (1 + erf(x / √2)); opset 17 has no Gelu op.
      const e = b.op('Erf', [b.op('Div', [x, b.constF32('sqrt2', [], [Math.SQRT2])], where)], where);
      const onePlus = b.op('Add', [e, b.constF32('one', [], [1])], where);
      return b.op('Mul', [b.op('Mul', [x, onePlus], where), b.constF32('half', [], [0.5])], where);
    }
  }
}

/** y = x Wᵀ + b over the last axis: Gemm on [N, F], MatMul + Add on [N, T, F]. */
function linearOver(ctx: Ctx, x: string, inShape: readonly number[], prefix: string, out: number, bias: boolean, where: string): string {
  const b = ctx.b;
  const f = inShape[inShape.length - 1];
  if (inShape.length === 1) {
    const inputs = [x, paramInit(ctx, `${prefix}weight`, [out, f])];
    if (bias) inputs.push(paramInit(ctx, `${prefix}bias`, [out]));
    return b.op('Gemm', inputs, where, { transB: attrI(1) });
  }
  const y = b.op('MatMul', [x, transposed(ctx, `${prefix}weight`, out, f)], where);
  return bias ? b.op('Add', [y, paramInit(ctx, `${prefix}bias`, [out])], where) : y;
}

function layerNorm(ctx: Ctx, x: string, prefix: string, d: number, eps: number, where: string): string {
  return ctx.b.op('LayerNormalization', [x, paramInit(ctx, `${prefix}weight`, [d]), paramInit(ctx, `${prefix}bias`, [d])], where, {
    axis: attrI(-1),
    epsilon: attrF(eps),
  });
}

/** PyTorch adaptive-average-pool matrix: [H·W, h·w], column (i, j) averages bin i × bin j. */
function adaptivePoolMatrix(h: number, w: number, oh: number, ow: number): Float32Array {
  const m = new Float32Array(h * w * oh * ow);
  const bins = (n: number, o: number, i: number): [number, number] => [Math.floor((i * n) / o), Math.ceil(((i + 1) * n) / o)];
  for (let i = 0; i < oh; i++) {
    const [h0, h1] = bins(h, oh, i);
    for (let j = 0; j < ow; j++) {
      const [w0, w1] = bins(w, ow, j);
      const weight = 1 / ((h1 - h0) * (w1 - w0));
      for (let y = h0; y < h1; y++) for (let x = w0; x < w1; x++) m[(y * w + x) * (oh * ow) + i * ow + j] = weight;
    }
  }
  return m;
}

/** Reorder gate blocks of a [G·H, …] PyTorch matrix (rows) into ONNX gate order. */
function reorderGates(src: Float32Array, hidden: number, rowLen: number, order: readonly number[]): Float32Array {
  const out = new Float32Array(src.length);
  const block = hidden * rowLen;
  order.forEach((from, to) => out.set(src.subarray(from * block, (from + 1) * block), to * block));
  return out;
}

/** ONNX gate order as indices into PyTorch's: GRU (r,z,n) → (z,r,h); LSTM (i,f,g,o) → (i,o,f,c). */
const GATE_ORDER = { rnn: [0], gru: [1, 0, 2], lstm: [0, 3, 1, 2] } as const;
const GATES = { rnn: 1, gru: 3, lstm: 4 } as const;

function recurrent(ctx: Ctx, x: string, spec: RecurrentLayer, inShape: readonly number[], path: string): string {
  const b = ctx.b;
  const where = path;
  // Time-major sequence [T, N, F]: images are read row by row (x.permute(0, 2, 1, 3).reshape(N, H, C·W)).
  let seq =
    inShape.length === 3
      ? b.op('Reshape', [b.op('Transpose', [x], where, { perm: attrInts([2, 0, 1, 3]) }), b.constI64('shape_0_0_m1', [0, 0, -1])], where)
      : b.op('Transpose', [x], where, { perm: attrInts([1, 0, 2]) });
  const feat = inShape.length === 3 ? inShape[0] * inShape[2] : inShape[1];
  const dirs = spec.bidirectional ? 2 : 1;
  const hd = spec.hidden;
  const g = GATES[spec.cell];
  const order = GATE_ORDER[spec.cell];
  const op = spec.cell === 'rnn' ? 'RNN' : spec.cell === 'gru' ? 'GRU' : 'LSTM';
  let yh = '';
  for (let l = 0; l < spec.layers; l++) {
    const inF = l === 0 ? feat : dirs * hd;
    const W = new Float32Array(dirs * g * hd * inF);
    const R = new Float32Array(dirs * g * hd * hd);
    const B = new Float32Array(dirs * 2 * g * hd);
    for (let d = 0; d < dirs; d++) {
      const sfx = `l${l}${d === 1 ? '_reverse' : ''}`;
      W.set(reorderGates(param(ctx, `${path}.weight_ih_${sfx}`), hd, inF, order), d * g * hd * inF);
      R.set(reorderGates(param(ctx, `${path}.weight_hh_${sfx}`), hd, hd, order), d * g * hd * hd);
      B.set(reorderGates(param(ctx, `${path}.bias_ih_${sfx}`), hd, 1, order), d * 2 * g * hd);
      B.set(reorderGates(param(ctx, `${path}.bias_hh_${sfx}`), hd, 1, order), d * 2 * g * hd + g * hd);
    }
    const attrs: Record<string, ReturnType<typeof attrI>> = {
      hidden_size: attrI(hd),
      direction: attrS(spec.bidirectional ? 'bidirectional' : 'forward'),
    };
    if (spec.cell === 'rnn') attrs.activations = attrStrings(new Array<string>(dirs).fill(spec.nonlinearity === 'relu' ? 'Relu' : 'Tanh'));
    if (spec.cell === 'gru') attrs.linear_before_reset = attrI(1);
    const [y, h] = b.node(
      op,
      [
        seq,
        b.weight(`${path}.W_l${l}`, [dirs, g * hd, inF], W, `ONNX gate order of ${path}.weight_ih_l${l}`),
        b.weight(`${path}.R_l${l}`, [dirs, g * hd, hd], R, `ONNX gate order of ${path}.weight_hh_l${l}`),
        b.weight(`${path}.B_l${l}`, [dirs, 2 * g * hd], B, `ONNX gate order of ${path}.bias_ih/hh_l${l}`),
      ],
      attrs,
      `${where}.l${l}`,
      2,
    );
    // Y [T, D, N, H] → [T, N, D·H] (forward and reverse outputs side by side, as PyTorch).
    seq = b.op('Reshape', [b.op('Transpose', [y], where, { perm: attrInts([0, 2, 1, 3]) }), b.constI64('shape_0_0_m1', [0, 0, -1])], where);
    yh = h;
  }
  if (spec.readout === 'max') return b.op('ReduceMax', [seq], where, { axes: attrInts([0]), keepdims: attrI(0) });
  // Y_h [D, N, H] → [N, D·H]: final forward state, then final reverse state.
  return b.op('Reshape', [b.op('Transpose', [yh], where, { perm: attrInts([1, 0, 2]) }), b.constI64('shape_0_m1', [0, -1])], where);
}

function transformerBlock(ctx: Ctx, x: string, heads: number, mlpRatio: number, inShape: readonly number[], path: string): string {
  const b = ctx.b;
  const [, d] = inShape;
  const dh = d / heads;
  const p = `${path}.`;
  const where = path;
  // Attention on ln1(x): qkv = h W_inᵀ + b_in, split into heads [N, heads, T, dh].
  const h = layerNorm(ctx, x, `${p}ln1.`, d, 1e-5, `${where}.ln1`);
  const qkv = b.op('Add', [b.op('MatMul', [h, transposed(ctx, `${p}attn.in_proj_weight`, 3 * d, d)], `${where}.attn`), paramInit(ctx, `${p}attn.in_proj_bias`, [3 * d])], `${where}.attn`);
  const [q, k, v] = b.node('Split', [qkv, b.constI64('split_qkv', [d, d, d])], { axis: attrI(2) }, `${where}.attn`, 3);
  const headsShape = b.constI64(`shape_0_0_${heads}_${dh}`, [0, 0, heads, dh]);
  const toHeads = (t: string, perm: number[]): string =>
    b.op('Transpose', [b.op('Reshape', [t, headsShape], `${where}.attn`)], `${where}.attn`, { perm: attrInts(perm) });
  const qh = toHeads(q, [0, 2, 1, 3]); // [N, heads, T, dh]
  const kt = toHeads(k, [0, 2, 3, 1]); // [N, heads, dh, T]
  const vh = toHeads(v, [0, 2, 1, 3]); // [N, heads, T, dh]
  const scores = b.op('Mul', [b.op('MatMul', [qh, kt], `${where}.attn`), b.constF32(`scale_${dh}`, [], [1 / Math.sqrt(dh)])], `${where}.attn`);
  const weights = b.op('Softmax', [scores], `${where}.attn`, { axis: attrI(-1) }); // [N, heads, T, T]
  const ctxv = b.op('MatMul', [weights, vh], `${where}.attn`); // [N, heads, T, dh]
  const merged = b.op('Reshape', [b.op('Transpose', [ctxv], `${where}.attn`, { perm: attrInts([0, 2, 1, 3]) }), b.constI64(`shape_0_0_${d}`, [0, 0, d])], `${where}.attn`);
  const attn = linearOver(ctx, merged, [inShape[0], d], `${p}attn.out_proj.`, d, true, `${where}.attn.out_proj`);
  const x1 = b.op('Add', [x, attn], where);
  // MLP on ln2(x1): Linear → GELU → Linear.
  const hid = mlpHidden(d, mlpRatio);
  const h2 = layerNorm(ctx, x1, `${p}ln2.`, d, 1e-5, `${where}.ln2`);
  const m0 = linearOver(ctx, h2, [inShape[0], d], `${p}mlp.0.`, hid, true, `${where}.mlp.0`);
  const m2 = linearOver(ctx, activation(ctx, m0, 'gelu', undefined, `${where}.mlp.1`), [inShape[0], hid], `${p}mlp.2.`, d, true, `${where}.mlp.2`);
  return b.op('Add', [x1, m2], where);
}

function emitList(ctx: Ctx, x: string, layers: readonly LayerSpec[], prefix: string): string {
  let cur = x;
  layers.forEach((spec, j) => {
    cur = emitLayer(ctx, cur, spec, `${prefix}.${j}`);
  });
  return cur;
}

function emitLayer(ctx: Ctx, x: string, spec: LayerSpec, path: string): string {
  const b = ctx.b;
  const row = ctx.rows.get(path);
  if (!row) throw new Error(`ONNX export: no shape for ${path}`);
  const inShape = row.inputShape;
  const p = `${path}.`;
  switch (spec.type) {
    case 'normalize': {
      const c = spec.mean.length;
      const scaled = b.op('Div', [x, b.constF32('255', [], [255])], path);
      const centred = b.op('Sub', [scaled, b.constF32(`${path}.mean`, [1, c, 1, 1], spec.mean)], path);
      return b.op('Div', [centred, b.constF32(`${path}.std`, [1, c, 1, 1], spec.std)], path);
    }
    case 'conv2d': {
      const [kh, kw] = asPair(spec.kernel);
      const [ph, pw] = asPair(spec.padding);
      const inputs = [x, paramInit(ctx, `${p}weight`, [spec.out, inShape[0] / spec.groups, kh, kw])];
      if (spec.bias) inputs.push(paramInit(ctx, `${p}bias`, [spec.out]));
      return b.op('Conv', inputs, path, {
        kernel_shape: attrInts([kh, kw]),
        strides: attrInts(asPair(spec.stride)),
        pads: attrInts([ph, pw, ph, pw]),
        dilations: attrInts(asPair(spec.dilation)),
        group: attrI(spec.groups),
      });
    }
    case 'linear':
      return linearOver(ctx, x, inShape, p, spec.out, spec.bias, path);
    case 'batchnorm': {
      const c = inShape[0];
      return b.op(
        'BatchNormalization',
        [x, paramInit(ctx, `${p}weight`, [c]), paramInit(ctx, `${p}bias`, [c]), paramInit(ctx, `${p}running_mean`, [c]), paramInit(ctx, `${p}running_var`, [c])],
        path,
        { epsilon: attrF(spec.eps), momentum: attrF(1 - spec.momentum) },
      );
    }
    case 'layernorm':
      return layerNorm(ctx, x, p, inShape[inShape.length - 1], spec.eps, path);
    case 'activation':
      return activation(ctx, x, spec.kind, spec.alpha, path);
    case 'dropout':
      return x; // identity at inference
    case 'maxpool2d':
    case 'avgpool2d': {
      const [ph, pw] = asPair(spec.padding);
      const attrs = {
        kernel_shape: attrInts(asPair(spec.kernel)),
        strides: attrInts(asPair(spec.stride ?? spec.kernel)),
        pads: attrInts([ph, pw, ph, pw]),
        ...(spec.type === 'avgpool2d' ? { count_include_pad: attrI(1) } : {}),
      };
      return b.op(spec.type === 'maxpool2d' ? 'MaxPool' : 'AveragePool', [x], path, attrs);
    }
    case 'globalavgpool':
      return b.op('GlobalAveragePool', [x], path);
    case 'adaptiveavgpool': {
      const [c, h, w] = inShape;
      const [oh, ow] = asPair(spec.size);
      if (h % oh === 0 && w % ow === 0) {
        const k = [h / oh, w / ow];
        return b.op('AveragePool', [x], path, { kernel_shape: attrInts(k), strides: attrInts(k) });
      }
      const flat = b.op('Reshape', [x, b.constI64(`shape_0_${c}_${h * w}`, [0, c, h * w])], path);
      const pooled = b.op('MatMul', [flat, b.constF32(`${path}.bins`, [h * w, oh * ow], adaptivePoolMatrix(h, w, oh, ow))], path);
      return b.op('Reshape', [pooled, b.constI64(`shape_0_${c}_${oh}_${ow}`, [0, c, oh, ow])], path);
    }
    case 'flatten':
      return b.op('Flatten', [x], path, { axis: attrI(1) });
    case 'recurrent':
      return recurrent(ctx, x, spec, inShape, path);
    case 'patchembed': {
      const conv = b.op('Conv', [x, paramInit(ctx, `${p}proj.weight`, [spec.dim, inShape[0], spec.patch, spec.patch]), paramInit(ctx, `${p}proj.bias`, [spec.dim])], `${path}.proj`, {
        kernel_shape: attrInts([spec.patch, spec.patch]),
        strides: attrInts([spec.patch, spec.patch]),
      });
      const tokens = b.op('Reshape', [conv, b.constI64(`shape_0_${spec.dim}_m1`, [0, spec.dim, -1])], path); // [N, D, T]
      return b.op('Transpose', [tokens], path, { perm: attrInts([0, 2, 1]) }); // [N, T, D]
    }
    case 'clstoken': {
      const d = inShape[1];
      const batch = b.op('Slice', [b.op('Shape', [x], path), b.constI64('zero1', [0]), b.constI64('one1', [1])], path); // [1]: N
      const shape = b.op('Concat', [batch, b.constI64(`shape_1_${d}`, [1, d])], path, { axis: attrI(0) });
      const cls = b.op('Expand', [paramInit(ctx, `${p}cls`, [1, 1, d]), shape], path); // [N, 1, D]
      return b.op('Concat', [cls, x], path, { axis: attrI(1) });
    }
    case 'positions': {
      const [t, d] = inShape;
      const table = spec.kind === 'learned' ? paramInit(ctx, `${p}pos`, [1, t, d]) : b.constF32(`${path}.sinusoidal`, [1, t, d], sinusoidalPositions(t, d));
      return b.op('Add', [x, table], path);
    }
    case 'transformerblock':
      return transformerBlock(ctx, x, spec.heads, spec.mlpRatio, inShape, path);
    case 'tokenpool':
      return spec.kind === 'cls'
        ? b.op('Gather', [x, b.constI64('index0', [0], [])], path, { axis: attrI(1) })
        : b.op('ReduceMean', [x], path, { axes: attrInts([1]), keepdims: attrI(0) });
    case 'residual': {
      const body = emitList(ctx, x, spec.body, `${path}.body`);
      const sc = spec.shortcut;
      let sum: string;
      if (sc === 'none') sum = body;
      else {
        let short = x;
        if (sc === 'identity') short = x;
        else if (Array.isArray(sc)) short = emitList(ctx, x, sc, `${path}.shortcut`);
        else short = optionA(ctx, x, inShape, row.outputShape, `${path}.shortcut`);
        sum = b.op('Add', [body, short], path);
      }
      return spec.activation ? activation(ctx, sum, spec.activation, undefined, path) : sum;
    }
    case 'concat': {
      const outs = spec.branches.map((br, i) => emitList(ctx, x, br, `${path}.branches.${i}`));
      return outs.length === 1 ? outs[0] : b.op('Concat', outs, path, { axis: attrI(1) });
    }
  }
}

/** He et al. option A: x[:, :, ::s, ::s], channels zero-padded ⌊extra/2⌋ before, the rest after. */
function optionA(ctx: Ctx, x: string, inShape: readonly number[], outShape: readonly number[], where: string): string {
  const b = ctx.b;
  const s = optionAStride(inShape, outShape);
  let y = x;
  if (s > 1) {
    y = b.op('Slice', [x, b.constI64('zero2', [0, 0]), b.constI64('big2', [2 ** 31 - 1, 2 ** 31 - 1]), b.constI64('axes23', [2, 3]), b.constI64(`steps_${s}_${s}`, [s, s])], where);
  }
  const extra = outShape[0] - inShape[0];
  if (extra === 0) return y;
  const before = Math.floor(extra / 2);
  return b.op('Pad', [y, b.constI64(`pads_c_${before}_${extra - before}`, [0, before, 0, 0, 0, extra - before, 0, 0])], where, { mode: attrS('constant') });
}

/** The ONNX model as protobufjs-ready plain object (exposed for tests and inspection). */
export function buildOnnxModel(graph: ModelGraph, weights: ModelWeights, opt: OnnxExportOptions = {}): Record<string, unknown> {
  const desc = describeGraph(graph);
  const b = new OnnxGraphBuilder();
  const ctx: Ctx = { b, weights, rows: new Map(desc.rows.map((r) => [r.name, r])) };
  const input = b.reserve(ONNX_INPUT);
  const last = emitList(ctx, input, graph.layers, 'layers');
  b.node('Identity', [last], {}, 'logits', [ONNX_OUTPUT]);
  const [c, h, w] = graph.input;
  return {
    ir_version: ONNX_IR_VERSION,
    producer_name: 'LayerLab',
    producer_version: opt.producerVersion ?? '',
    domain: 'app.layerlab',
    model_version: 1,
    doc_string: opt.docString ?? `${graph.family} classifier exported by LayerLab`,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    metadata_props: Object.entries(opt.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.family,
      node: b.nodes,
      initializer: b.initializers,
      input: [valueInfo(ONNX_INPUT, ['N', c, h, w], 'raw pixel values 0..255, float32 [N, C, H, W]; normalisation is inside the model')],
      output: [valueInfo(ONNX_OUTPUT, ['N', graph.classes], 'unnormalised class scores [N, classes] (softmax gives probabilities)')],
    },
  };
}

/** Serialise the model to ONNX bytes. */
export function exportOnnx(graph: ModelGraph, weights: ModelWeights, opt: OnnxExportOptions = {}): Uint8Array {
  const type = onnxModelType();
  const obj = buildOnnxModel(graph, weights, opt);
  const problem = type.verify(obj);
  if (problem) throw new Error(`ONNX export produced an invalid ModelProto (${problem}); this is a LayerLab bug`);
  return type.encode(type.fromObject(obj)).finish();
}
