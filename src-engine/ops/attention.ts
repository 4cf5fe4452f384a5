/**
 * Attention: scaledDotProductAttention (batched matmuls with transposes baked
 * into the GEMM + a fused scale/causal-mask/softmax row kernel) and
 * multiHeadAttention with PyTorch nn.MultiheadAttention's parameter layout.
 *
 * SDPA, per (b, h):  S = q·kᵀ,  W = softmax(S/√D) (masked: j > i → 0 when
 * causal, top-left aligned like PyTorch's is_causal),  out = W·v.
 * Backward (one tape node, nothing but W is kept):
 *   dW = g·vᵀ (+ the gradient of the returned weights),  dv = Wᵀ·g,
 *   dS = W ⊙ (dW − Σ_j dW·W)/√D,  dq = dS·k,  dk = dSᵀ·q.
 */
import { ShapeError } from '../core/errors.ts';
import { kernel, kernelFamily, Params, WGSL_WG_LINEAR } from '../core/kernel.ts';
import { addSameShape, noGrad, record, recordMulti } from '../core/tape.ts';
import { empty, type Tensor } from '../core/tensor.ts';
import { gatherStrided, scatterStrided } from './map.ts';
import { linear, matmul } from './matmul.ts';
import { permute, reshape } from './shape.ts';
import { rowShape, rowWorkgroups, seqRows } from './softmax.ts';

const WG = 64;

/*
 * attention_softmax: s, w [rows, Tk], rows = B·H·Tq; row r is query
 * i = r % Tq. Per row (a workgroup of 64 invocations, or one invocation for
 * many short rows: softmax.ts rowShape): columns j < lim
 * (lim = min(Tk, i + 1) when causal, else Tk) get softmax(scale·s) over
 * those columns, the rest 0.
 */
const SOFTMAX = kernelFamily((shape: 'seq' | 'wg') => {
  const r = rowShape(shape === 'seq');
  return kernel(
    'attention_softmax' + (r.seq ? '_seq' : ''),
    /* wgsl */ `
struct P { rows: u32, Tq: u32, Tk: u32, scale: f32, causal: u32 }
@group(0) @binding(0) var<storage, read> s: array<f32>;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${WGSL_WG_LINEAR}
${r.helpers}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = ${r.row};
  if (row >= p.rows) { return; }
  let base = row * p.Tk;
  var lim = p.Tk;
  if (p.causal != 0u) { lim = min(p.Tk, row % p.Tq + 1u); }
  var m = -3.402823e38;
  for (var j = ${r.start}; j < lim; j += ${r.stride}) { m = max(m, s[base + j] * p.scale); }
  m = wg_max(m, lid);
  var t = 0.0;
  for (var j = ${r.start}; j < lim; j += ${r.stride}) { t += exp(s[base + j] * p.scale - m); }
  let inv = 1.0 / wg_sum(t, lid);
  for (var j = ${r.start}; j < p.Tk; j += ${r.stride}) {
    var v = 0.0;
    if (j < lim) { v = exp(s[base + j] * p.scale - m) * inv; }
    w[base + j] = v;
  }
}`,
    ['read', 'write', 'uniform'],
  );
});

/*
 * attention_softmax_backward: w, g, ds [rows, Tk]. Per row (a workgroup, or
 * one invocation for many short rows): ds = scale·w ⊙ (g − Σ_j g·w). Masked
 * columns have w = 0, so ds = 0 there.
 */
const SOFTMAX_BACKWARD = kernelFamily((shape: 'seq' | 'wg') => {
  const r = rowShape(shape === 'seq');
  return kernel(
    'attention_softmax_backward' + (r.seq ? '_seq' : ''),
    /* wgsl */ `
struct P { rows: u32, Tk: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> ds: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${WGSL_WG_LINEAR}
${r.helpers}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = ${r.row};
  if (row >= p.rows) { return; }
  let base = row * p.Tk;
  var t = 0.0;
  for (var j = ${r.start}; j < p.Tk; j += ${r.stride}) { t += g[base + j] * w[base + j]; }
  t = wg_sum(t, lid);
  for (var j = ${r.start}; j < p.Tk; j += ${r.stride}) { ds[base + j] = p.scale * w[base + j] * (g[base + j] - t); }
}`,
    ['read', 'read', 'write', 'uniform'],
  );
});

