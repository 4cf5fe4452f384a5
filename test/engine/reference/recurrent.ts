/**
 * CPU references (float64, tests only) for ops/recurrent.ts: Elman RNN
 * (tanh / ReLU), GRU and LSTM over a batch-first sequence with PyTorch
 * layouts (W_ih [G·H, I], W_hh [G·H, H], gates GRU r,z,n / LSTM i,f,g,o),
 * forward and an analytic backward through time. Plain loops, no tricks.
 */

export type CellKind = 'rnnTanh' | 'rnnRelu' | 'gru' | 'lstm';

export const GATES: Record<CellKind, number> = { rnnTanh: 1, rnnRelu: 1, gru: 3, lstm: 4 };

export interface SeqDims {
  B: number;
  T: number;
  I: number;
  H: number;
}

export interface SeqArgs {
  x: ArrayLike<number>; // [B, T, I]
  h0: ArrayLike<number> | null; // [B, H]
  c0: ArrayLike<number> | null; // [B, H] (LSTM)
  wIh: ArrayLike<number>; // [G·H, I]
  wHh: ArrayLike<number>; // [G·H, H]
  bIh: ArrayLike<number> | null; // [G·H]
  bHh: ArrayLike<number> | null; // [G·H]
}

export interface SeqResult {
  output: Float64Array; // [B, T, H]
  hN: Float64Array; // [B, H]
  cN: Float64Array; // [B, H] (zeros unless LSTM)
}

const sig = (v: number): number => 1 / (1 + Math.exp(-v));

interface StepCache {
  tt: number;
  hPrev: Float64Array; // [B, H]
  cPrev: Float64Array; // [B, H]
  /** Activated gates per batch row: [B, G·H]; GRU also keeps W_hn h + b_hn in hn. */
  gates: Float64Array;
  hn: Float64Array; // [B, H] (GRU)
  hNew: Float64Array; // [B, H]
  cNew: Float64Array; // [B, H]
}

function forward(kind: CellKind, d: SeqDims, a: SeqArgs, reverse: boolean): { res: SeqResult; steps: StepCache[] } {
  const { B, T, I, H } = d;
  const G = GATES[kind];
  const output = new Float64Array(B * T * H);
  let h = Float64Array.from(a.h0 ?? new Float64Array(B * H));
  let c = Float64Array.from(kind === 'lstm' && a.c0 ? a.c0 : new Float64Array(B * H));
  const steps: StepCache[] = [];
  for (let s = 0; s < T; s++) {
    const tt = reverse ? T - 1 - s : s;
    const gates = new Float64Array(B * G * H);
    const hn = new Float64Array(B * H);
    const hNew = new Float64Array(B * H);
    const cNew = new Float64Array(B * H);
    for (let b = 0; b < B; b++) {
      // Pre-activations, input side and hidden side separately (GRU needs both).
      const xs = new Float64Array(G * H);
      const hs = new Float64Array(G * H);
      for (let g = 0; g < G * H; g++) {
        let sx = a.bIh ? a.bIh[g] : 0;
        for (let i = 0; i < I; i++) sx += a.wIh[g * I + i] * a.x[(b * T + tt) * I + i];
        let sh = a.bHh ? a.bHh[g] : 0;
        for (let k = 0; k < H; k++) sh += a.wHh[g * H + k] * h[b * H + k];
        xs[g] = sx;
        hs[g] = sh;
      }
      for (let j = 0; j < H; j++) {
        const gi = b * G * H;
        let hv: number;
        if (kind === 'rnnTanh' || kind === 'rnnRelu') {
          const pre = xs[j] + hs[j];
          hv = kind === 'rnnTanh' ? Math.tanh(pre) : Math.max(pre, 0);
          gates[gi + j] = hv;
        } else if (kind === 'gru') {
          const r = sig(xs[j] + hs[j]);
          const z = sig(xs[H + j] + hs[H + j]);
          const n = Math.tanh(xs[2 * H + j] + r * hs[2 * H + j]);
          hv = (1 - z) * n + z * h[b * H + j];
          gates[gi + j] = r;
          gates[gi + H + j] = z;
          gates[gi + 2 * H + j] = n;
          hn[b * H + j] = hs[2 * H + j];
        } else {
          const ig = sig(xs[j] + hs[j]);
          const fg = sig(xs[H + j] + hs[H + j]);
          const gg = Math.tanh(xs[2 * H + j] + hs[2 * H + j]);
          const og = sig(xs[3 * H + j] + hs[3 * H + j]);
          const cv = fg * c[b * H + j] + ig * gg;
          cNew[b * H + j] = cv;
          hv = og * Math.tanh(cv);
          gates[gi + j] = ig;
          gates[gi + H + j] = fg;
          gates[gi + 2 * H + j] = gg;
          gates[gi + 3 * H + j] = og;
        }
        hNew[b * H + j] = hv;
        output[(b * T + tt) * H + j] = hv;
      }
    }
    steps.push({ tt, hPrev: h, cPrev: c, gates, hn, hNew, cNew });
    h = hNew;
    if (kind === 'lstm') c = cNew;
  }
  return { res: { output, hN: h, cN: c }, steps };
}

