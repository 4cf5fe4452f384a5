/** CPU reference reductions over arbitrary axes (float64, tests only). */

export function reduceRef(
  data: ArrayLike<number>,
  shape: readonly number[],
  axes: readonly number[],
  init: number,
  f: (acc: number, v: number) => number,
  finish: (acc: number, count: number) => number = (a) => a,
): { shape: number[]; data: Float64Array } {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const n = outShape.reduce((a, b) => a * b, 1);
  const acc = new Float64Array(n).fill(init);
  const count = axes.reduce((c, a) => c * shape[a], 1);
  const total = shape.reduce((a, b) => a * b, 1);
  const coord = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < total; i++) {
    let rem = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      coord[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    let o = 0;
    for (let d = 0; d < shape.length; d++) o = o * outShape[d] + (axes.includes(d) ? 0 : coord[d]);
    acc[o] = f(acc[o], data[i]);
  }
  return { shape: outShape, data: acc.map((a) => finish(a, count)) };
}

export const sumRef = (d: ArrayLike<number>, s: readonly number[], ax: readonly number[]) => reduceRef(d, s, ax, 0, (a, v) => a + v);
export const meanRef = (d: ArrayLike<number>, s: readonly number[], ax: readonly number[]) =>
  reduceRef(d, s, ax, 0, (a, v) => a + v, (a, c) => a / c);
export const maxRef = (d: ArrayLike<number>, s: readonly number[], ax: readonly number[]) => reduceRef(d, s, ax, -Infinity, Math.max);

export function varianceRef(d: ArrayLike<number>, s: readonly number[], ax: readonly number[], correction = 0): Float64Array {
  const m = meanRef(d, s, ax);
  const sq = reduceRef(
    Array.from(d as ArrayLike<number>, (v, i) => {
      // mean at the reduced coordinate of i
      let rem = i;
      let o = 0;
      const coord: number[] = [];
      for (let k = s.length - 1; k >= 0; k--) {
        coord[k] = rem % s[k];
        rem = Math.floor(rem / s[k]);
      }
      for (let k = 0; k < s.length; k++) o = o * m.shape[k] + (ax.includes(k) ? 0 : coord[k]);
      return (v - m.data[o]) ** 2;
    }),
    s,
    ax,
    0,
    (a, v) => a + v,
  );
  const count = ax.reduce((c, a) => c * s[a], 1);
  return sq.data.map((v) => v / (count - correction));
}

/** Argmax along one axis: index of the first maximum. */
export function argmaxRef(d: ArrayLike<number>, s: readonly number[], axis: number): Int32Array {
  const outer = s.slice(0, axis).reduce((a, b) => a * b, 1);
  const R = s[axis];
  const inner = s.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      let best = -Infinity;
      let idx = 0;
      for (let r = 0; r < R; r++) {
        const v = d[(o * R + r) * inner + i];
        if (v > best) {
          best = v;
          idx = r;
        }
      }
      out[o * inner + i] = idx;
    }
  return out;
}
