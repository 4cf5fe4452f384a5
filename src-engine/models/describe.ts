/**
 * describeGraph: shape inference over a layer graph, without a GPU. For every
 * layer (nested ones too) it gives the per-sample output shape, the number of
 * parameters and the FLOPs per sample, and it lists every parameter and
 * buffer by its PyTorch state_dict name (the names buildModel creates).
 * A graph that cannot run (a linear fed the wrong width, a kernel larger than
 * its input, a residual whose branches disagree) throws ModelConfigError
 * naming the layer path and the mismatch.
 *
 * FLOPs = 2 × multiply-adds of conv, linear, recurrent and attention matmuls
 * (the convention of papers and of fvcore's matmul-like ops); normalisation,
 * activations, pooling and additions are memory-bound and count 0.
 */
import { type ImageShape, type LayerSpec, type ModelGraph, ModelConfigError } from './graph.ts';

/** How buildModel initialises a parameter (see InitScheme in graph.ts). */
export type ParamRole =
  | 'weight' //          conv / linear / patch-embedding weight (fan-in based)
  | 'bias' //            their bias: U(±1/√fanIn) by default, 0 under he/glorot
  | 'normWeight' //      1
  | 'normBias' //        0
  | 'recurrentWeight' // U(±1/√hidden) by default
  | 'recurrentBias' //   U(±1/√hidden) by default, 0 under he/glorot
  | 'attnInProj' //      Xavier uniform (PyTorch's MultiheadAttention)
  | 'zero' //            attention biases: 0
  | 'embedding'; //      cls token / learned positions: N(0, 0.02²)

export interface ParamInfo {
  /** PyTorch state_dict key, e.g. `layers.4.body.0.weight`. */
  name: string;
  shape: number[];
  role: ParamRole;
  /** fan-in used by the default initialiser (in·kH·kW for conv, hidden size for recurrent). */
  fanIn: number;
  /** Activation after this weight's layer, for the He gain (relu unless known otherwise). */
  layer: string;
}

export type BufferRole = 'runningMean' | 'runningVar' | 'numBatchesTracked';
export interface BufferInfo {
  name: string;
  shape: number[];
  role: BufferRole;
}

export interface LayerRow {
  /** Layer path, also the capture name in forward: `layers.3`, `layers.4.body.1`. */
  name: string;
  type: LayerSpec['type'];
  /** Nesting depth: 0 for top-level layers (only those count in the totals). */
  depth: number;
  inputShape: number[];
  /** Per-sample output shape. */
  outputShape: number[];
  /** Trainable parameters of this layer (including nested layers). */
  params: number;
  /** FLOPs per sample (2 × multiply-adds), including nested layers. */
  flops: number;
  /** A short human summary of the layer's settings ("3×3 s2 p1, 32"). */
  detail: string;
}

export interface GraphDescription {
  rows: LayerRow[];
  totalParams: number;
  totalFlops: number;
  /** Trainable parameters in state_dict order. */
  parameters: ParamInfo[];
  /** Buffers (BatchNorm running statistics) in state_dict order. */
  buffers: BufferInfo[];
  inputShape: ImageShape;
  outputShape: number[];
}

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;
export const asPair = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);
const pairText = (v: [number, number]): string => (v[0] === v[1] ? `${v[0]}` : `${v[0]}×${v[1]}`);

