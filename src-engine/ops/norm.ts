/**
 * Normalisation layers: batchNorm (per channel, over N and spatial dims) and
 * layerNorm (per row, over the last dim), forward and backward fused in a
 * few kernels each.
 *
 * BatchNorm, x viewed as [N, C, S] (S = L or H·W, 1 for [N, C]), M = N·S:
 *   training:  μ_c = mean, σ²_c = biased var over (n, s);  x̂ = (x − μ)·(σ² + ε)^-½
 *              running_mean ← (1 − m)·running_mean + m·μ
 *              running_var  ← (1 − m)·running_var  + m·σ²·M/(M − 1)   (unbiased, as PyTorch)
 *   inference: μ, σ² = running stats.
 *   y = γ·x̂ + β
 *   backward (training, closed form):  dβ = Σ g,  dγ = Σ g·x̂,
 *              dx = γ·invstd/M · (M·g − dβ − x̂·dγ);  inference: dx = γ·invstd·g.
 *   Running stats are buffers: updated in place by the stats kernel, never
 *   differentiated. The batch statistics backward needs are kept in a packed
 *   [2, C] tensor owned by the output.
 *
 * LayerNorm over the last dim D of x [..., D] (rows = size / D):
 *   x̂ = (x − μ_r)·(σ²_r + ε)^-½,  y = γ·x̂ + β  (γ, β optional)
 *   backward: ĝ = g·γ,  dx = invstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),
 *             dγ = Σ_rows g·x̂,  dβ = Σ_rows g.
 */
import { ShapeError } from '../core/errors.ts';
import { kernel, kernelFamily, Params, WGSL_MAIN_1D, WGSL_WG_LINEAR } from '../core/kernel.ts';
import { sizeOf } from '../core/shape.ts';
import { needsGrad, record } from '../core/tape.ts';
import { empty, type Tensor } from '../core/tensor.ts';
import { sum } from './reduce.ts';
import { rowShape, rowWorkgroups, seqRows } from './softmax.ts';

/** Invocations of the per-channel BatchNorm reductions (one workgroup per channel). */
const BN_WG = 256;
/** Rows of x folded by one invocation of the LayerNorm dγ/dβ partial sums. */
const LN_CHUNK = 64;

/** WGSL: workgroup-wide sum of a vec2 over BN_WG invocations (all must call). */
const WGSL_WG_SUM2 = /* wgsl */ `
var<workgroup> red2: array<vec2<f32>, ${BN_WG}>;
fn wg_sum2(v: vec2<f32>, lid: u32) -> vec2<f32> {
  red2[lid] = v;
  workgroupBarrier();
  for (var s = ${BN_WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red2[lid] = red2[lid] + red2[lid + s]; }
    workgroupBarrier();
  }
  let r = red2[0];
  workgroupBarrier();
  return r;
}
`;

/**
 * WGSL: a loop of this workgroup's invocations over channel c's M = N·S
 * values (x [N, C, S]), `k` the element's index, `body` run for each:
 * invocation lid takes values j = lid, lid + BN_WG, …, its (n, s) split
 * once and then stepped by (BN_WG / S, BN_WG % S) with one carry: no
 * division per element (ResNet-20's BN statistics and backward reductions
 * took ~2.5 ms per call with one).
 */
function bnChannelLoop(body: string): string {
  return `{
    let dn = ${BN_WG}u / p.S; let ds = ${BN_WG}u % p.S;
    var n = lid / p.S; var s = lid % p.S;
    for (var j = lid; j < p.N * p.S; j += ${BN_WG}u) {
      let k = (n * p.C + c) * p.S + s;
      ${body}
      s += ds; n += dn; if (s >= p.S) { s -= p.S; n += 1u; }
    }
  }`;
}

/*
 * bn_stats (training): x [N, C, S]; stats [2, C] (row 0 mean, row 1 invstd);
 * runningMean, runningVar [C] updated in place. Workgroup c (folded) reduces
 * channel c over its M = N·S values: Σ x → μ, then Σ (x − μ)² → biased σ²
 * (two passes over x for accuracy), and invocation 0 writes the results.
 */
