/**
 * CPU reference interpreter of a layer graph (float64, tests only): walks the
 * same ModelGraph as src-engine/models/build.ts, layer by layer, with the op
 * references of this folder (conv, pool, norm, recurrent, attention) and plain
 * loops for the rest. Dropout is the identity (evaluate with training: false
 * or p = 0). BatchNorm in training uses batch statistics and writes the
 * updated running statistics back into `buffers`.
 */
import type { LayerSpec, ModelGraph } from '../../../src-engine/models/graph.ts';
import { conv2dRef } from './conv.ts';
import { activationsRef } from './elementwise.ts';
import { batchNormRef, layerNormRef } from './norm.ts';
import { adaptiveAvgPoolRef, avgPoolRef, maxPoolRef } from './pool.ts';
import { mhaRef } from './attention.ts';
import { type CellKind, sequenceRef } from './recurrent.ts';

export interface RefTensor {
  data: Float64Array;
  /** With the batch axis. */
  shape: number[];
}

export type RefParams = Map<string, ArrayLike<number>>;

const pair = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);
const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function linearRows(x: ArrayLike<number>, rows: number, inF: number, W: ArrayLike<number>, b: ArrayLike<number> | null, outF: number): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * W[o * inF + i];
      y[r * outF + o] = s;
    }
  return y;
}

function addT(a: RefTensor, b: RefTensor): RefTensor {
  return { data: a.data.map((v, i) => v + b.data[i]), shape: a.shape };
}

function act(x: RefTensor, kind: keyof typeof activationsRef, alpha?: number): RefTensor {
  const f = activationsRef[kind] as (v: number, a?: number) => number;
  return { data: x.data.map((v) => f(v, alpha)), shape: x.shape };
}

/** Channel concat (axis 1) of [N, C_i, ...rest]. */
function concatChannels(ts: RefTensor[]): RefTensor {
  const n = ts[0].shape[0];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    for (const t of ts) {
      const block = size(t.shape.slice(1));
      for (let j = 0; j < block; j++) out.push(t.data[i * block + j]);
    }
  }
  return { data: Float64Array.from(out), shape: [n, ts.reduce((a, t) => a + t.shape[1], 0), ...ts[0].shape.slice(2)] };
}

/** x[:, :, ::s, ::s] with channels zero-padded to outC (floor((outC−C)/2) before). */
function optionA(x: RefTensor, outShape: number[]): RefTensor {
  const [n, c, h, w] = x.shape;
  const [oc, oh, ow] = outShape;
  let s = 1;
  while (Math.ceil(h / s) !== oh || Math.ceil(w / s) !== ow) s++;
  const before = Math.floor((oc - c) / 2);
  const y = new Float64Array(n * oc * oh * ow);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++)
      for (let a = 0; a < oh; a++)
        for (let b = 0; b < ow; b++) y[((i * oc + ch + before) * oh + a) * ow + b] = x.data[((i * c + ch) * h + a * s) * w + b * s];
  return { data: y, shape: [n, oc, oh, ow] };
}

function sinusoid(t: number, d: number): Float64Array {
  const pe = new Float64Array(t * d);
  for (let p = 0; p < t; p++)
    for (let i = 0; i < d; i += 2) {
      const ang = p / 10000 ** (i / d);
      pe[p * d + i] = Math.sin(ang);
      pe[p * d + i + 1] = Math.cos(ang);
    }
  return pe;
}

export class ModelRef {
  constructor(
    readonly graph: ModelGraph,
    readonly params: RefParams,
    /** running_mean / running_var (updated in place in training). */
    readonly buffers: Map<string, Float64Array>,
  ) {}

  /** x: raw pixels [N, C, H, W] → logits [N, classes]. */
  forward(x: ArrayLike<number>, n: number, training: boolean): RefTensor {
    return this.list(this.graph.layers, { data: Float64Array.from(x), shape: [n, ...this.graph.input] }, 'layers', training);
  }

  private p(name: string): ArrayLike<number> {
    const v = this.params.get(name);
    if (!v) throw new Error(`reference: missing parameter ${name}`);
    return v;
  }

  private list(layers: readonly LayerSpec[], x: RefTensor, prefix: string, training: boolean): RefTensor {
    return layers.reduce((h, spec, j) => this.layer(spec, h, `${prefix}.${j}`, training), x);
  }

