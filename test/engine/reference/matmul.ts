/** CPU reference GEMM (float64, tests only): C[b] = op(A[b]) · op(B[b]) with batch broadcast of size-1 batches. */
export function matmulRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  batchA: number,
  batchB: number,
  M: number,
  N: number,
  K: number,
  tA = false,
  tB = false,
): Float64Array {
  const batch = Math.max(batchA, batchB);
  const out = new Float64Array(batch * M * N);
  for (let q = 0; q < batch; q++) {
    const ao = (batchA === 1 ? 0 : q) * M * K;
    const bo = (batchB === 1 ? 0 : q) * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = tA ? a[ao + k * M + m] : a[ao + m * K + k];
          const bv = tB ? b[bo + n * K + k] : b[bo + k * N + n];
          s += av * bv;
        }
        out[q * M * N + m * N + n] = s;
      }
    }
  }
  return out;
}

/** Analytic backward of matmulRef (no transposes, equal batches): dA = G·Bᵀ, dB = Aᵀ·G. */
export function matmulBackwardRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  g: ArrayLike<number>,
  batch: number,
  M: number,
  N: number,
  K: number,
): { da: Float64Array; db: Float64Array } {
  const da = new Float64Array(batch * M * K);
  const db = new Float64Array(batch * K * N);
  for (let q = 0; q < batch; q++) {
    for (let m = 0; m < M; m++)
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let n = 0; n < N; n++) s += g[q * M * N + m * N + n] * b[q * K * N + k * N + n];
        da[q * M * K + m * K + k] = s;
      }
    for (let k = 0; k < K; k++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let m = 0; m < M; m++) s += a[q * M * K + m * K + k] * g[q * M * N + m * N + n];
        db[q * K * N + k * N + n] = s;
      }
  }
  return { da, db };
}