const BN_STATS = kernel(
  'batchnorm_stats',
  /* wgsl */ `
struct P { N: u32, C: u32, S: u32, eps: f32, momentum: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> rmean: array<f32>;
@group(0) @binding(3) var<storage, read_write> rvar: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${WGSL_WG_LINEAR}
${WGSL_WG_SUM2}
@compute @workgroup_size(${BN_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let c = wg_linear(wid, nwg);
  if (c >= p.C) { return; }
  let M = p.N * p.S;
  let fM = f32(M);
  var sum = 0.0;
  ${bnChannelLoop('sum += x[k];')}
  let mu = wg_sum2(vec2<f32>(sum, 0.0), lid).x / fM;
  var q = 0.0;
  ${bnChannelLoop('let d = x[k] - mu; q += d * d;')}
  let v = wg_sum2(vec2<f32>(q, 0.0), lid).x / fM;
  if (lid == 0u) {
    stats[c] = mu;
    stats[p.C + c] = inverseSqrt(v + p.eps);
    let m = p.momentum;
    rmean[c] = (1.0 - m) * rmean[c] + m * mu;
    rvar[c] = (1.0 - m) * rvar[c] + m * v * fM / (fM - 1.0);
  }
}`,
  ['read', 'write', 'write', 'write', 'uniform'],
);

/** WGSL: mean and invstd of channel c from the packed stats (row 1 = var when useVar). */
const WGSL_BN_STATS = /* wgsl */ `
fn bn_mean(c: u32) -> f32 { return stats[c]; }
fn bn_invstd(c: u32) -> f32 {
  let s = stats[p.C + c];
  if (p.useVar != 0u) { return inverseSqrt(s + p.eps); }
  return s;
}
`;

/*
 * bn_apply: x, y [N, C, S]; stats [2, C] (mean; invstd, or var when useVar);
 * gamma, beta [C] (dummies when the flags say absent). One invocation per
 * element i (channel (i / S) % C): y = (x − μ)·invstd·γ + β. 1-D, folded.
 * Variant 4 (S a multiple of 4): four consecutive elements of one channel
 * per invocation, x and y as vec4 (p.n = elements / 4): one channel lookup
 * and one set of statistics loads per four elements (ResNet-20 on lavapipe:
 * 4.5 → 1.6 ms per call).
 */
const BN_APPLY = kernelFamily((width: 1 | 4) => {
  const T = width === 4 ? 'vec4<f32>' : 'f32';
  return kernel(
    width === 4 ? 'batchnorm_apply4' : 'batchnorm_apply',
    /* wgsl */ `
struct P { n: u32, C: u32, S: u32, eps: f32, useVar: u32, hasGamma: u32, hasBeta: u32 }
@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<${T}>;
@group(0) @binding(5) var<uniform> p: P;
${WGSL_BN_STATS}
${WGSL_MAIN_1D}
  let c = (${width}u * i / p.S) % p.C;
  var v = (x[i] - bn_mean(c)) * bn_invstd(c);
  if (p.hasGamma != 0u) { v *= gamma[c]; }
  if (p.hasBeta != 0u) { v += beta[c]; }
  y[i] = v;
}`,
    ['read', 'read', 'read', 'read', 'write', 'uniform'],
  );
});

/*
 * bn_backward_reduce: x, g [N, C, S]; stats [2, C]; dgamma, dbeta [C].
 * Workgroup c (folded) sums, over the channel's N·S values, g (→ dβ) and
 * g·x̂ (→ dγ) in one pass.
 */
