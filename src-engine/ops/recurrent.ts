/**
 * Recurrent layers over a whole sequence: Elman RNN (tanh / ReLU), GRU and
 * LSTM, batch-first, one layer, one direction, with PyTorch's weight layouts
 * and gate orders (GRU r, z, n; LSTM i, f, g, o).
 *
 * Forward:  the input projection of ALL steps is one GEMM
 *   xp = x · W_ihᵀ + b_ih                       [B·T, G·H]
 * then per step two dispatches: hp = h · W_hhᵀ + b_hh (GEMM, [B, G·H]) and
 * one fused cell kernel (gates + state update, in place on the state
 * buffers, which end up as hN / cN). When backward is needed the cell also
 * saves h_{t−1} and the gate activations of every step.
 *
 * Backward (BPTT, steps in reverse processing order): per step one fused
 * cell-backward kernel (turns dh, dc into pre-activation gradients, keeps the
 * direct dh / dc carries) and one GEMM dh_{t−1} += dgates_h · W_hh. After the
 * loop all weight gradients come from whole-sequence GEMMs:
 *   dW_ih = dGxᵀ · x,  dx = dGx · W_ih,  dW_hh = dGhᵀ · H_prev,
 *   db_ih = Σ dGx,  db_hh = Σ dGh
 * (dGh = dGx except for GRU's n gate, where the hidden part is scaled by r).
 *
 * Time index: step s (0..T−1) consumes x[:, tt] with tt = s, or T−1−s when
 * `reverse`; output[:, tt] is the state after consuming x[:, tt] (PyTorch's
 * bidirectional convention), hN the state after the last step.
 */
import { ShapeError } from '../core/errors.ts';
import { kernel, Params, WGSL_WG_LINEAR } from '../core/kernel.ts';
import { addSameShape, copyTensor, needsGrad, noGrad, recordMulti } from '../core/tape.ts';
import { empty, fillTensor, type Tensor, zeros } from '../core/tensor.ts';
import { linear, matmul } from './matmul.ts';
import { sum } from './reduce.ts';

/** Cell kinds as the kernels' `mode` uniform (one pipeline serves all four). */
const MODE = { rnnTanh: 0, rnnRelu: 1, gru: 2, lstm: 3 } as const;
type Mode = (typeof MODE)[keyof typeof MODE];
/** Gates per cell (rows of W_ih / W_hh are G·H). */
const GATES: Record<Mode, number> = { 0: 1, 1: 1, 2: 3, 3: 4 };
/** Values saved per (b, t, j) for backward: RNN h; GRU r, z, n, (W_hn h + b_hn); LSTM i, f, g, o, c_{t−1}. */
const SAVED: Record<Mode, number> = { 0: 1, 1: 1, 2: 4, 3: 5 };

const WGSL_CELL_FNS = /* wgsl */ `
fn sigm(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
// Clamped: some tanh implementations return NaN for |v| ≳ 45 (inf/inf).
fn tanh_c(v: f32) -> f32 { return tanh(clamp(v, -15.0, 15.0)); }
`;

/*
 * rnn_cell_fwd: one time step of every cell kind (p.mode: 0 RNN tanh,
 * 1 RNN ReLU, 2 GRU, 3 LSTM); G gates, S saved values per unit (see SAVED).
 *   xp:    [B, T, G·H]  input projection incl. b_ih (row tt read)
 *   hp:    [B, G·H]     h_{t−1}·W_hhᵀ + b_hh, or [G·H] (p.hpStride = 0: h_{t−1} = 0, hp = b_hh)
 *   h, c:  [B, H]       state, updated in place (c: LSTM only)
 *   out:   [B, T, H]    out[b, tt] = h_t
 *   hprev: [B, T, H]    h_{t−1} (p.save)
 *   saved: [B, T, S·H]  gate activations (p.save)
 * One invocation per (b, j); it reads and writes only index (b, j) of h and c,
 * so the in-place update is race-free.
 */
