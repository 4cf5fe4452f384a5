/** CPU references for batchNorm and layerNorm (float64 loops, tests only). */

export interface BatchNormRef {
  y: Float64Array;
  /** Running stats after the step (unchanged in inference). */
  runningMean: Float64Array;
  runningVar: Float64Array;
  /** Batch mean and biased / unbiased variance per channel (training only). */
  mean: Float64Array;
  varBiased: Float64Array;
  varUnbiased: Float64Array;
}

/**
 * PyTorch BatchNorm on x [N, C, ...spatial]: training normalises with the
 * batch mean and biased variance and moves the running stats by momentum
 * (running_var with the unbiased variance); inference uses the running stats.
 */
export function batchNormRef(
  x: ArrayLike<number>,
  shape: readonly number[],
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  runningMean: ArrayLike<number>,
  runningVar: ArrayLike<number>,
  training: boolean,
  momentum = 0.1,
  eps = 1e-5,
): BatchNormRef {
  const N = shape[0];
  const C = shape[1];
  const S = shape.slice(2).reduce((a, b) => a * b, 1);
  const M = N * S;
  const at = (n: number, c: number, s: number): number => (n * C + c) * S + s;
  const mean = new Float64Array(C);
  const varB = new Float64Array(C);
  const varU = new Float64Array(C);
  const rm = Float64Array.from(runningMean);
  const rv = Float64Array.from(runningVar);
  for (let c = 0; c < C; c++) {
    let s1 = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) s1 += x[at(n, c, s)];
    const mu = s1 / M;
    let s2 = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) s2 += (x[at(n, c, s)] - mu) ** 2;
    mean[c] = mu;
    varB[c] = s2 / M;
    varU[c] = M > 1 ? s2 / (M - 1) : NaN;
  }
  const y = new Float64Array(N * C * S);
  for (let c = 0; c < C; c++) {
    const mu = training ? mean[c] : runningMean[c];
    const v = training ? varB[c] : runningVar[c];
    const inv = 1 / Math.sqrt(v + eps);
    const g = gamma ? gamma[c] : 1;
    const b = beta ? beta[c] : 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) y[at(n, c, s)] = (x[at(n, c, s)] - mu) * inv * g + b;
    if (training) {
      rm[c] = (1 - momentum) * rm[c] + momentum * mean[c];
      rv[c] = (1 - momentum) * rv[c] + momentum * varU[c];
    }
  }
  return { y, runningMean: rm, runningVar: rv, mean, varBiased: varB, varUnbiased: varU };
}

/** LayerNorm over the last dim D (biased variance), optional affine. */
export function layerNormRef(
  x: ArrayLike<number>,
  D: number,
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  eps = 1e-5,
): Float64Array {
  const rows = x.length / D;
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let s1 = 0;
    for (let j = 0; j < D; j++) s1 += x[r * D + j];
    const mu = s1 / D;
    let s2 = 0;
    for (let j = 0; j < D; j++) s2 += (x[r * D + j] - mu) ** 2;
    const inv = 1 / Math.sqrt(s2 / D + eps);
    for (let j = 0; j < D; j++) {
      y[r * D + j] = (x[r * D + j] - mu) * inv * (gamma ? gamma[j] : 1) + (beta ? beta[j] : 0);
    }
  }
  return y;
}
