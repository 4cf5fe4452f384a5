/** CPU reference shape ops (tests only). */

const strides = (s: readonly number[]): number[] => {
  const out = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    out[i] = acc;
    acc *= s[i];
  }
  return out;
};

function forEachCoord(shape: readonly number[], f: (coord: number[], i: number) => void): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const c = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let rem = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      c[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    f(c, i);
  }
}

export function permuteRef(x: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): Float64Array {
  const st = strides(shape);
  const outShape = perm.map((p) => shape[p]);
  const out = new Float64Array(x.length);
  forEachCoord(outShape, (c, i) => {
    let o = 0;
    c.forEach((v, d) => (o += v * st[perm[d]]));
    out[i] = x[o];
  });
  return out;
}

export function sliceRef(x: ArrayLike<number>, shape: readonly number[], begin: readonly number[], size: readonly number[]): Float64Array {
  const st = strides(shape);
  const out = new Float64Array(size.reduce((a, b) => a * b, 1));
  forEachCoord(size, (c, i) => {
    let o = 0;
    c.forEach((v, d) => (o += (v + begin[d]) * st[d]));
    out[i] = x[o];
  });
  return out;
}

export function padRef(x: ArrayLike<number>, shape: readonly number[], pads: ReadonlyArray<readonly [number, number]>, value: number): Float64Array {
  const outShape = shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const st = strides(shape);
  const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  forEachCoord(outShape, (c, i) => {
    let o = 0;
    let inside = true;
    c.forEach((v, d) => {
      const s = v - pads[d][0];
      if (s < 0 || s >= shape[d]) inside = false;
      o += s * st[d];
    });
    out[i] = inside ? x[o] : value;
  });
  return out;
}

export function concatRef(xs: ReadonlyArray<{ data: ArrayLike<number>; shape: readonly number[] }>, axis: number): Float64Array {
  const outer = xs[0].shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const t of xs) {
      const block = t.shape.slice(axis).reduce((a, b) => a * b, 1);
      for (let j = 0; j < block; j++) out.push(t.data[o * block + j]);
    }
  }
  return Float64Array.from(out);
}
