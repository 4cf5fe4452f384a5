/**
 * Losses: crossEntropy (softmax + negative log-likelihood fused in one
 * kernel, integer labels, optional label smoothing as in PyTorch) and mse.
 *
 * Cross-entropy of a row with logits x (C classes), label t, smoothing ε:
 *   q_j = (1 − ε)·[j = t] + ε/C,   loss = logΣexp(x) − Σ_j q_j·x_j
 *   d loss / d x_j = softmax(x)_j − q_j
 * The forward kernel writes one loss per row; the backward kernel recomputes
 * the softmax from the logits (nothing but the logits is kept).
 */
import { ShapeError } from '../core/errors.ts';
import { kernel, kernelFamily, Params, WGSL_WG_LINEAR } from '../core/kernel.ts';
import { record } from '../core/tape.ts';
import { empty, type Tensor } from '../core/tensor.ts';
import { mapN } from './map.ts';
import { mean, sum } from './reduce.ts';
import { rowShape, rowWorkgroups, seqRows } from './softmax.ts';

const WG = 64;

/*
 * cross_entropy_rows: logits [rows, C], labels [rows] (i32), loss [rows]:
 * max, Σ exp, Σ x and x[label] → loss. Labels outside [0, C) give loss 0.
 * Row shape (a workgroup per row, or an invocation per row for short rows)
 * from softmax.ts rowShape; folded.
 */
const CE_FORWARD = kernelFamily((shape: 'seq' | 'wg') => {
  const r = rowShape(shape === 'seq');
  return kernel(
    r.seq ? 'cross_entropy_rows_seq' : 'cross_entropy_rows',
    /* wgsl */ `
struct P { rows: u32, C: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${WGSL_WG_LINEAR}
${r.helpers}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = ${r.row};
  if (row >= p.rows) { return; }
  let base = row * p.C;
  var m = -3.402823e38;
  var sx = 0.0;
  for (var j = ${r.start}; j < p.C; j += ${r.stride}) { let v = x[base + j]; m = max(m, v); sx += v; }
  m = wg_max(m, lid);
  sx = wg_sum(sx, lid);
  var s = 0.0;
  for (var j = ${r.start}; j < p.C; j += ${r.stride}) { s += exp(x[base + j] - m); }
  s = wg_sum(s, lid);
  if (${r.lead}) {
    let t = labels[row];
    if (t < 0 || u32(t) >= p.C) { loss[row] = 0.0; return; }
    let lse = m + log(s);
    let xt = x[base + u32(t)];
    loss[row] = lse - (1.0 - p.eps) * xt - p.eps / f32(p.C) * sx;
  }
}`,
    ['read', 'read', 'write', 'uniform'],
  );
});

/*
 * cross_entropy_backward: logits [rows, C], labels [rows], g [rows] (gradient
 * of each row's loss), dx [rows, C] = g[row]·(softmax(x)_j − q_j). Row shape
 * as the forward.
 */
const CE_BACKWARD = kernelFamily((shape: 'seq' | 'wg') => {
  const r = rowShape(shape === 'seq');
  return kernel(
    r.seq ? 'cross_entropy_backward_seq' : 'cross_entropy_backward',
    /* wgsl */ `
struct P { rows: u32, C: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${WGSL_WG_LINEAR}
${r.helpers}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = ${r.row};
  if (row >= p.rows) { return; }
  let base = row * p.C;
  var m = -3.402823e38;
  for (var j = ${r.start}; j < p.C; j += ${r.stride}) { m = max(m, x[base + j]); }
  m = wg_max(m, lid);
  var s = 0.0;
  for (var j = ${r.start}; j < p.C; j += ${r.stride}) { s += exp(x[base + j] - m); }
  s = wg_sum(s, lid);
  let t = labels[row];
  let valid = t >= 0 && u32(t) < p.C;
  let gr = select(0.0, g[row], valid);
  let inv = 1.0 / s;
  let spread = p.eps / f32(p.C);
  for (var j = ${r.start}; j < p.C; j += ${r.stride}) {
    let q = select(0.0, 1.0 - p.eps, i32(j) == t) + spread;
    dx[base + j] = gr * (exp(x[base + j] - m) * inv - q);
  }
}`,
    ['read', 'read', 'read', 'write', 'uniform'],
  );
});

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  /** ε in [0, 1): targets become (1 − ε)·onehot + ε/C (PyTorch's label_smoothing). */
  labelSmoothing?: number;
  /** 'mean' (default) over rows, 'sum', or 'none' (one loss per row). */
  reduction?: Reduction;
}

/**
 * Softmax cross-entropy. logits: [..., C] f32, labels: [...] i32 (class
 * indices; out-of-range labels contribute 0). Returns a scalar (mean/sum)
 * or [...] per-row losses.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, opt: CrossEntropyOptions = {}): Tensor {
  const C = logits.shape[logits.rank - 1];
  const rowDims = logits.shape.slice(0, -1);
  if (
    logits.rank < 1 ||
    logits.dtype !== 'f32' ||
    labels.dtype === 'f32' ||
    labels.rank !== rowDims.length ||
    labels.shape.some((d, i) => d !== rowDims[i])
  ) {
    throw new ShapeError('crossEntropy', 'expects logits [..., C] (f32) and integer labels [...]', [logits.shape, labels.shape]);
  }
  const eps = opt.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps < 1)) throw new ShapeError('crossEntropy', `labelSmoothing must be in [0, 1), got ${eps}`, []);
  const rows = labels.size;
  const engine = logits.engine;
  const params = (): Params => new Params().u32(rows).u32(C).f32(eps);
  const seq = seqRows(rows, C);
  const shape = seq ? 'seq' : 'wg';
  const perRow = empty(engine, rowDims); // [...]
  if (rows > 0) engine.run(CE_FORWARD(shape), [logits, labels, perRow], params(), rowWorkgroups(seq, rows));
  const rowLoss = record('crossEntropy', [logits], perRow, (g) => {
    const dx = empty(engine, logits.shape); // [..., C]
    if (rows > 0) engine.run(CE_BACKWARD(shape), [logits, labels, g, dx], params(), rowWorkgroups(seq, rows));
    return [dx];
  });
  const reduction = opt.reduction ?? 'mean';
  if (reduction === 'none') return rowLoss;
  const out = reduction === 'mean' ? mean(rowLoss) : sum(rowLoss); // []
  if (out.node) out.own(rowLoss);
  else rowLoss.dispose();
  return out;
}

/** Mean (or sum / none) of (pred − target)². */
export function mse(pred: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  if (pred.dtype !== 'f32' || target.dtype !== 'f32' || pred.rank !== target.rank || pred.shape.some((d, i) => d !== target.shape[i])) {
    throw new ShapeError('mse', 'pred and target must be float32 of the same shape', [pred.shape, target.shape]);
  }
  const sq = mapN(pred.engine, '(a - b) * (a - b)', [pred, target], pred.shape); // [...]
  const sqr = record('squaredError', [pred, target], sq, (g) => [
    pred.requiresGrad ? mapN(g.engine, '2.0 * a * (b - c)', [g, pred, target], pred.shape) : null,
    target.requiresGrad ? mapN(g.engine, '-2.0 * a * (b - c)', [g, pred, target], pred.shape) : null,
  ]);
  if (reduction === 'none') return sqr;
  const out = reduction === 'mean' ? mean(sqr) : sum(sqr);
  if (out.node) out.own(sqr);
  else sqr.dispose();
  return out;
}