/** PyTorch's conv/pool output length: ⌊(n + 2p − d(k−1) − 1)/s⌋ + 1. */
export function convOutLength(n: number, k: number, s: number, p: number, d = 1): number {
  return Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** The row-by-row sequence view of a recurrent layer's input: [T, F]. */
export function sequenceShape(inShape: readonly number[]): [number, number] {
  return inShape.length === 3 ? [inShape[1], inShape[0] * inShape[2]] : [inShape[0], inShape[1]];
}

/** Hidden width of a transformer block's MLP (int(D · ratio), as timm). */
export const mlpHidden = (dim: number, ratio: number): number => Math.max(1, Math.floor(dim * ratio));

/** Stride of an option-A shortcut mapping [C, H, W] to [C', H', W'] (⌈H/s⌉ = H'), or 0 if none fits. */
export function optionAStride(inShape: readonly number[], outShape: readonly number[]): number {
  for (let s = 1; s <= inShape[1]; s++) {
    if (Math.ceil(inShape[1] / s) === outShape[1] && Math.ceil(inShape[2] / s) === outShape[2]) return s;
  }
  return 0;
}

const GATES = { rnn: 1, gru: 3, lstm: 4 } as const;

interface Walker {
  rows: LayerRow[];
  parameters: ParamInfo[];
  buffers: BufferInfo[];
}

/** Infers through a list of layers; returns the output shape, the params and FLOPs of the list. */
function walkList(w: Walker, layers: readonly LayerSpec[], inShape: number[], prefix: string, depth: number): { out: number[]; params: number; flops: number } {
  let shape = inShape;
  let params = 0;
  let flops = 0;
  layers.forEach((spec, j) => {
    const r = walkLayer(w, spec, shape, `${prefix}.${j}`, depth);
    shape = r.out;
    params += r.params;
    flops += r.flops;
  });
  return { out: shape, params, flops };
}

function walkLayer(w: Walker, spec: LayerSpec, inShape: number[], path: string, depth: number): { out: number[]; params: number; flops: number } {
  const fail = (msg: string): never => {
    throw new ModelConfigError(`${path} (${spec.type}): ${msg}`, path);
  };
  const row: LayerRow = { name: path, type: spec.type, depth, inputShape: inShape, outputShape: [], params: 0, flops: 0, detail: '' };
  w.rows.push(row);
  const firstParam = w.parameters.length;
  const addParam = (suffix: string, shape: number[], role: ParamRole, fanIn = 0): void => {
    w.parameters.push({ name: `${path}.${suffix}`, shape, role, fanIn, layer: path });
  };
  const addBuffer = (suffix: string, shape: number[], role: BufferRole): void => {
    w.buffers.push({ name: `${path}.${suffix}`, shape, role });
  };
  const needRank = (...ranks: number[]): void => {
    if (!ranks.includes(inShape.length)) {
      const what = ranks.map((r) => (r === 3 ? 'an image [C, H, W]' : r === 2 ? 'tokens [T, D]' : 'features [F]')).join(' or ');
      fail(`expects ${what}, got ${fmt(inShape)}`);
    }
  };
  let out: number[] = inShape;
  let flops = 0;

  switch (spec.type) {
    case 'normalize': {
      needRank(3);
      const c = inShape[0];
      if (spec.mean.length !== c || spec.std.length !== c) fail(`mean and std need ${c} values (one per channel), got ${spec.mean.length} and ${spec.std.length}`);
      row.detail = `(x/255 − mean)/std`;
      break;
    }
    case 'conv2d': {
      needRank(3);
      const [c, h, wd] = inShape;
      const [kh, kw] = asPair(spec.kernel);
      const [sh, sw] = asPair(spec.stride);
      const [ph, pw] = asPair(spec.padding);
      const [dh, dw] = asPair(spec.dilation);
      if (spec.in !== undefined && spec.in !== c) fail(`expects ${spec.in} input channels, got ${c}`);
      if (c % spec.groups !== 0 || spec.out % spec.groups !== 0) fail(`groups ${spec.groups} must divide both input channels ${c} and output channels ${spec.out}`);
      const ho = convOutLength(h, kh, sh, ph, dh);
      const wo = convOutLength(wd, kw, sw, pw, dw);
      if (ho < 1 || wo < 1) {
        fail(`kernel ${kh}×${kw}${dh > 1 || dw > 1 ? ` (dilation ${pairText([dh, dw])})` : ''} is larger than its padded input ${h + 2 * ph}×${wd + 2 * pw}`);
      }
      out = [spec.out, ho, wo];
      const cin = c / spec.groups;
      addParam('weight', [spec.out, cin, kh, kw], 'weight', cin * kh * kw);
      if (spec.bias) addParam('bias', [spec.out], 'bias', cin * kh * kw);
      flops = 2 * spec.out * ho * wo * cin * kh * kw;
      row.detail = `${kh}×${kw}${sh > 1 || sw > 1 ? ` s${pairText([sh, sw])}` : ''}${ph || pw ? ` p${pairText([ph, pw])}` : ''}` +
        `${dh > 1 || dw > 1 ? ` d${pairText([dh, dw])}` : ''}${spec.groups > 1 ? ` g${spec.groups}` : ''}, ${c}→${spec.out}${spec.bias ? '' : ', no bias'}`;
      break;
    }
    case 'linear': {
      if (inShape.length === 3) fail(`expects features [F] or tokens [T, D], got an image ${fmt(inShape)}: add a flatten (or globalavgpool + flatten) layer before it`);
      needRank(1, 2);
      const f = inShape[inShape.length - 1];
      if (spec.in !== undefined && spec.in !== f) fail(`expects ${spec.in} inputs, got ${f}`);
      out = [...inShape.slice(0, -1), spec.out];
      addParam('weight', [spec.out, f], 'weight', f);
      if (spec.bias) addParam('bias', [spec.out], 'bias', f);
      flops = 2 * prod(inShape.slice(0, -1)) * f * spec.out;
      row.detail = `${f}→${spec.out}${spec.bias ? '' : ', no bias'}`;
      break;
    }
    case 'batchnorm': {
      needRank(1, 2, 3);
      const c = inShape[0];
      addParam('weight', [c], 'normWeight');
      addParam('bias', [c], 'normBias');
      addBuffer('running_mean', [c], 'runningMean');
      addBuffer('running_var', [c], 'runningVar');
      addBuffer('num_batches_tracked', [], 'numBatchesTracked');
      row.detail = `${inShape.length === 3 ? '2d' : '1d'}, ${c}`;
      break;
    }
    case 'layernorm': {
      needRank(1, 2, 3);
      const d = inShape[inShape.length - 1];
      addParam('weight', [d], 'normWeight');
      addParam('bias', [d], 'normBias');
      row.detail = `${d}`;
      break;
    }
    case 'activation':
      row.detail = spec.kind + (spec.alpha !== undefined ? ` α=${spec.alpha}` : '');
      break;
    case 'dropout':
      row.detail = `p=${spec.p}`;
      break;
    case 'maxpool2d':
    case 'avgpool2d': {
      needRank(3);
      const [c, h, wd] = inShape;
      const [kh, kw] = asPair(spec.kernel);
      const [sh, sw] = asPair(spec.stride ?? spec.kernel);
      const [ph, pw] = asPair(spec.padding);
      if (2 * ph > kh || 2 * pw > kw) fail(`padding ${pairText([ph, pw])} must be at most half the kernel ${pairText([kh, kw])}`);
      const ho = convOutLength(h, kh, sh, ph);
      const wo = convOutLength(wd, kw, sw, pw);
      if (ho < 1 || wo < 1) fail(`kernel ${kh}×${kw} is larger than its padded input ${h + 2 * ph}×${wd + 2 * pw}`);
      out = [c, ho, wo];
      row.detail = `${kh}×${kw}${sh !== kh || sw !== kw ? ` s${pairText([sh, sw])}` : ''}${ph || pw ? ` p${pairText([ph, pw])}` : ''}`;
      break;
    }
    case 'globalavgpool':
      needRank(3);
      out = [inShape[0], 1, 1];
      break;
    case 'adaptiveavgpool': {
      needRank(3);
      const [oh, ow] = asPair(spec.size);
      out = [inShape[0], oh, ow];
      row.detail = pairText([oh, ow]);
      break;
    }
    case 'flatten':
      out = [prod(inShape)];
      break;
    case 'recurrent': {
      needRank(2, 3);
      const [t, f] = sequenceShape(inShape);
      const g = GATES[spec.cell];
      const dirs = spec.bidirectional ? 2 : 1;
      const hd = spec.hidden;
      for (let l = 0; l < spec.layers; l++) {
        const inF = l === 0 ? f : dirs * hd;
        for (let d = 0; d < dirs; d++) {
          const sfx = `l${l}${d === 1 ? '_reverse' : ''}`;
          addParam(`weight_ih_${sfx}`, [g * hd, inF], 'recurrentWeight', hd);
          addParam(`weight_hh_${sfx}`, [g * hd, hd], 'recurrentWeight', hd);
          addParam(`bias_ih_${sfx}`, [g * hd], 'recurrentBias', hd);
          addParam(`bias_hh_${sfx}`, [g * hd], 'recurrentBias', hd);
          flops += 2 * t * g * hd * (inF + hd);
        }
      }
      out = [dirs * hd];
      row.detail = `${spec.cell}${spec.cell === 'rnn' && spec.nonlinearity === 'relu' ? '(relu)' : ''} ${t}×${f}→${hd}` +
        `${spec.layers > 1 ? ` ×${spec.layers} layers` : ''}${spec.bidirectional ? ' bidir' : ''}, ${spec.readout}`;
      break;
    }
    case 'patchembed': {
      needRank(3);
      const [c, h, wd] = inShape;
      const p = spec.patch;
      if (h % p !== 0 || wd % p !== 0) fail(`patch ${p} must divide the image size ${h}×${wd}`);
      const t = (h / p) * (wd / p);
      out = [t, spec.dim];
      addParam('proj.weight', [spec.dim, c, p, p], 'weight', c * p * p);
      addParam('proj.bias', [spec.dim], 'bias', c * p * p);
      flops = 2 * t * spec.dim * c * p * p;
      row.detail = `${p}×${p} patches → ${t} tokens of ${spec.dim}`;
      break;
    }
    case 'clstoken':
      needRank(2);
      out = [inShape[0] + 1, inShape[1]];
      addParam('cls', [1, 1, inShape[1]], 'embedding');
      break;
    case 'positions':
      needRank(2);
      if (spec.kind === 'learned') addParam('pos', [1, inShape[0], inShape[1]], 'embedding');
      else if (inShape[1] % 2 !== 0) fail(`sinusoidal positions need an even width, got ${inShape[1]}`);
      row.detail = spec.kind;
      break;
    case 'transformerblock': {
      needRank(2);
      const [t, d] = inShape;
      if (d % spec.heads !== 0) fail(`width ${d} is not divisible by ${spec.heads} heads`);
      const hid = mlpHidden(d, spec.mlpRatio);
      addParam('ln1.weight', [d], 'normWeight');
      addParam('ln1.bias', [d], 'normBias');
      addParam('attn.in_proj_weight', [3 * d, d], 'attnInProj', d);
      addParam('attn.in_proj_bias', [3 * d], 'zero');
      addParam('attn.out_proj.weight', [d, d], 'weight', d);
      addParam('attn.out_proj.bias', [d], 'zero');
      addParam('ln2.weight', [d], 'normWeight');
      addParam('ln2.bias', [d], 'normBias');
      addParam('mlp.0.weight', [hid, d], 'weight', d);
      addParam('mlp.0.bias', [hid], 'bias', d);
      addParam('mlp.2.weight', [d, hid], 'weight', hid);
      addParam('mlp.2.bias', [d], 'bias', hid);
      flops = 2 * t * 3 * d * d + 2 * 2 * t * t * d + 2 * t * d * d + 2 * 2 * t * d * hid;
      row.detail = `${spec.heads} heads, mlp ${hid}${spec.dropout ? `, dropout ${spec.dropout}` : ''}`;
      break;
    }
    case 'tokenpool':
      needRank(2);
      out = [inShape[1]];
      row.detail = spec.kind;
      break;
    case 'residual': {
      const body = walkList(w, spec.body, inShape, `${path}.body`, depth + 1);
      let scParams = 0;
      let scFlops = 0;
      let scOut: number[];
      let scName: string;
      const sc = spec.shortcut;
      if (sc === 'identity') {
        scOut = inShape;
        scName = 'identity';
      } else if (sc === 'none') {
        scOut = body.out;
        scName = 'none (plain)';
      } else if (!Array.isArray(sc)) {
        scName = 'A (subsample + zero-pad)';
        if (inShape.length !== 3 || body.out.length !== 3) fail(`shortcut A needs images, got ${fmt(inShape)} → ${fmt(body.out)}`);
        if (body.out[0] < inShape[0]) fail(`shortcut A can only add channels (${inShape[0]} → ${body.out[0]}): use a projection shortcut`);
        if (optionAStride(inShape, body.out) === 0) fail(`shortcut A cannot subsample ${fmt(inShape)} to ${fmt(body.out)}`);
        scOut = body.out;
      } else {
        const r = walkList(w, sc, inShape, `${path}.shortcut`, depth + 1);
        scOut = r.out;
        scParams = r.params;
        scFlops = r.flops;
        scName = 'projection';
      }
      if (fmt(scOut) !== fmt(body.out)) {
        fail(`body gives ${fmt(body.out)} but the ${scName} shortcut gives ${fmt(scOut)}` +
          (sc === 'identity' ? ': use shortcut {"kind": "A"} or a projection (conv 1×1 + batchnorm)' : ''));
      }
      out = body.out;
      row.params = body.params + scParams;
      row.flops = body.flops + scFlops;
      row.detail = `shortcut ${scName}${spec.activation ? `, then ${spec.activation}` : ''}`;
      row.outputShape = out;
      return { out, params: row.params, flops: row.flops };
    }
    case 'concat': {
      const outs = spec.branches.map((b, i) => ({ i, ...walkList(w, b, inShape, `${path}.branches.${i}`, depth + 1) }));
      const first = outs[0].out;
      for (const o of outs) {
        if (o.out.length !== first.length || o.out.slice(1).join() !== first.slice(1).join()) {
          fail(`branch ${o.i} gives ${fmt(o.out)} but branch 0 gives ${fmt(first)}: all but the channel axis must match`);
        }
      }
      out = [outs.reduce((a, o) => a + o.out[0], 0), ...first.slice(1)];
      row.params = outs.reduce((a, o) => a + o.params, 0);
      row.flops = outs.reduce((a, o) => a + o.flops, 0);
      row.detail = `${outs.length} branches`;
      row.outputShape = out;
      return { out, params: row.params, flops: row.flops };
    }
  }
  row.outputShape = out;
  row.params = w.parameters.slice(firstParam).reduce((a, p) => a + prod(p.shape), 0);
  row.flops = flops;
  return { out, params: row.params, flops };
}

/** Shape-checks a graph and lists its layers, parameters and FLOPs. Pure (no GPU). */
export function describeGraph(graph: ModelGraph): GraphDescription {
  const w: Walker = { rows: [], parameters: [], buffers: [] };
  if (graph.layers.length === 0 || graph.layers[0].type !== 'normalize') {
    throw new ModelConfigError('layers.0: the first layer must be normalize {mean, std} (models take raw 0–255 pixels)', 'layers.0');
  }
  const bad = graph.layers.findIndex((l, i) => i > 0 && l.type === 'normalize');
  if (bad > 0) throw new ModelConfigError(`layers.${bad} (normalize): normalize may only be the first layer`, `layers.${bad}`);
  const r = walkList(w, graph.layers, [...graph.input], 'layers', 0);
  if (r.out.length !== 1 || r.out[0] !== graph.classes) {
    const last = graph.layers.length - 1;
    throw new ModelConfigError(
      `layers.${last} (${graph.layers[last].type}): the model ends with ${fmt(r.out)} but needs [${graph.classes}] ` +
        `(one logit per class): end with a linear layer of ${graph.classes} outputs`,
      `layers.${last}`,
    );
  }
  return {
    rows: w.rows,
    totalParams: r.params,
    totalFlops: r.flops,
    parameters: w.parameters,
    buffers: w.buffers,
    inputShape: [...graph.input],
    outputShape: r.out,
  };
}