const CELL_FWD = kernel(
  'rnn_cell_fwd',
  /* wgsl */ `
struct P { B: u32, T: u32, H: u32, tt: u32, mode: u32, save: u32, hpStride: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> xp: array<f32>;
@group(0) @binding(1) var<storage, read> hp: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> hprev: array<f32>;
@group(0) @binding(6) var<storage, read_write> saved: array<f32>;
@group(0) @binding(7) var<uniform> p: P;
${WGSL_WG_LINEAR}
${WGSL_CELL_FNS}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = wg_linear(wid, nwg) * 64u + lid;
  let H = p.H;
  if (i >= p.B * H) { return; }
  let b = i / H;
  let j = i % H;
  let row = b * p.T + p.tt;           // (b, tt) row of the [B, T, ·] tensors
  let o = row * H + j;
  let hPrev = h[i];
  if (p.save != 0u) { hprev[o] = hPrev; }
  var hNew: f32;
  if (p.mode <= 1u) {
    let pre = xp[row * H + j] + hp[b * p.hpStride + j];
    hNew = select(tanh_c(pre), max(pre, 0.0), p.mode == 1u);
    if (p.save != 0u) { saved[o] = hNew; }
  } else if (p.mode == 2u) {
    let xo = row * 3u * H + j;
    let ho = b * p.hpStride + j;
    let r = sigm(xp[xo] + hp[ho]);
    let z = sigm(xp[xo + H] + hp[ho + H]);
    let hn = hp[ho + 2u * H];
    let n = tanh_c(xp[xo + 2u * H] + r * hn);
    hNew = (1.0 - z) * n + z * hPrev;
    if (p.save != 0u) {
      let so = row * 4u * H + j;
      saved[so] = r; saved[so + H] = z; saved[so + 2u * H] = n; saved[so + 3u * H] = hn;
    }
  } else {
    let xo = row * 4u * H + j;
    let ho = b * p.hpStride + j;
    let ig = sigm(xp[xo] + hp[ho]);
    let fg = sigm(xp[xo + H] + hp[ho + H]);
    let gg = tanh_c(xp[xo + 2u * H] + hp[ho + 2u * H]);
    let og = sigm(xp[xo + 3u * H] + hp[ho + 3u * H]);
    let cPrev = c[i];
    let cNew = fg * cPrev + ig * gg;
    c[i] = cNew;
    hNew = og * tanh_c(cNew);
    if (p.save != 0u) {
      let so = row * 5u * H + j;
      saved[so] = ig; saved[so + H] = fg; saved[so + 2u * H] = gg; saved[so + 3u * H] = og; saved[so + 4u * H] = cPrev;
    }
  }
  h[i] = hNew;
  out[o] = hNew;
}`,
  ['read', 'read', 'write', 'write', 'write', 'write', 'write', 'uniform'],
);

/*
 * rnn_cell_bwd: one time step of BPTT for every cell kind (p.mode as above).
 *   gy:    [B, T, H]    gradient of `output` (row tt read)
 *   mm:    [B, H]       dh from the later step through W_hh (dGh_{t+1}·W_hh), or dL/dhN at the first step
 *   hprev: [B, T, H]    saved h_{t−1};  saved: [B, T, S·H] saved gate activations
 *   carry: [2, B, H]    direct gradient carries: [0] dh_{t−1} not through W_hh (GRU: dh·z),
 *                       [1] dc (LSTM); read for step t, overwritten with the values for t−1
 *   dgx:   [B, T, G·H]  gradient of the input-side pre-activations (row tt written)
 *   dgh:   [B, T, G·H]  same for the hidden side (GRU only: n gate scaled by r)
 *   dcur:  [B, G·H]     hidden-side pre-activation gradient of this step, for the W_hh GEMM
 * One invocation per (b, j); every index it writes belongs to that (b, j).
 */