const BN_BWD_REDUCE = kernel(
  'batchnorm_backward_reduce',
  /* wgsl */ `
struct P { N: u32, C: u32, S: u32, eps: f32, useVar: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${WGSL_WG_LINEAR}
${WGSL_WG_SUM2}
${WGSL_BN_STATS}
@compute @workgroup_size(${BN_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let c = wg_linear(wid, nwg);
  if (c >= p.C) { return; }
  let mu = bn_mean(c);
  let inv = bn_invstd(c);
  var acc = vec2<f32>(0.0, 0.0);
  ${bnChannelLoop('let gv = g[k]; acc += vec2<f32>(gv, gv * (x[k] - mu) * inv);')}
  let r = wg_sum2(acc, lid);
  if (lid == 0u) {
    dbeta[c] = r.x;
    dgamma[c] = r.y;
  }
}`,
  ['read', 'read', 'read', 'write', 'write', 'uniform'],
);

/*
 * bn_backward_dx: x, g, dx [N, C, S]; stats [2, C]; gamma, dgamma, dbeta [C].
 * One invocation per element: training dx = γ·invstd·(g − (dβ + x̂·dγ)/M),
 * inference dx = γ·invstd·g (dgamma/dbeta unread). 1-D, folded.
 * Variant 4 as bn_apply's (x, g, dx as vec4; p.n = elements / 4).
 */
const BN_BWD_DX = kernelFamily((width: 1 | 4) => {
  const T = width === 4 ? 'vec4<f32>' : 'f32';
  return kernel(
    width === 4 ? 'batchnorm_backward_dx4' : 'batchnorm_backward_dx',
    /* wgsl */ `
struct P { n: u32, C: u32, S: u32, eps: f32, useVar: u32, hasGamma: u32, training: u32, invM: f32 }
@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read> g: array<${T}>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> dgamma: array<f32>;
@group(0) @binding(5) var<storage, read> dbeta: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<${T}>;
@group(0) @binding(7) var<uniform> p: P;
${WGSL_BN_STATS}
${WGSL_MAIN_1D}
  let c = (${width}u * i / p.S) % p.C;
  let inv = bn_invstd(c);
  var k = inv;
  if (p.hasGamma != 0u) { k *= gamma[c]; }
  var gv = g[i];
  if (p.training != 0u) {
    let xh = (x[i] - bn_mean(c)) * inv;
    gv -= (dbeta[c] + xh * dgamma[c]) * p.invM;
  }
  dx[i] = k * gv;
}`,
    ['read', 'read', 'read', 'read', 'read', 'read', 'write', 'uniform'],
  );
});

export interface BatchNormOptions {
  /** Batch statistics + running-stat update (true) or running statistics (false). */
  training: boolean;
  /** Weight of the new batch statistic in the running average (PyTorch default 0.1). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/**
 * Batch normalisation over N and the spatial dims of x [N, C], [N, C, L] or
 * [N, C, H, W] (PyTorch BatchNorm1d/2d). gamma/beta [C] (null = no affine).
 * In training, runningMean/runningVar [C] are updated in place (running_var
 * with the unbiased batch variance, as PyTorch); they are never differentiated.
 */
export function batchNorm(
  x: Tensor,
  gamma: Tensor | null,
  beta: Tensor | null,
  runningMean: Tensor,
  runningVar: Tensor,
  opt: BatchNormOptions,
): Tensor {
  const all = [x.shape, gamma?.shape ?? [], beta?.shape ?? [], runningMean.shape, runningVar.shape];
  if (x.dtype !== 'f32' || x.rank < 2 || x.rank > 4) {
    throw new ShapeError('batchNorm', 'x must be float32 [N, C], [N, C, L] or [N, C, H, W]', [x.shape]);
  }
  const [N, C] = x.shape;
  const S = sizeOf(x.shape.slice(2));
  const M = N * S;
  for (const [name, t] of [['gamma', gamma], ['beta', beta], ['runningMean', runningMean], ['runningVar', runningVar]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== C || t.dtype !== 'f32')) {
      throw new ShapeError('batchNorm', `${name} must be float32 [${C}] (x has ${C} channels)`, all);
    }
  }
  if (opt.training && M <= 1 && C > 0) {
    throw new ShapeError('batchNorm', 'training needs more than one value per channel (N·spatial > 1)', [x.shape]);
  }
  const engine = x.engine;
  const momentum = opt.momentum ?? 0.1;
  const eps = opt.eps ?? 1e-5;
  const training = opt.training;
  const useVar = training ? 0 : 1;
  const rd = engine.placeholder(0); // unused read operands

