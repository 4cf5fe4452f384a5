/**
 * Reductions over any set of axes: sum, mean, max/min (values; argmax/argmin
 * indices), variance, plus sumToShape/broadcastTo (each other's adjoints).
 *
 * Every reduction is brought to a [O, R, I] view (O kept outer, R reduced,
 * I kept inner) by merging adjacent dims; when the reduced axes are not one
 * contiguous block, x is first permuted to [kept…, reduced…] (I = 1).
 *   I = 1 → one workgroup per output row, tree reduction in workgroup memory;
 *   I > 1 → one invocation per output, looping over R with stride I
 *           (neighbouring invocations read neighbouring addresses).
 */
import { ShapeError } from '../core/errors.ts';
import { kernel, kernelFamily, Params, WGSL_WG_LINEAR } from '../core/kernel.ts';
import { normalizeAxes, reducedShape, sameShape, type Shape, sizeOf } from '../core/shape.ts';
import { record } from '../core/tape.ts';
import { empty, fillTensor, type Tensor } from '../core/tensor.ts';
import { gatherStrided, mapN } from './map.ts';

type ReduceOp = 'sum' | 'max' | 'min';
const ROW_WG = 64;
/**
 * Many short rows (e.g. a conv bias gradient: N·O rows of Ho·Wo) are summed
 * one row per invocation by the col kernel (I = 1) instead of one workgroup
 * tree per row: on lavapipe the tree's barriers dominated (LeNet-5's 1024
 * rows of 100 took 4.8 ms as trees, 0.11 ms one row per invocation).
 */
const SEQ_MIN_ROWS = 128;
const SEQ_MAX_LEN = 4096;

const IDENTITY: Record<ReduceOp, string> = { sum: '0.0', max: '-3.402823e38', min: '3.402823e38' };

/*
 * reduce_<op>_row: x viewed as [rows, R] contiguous. Workgroup g reduces row
 * g: each of 64 invocations folds a strided subset, then a tree in workgroup
 * memory; writes out[g] (= Σ·scale for sum) and, for max/min, arg[g] = the
 * first index r of the extreme. 1-D dispatch over rows, folded.
 */
const ROW = kernelFamily((op: ReduceOp) => {
  const hasArg = op !== 'sum';
  const better = op === 'max' ? '>' : '<';
  return kernel(
    'reduce_' + op + '_row',
    /* wgsl */ `
struct P { rows: u32, R: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${hasArg ? '@group(0) @binding(2) var<storage, read_write> arg: array<i32>;' : ''}
@group(0) @binding(${hasArg ? 3 : 2}) var<uniform> p: P;
var<workgroup> sv: array<f32, ${ROW_WG}>;
${hasArg ? `var<workgroup> si: array<u32, ${ROW_WG}>;` : ''}
${WGSL_WG_LINEAR}
@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wg_linear(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.R;
  var acc = ${IDENTITY[op]};
  var idx = 0u;
  for (var r = lid; r < p.R; r += ${ROW_WG}u) {
    let v = x[base + r];
    ${op === 'sum' ? 'acc += v;' : `if (v ${better} acc || r == lid) { acc = v; idx = r; }`}
  }
  sv[lid] = acc;
  ${hasArg ? 'si[lid] = select(0xffffffffu, idx, lid < p.R);' : ''}
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) {
      ${
        op === 'sum'
          ? 'sv[lid] += sv[lid + s];'
          : `let o = lid + s;
      // Keep the lower index on ties so the result is the first extreme.
      if (si[o] != 0xffffffffu && (si[lid] == 0xffffffffu || sv[o] ${better} sv[lid] || (sv[o] == sv[lid] && si[o] < si[lid]))) {
        sv[lid] = sv[o]; si[lid] = si[o];
      }`
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[row] = ${op === 'sum' ? 'sv[0] * p.scale' : 'sv[0]'};
    ${hasArg ? 'arg[row] = i32(si[0]);' : ''}
  }
}`,
    hasArg ? ['read', 'write', 'write', 'uniform'] : ['read', 'write', 'uniform'],
  );
});