const CELL_BWD = kernel(
  'rnn_cell_bwd',
  /* wgsl */ `
struct P { B: u32, T: u32, H: u32, tt: u32, mode: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read> mm: array<f32>;
@group(0) @binding(2) var<storage, read> hprev: array<f32>;
@group(0) @binding(3) var<storage, read> saved: array<f32>;
@group(0) @binding(4) var<storage, read_write> carry: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dgh: array<f32>;
@group(0) @binding(7) var<storage, read_write> dcur: array<f32>;
@group(0) @binding(8) var<uniform> p: P;
${WGSL_WG_LINEAR}
${WGSL_CELL_FNS}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = wg_linear(wid, nwg) * 64u + lid;
  let H = p.H;
  let BH = p.B * H;
  if (i >= BH) { return; }
  let b = i / H;
  let j = i % H;
  let row = b * p.T + p.tt;
  let o = row * H + j;
  let dh = gy[o] + mm[i] + carry[i];
  if (p.mode <= 1u) {
    let hNew = saved[o];
    let d = dh * select(1.0 - hNew * hNew, select(0.0, 1.0, hNew > 0.0), p.mode == 1u);
    dgx[o] = d;
    dcur[i] = d;
    carry[i] = 0.0;
  } else if (p.mode == 2u) {
    let so = row * 4u * H + j;
    let r = saved[so];
    let z = saved[so + H];
    let n = saved[so + 2u * H];
    let hn = saved[so + 3u * H];
    let dnp = dh * (1.0 - z) * (1.0 - n * n);      // d n-pre-activation
    let dzp = dh * (hprev[o] - n) * z * (1.0 - z);
    let drp = dnp * hn * r * (1.0 - r);
    carry[i] = dh * z;
    let go = row * 3u * H + j;
    dgx[go] = drp; dgx[go + H] = dzp; dgx[go + 2u * H] = dnp;
    dgh[go] = drp; dgh[go + H] = dzp; dgh[go + 2u * H] = dnp * r;
    let co = b * 3u * H + j;
    dcur[co] = drp; dcur[co + H] = dzp; dcur[co + 2u * H] = dnp * r;
  } else {
    let so = row * 5u * H + j;
    let ig = saved[so];
    let fg = saved[so + H];
    let gg = saved[so + 2u * H];
    let og = saved[so + 3u * H];
    let cPrev = saved[so + 4u * H];
    let tc = tanh_c(fg * cPrev + ig * gg);
    let dc = carry[BH + i] + dh * og * (1.0 - tc * tc);
    carry[BH + i] = dc * fg;
    carry[i] = 0.0;
    let di = dc * gg * ig * (1.0 - ig);
    let df = dc * cPrev * fg * (1.0 - fg);
    let dg = dc * ig * (1.0 - gg * gg);
    let dout = dh * tc * og * (1.0 - og);
    let go = row * 4u * H + j;
    dgx[go] = di; dgx[go + H] = df; dgx[go + 2u * H] = dg; dgx[go + 3u * H] = dout;
    let co = b * 4u * H + j;
    dcur[co] = di; dcur[co + H] = df; dcur[co + 2u * H] = dg; dcur[co + 3u * H] = dout;
  }
}`,
  ['read', 'read', 'read', 'read', 'write', 'write', 'write', 'write', 'uniform'],
);

export interface RnnOptions {
  /** Elman RNN nonlinearity (default 'tanh'). */
  nonlinearity?: 'tanh' | 'relu';
  /** Process t = T−1..0 (the backward half of a bidirectional layer). */
  reverse?: boolean;
}

export interface SequenceResult {
  /** [B, T, H]: the state after consuming each x[:, t]. */
  output: Tensor;
  /** [B, H]: the state after the last processed step. */
  hN: Tensor;
}

export interface LstmResult extends SequenceResult {
  /** [B, H]: the cell state after the last processed step. */
  cN: Tensor;
}

/**
 * Elman RNN: h_t = act(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh), act = tanh or ReLU.
 * x [B, T, I], h0 [B, H] | null (zeros), W_ih [H, I], W_hh [H, H], b_ih, b_hh [H] | null.
 */
export function rnnSequence(
  x: Tensor, h0: Tensor | null, wIh: Tensor, wHh: Tensor, bIh: Tensor | null, bHh: Tensor | null, opt: RnnOptions = {},
): SequenceResult {
  const mode = (opt.nonlinearity ?? 'tanh') === 'relu' ? MODE.rnnRelu : MODE.rnnTanh;
  const r = runSequence('rnnSequence', mode, x, h0, null, wIh, wHh, bIh, bHh, opt.reverse ?? false);
  return { output: r.output, hN: r.hN };
}

/**
 * GRU (PyTorch): r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
 * W_ih [3H, I], W_hh [3H, H], b_ih, b_hh [3H] | null (rows r, z, n).
 */
export function gruSequence(
  x: Tensor, h0: Tensor | null, wIh: Tensor, wHh: Tensor, bIh: Tensor | null, bHh: Tensor | null, opt: { reverse?: boolean } = {},
): SequenceResult {
  const r = runSequence('gruSequence', MODE.gru, x, h0, null, wIh, wHh, bIh, bHh, opt.reverse ?? false);
  return { output: r.output, hN: r.hN };
}

/**
 * LSTM (PyTorch): gates i, f, g, o = σ, σ, tanh, σ of (W_ih x + b_ih + W_hh h + b_hh),
 * c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'). W_ih [4H, I], W_hh [4H, H], b [4H] | null.
 */
export function lstmSequence(
  x: Tensor, h0: Tensor | null, c0: Tensor | null, wIh: Tensor, wHh: Tensor, bIh: Tensor | null, bHh: Tensor | null,
  opt: { reverse?: boolean } = {},
): LstmResult {
  const r = runSequence('lstmSequence', MODE.lstm, x, h0, c0, wIh, wHh, bIh, bHh, opt.reverse ?? false);
  return { output: r.output, hN: r.hN, cN: r.cN! };
}