  // Packed [2, C]: mean; invstd (training) or a snapshot of running var (inference).
  const stats = empty(engine, [2, C]); // [2, C]
  if (training) {
    if (C > 0) engine.run(BN_STATS, [x, stats, runningMean, runningVar], new Params().u32(N).u32(C).u32(S).f32(eps).f32(momentum), C);
  } else {
    // A copy, so a later training step updating the running stats cannot change this backward.
    engine.copy(runningMean.buffer, 0, stats.buffer, 0, C * 4);
    engine.copy(runningVar.buffer, 0, stats.buffer, C * 4, C * 4);
  }
  // Four elements per invocation when each channel's plane is a multiple of 4.
  const width = S % 4 === 0 ? 4 : 1;
  const y = empty(engine, x.shape); // [N, C, ...]
  if (y.size > 0) {
    const n = y.size / width;
    engine.run(
      BN_APPLY(width),
      [x, stats, gamma ?? rd, beta ?? rd, y],
      new Params().u32(n).u32(C).u32(S).f32(eps).u32(useVar).u32(gamma ? 1 : 0).u32(beta ? 1 : 0),
      Math.ceil(n / 256),
    );
  }
  const inputs = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  const out = record('batchNorm', inputs, y, (g) => {
    const wantParams = !!(gamma?.requiresGrad || beta?.requiresGrad);
    // Training dx needs dγ and dβ; inference dx does not.
    const reduce = wantParams || (training && x.requiresGrad);
    const dgamma = reduce ? empty(engine, [C]) : null; // [C]
    const dbeta = reduce ? empty(engine, [C]) : null; // [C]
    if (dgamma && dbeta && C > 0) {
      engine.run(BN_BWD_REDUCE, [x, g, stats, dgamma, dbeta], new Params().u32(N).u32(C).u32(S).f32(eps).u32(useVar), C);
    }
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = empty(engine, x.shape); // [N, C, ...]
      if (dx.size > 0) {
        const n = dx.size / width;
        engine.run(
          BN_BWD_DX(width),
          [x, g, stats, gamma ?? rd, dgamma ?? rd, dbeta ?? rd, dx],
          new Params().u32(n).u32(C).u32(S).f32(eps).u32(useVar).u32(gamma ? 1 : 0).u32(training ? 1 : 0).f32(1 / M),
          Math.ceil(n / 256),
        );
      }
    }
    const grads: Array<Tensor | null> = [dx];
    if (gamma) grads.push(gamma.requiresGrad ? dgamma : null);
    if (beta) grads.push(beta.requiresGrad ? dbeta : null);
    if (dgamma && !gamma?.requiresGrad) dgamma.dispose();
    if (dbeta && !beta?.requiresGrad) dbeta.dispose();
    return grads;
  });
  if (out.node) out.own(stats);
  else stats.dispose();
  return out;
}

// ------------------------------------------------------------------ layerNorm

const LN_WG = 64;

/*
 * layernorm_forward: x, y [rows, D]; gamma, beta [D] (dummies when absent);
 * stats [2, rows] (row mean; invstd), written only when writeStats (backward
 * needs it). Per row (a 64-invocation workgroup, or one invocation for many
 * short rows: softmax.ts rowShape): Σ x → μ, then
 * Σ (x − μ)² → σ², then y = (x − μ)·invstd·γ + β.
 */