  private layer(spec: LayerSpec, x: RefTensor, path: string, training: boolean): RefTensor {
    const p = (s: string): ArrayLike<number> => this.p(`${path}.${s}`);
    const n = x.shape[0];
    switch (spec.type) {
      case 'normalize': {
        const [, c, h, w] = x.shape;
        const y = x.data.map((v, i) => {
          const ch = Math.floor(i / (h * w)) % c;
          return (v / 255 - spec.mean[ch]) / spec.std[ch];
        });
        return { data: y, shape: x.shape };
      }
      case 'conv2d': {
        const [o, cg, kh, kw] = [spec.out, x.shape[1] / spec.groups, ...pair(spec.kernel)];
        const opts = { stride: pair(spec.stride), padding: pair(spec.padding), dilation: pair(spec.dilation), groups: spec.groups };
        const y = conv2dRef(x.data, x.shape, p('weight'), [o, cg, kh, kw], spec.bias ? p('bias') : null, opts);
        const [, , h, w] = x.shape;
        const ho = Math.floor((h + 2 * opts.padding[0] - opts.dilation[0] * (kh - 1) - 1) / opts.stride[0]) + 1;
        const wo = Math.floor((w + 2 * opts.padding[1] - opts.dilation[1] * (kw - 1) - 1) / opts.stride[1]) + 1;
        return { data: y, shape: [n, o, ho, wo] };
      }
      case 'linear': {
        const f = x.shape[x.shape.length - 1];
        const rows = x.data.length / f;
        return { data: linearRows(x.data, rows, f, p('weight'), spec.bias ? p('bias') : null, spec.out), shape: [...x.shape.slice(0, -1), spec.out] };
      }
      case 'batchnorm': {
        const rm = this.buffers.get(`${path}.running_mean`)!;
        const rv = this.buffers.get(`${path}.running_var`)!;
        const r = batchNormRef(x.data, x.shape, p('weight'), p('bias'), rm, rv, training, spec.momentum, spec.eps);
        rm.set(r.runningMean);
        rv.set(r.runningVar);
        return { data: r.y, shape: x.shape };
      }
      case 'layernorm':
        return { data: layerNormRef(x.data, x.shape[x.shape.length - 1], p('weight'), p('bias'), spec.eps), shape: x.shape };
      case 'activation':
        return act(x, spec.kind, spec.alpha);
      case 'dropout':
        if (training && spec.p > 0) throw new Error('reference: dropout in training is random');
        return x;
      case 'maxpool2d':
      case 'avgpool2d': {
        const o = { kernel: pair(spec.kernel), stride: pair(spec.stride ?? spec.kernel), padding: pair(spec.padding) };
        const y = spec.type === 'maxpool2d' ? maxPoolRef(x.data, x.shape, o).y : avgPoolRef(x.data, x.shape, o);
        const [, c, h, w] = x.shape;
        const ho = Math.floor((h + 2 * o.padding[0] - o.kernel[0]) / o.stride[0]) + 1;
        const wo = Math.floor((w + 2 * o.padding[1] - o.kernel[1]) / o.stride[1]) + 1;
        return { data: y, shape: [n, c, ho, wo] };
      }
      case 'globalavgpool':
        return { data: adaptiveAvgPoolRef(x.data, x.shape, 1, 1), shape: [n, x.shape[1], 1, 1] };
      case 'adaptiveavgpool': {
        const [oh, ow] = pair(spec.size);
        return { data: adaptiveAvgPoolRef(x.data, x.shape, oh, ow), shape: [n, x.shape[1], oh, ow] };
      }
      case 'flatten':
        return { data: x.data, shape: [n, size(x.shape.slice(1))] };
      case 'residual': {
        const body = this.list(spec.body, x, `${path}.body`, training);
        const sc = spec.shortcut;
        let y: RefTensor;
        if (sc === 'none') y = body;
        else if (sc === 'identity') y = addT(body, x);
        else if (!Array.isArray(sc)) y = addT(body, optionA(x, body.shape.slice(1)));
        else y = addT(body, this.list(sc, x, `${path}.shortcut`, training));
        return spec.activation ? act(y, spec.activation) : y;
      }
      case 'concat':
        return concatChannels(spec.branches.map((b, i) => this.list(b, x, `${path}.branches.${i}`, training)));
      case 'recurrent': {
        // [N, C, H, W] → [N, T = H, F = C·W]
        let seq: Float64Array;
        let T: number;
        let F: number;
        if (x.shape.length === 4) {
          const [, c, h, w] = x.shape;
          T = h;
          F = c * w;
          seq = new Float64Array(n * T * F);
          for (let i = 0; i < n; i++)
            for (let t = 0; t < h; t++)
              for (let ch = 0; ch < c; ch++) for (let k = 0; k < w; k++) seq[(i * T + t) * F + ch * w + k] = x.data[((i * c + ch) * h + t) * w + k];
        } else {
          [T, F] = [x.shape[1], x.shape[2]];
          seq = x.data;
        }
        const kind: CellKind = spec.cell === 'rnn' ? (spec.nonlinearity === 'relu' ? 'rnnRelu' : 'rnnTanh') : spec.cell;
        const H = spec.hidden;
        const dirs = spec.bidirectional ? 2 : 1;
        let input = seq;
        let inF = F;
        let finals: Float64Array[] = [];
        let output = new Float64Array(0);
        for (let l = 0; l < spec.layers; l++) {
          const outs: Float64Array[] = [];
          finals = [];
          for (let d = 0; d < dirs; d++) {
            const sfx = `l${l}${d ? '_reverse' : ''}`;
            const r = sequenceRef(kind, { B: n, T, I: inF, H }, {
              x: input, h0: null, c0: null,
              wIh: p(`weight_ih_${sfx}`), wHh: p(`weight_hh_${sfx}`), bIh: p(`bias_ih_${sfx}`), bHh: p(`bias_hh_${sfx}`),
            }, d === 1);
            outs.push(r.output);
            finals.push(r.hN);
          }
          output = new Float64Array(n * T * dirs * H);
          for (let i = 0; i < n * T; i++) for (let d = 0; d < dirs; d++) for (let j = 0; j < H; j++) output[i * dirs * H + d * H + j] = outs[d][i * H + j];
          input = output;
          inF = dirs * H;
        }
        const y = new Float64Array(n * dirs * H);
        for (let i = 0; i < n; i++)
          for (let d = 0; d < dirs; d++)
            for (let j = 0; j < H; j++) {
              if (spec.readout === 'last') y[i * dirs * H + d * H + j] = finals[d][i * H + j];
              else {
                let m = -Infinity;
                for (let t = 0; t < T; t++) m = Math.max(m, output[(i * T + t) * dirs * H + d * H + j]);
                y[i * dirs * H + d * H + j] = m;
              }
            }
        return { data: y, shape: [n, dirs * H] };
      }
      case 'patchembed': {
        const [, c, h, w] = x.shape;
        const P = spec.patch;
        const D = spec.dim;
        const e = conv2dRef(x.data, x.shape, p('proj.weight'), [D, c, P, P], p('proj.bias'), { stride: [P, P] }); // [N, D, h/P, w/P]
        const T = (h / P) * (w / P);
        const y = new Float64Array(n * T * D);
        for (let i = 0; i < n; i++) for (let d = 0; d < D; d++) for (let t = 0; t < T; t++) y[(i * T + t) * D + d] = e[(i * D + d) * T + t];
        return { data: y, shape: [n, T, D] };
      }
      case 'clstoken': {
        const [, T, D] = x.shape;
        const cls = p('cls');
        const y = new Float64Array(n * (T + 1) * D);
        for (let i = 0; i < n; i++) {
          for (let d = 0; d < D; d++) y[i * (T + 1) * D + d] = cls[d];
          y.set(x.data.subarray(i * T * D, (i + 1) * T * D), i * (T + 1) * D + D);
        }
        return { data: y, shape: [n, T + 1, D] };
      }
      case 'positions': {
        const [, T, D] = x.shape;
        const pos = spec.kind === 'learned' ? p('pos') : sinusoid(T, D);
        return { data: x.data.map((v, i) => v + pos[i % (T * D)]), shape: x.shape };
      }
      case 'transformerblock': {
        const [, T, D] = x.shape;
        const hid = p('mlp.0.bias').length;
        const h1 = layerNormRef(x.data, D, p('ln1.weight'), p('ln1.bias'));
        const a = mhaRef(h1, { B: n, T, E: D, heads: spec.heads }, p('attn.in_proj_weight'), p('attn.in_proj_bias'), p('attn.out_proj.weight'), p('attn.out_proj.bias'));
        const x1 = x.data.map((v, i) => v + a.out[i]);
        const h2 = layerNormRef(x1, D, p('ln2.weight'), p('ln2.bias'));
        const m1 = linearRows(h2, n * T, D, p('mlp.0.weight'), p('mlp.0.bias'), hid).map((v) => activationsRef.gelu(v));
        const m2 = linearRows(m1, n * T, hid, p('mlp.2.weight'), p('mlp.2.bias'), D);
        return { data: x1.map((v, i) => v + m2[i]), shape: x.shape };
      }
      case 'tokenpool': {
        const [, T, D] = x.shape;
        const y = new Float64Array(n * D);
        for (let i = 0; i < n; i++)
          for (let d = 0; d < D; d++) {
            if (spec.kind === 'cls') y[i * D + d] = x.data[i * T * D + d];
            else {
              let s = 0;
              for (let t = 0; t < T; t++) s += x.data[(i * T + t) * D + d];
              y[i * D + d] = s / T;
            }
          }
        return { data: y, shape: [n, D] };
      }
    }
  }
}