function validate(
  op: string, G: number, x: Tensor, h0: Tensor | null, c0: Tensor | null, wIh: Tensor, wHh: Tensor, bIh: Tensor | null, bHh: Tensor | null,
): { B: number; T: number; I: number; H: number } {
  const all = [x, h0, c0, wIh, wHh, bIh, bHh].filter((t): t is Tensor => t !== null);
  const shapes = all.map((t) => t.shape);
  const fail = (detail: string): never => {
    throw new ShapeError(op, detail, shapes);
  };
  if (all.some((t) => t.dtype !== 'f32')) fail('needs float32 tensors');
  if (x.rank !== 3) fail('x must be [B, T, I] (batch-first)');
  const [B, T, I] = x.shape;
  if (B < 1 || T < 1 || I < 1) fail('x must have B, T, I ≥ 1');
  if (wHh.rank !== 2 || wHh.shape[1] < 1 || wHh.shape[0] !== G * wHh.shape[1]) fail(`W_hh must be [${G}·H, H]`);
  const H = wHh.shape[1];
  if (wIh.rank !== 2 || wIh.shape[0] !== G * H || wIh.shape[1] !== I) fail(`W_ih must be [${G}·H, I] = [${G * H}, ${I}]`);
  for (const b of [bIh, bHh]) if (b && (b.rank !== 1 || b.shape[0] !== G * H)) fail(`biases must be [${G * H}]`);
  for (const s of [h0, c0]) if (s && (s.rank !== 2 || s.shape[0] !== B || s.shape[1] !== H)) fail(`initial states must be [B, H] = [${B}, ${H}]`);
  return { B, T, I, H };
}

/** A tensor that owns views of the saved buffers, so backward works as long as any output is alive. */
function aliveView(views: readonly Tensor[]): Tensor {
  const t = views.find((v) => !v.isDisposed);
  if (!t) throw new ShapeError('rnn backward', 'the outputs were disposed before backward', [views[0].shape]);
  return t;
}