const LN_FORWARD = kernelFamily((shape: 'seq' | 'wg') => {
  const r = rowShape(shape === 'seq');
  return kernel(
    'layernorm_forward' + (r.seq ? '_seq' : ''),
    /* wgsl */ `
struct P { rows: u32, D: u32, eps: f32, hasGamma: u32, hasBeta: u32, writeStats: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${WGSL_WG_LINEAR}
${r.helpers}
@compute @workgroup_size(${LN_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = ${r.row};
  if (row >= p.rows) { return; }
  let base = row * p.D;
  let fD = f32(p.D);
  var s = 0.0;
  for (var j = ${r.start}; j < p.D; j += ${r.stride}) { s += x[base + j]; }
  let mu = wg_sum(s, lid) / fD;
  var q = 0.0;
  for (var j = ${r.start}; j < p.D; j += ${r.stride}) { let d = x[base + j] - mu; q += d * d; }
  let inv = inverseSqrt(wg_sum(q, lid) / fD + p.eps);
  for (var j = ${r.start}; j < p.D; j += ${r.stride}) {
    var v = (x[base + j] - mu) * inv;
    if (p.hasGamma != 0u) { v *= gamma[j]; }
    if (p.hasBeta != 0u) { v += beta[j]; }
    y[base + j] = v;
  }
  if (p.writeStats != 0u && ${r.lead}) {
    stats[row] = mu;
    stats[p.rows + row] = inv;
  }
}`,
    ['read', 'read', 'read', 'write', 'write', 'uniform'],
  );
});

/*
 * layernorm_backward_dx: x, g, dx [rows, D]; stats [2, rows]; gamma [D].
 * Per row (as layernorm_forward): Σ ĝ and Σ ĝ·x̂ (ĝ = g·γ), then
 * dx = invstd·(ĝ − Σĝ/D − x̂·Σ(ĝ·x̂)/D).
 */
const LN_BWD_DX = kernelFamily((shape: 'seq' | 'wg') => {
  const r = rowShape(shape === 'seq');
  return kernel(
    'layernorm_backward_dx' + (r.seq ? '_seq' : ''),
    /* wgsl */ `
struct P { rows: u32, D: u32, hasGamma: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${WGSL_WG_LINEAR}
${r.helpers}
fn ghat(base: u32, j: u32) -> f32 {
  if (p.hasGamma != 0u) { return g[base + j] * gamma[j]; }
  return g[base + j];
}
@compute @workgroup_size(${LN_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = ${r.row};
  if (row >= p.rows) { return; }
  let base = row * p.D;
  let mu = stats[row];
  let inv = stats[p.rows + row];
  var a = 0.0;
  var b = 0.0;
  for (var j = ${r.start}; j < p.D; j += ${r.stride}) {
    let gh = ghat(base, j);
    a += gh;
    b += gh * (x[base + j] - mu) * inv;
  }
  let fD = f32(p.D);
  a = wg_sum(a, lid) / fD;
  b = wg_sum(b, lid) / fD;
  for (var j = ${r.start}; j < p.D; j += ${r.stride}) {
    let xh = (x[base + j] - mu) * inv;
    dx[base + j] = inv * (ghat(base, j) - a - xh * b);
  }
}`,
    ['read', 'read', 'read', 'read', 'write', 'uniform'],
  );
});

/*
 * layernorm_backward_params: x, g [rows, D]; stats [2, rows];
 * pg, pb [chunks, D] partial sums. Invocation t = (chunk, d) folds rows
 * [chunk·chunkRows, …) of column d: pg = Σ g·x̂, pb = Σ g (neighbouring
 * invocations read neighbouring columns). 1-D dispatch over chunks·D, folded.
 */
const LN_BWD_PARAMS = kernel(
  'layernorm_backward_params',
  /* wgsl */ `
struct P { n: u32, rows: u32, D: u32, chunkRows: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> pg: array<f32>;
@group(0) @binding(4) var<storage, read_write> pb: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${WGSL_WG_LINEAR}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = wg_linear(wid, nwg) * 64u + lid;
  if (t >= p.n) { return; }
  let chunk = t / p.D;
  let d = t % p.D;
  let r0 = chunk * p.chunkRows;
  let r1 = min(p.rows, r0 + p.chunkRows);
  var sg = 0.0;
  var sb = 0.0;
  for (var r = r0; r < r1; r++) {
    let k = r * p.D + d;
    let gv = g[k];
    sg += gv * (x[k] - stats[r]) * stats[p.rows + r];
    sb += gv;
  }
  pg[t] = sg;
  pb[t] = sb;
}`,
  ['read', 'read', 'read', 'write', 'write', 'uniform'],
);

