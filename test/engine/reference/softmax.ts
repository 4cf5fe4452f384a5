/** CPU references for softmax, logSoftmax, cross-entropy (float64, tests only). */

export function softmaxRef(x: ArrayLike<number>, C: number, log = false): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, x[r * C + j]);
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(x[r * C + j] - m);
    for (let j = 0; j < C; j++) out[r * C + j] = log ? x[r * C + j] - m - Math.log(s) : Math.exp(x[r * C + j] - m) / s;
  }
  return out;
}

/** Per-row cross-entropy with label smoothing ε (PyTorch's definition). */
export function crossEntropyRowsRef(x: ArrayLike<number>, labels: ArrayLike<number>, C: number, eps = 0): Float64Array {
  const ls = softmaxRef(x, C, true);
  const out = new Float64Array(labels.length);
  for (let r = 0; r < labels.length; r++) {
    let l = 0;
    for (let j = 0; j < C; j++) {
      const q = (j === labels[r] ? 1 - eps : 0) + eps / C;
      l -= q * ls[r * C + j];
    }
    out[r] = l;
  }
  return out;
}

/** Analytic gradient of the mean cross-entropy: (softmax − q) / rows. */
export function crossEntropyGradRef(x: ArrayLike<number>, labels: ArrayLike<number>, C: number, eps = 0): Float64Array {
  const p = softmaxRef(x, C);
  const rows = labels.length;
  return p.map((v, i) => {
    const r = Math.floor(i / C);
    const j = i % C;
    return (v - ((j === labels[r] ? 1 - eps : 0) + eps / C)) / rows;
  });
}