/*
 * reduce_<op>_col: x viewed as [O, R, I] contiguous. Invocation t (< O·I)
 * reduces x[o, :, i] for o = t / I, i = t % I, writing out[t] (and arg[t]).
 * 1-D dispatch over O·I / 64, folded.
 */
const COL = kernelFamily((op: ReduceOp) => {
  const hasArg = op !== 'sum';
  const better = op === 'max' ? '>' : '<';
  return kernel(
    'reduce_' + op + '_col',
    /* wgsl */ `
struct P { n: u32, R: u32, I: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${hasArg ? '@group(0) @binding(2) var<storage, read_write> arg: array<i32>;' : ''}
@group(0) @binding(${hasArg ? 3 : 2}) var<uniform> p: P;
${WGSL_WG_LINEAR}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = wg_linear(wid, nwg) * 64u + lid;
  if (t >= p.n) { return; }
  let o = t / p.I;
  let i = t % p.I;
  let base = o * p.R * p.I + i;
  var acc = ${op === 'sum' ? '0.0' : 'x[base]'};
  var idx = 0u;
  for (var r = ${op === 'sum' ? '0u' : '1u'}; r < p.R; r++) {
    let v = x[base + r * p.I];
    ${op === 'sum' ? 'acc += v;' : `if (v ${better} acc) { acc = v; idx = r; }`}
  }
  out[t] = ${op === 'sum' ? 'acc * p.scale' : 'acc'};
  ${hasArg ? 'arg[t] = i32(idx);' : ''}
}`,
    hasArg ? ['read', 'write', 'write', 'uniform'] : ['read', 'write', 'uniform'],
  );
});

/*
 * reduce_sum_col2: the col kernel's sum over R for two [R, n1] and [R, n2]
 * matrices at once (I = n, O = 1): invocation t < n1 sums column t of a,
 * n1 ≤ t < n1 + n2 column t − n1 of b. Same order of additions as two
 * reduce_sum_col dispatches, one dispatch fewer. 1-D, folded.
 */
const COL2 = kernel(
  'reduce_sum_col2',
  /* wgsl */ `
struct P { n1: u32, n2: u32, R: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> outA: array<f32>;
@group(0) @binding(3) var<storage, read_write> outB: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${WGSL_WG_LINEAR}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = wg_linear(wid, nwg) * 64u + lid;
  if (t < p.n1) {
    var acc = 0.0;
    for (var r = 0u; r < p.R; r++) { acc += a[r * p.n1 + t]; }
    outA[t] = acc;
  } else if (t < p.n1 + p.n2) {
    let i = t - p.n1;
    var acc = 0.0;
    for (var r = 0u; r < p.R; r++) { acc += b[r * p.n2 + i]; }
    outB[i] = acc;
  }
}`,
  ['read', 'read', 'write', 'write', 'uniform'],
);

/**
 * Column sums of a [R, n1] and b [R, n2] in one dispatch (no autodiff):
 * the partial sums of a split weight-grad and of its bias gradient.
 */
export function sumRows2(a: Tensor, b: Tensor): [Tensor, Tensor] {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[0] !== b.shape[0] || a.dtype !== 'f32' || b.dtype !== 'f32') {
    throw new ShapeError('sumRows2', 'expects two float32 matrices with the same number of rows', [a.shape, b.shape]);
  }
  const [R, n1] = a.shape;
  const n2 = b.shape[1];
  const outA = empty(a.engine, [n1]); // [n1]
  const outB = empty(a.engine, [n2]); // [n2]
  if (n1 + n2 > 0) a.engine.run(COL2, [a, b, outA, outB], new Params().u32(n1).u32(n2).u32(R), Math.ceil((n1 + n2) / 64));
  return [outA, outB];
}

/**
 * A split weight-grad's result: the slices' partial sums part [S, n] summed
 * and viewed as `shape`, and with `withBias` the bias partials partB [S, O]
 * summed too (one dispatch, sumRows2). Disposes part and partB.
 */