export interface LayerNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/** Layer normalisation over the last dim of x [..., D], with optional gamma/beta [D] (PyTorch nn.LayerNorm(D)). */
export function layerNorm(x: Tensor, gamma: Tensor | null, beta: Tensor | null, opt: LayerNormOptions = {}): Tensor {
  if (x.dtype !== 'f32' || x.rank < 1) throw new ShapeError('layerNorm', 'x must be a float32 tensor of rank ≥ 1', [x.shape]);
  const D = x.shape[x.rank - 1];
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== D || t.dtype !== 'f32')) {
      throw new ShapeError('layerNorm', `${name} must be float32 [${D}] (the last dim of x)`, [x.shape, t.shape]);
    }
  }
  const engine = x.engine;
  const eps = opt.eps ?? 1e-5;
  const rows = D === 0 ? 0 : x.size / D;
  const rd = engine.placeholder(0); // unused read operands
  const wr = engine.placeholder(1); // unused written operand
  const keep = needsGrad(x, gamma, beta) && rows > 0;
  const stats = keep ? empty(engine, [2, rows]) : null; // [2, rows]: mean; invstd
  const y = empty(engine, x.shape); // [..., D]
  const shape = seqRows(rows, D) ? 'seq' : 'wg';
  if (rows > 0) {
    engine.run(
      LN_FORWARD(shape),
      [x, gamma ?? rd, beta ?? rd, y, stats ?? wr],
      new Params().u32(rows).u32(D).f32(eps).u32(gamma ? 1 : 0).u32(beta ? 1 : 0).u32(stats ? 1 : 0),
      rowWorkgroups(shape === 'seq', rows),
    );
  }
  const inputs = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  const out = record('layerNorm', inputs, y, (g) => {
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = empty(engine, x.shape); // [..., D]
      const p = new Params().u32(rows).u32(D).u32(gamma ? 1 : 0);
      if (stats) engine.run(LN_BWD_DX(shape), [x, g, stats, gamma ?? rd, dx], p, rowWorkgroups(shape === 'seq', rows));
    }
    let dgamma: Tensor | null = null;
    let dbeta: Tensor | null = null;
    if (gamma?.requiresGrad || beta?.requiresGrad) {
      const chunks = Math.max(1, Math.ceil(rows / LN_CHUNK));
      const pg = empty(engine, [chunks, D]); // [chunks, D]
      const pb = empty(engine, [chunks, D]); // [chunks, D]
      if (stats && D > 0) {
        const n = chunks * D;
        engine.run(LN_BWD_PARAMS, [x, g, stats, pg, pb], new Params().u32(n).u32(rows).u32(D).u32(LN_CHUNK), Math.ceil(n / 64));
      }
      // Rows were folded in chunks of LN_CHUNK; the few partial rows are summed here.
      dgamma = chunks === 1 ? pg.view([D]) : sum(pg, 0); // [D]
      dbeta = chunks === 1 ? pb.view([D]) : sum(pb, 0); // [D]
      pg.dispose();
      pb.dispose();
    }
    const grads: Array<Tensor | null> = [dx];
    if (gamma) grads.push(gamma.requiresGrad ? dgamma : null);
    if (beta) grads.push(beta.requiresGrad ? dbeta : null);
    if (dgamma && !gamma?.requiresGrad) dgamma.dispose();
    if (dbeta && !beta?.requiresGrad) dbeta.dispose();
    return grads;
  });
  if (stats) {
    if (out.node) out.own(stats);
    else stats.dispose();
  }
  return out;
}
