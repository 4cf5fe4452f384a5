/**
 * softmax and logSoftmax over the last axis, numerically stable (the row max
 * is subtracted before exp). Other axes are handled by moving the axis last.
 *
 * Backward, per row (y = output, g = incoming gradient):
 *   softmax:     dx = y ⊙ (g − Σ g·y)
 *   logSoftmax:  dx = g − exp(y) · Σ g
 */
import { ShapeError } from '../core/errors.ts';
import { kernel, kernelFamily, Params, WGSL_WG_LINEAR } from '../core/kernel.ts';
import { needsGrad, record } from '../core/tape.ts';
import { empty, type Tensor } from '../core/tensor.ts';
import { transpose } from './shape.ts';

const WG = 64;

/** WGSL: workgroup-wide max and sum over 64 invocations (all must call). */
export const WGSL_ROW_REDUCE = /* wgsl */ `
var<workgroup> red: array<f32, ${WG}>;
fn wg_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn wg_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
`;

/**
 * Row kernels (softmax here, attention's softmax, layer norm) come in two
 * shapes, chosen per call by seqRows():
 *   wg:  one 64-invocation workgroup per row, tree reductions (wg_max,
 *        wg_sum): for long rows;
 *   seq: one invocation per row, plain loops (wg_max / wg_sum are the
 *        identity): for many short rows. On lavapipe a barrier costs about as
 *        much as a row of work (a ViT's attention softmax, 12,800 rows of 50:
 *        90 ms as trees; see the commit that added this for the after).
 * The kernel text uses the returned pieces: `row` (this invocation's row),
 * loops `for (var j = ${start}; j < n; j += ${stride})`, `lead` (the one
 * invocation that writes per-row results) and `helpers`.
 */
export interface RowShape {
  seq: boolean;
  helpers: string;
  row: string;
  start: string;
  stride: string;
  lead: string;
}

export function rowShape(seq: boolean): RowShape {
  return seq
    ? {
        seq,
        helpers: 'fn wg_max(v: f32, lid: u32) -> f32 { return v; }\nfn wg_sum(v: f32, lid: u32) -> f32 { return v; }',
        row: `wg_linear(wid, nwg) * ${WG}u + lid`,
        start: '0u',
        stride: '1u',
        lead: 'true',
      }
    : { seq, helpers: WGSL_ROW_REDUCE, row: 'wg_linear(wid, nwg)', start: 'lid', stride: `${WG}u`, lead: 'lid == 0u' };
}

/**
 * One invocation per row when there are enough rows to fill the device and
 * each is short, or when rows are so short (≤ 32, a classifier's logits)
 * that most of a 64-wide workgroup would idle through the tree's barriers
 * (LeNet-5's cross-entropy, 64 rows of 10: 0.75 ms per step as trees).
 */
export function seqRows(rows: number, len: number): boolean {
  return (rows >= 128 && len <= 1024) || len <= 32;
}

/** Workgroups for `rows` rows in the chosen shape (both 64 invocations wide). */
export function rowWorkgroups(seq: boolean, rows: number): number {
  return seq ? Math.ceil(rows / WG) : rows;
}

type Mode = 'softmax' | 'logSoftmax';

/*
 * softmax / logSoftmax forward: x, y: [rows, C] contiguous. Workgroup r
 * (linear id, folded) handles row r: 64 invocations stride over C for the
 * max, then Σ exp(x − max), then write exp(x − max)/Σ or x − max − log Σ.
 */
const FORWARD = kernelFamily((mode: Mode) =>
  kernel(
    mode,
    /* wgsl */ `
struct P { rows: u32, C: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${WGSL_WG_LINEAR}
${WGSL_ROW_REDUCE}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wg_linear(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.C;
  var m = -3.402823e38;
  for (var j = lid; j < p.C; j += ${WG}u) { m = max(m, x[base + j]); }
  m = wg_max(m, lid);
  var s = 0.0;
  for (var j = lid; j < p.C; j += ${WG}u) { s += exp(x[base + j] - m); }
  s = wg_sum(s, lid);
  ${
    mode === 'softmax'
      ? `let inv = 1.0 / s;
  for (var j = lid; j < p.C; j += ${WG}u) { y[base + j] = exp(x[base + j] - m) * inv; }`
      : `let lse = m + log(s);
  for (var j = lid; j < p.C; j += ${WG}u) { y[base + j] = x[base + j] - lse; }`
  }
}`,
    ['read', 'write', 'uniform'],
  ),
);

/*
 * softmax / logSoftmax backward: y, g, dx: [rows, C]. Workgroup per row:
 * Σ g·y (softmax) or Σ g (logSoftmax), then the elementwise formula above.
 */
const BACKWARD = kernelFamily((mode: Mode) =>
  kernel(
    mode + '_backward',
    /* wgsl */ `
struct P { rows: u32, C: u32 }
@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${WGSL_WG_LINEAR}
${WGSL_ROW_REDUCE}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wg_linear(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.C;
  var s = 0.0;
  for (var j = lid; j < p.C; j += ${WG}u) { s += g[base + j]${mode === 'softmax' ? ' * y[base + j]' : ''}; }
  s = wg_sum(s, lid);
  for (var j = lid; j < p.C; j += ${WG}u) {
    ${mode === 'softmax' ? 'dx[base + j] = y[base + j] * (g[base + j] - s);' : 'dx[base + j] = g[base + j] - exp(y[base + j]) * s;'}
  }
}`,
    ['read', 'read', 'write', 'uniform'],
  ),
);

function rowOp(mode: Mode, x: Tensor, axis: number): Tensor {
  if (x.dtype !== 'f32' || x.rank === 0) throw new ShapeError(mode, 'needs a float32 tensor of rank ≥ 1', [x.shape]);
  const ax = axis < 0 ? axis + x.rank : axis;
  if (ax < 0 || ax >= x.rank) throw new ShapeError(mode, `axis ${axis} out of range`, [x.shape]);
  if (ax !== x.rank - 1) {
    // Move the axis last, apply, move it back (autodiff flows through transpose).
    const t = transpose(x, ax, -1);
    const r = rowOp(mode, t, -1);
    const back = transpose(r, ax, -1);
    // The intermediates are nodes of the gradient graph: disposing them would cut x off from
    // the loss, so with autodiff they live as long as the result.
    if (needsGrad(x)) back.own(t, r);
    else {
      t.dispose();
      r.dispose();
    }
    return back;
  }
  const C = x.shape[x.rank - 1];
  const rows = C === 0 ? 0 : x.size / C;
  const y = empty(x.engine, x.shape); // [..., C]
  if (rows > 0) x.engine.run(FORWARD(mode), [x, y], new Params().u32(rows).u32(C), rows);
  return record(mode, [x], y, (g) => {
    const dx = empty(x.engine, x.shape); // [..., C]
    if (rows > 0) x.engine.run(BACKWARD(mode), [y, g, dx], new Params().u32(rows).u32(C), rows);
    return [dx];
  });
}

/** exp(x) / Σ exp(x) along `axis` (default last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return rowOp('softmax', x, axis);
}

/** x − log Σ exp(x) along `axis` (default last). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return rowOp('logSoftmax', x, axis);
}
