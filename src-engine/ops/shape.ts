/**
 * Shape ops: reshape/flatten (free views), transpose/permute, concat, slice,
 * pad (constant). Data movement uses the strided gather/scatter kernels of
 * ops/map.ts; each op's backward is another shape op (permute ↔ inverse
 * permute, slice ↔ pad with zeros, concat ↔ slices).
 */
import { ShapeError } from '../core/errors.ts';
import { type Shape, sizeOf } from '../core/shape.ts';
import { record } from '../core/tape.ts';
import { empty, full, type Tensor } from '../core/tensor.ts';
import { gatherStrided, scatterStrided } from './map.ts';

/** Same data, new shape (one dim may be -1). No copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const unknown = s.indexOf(-1);
  if (unknown >= 0) {
    const known = sizeOf(s.filter((_, i) => i !== unknown));
    if (known === 0 || x.size % known !== 0) throw new ShapeError('reshape', 'cannot infer -1', [x.shape, shape]);
    s[unknown] = x.size / known;
  }
  if (sizeOf(s) !== x.size) throw new ShapeError('reshape', 'element counts differ', [x.shape, s]);
  const out = x.view(s);
  return record('reshape', [x], out, (gy) => [gy.view(x.shape)]);
}

/** Flattens dims [startDim, endDim] into one (PyTorch semantics; default: all but dim 0). */
export function flatten(x: Tensor, startDim = 1, endDim = -1): Tensor {
  const r = x.rank;
  const a = startDim < 0 ? startDim + r : startDim;
  const b = endDim < 0 ? endDim + r : endDim;
  if (r === 0) return reshape(x, [1]);
  if (a < 0 || b >= r || a > b) throw new ShapeError('flatten', `bad dims ${startDim}..${endDim}`, [x.shape]);
  const s = [...x.shape.slice(0, a), sizeOf(x.shape.slice(a, b + 1)), ...x.shape.slice(b + 1)];
  return reshape(x, s);
}

/** Reorders axes: out.shape[d] = x.shape[perm[d]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const r = x.rank;
  const p = perm.map((d) => (d < 0 ? d + r : d));
  if (p.length !== r || new Set(p).size !== r || p.some((d) => d < 0 || d >= r)) {
    throw new ShapeError('permute', `bad permutation [${perm.join(', ')}]`, [x.shape]);
  }
  const outShape = p.map((d) => x.shape[d]);
  const out = gatherStrided(x, outShape, p.map((d) => x.strides[d]), 0); // [x.shape[perm[d]]...]
  const inverse = new Array<number>(r);
  p.forEach((d, i) => (inverse[d] = i));
  return record('permute', [x], out, (gy) => [permute(gy, inverse)]);
}

/** Swaps two axes (default: the last two). */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const r = x.rank;
  const a = dim0 < 0 ? dim0 + r : dim0;
  const b = dim1 < 0 ? dim1 + r : dim1;
  const perm = [...Array(r).keys()];
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/**
 * x[start_d : end_d] on every axis (step 1). `begin`/`size` style: begin[d]
 * (negative counts from the end), size[d] (-1 = to the end).
 */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  const r = x.rank;
  const start = x.shape.map((d, i) => {
    const b = begin[i] ?? 0;
    return b < 0 ? b + d : b;
  });
  const len = x.shape.map((d, i) => {
    const s = size?.[i] ?? -1;
    return s < 0 ? d - start[i] : s;
  });
  if (start.some((s, i) => s < 0 || len[i] < 0 || s + len[i] > x.shape[i]) || begin.length > r) {
    throw new ShapeError('slice', `begin [${begin.join(', ')}] size [${(size ?? []).join(', ')}] out of range`, [x.shape]);
  }
  const base = start.reduce((acc, s, i) => acc + s * x.strides[i], 0);
  const out = gatherStrided(x, len, x.strides, base); // [len...]
  return record('slice', [x], out, (gy) =>
    [pad(gy, start.map((s, i) => [s, x.shape[i] - s - len[i]] as [number, number]))],
  );
}

/** Constant padding: `pads[d] = [before, after]` for each axis (missing axes: none). */
export function pad(x: Tensor, pads: ReadonlyArray<readonly [number, number]>, value = 0): Tensor {
  const r = x.rank;
  const pp = x.shape.map((_, i) => pads[i] ?? [0, 0]);
  if (pads.length > r || pp.some(([a, b]) => a < 0 || b < 0 || !Number.isInteger(a) || !Number.isInteger(b))) {
    throw new ShapeError('pad', 'pads must be non-negative integers, one pair per axis', [x.shape]);
  }
  const outShape = x.shape.map((d, i) => d + pp[i][0] + pp[i][1]);
  const out = full(x.engine, outShape, value, x.dtype); // [outShape]
  const outStrides = out.strides;
  const base = pp.reduce((acc, [before], i) => acc + before * outStrides[i], 0);
  scatterStrided(x, out, outStrides, base);
  return record('pad', [x], out, (gy) => [slice(gy, pp.map(([b]) => b), x.shape)]);
}

/** Joins tensors along `axis`; all other dims must match. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat', 'needs at least one tensor', []);
  const first = xs[0];
  const r = first.rank;
  const ax = axis < 0 ? axis + r : axis;
  if (ax < 0 || ax >= r) throw new ShapeError('concat', `axis ${axis} out of range`, [first.shape]);
  for (const t of xs) {
    if (t.rank !== r || t.dtype !== first.dtype || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new ShapeError('concat', `shapes differ off axis ${ax}`, [first.shape, t.shape]);
    }
  }
  const outShape = [...first.shape];
  outShape[ax] = xs.reduce((acc, t) => acc + t.shape[ax], 0);
  const out = empty(first.engine, outShape, first.dtype); // [.., Σ n_ax, ..] every element written below
  let offset = 0;
  const starts: number[] = [];
  for (const t of xs) {
    starts.push(offset);
    scatterStrided(t, out, out.strides, offset * out.strides[ax]);
    offset += t.shape[ax];
  }
  return record('concat', [...xs], out, (gy) =>
    xs.map((t, k) => {
      const begin = new Array<number>(r).fill(0);
      begin[ax] = starts[k];
      return slice(gy, begin, t.shape);
    }),
  );
}

/** Adds a size-1 axis at `axis`. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  const s = [...x.shape];
  s.splice(a, 0, 1);
  return reshape(x, s);
}

/** Removes size-1 axes (all, or the given ones). */
export function squeeze(x: Tensor, axes?: readonly number[]): Tensor {
  const ax = axes?.map((a) => (a < 0 ? a + x.rank : a));
  return reshape(x, x.shape.filter((d, i) => d !== 1 || (ax !== undefined && !ax.includes(i))) as Shape as number[]);
}