function runSequence(
  op: string, mode: Mode, x: Tensor, h0: Tensor | null, c0: Tensor | null, wIh: Tensor, wHh: Tensor,
  bIh: Tensor | null, bHh: Tensor | null, reverse: boolean,
): { output: Tensor; hN: Tensor; cN: Tensor | null } {
  const G = GATES[mode];
  const S = SAVED[mode];
  const lstm = mode === MODE.lstm;
  const { B, T, I, H } = validate(op, G, x, h0, lstm ? c0 : null, wIh, wHh, bIh, bHh);
  const GH = G * H;
  const engine = x.engine;
  const d = [0, 1, 2].map((i) => engine.placeholder(i)); // unused operands, distinct (written ones must not alias)
  const save = needsGrad(x, h0, lstm ? c0 : null, wIh, wHh, bIh, bHh);
  const timeOf = (s: number): number => (reverse ? T - 1 - s : s);
  const wg = Math.ceil((B * H) / 64);

  const output = empty(engine, [B, T, H]); // [B, T, H]
  const h = h0 ? copyTensor(h0) : zeros(engine, [B, H]); // [B, H] state, becomes hN
  const c = lstm ? (c0 ? copyTensor(c0) : zeros(engine, [B, H])) : null; // [B, H] cell state, becomes cN
  const hprev = save ? empty(engine, [B, T, H]) : null; // [B, T, H] h_{t−1} per step
  const saved = save ? empty(engine, [B, T, S * H]) : null; // [B, T, S·H] gate activations

  noGrad(() => {
    const xp = linear(x, wIh, bIh); // [B, T, G·H]
    let zeroBias: Tensor | null = null;
    for (let s = 0; s < T; s++) {
      let hp: Tensor; // [B, G·H], or [G·H] with stride 0 when h_{t−1} = 0
      let hpStride = GH;
      if (s === 0 && !h0) {
        // h0 = 0: the hidden projection is just b_hh (no GEMM).
        hpStride = 0;
        if (bHh) hp = bHh;
        else {
          zeroBias = zeros(engine, [GH]);
          hp = zeroBias;
        }
      } else {
        hp = linear(h, wHh, bHh);
      }
      const params = new Params().u32(B).u32(T).u32(H).u32(timeOf(s)).u32(mode).u32(save ? 1 : 0).u32(hpStride).u32(0);
      engine.run(CELL_FWD, [xp, hp, h, c ?? d[0], output, hprev ?? d[1], saved ?? d[2]], params, wg);
      if (hpStride !== 0) hp.dispose();
    }
    zeroBias?.dispose();
    xp.dispose();
  });

  if (!save) return { output, hN: h, cN: c };

  const outs = c ? [output, h, c] : [output, h];
  // Each output owns its own view of the saved tensors: they live while any output does.
  const savedViews = outs.map((o, k) => {
    const v = k === 0 ? saved! : saved!.view(saved!.shape);
    const hv = k === 0 ? hprev! : hprev!.view(hprev!.shape);
    o.own(v, hv);
    return { saved: v, hprev: hv };
  });
  const inputs: Tensor[] = [x, wIh, wHh];
  if (h0) inputs.push(h0);
  if (lstm && c0) inputs.push(c0);
  if (bIh) inputs.push(bIh);
  if (bHh) inputs.push(bHh);

  recordMulti(op, inputs, outs, (gys) =>
    noGrad(() => {
      const gOut = gys[0]; // [B, T, H]
      const gH = gys[1]; // [B, H]
      const sv = aliveView(savedViews.map((v) => v.saved)); // [B, T, S·H]
      const hv = aliveView(savedViews.map((v) => v.hprev)); // [B, T, H]
      const gru = mode === MODE.gru;
      const dgx = empty(engine, [B, T, GH]); // [B, T, G·H]
      const dgh = gru ? empty(engine, [B, T, GH]) : null; // [B, T, G·H]
      const dcur = empty(engine, [B, GH]); // [B, G·H]
      const carry = empty(engine, [2, B, H]); // [2, B, H]
      fillTensor(carry, 0);
      if (lstm) engine.copy(gys[2].buffer, 0, carry.buffer, B * H * 4, B * H * 4);
      const wantH0 = !!h0?.requiresGrad;

      let mm: Tensor = gH; // dh arriving through W_hh (dL/dhN at the first step)
      for (let s = T - 1; s >= 0; s--) {
        const params = new Params().u32(B).u32(T).u32(H).u32(timeOf(s)).u32(mode).u32(0).u32(0).u32(0);
        engine.run(CELL_BWD, [gOut, mm, hv, sv, carry, dgx, dgh ?? d[0], dcur], params, wg);
        if (mm !== gH) mm.dispose();
        mm = gH;
        // Step 0's h_{t−1} is h0: only needed when h0 wants a gradient (h0 = null: it was zero).
        if (s > 0 || wantH0) mm = matmul(dcur, wHh); // [B, H]
      }

      let gh0: Tensor | null = null;
      let gc0: Tensor | null = null;
      if (wantH0) {
        if (gru) {
          const direct = empty(engine, [B, H]); // [B, H] carry[0]
          engine.copy(carry.buffer, 0, direct.buffer, 0, B * H * 4);
          gh0 = addSameShape(direct, mm);
          direct.dispose();
          mm.dispose();
        } else {
          gh0 = mm;
        }
      }
      if (lstm && c0?.requiresGrad) {
        gc0 = empty(engine, [B, H]); // [B, H] carry[1]
        engine.copy(carry.buffer, B * H * 4, gc0.buffer, 0, B * H * 4);
      }

      const dgx2 = dgx.view([B * T, GH]); // [B·T, G·H]
      const dgh2 = dgh ? dgh.view([B * T, GH]) : dgx2; // [B·T, G·H]
      let gx: Tensor | null = null;
      if (x.requiresGrad) {
        const gx2 = matmul(dgx2, wIh); // [B·T, I]
        gx = gx2.view(x.shape); // [B, T, I]
        gx2.dispose();
      }
      const x2 = x.view([B * T, I]); // [B·T, I]
      const gWih = wIh.requiresGrad ? matmul(dgx2, x2, { transposeA: true }) : null; // [G·H, I]
      x2.dispose();
      const hv2 = hv.view([B * T, H]); // [B·T, H]
      const gWhh = wHh.requiresGrad ? matmul(dgh2, hv2, { transposeA: true }) : null; // [G·H, H]
      hv2.dispose();
      const gbIh = bIh?.requiresGrad ? sum(dgx2, 0) : null; // [G·H]
      // RNN / LSTM: the hidden-side pre-activation gradient equals the input side.
      const gbHh = bHh?.requiresGrad ? (gru || !gbIh ? sum(dgh2, 0) : copyTensor(gbIh)) : null; // [G·H]

      for (const t of [dgx2, dgx, dcur, carry]) t.dispose();
      if (dgh) {
        dgh2.dispose();
        dgh.dispose();
      }
      const grads: Array<Tensor | null> = [gx, gWih, gWhh];
      if (h0) grads.push(gh0);
      if (lstm && c0) grads.push(gc0);
      if (bIh) grads.push(gbIh);
      if (bHh) grads.push(gbHh);
      return grads;
    }),
  );
  return { output, hN: h, cN: c };
}