/** Forward of one layer over the whole sequence. */
export function sequenceRef(kind: CellKind, d: SeqDims, a: SeqArgs, reverse = false): SeqResult {
  return forward(kind, d, a, reverse).res;
}

export interface SeqGrads {
  dx: Float64Array;
  dh0: Float64Array;
  dc0: Float64Array;
  dWih: Float64Array;
  dWhh: Float64Array;
  dbIh: Float64Array;
  dbHh: Float64Array;
}

/**
 * Backward through time of L = Σ gOut·output + Σ gH·hN (+ Σ gC·cN for LSTM).
 */
export function sequenceBackwardRef(
  kind: CellKind,
  d: SeqDims,
  a: SeqArgs,
  reverse: boolean,
  gOut: ArrayLike<number>,
  gH: ArrayLike<number>,
  gC: ArrayLike<number> | null,
): SeqGrads {
  const { B, T, I, H } = d;
  const G = GATES[kind];
  const { steps } = forward(kind, d, a, reverse);
  const dx = new Float64Array(B * T * I);
  const dWih = new Float64Array(G * H * I);
  const dWhh = new Float64Array(G * H * H);
  const dbIh = new Float64Array(G * H);
  const dbHh = new Float64Array(G * H);
  let dhNext = Float64Array.from(gH);
  let dcNext = Float64Array.from(gC ?? new Float64Array(B * H));
  for (let s = T - 1; s >= 0; s--) {
    const st = steps[s];
    const tt = st.tt;
    const dhPrev = new Float64Array(B * H);
    const dcPrev = new Float64Array(B * H);
    for (let b = 0; b < B; b++) {
      const dGx = new Float64Array(G * H);
      const dGh = new Float64Array(G * H);
      const gi = b * G * H;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const dh = gOut[(b * T + tt) * H + j] + dhNext[k];
        if (kind === 'rnnTanh' || kind === 'rnnRelu') {
          const hv = st.hNew[k];
          const dp = kind === 'rnnTanh' ? dh * (1 - hv * hv) : hv > 0 ? dh : 0;
          dGx[j] = dGh[j] = dp;
        } else if (kind === 'gru') {
          const r = st.gates[gi + j];
          const z = st.gates[gi + H + j];
          const n = st.gates[gi + 2 * H + j];
          const dnp = dh * (1 - z) * (1 - n * n);
          const dzp = dh * (st.hPrev[k] - n) * z * (1 - z);
          const drp = dnp * st.hn[k] * r * (1 - r);
          dhPrev[k] += dh * z;
          dGx[j] = dGh[j] = drp;
          dGx[H + j] = dGh[H + j] = dzp;
          dGx[2 * H + j] = dnp;
          dGh[2 * H + j] = dnp * r;
        } else {
          const ig = st.gates[gi + j];
          const fg = st.gates[gi + H + j];
          const gg = st.gates[gi + 2 * H + j];
          const og = st.gates[gi + 3 * H + j];
          const tc = Math.tanh(st.cNew[k]);
          const dc = dcNext[k] + dh * og * (1 - tc * tc);
          dcPrev[k] = dc * fg;
          dGx[j] = dGh[j] = dc * gg * ig * (1 - ig);
          dGx[H + j] = dGh[H + j] = dc * st.cPrev[k] * fg * (1 - fg);
          dGx[2 * H + j] = dGh[2 * H + j] = dc * ig * (1 - gg * gg);
          dGx[3 * H + j] = dGh[3 * H + j] = dh * tc * og * (1 - og);
        }
      }
      for (let g = 0; g < G * H; g++) {
        dbIh[g] += dGx[g];
        dbHh[g] += dGh[g];
        for (let i = 0; i < I; i++) {
          dWih[g * I + i] += dGx[g] * a.x[(b * T + tt) * I + i];
          dx[(b * T + tt) * I + i] += a.wIh[g * I + i] * dGx[g];
        }
        for (let kk = 0; kk < H; kk++) {
          dWhh[g * H + kk] += dGh[g] * st.hPrev[b * H + kk];
          dhPrev[b * H + kk] += a.wHh[g * H + kk] * dGh[g];
        }
      }
    }
    dhNext = dhPrev;
    dcNext = dcPrev;
  }
  return { dx, dh0: dhNext, dc0: dcNext, dWih, dWhh, dbIh, dbHh };
}