export interface AttentionOptions {
  /** Mask keys j > i (query i sees keys 0..i; top-left aligned when Tq ≠ Tk, as PyTorch's is_causal). */
  causal?: boolean;
  /** Also return the attention weights [B, H, Tq, Tk] (differentiable). */
  returnWeights?: boolean;
}

export interface AttentionResult {
  out: Tensor;
  weights?: Tensor;
}

/**
 * softmax(q·kᵀ/√D [+ causal mask])·v for q [B, H, Tq, D], k [B, H, Tk, D],
 * v [B, H, Tk, Dv] → out [B, H, Tq, Dv] (and weights [B, H, Tq, Tk] when
 * asked). The weights are kept for backward: when returned, keep them alive
 * until backward has run (as any op's saved output).
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opt: AttentionOptions = {}): AttentionResult {
  const shapes = [q.shape, k.shape, v.shape];
  if ([q, k, v].some((t) => t.rank !== 4 || t.dtype !== 'f32')) {
    throw new ShapeError('scaledDotProductAttention', 'q, k, v must be float32 [B, H, T, D]', shapes);
  }
  const [B, H, Tq, D] = q.shape;
  const Tk = k.shape[2];
  if (k.shape[0] !== B || k.shape[1] !== H || v.shape[0] !== B || v.shape[1] !== H) {
    throw new ShapeError('scaledDotProductAttention', 'q, k, v must share B and H', shapes);
  }
  if (k.shape[3] !== D) throw new ShapeError('scaledDotProductAttention', `q and k feature sizes differ (${D} vs ${k.shape[3]})`, shapes);
  if (v.shape[2] !== Tk) throw new ShapeError('scaledDotProductAttention', `k and v lengths differ (${Tk} vs ${v.shape[2]})`, shapes);
  const engine = q.engine;
  const scale = 1 / Math.sqrt(Math.max(D, 1));
  const causal = opt.causal ?? false;
  const rows = B * H * Tq;

  // The matmuls run untracked: this op records one node of its own below.
  const scores = noGrad(() => matmul(q, k, { transposeB: true })); // [B, H, Tq, Tk]
  const weights = empty(engine, [B, H, Tq, Tk]); // [B, H, Tq, Tk]
  const seq = seqRows(rows, Tk);
  if (weights.size > 0) {
    engine.run(SOFTMAX(seq ? 'seq' : 'wg'), [scores, weights], new Params().u32(rows).u32(Tq).u32(Tk).f32(scale).u32(causal ? 1 : 0), rowWorkgroups(seq, rows));
  }
  scores.dispose();
  const out = noGrad(() => matmul(weights, v)); // [B, H, Tq, Dv]

  const back = (g: Tensor, gw: Tensor | null): Array<Tensor | null> => {
    const dv = v.requiresGrad ? matmul(weights, g, { transposeA: true }) : null; // [B, H, Tk, Dv]
    let ds: Tensor | null = null;
    if (q.requiresGrad || k.requiresGrad) {
      let dw = matmul(g, v, { transposeB: true }); // [B, H, Tq, Tk]
      if (gw) {
        const t = addSameShape(dw, gw);
        dw.dispose();
        dw = t;
      }
      ds = empty(engine, weights.shape); // [B, H, Tq, Tk]
      if (ds.size > 0) engine.run(SOFTMAX_BACKWARD(seq ? 'seq' : 'wg'), [weights, dw, ds], new Params().u32(rows).u32(Tk).f32(scale), rowWorkgroups(seq, rows));
      dw.dispose();
    }
    const dq = ds && q.requiresGrad ? matmul(ds, k) : null; // [B, H, Tq, D]
    const dk = ds && k.requiresGrad ? matmul(ds, q, { transposeA: true }) : null; // [B, H, Tk, D]
    ds?.dispose();
    return [dq, dk, dv];
  };
  if (opt.returnWeights) {
    recordMulti('scaledDotProductAttention', [q, k, v], [out, weights], (gys) => back(gys[0], gys[1]));
    return { out, weights };
  }
  record('scaledDotProductAttention', [q, k, v], out, (g) => back(g, null));
  if (out.node) out.own(weights);
  else weights.dispose();
  return { out };
}

export interface MultiHeadAttentionOptions {
  heads: number;
  causal?: boolean;
  /** Also return the per-head attention weights [B, heads, T, T] (not averaged). */
  returnWeights?: boolean;
}

