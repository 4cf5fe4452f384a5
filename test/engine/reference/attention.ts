/** CPU references for scaled dot-product and multi-head attention (float64 loops, tests only). */

export interface AttentionRef {
  out: Float64Array;
  weights: Float64Array;
}

/**
 * softmax(q·kᵀ/√D, masked j > i when causal)·v per (b, h).
 * q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, Dv].
 */
export function sdpaRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: { B: number; H: number; Tq: number; Tk: number; D: number; Dv: number },
  causal = false,
): AttentionRef {
  const { B, H, Tq, Tk, D, Dv } = dims;
  const out = new Float64Array(B * H * Tq * Dv);
  const weights = new Float64Array(B * H * Tq * Tk);
  const scale = 1 / Math.sqrt(D);
  for (let bh = 0; bh < B * H; bh++) {
    for (let i = 0; i < Tq; i++) {
      const lim = causal ? Math.min(Tk, i + 1) : Tk;
      const s = new Float64Array(lim);
      let m = -Infinity;
      for (let j = 0; j < lim; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[(bh * Tq + i) * D + d] * k[(bh * Tk + j) * D + d];
        s[j] = dot * scale;
        m = Math.max(m, s[j]);
      }
      let z = 0;
      for (let j = 0; j < lim; j++) z += Math.exp(s[j] - m);
      for (let j = 0; j < lim; j++) weights[(bh * Tq + i) * Tk + j] = Math.exp(s[j] - m) / z;
      for (let e = 0; e < Dv; e++) {
        let acc = 0;
        for (let j = 0; j < lim; j++) acc += weights[(bh * Tq + i) * Tk + j] * v[(bh * Tk + j) * Dv + e];
        out[(bh * Tq + i) * Dv + e] = acc;
      }
    }
  }
  return { out, weights };
}

/** y = x·Wᵀ + b for x [rows, in], W [out, in]. */
function linearRef(x: ArrayLike<number>, rows: number, W: ArrayLike<number>, b: ArrayLike<number> | null, outF: number, inF: number): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let acc = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) acc += x[r * inF + i] * W[o * inF + i];
      y[r * outF + o] = acc;
    }
  }
  return y;
}

/**
 * nn.MultiheadAttention(E, heads, batch_first=True) self-attention, computed
 * head by head: x [B, T, E], inW [3E, E], inB [3E], outW [E, E], outB [E].
 * Weights are per head [B, heads, T, T] (average_attn_weights=False).
 */
export function mhaRef(
  x: ArrayLike<number>,
  dims: { B: number; T: number; E: number; heads: number },
  inW: ArrayLike<number>,
  inB: ArrayLike<number> | null,
  outW: ArrayLike<number>,
  outB: ArrayLike<number> | null,
  causal = false,
): AttentionRef {
  const { B, T, E, heads } = dims;
  const hd = E / heads;
  const qkv = linearRef(x, B * T, inW, inB, 3 * E, E); // [B, T, 3E]
  const concat = new Float64Array(B * T * E);
  const weights = new Float64Array(B * heads * T * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      const part = (which: number): Float64Array => {
        const t = new Float64Array(T * hd);
        for (let i = 0; i < T; i++) for (let d = 0; d < hd; d++) t[i * hd + d] = qkv[(b * T + i) * 3 * E + which * E + h * hd + d];
        return t;
      };
      const r = sdpaRef(part(0), part(1), part(2), { B: 1, H: 1, Tq: T, Tk: T, D: hd, Dv: hd }, causal);
      for (let i = 0; i < T; i++) for (let d = 0; d < hd; d++) concat[(b * T + i) * E + h * hd + d] = r.out[i * hd + d];
      weights.set(r.weights, (b * heads + h) * T * T);
    }
  }
  return { out: linearRef(concat, B * T, outW, outB, E, E), weights };
}
