/**
 * CPU reference for elementwise ops (float64, written for clarity, tests only):
 * NumPy broadcasting by explicit index arithmetic.
 */

export function broadcastShape(...shapes: ReadonlyArray<readonly number[]>): number[] {
  const r = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - r + i] ?? 1;
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

/** Index into a tensor of `shape` for the output coordinate `coord` (broadcast). */
function indexFor(shape: readonly number[], coord: number[]): number {
  const off = coord.length - shape.length;
  let idx = 0;
  for (let i = 0; i < shape.length; i++) {
    const c = shape[i] === 1 ? 0 : coord[off + i];
    idx = idx * shape[i] + c;
  }
  return idx;
}

/** out[coord] = f(inputs at coord), with broadcasting. */
export function mapBroadcast(
  inputs: ReadonlyArray<{ shape: readonly number[]; data: ArrayLike<number> }>,
  f: (...v: number[]) => number,
): { shape: number[]; data: Float64Array } {
  const shape = broadcastShape(...inputs.map((t) => t.shape));
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  const coord = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let rem = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      coord[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    data[i] = f(...inputs.map((t) => t.data[indexFor(t.shape, coord)]));
  }
  return { shape, data };
}

export function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse for a reference; use a series /
  // continued fraction good to ~1e-15.
  const ax = Math.abs(x);
  let r: number;
  if (ax < 2.5) {
    let sum = ax;
    let term = ax;
    for (let n = 1; n < 100; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc continued fraction (Lentz)
    let f = ax;
    let C = ax;
    let D = 0;
    for (let n = 1; n < 200; n++) {
      const an = n / 2;
      D = ax + an * D;
      D = 1 / D;
      C = ax + an / C;
      const delta = C * D;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

export const activationsRef = {
  relu: (x: number) => Math.max(x, 0),
  leakyRelu: (x: number, a = 0.01) => (x > 0 ? x : a * x),
  elu: (x: number, a = 1) => (x > 0 ? x : a * (Math.exp(x) - 1)),
  gelu: (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
  tanh: (x: number) => Math.tanh(x),
  softplus: (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
};