/**
 * Self-attention with nn.MultiheadAttention's parameters (batch_first):
 * x [B, T, E], inProjWeight [3E, E] (q; k; v rows), inProjBias [3E],
 * outProjWeight [E, E], outProjBias [E], E divisible by heads.
 * → out [B, T, E] (and weights [B, heads, T, T] when asked).
 */
export function multiHeadAttention(
  x: Tensor,
  inProjWeight: Tensor,
  inProjBias: Tensor | null,
  outProjWeight: Tensor,
  outProjBias: Tensor | null,
  opt: MultiHeadAttentionOptions,
): AttentionResult {
  const shapes = [x.shape, inProjWeight.shape, inProjBias?.shape ?? [], outProjWeight.shape, outProjBias?.shape ?? []];
  if (x.rank !== 3 || x.dtype !== 'f32') throw new ShapeError('multiHeadAttention', 'x must be float32 [B, T, E]', shapes);
  const [B, T, E] = x.shape;
  const heads = opt.heads;
  if (!Number.isInteger(heads) || heads < 1 || E % heads !== 0) {
    throw new ShapeError('multiHeadAttention', `embedding size ${E} is not divisible by heads = ${heads}`, [x.shape]);
  }
  const is = (t: Tensor | null, s: number[]): boolean => !t || (t.rank === s.length && t.shape.every((d, i) => d === s[i]));
  if (!is(inProjWeight, [3 * E, E]) || !is(inProjBias, [3 * E]) || !is(outProjWeight, [E, E]) || !is(outProjBias, [E])) {
    throw new ShapeError('multiHeadAttention', `expects in_proj_weight [${3 * E}, ${E}], in_proj_bias [${3 * E}], out_proj.weight [${E}, ${E}], out_proj.bias [${E}]`, shapes);
  }
  const hd = E / heads;
  const qkv = linear(x, inProjWeight, inProjBias); // [B, T, 3E]
  const [q, k, v] = splitHeads(qkv, heads); // 3 × [B, heads, T, hd]
  const att = scaledDotProductAttention(q, k, v, { causal: opt.causal, returnWeights: opt.returnWeights });
  const merged = permute(att.out, [0, 2, 1, 3]); // [B, T, heads, hd]
  const flat = reshape(merged, [B, T, heads * hd]); // [B, T, E]
  const out = linear(flat, outProjWeight, outProjBias); // [B, T, E]
  // The intermediates link the graph (and are saved by its nodes): they live as long as out.
  const inner = [qkv, q, k, v, att.out, merged, flat];
  if (out.node) out.own(...inner);
  else for (const t of inner) t.dispose();
  return att.weights ? { out, weights: att.weights } : { out };
}

/**
 * qkv [B, T, 3E] → q, k, v [B, heads, T, E/heads]: three strided gathers
 * (q[b, h, t, d] = qkv[b, t, which·E + h·hd + d]); backward scatters the
 * three gradients back into one [B, T, 3E] (they cover it exactly once).
 */
function splitHeads(qkv: Tensor, heads: number): Tensor[] {
  const [B, T, E3] = qkv.shape;
  const E = E3 / 3;
  const hd = E / heads;
  const shape = [B, heads, T, hd];
  const strides = [T * E3, hd, E3, 1];
  const outs = [0, 1, 2].map((which) => gatherStrided(qkv, shape, strides, which * E)); // 3 × [B, heads, T, hd]
  recordMulti('splitHeads', [qkv], outs, (gys) => {
    const g = empty(qkv.engine, qkv.shape); // [B, T, 3E]
    gys.forEach((gy, which) => scatterStrided(gy, g, strides, which * E));
    return [g];
  });
  return outs;
}