export function sumSlices(part: Tensor, partB: Tensor, withBias: boolean, shape: readonly number[]): { dw: Tensor; db: Tensor | null } {
  const [s, db] = withBias ? sumRows2(part, partB) : [sum(part, 0), null]; // [n], [O]
  part.dispose();
  partB.dispose();
  const dw = s.view(shape);
  s.dispose();
  return { dw, db };
}

interface RawReduce {
  values: Tensor; // [reducedShape(keepDims)]
  args: Tensor | null; // same shape, i32: flat index inside the reduced block
}

/** Reduction without autodiff. `scale` multiplies sums (mean = 1/R). */
function reduceRaw(x: Tensor, axes: readonly number[], op: ReduceOp, keepDims: boolean, scale: number): RawReduce {
  const engine = x.engine;
  const outShape = reducedShape(x.shape, axes, keepDims);
  const R = sizeOf(axes.map((a) => x.shape[a]));
  // Merge runs of size>1 dims with the same reduced/kept flag.
  const groups: Array<{ size: number; red: boolean }> = [];
  x.shape.forEach((d, i) => {
    if (d === 1) return;
    const red = axes.includes(i);
    const last = groups[groups.length - 1];
    if (last && last.red === red) last.size *= d;
    else groups.push({ size: d, red });
  });
  const redGroups = groups.filter((g) => g.red).length;
  let src = x;
  let O: number;
  let I: number;
  if (redGroups <= 1) {
    const k = groups.findIndex((g) => g.red);
    O = k < 0 ? x.size : sizeOf(groups.slice(0, k).map((g) => g.size));
    I = k < 0 ? 1 : sizeOf(groups.slice(k + 1).map((g) => g.size));
  } else {
    // Reduced axes interleave with kept ones: move them last, then reduce rows.
    const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const perm = [...kept, ...axes];
    src = gatherStrided(x, perm.map((d) => x.shape[d]), perm.map((d) => x.strides[d]), 0); // [kept…, reduced…]
    O = sizeOf(kept.map((d) => x.shape[d]));
    I = 1;
  }
  const values = empty(engine, outShape);
  const args = op === 'sum' ? null : empty(engine, outShape, 'i32');
  const bufs = args ? [src, values, args] : [src, values];
  if (values.size > 0) {
    if (R === 0) {
      // Empty reduction: sum is 0; max/min of nothing is undefined (use the identity).
      fillTensor(values, op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity);
      if (args) fillTensor(args, 0);
    } else if (I === 1 && !(O >= SEQ_MIN_ROWS && R <= SEQ_MAX_LEN)) {
      engine.run(ROW(op), bufs, new Params().u32(O).u32(R).f32(scale), O);
    } else {
      engine.run(COL(op), bufs, new Params().u32(O * I).u32(R).u32(I).f32(scale), Math.ceil((O * I) / 64));
    }
  }
  if (src !== x) src.dispose();
  return { values, args };
}

export type Axes = number | readonly number[];

/** Σ over `axes` (default: all). */
export function sum(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return scaledSum('sum', x, axes, keepDims, () => 1);
}

/** Mean over `axes` (default: all). */
export function mean(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return scaledSum('mean', x, axes, keepDims, (R) => 1 / R);
}

function scaledSum(op: string, x: Tensor, axes: Axes | undefined, keepDims: boolean, scaleOf: (R: number) => number): Tensor {
  checkF32(op, x);
  const ax = normalizeAxes(op, axes, x.rank);
  const R = sizeOf(ax.map((a) => x.shape[a]));
  const scale = scaleOf(R);
  const { values } = reduceRaw(x, ax, 'sum', keepDims, scale); // [reduced shape]
  const keepShape = reducedShape(x.shape, ax, true);
  return record(op, [x], values, (gy) => [
    mapN(x.engine, 'a * s.x', [gy.view(keepShape)], x.shape, { scalars: [scale] }),
  ]);
}

/** Max over `axes`; the gradient is shared equally by tied maxima (like torch.amax). */
export function max(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return extreme('max', x, axes, keepDims);
}

/** Min over `axes`; ties share the gradient equally. */
export function min(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  return extreme('min', x, axes, keepDims);
}

function extreme(op: 'max' | 'min', x: Tensor, axes: Axes | undefined, keepDims: boolean): Tensor {
  checkF32(op, x);
  const ax = normalizeAxes(op, axes, x.rank);
  const { values, args } = reduceRaw(x, ax, op, keepDims, 1); // [reduced shape]
  args?.dispose();
  const keepShape = reducedShape(x.shape, ax, true);
  return record(op, [x], values, (gy) => {
    const m = values.view(keepShape);
    const mask = mapN(x.engine, 'select(0.0, 1.0, a == b)', [x, m], x.shape); // [x.shape]
    const count = reduceRaw(mask, ax, 'sum', true, 1).values; // [keepShape]
    const gx = mapN(x.engine, 'a * b / c', [mask, gy.view(keepShape), count], x.shape);
    m.dispose();
    mask.dispose();
    count.dispose();
    return [gx];
  });
}

/** Index (i32) of the first maximum along `axis` (no gradient). */
export function argmax(x: Tensor, axis = -1, keepDims = false): Tensor {
  checkF32('argmax', x);
  const { values, args } = reduceRaw(x, normalizeAxes('argmax', axis, x.rank), 'max', keepDims, 1);
  values.dispose();
  return args!;
}

/** Index (i32) of the first minimum along `axis` (no gradient). */
export function argmin(x: Tensor, axis = -1, keepDims = false): Tensor {
  checkF32('argmin', x);
  const { values, args } = reduceRaw(x, normalizeAxes('argmin', axis, x.rank), 'min', keepDims, 1);
  values.dispose();
  return args!;
}

export interface VarianceOptions {
  keepDims?: boolean;
  /** Subtracted from the count in the denominator: 0 = population (default, as BatchNorm), 1 = unbiased. */
  correction?: number;
}

/** Variance over `axes`: Σ (x − mean)² / (N − correction). */
export function variance(x: Tensor, axes?: Axes, opt: VarianceOptions = {}): Tensor {
  checkF32('variance', x);
  const ax = normalizeAxes('variance', axes, x.rank);
  const keepDims = opt.keepDims ?? false;
  const N = sizeOf(ax.map((a) => x.shape[a]));
  const scale = 1 / Math.max(N - (opt.correction ?? 0), 0);
  const mu = reduceRaw(x, ax, 'sum', true, 1 / N).values; // [keepShape]
  const d2 = mapN(x.engine, '(a - b) * (a - b)', [x, mu], x.shape); // [x.shape]
  const { values } = reduceRaw(d2, ax, 'sum', keepDims, scale);
  d2.dispose();
  const keepShape = reducedShape(x.shape, ax, true);
  // d var / dx_i = 2 (x_i − μ) · scale; the dμ/dx term sums to zero.
  const out = record('variance', [x], values, (gy) => [
    mapN(x.engine, 'a * 2.0 * (b - c) * s.x', [gy.view(keepShape), x, mu], x.shape, { scalars: [scale] }),
  ]);
  if (out.node) out.own(mu);
  else mu.dispose();
  return out;
}

/**
 * Sums a gradient of a broadcast result back to the shape of the input that
 * was broadcast (NumPy rules). Returns `g` itself when shapes already match.
 */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) throw new ShapeError('sumToShape', 'target has higher rank', [g.shape, shape]);
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
    else if (shape[i - lead] !== d) throw new ShapeError('sumToShape', 'shapes are not broadcast-compatible', [g.shape, shape]);
  });
  const s = sum(g, axes, true); // [1.., shape]
  const out = s.view(shape);
  s.dispose();
  return out;
}

/** Repeats x along broadcast axes to `shape` (a copy); backward sums back. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const out = mapN(x.engine, 'a', [x], shape, { op: 'broadcastTo', dtype: x.dtype }); // [shape]
  return record('broadcastTo', [x], out, (gy) => [sumToShape(gy, x.shape)]);
}

function checkF32(op: string, x: Tensor): void {
  if (x.dtype !== 'f32') throw new ShapeError(op, `needs a float32 tensor, got ${x.dtype}`, [x.shape]);
}
