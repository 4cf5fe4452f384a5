/**
 * 2-D / 1-D convolution (PyTorch semantics: NCHW, weight [O, C/groups, kH, kW],
 * zero padding, stride, dilation, groups) with a fused bias + activation
 * epilogue, as an IMPLICIT GEMM for all three products:
 *
 *   forward   Y[g]  (Og × N·Ho·Wo)    = W[g]  (Og × Cg·kH·kW)      · im2col(X)[g]
 *   input-grad dX[g] (Cg × N·H·W)     = Wᵀ[g] (Cg × Og·kH·kW)      · col2im-gather(dY)[g]
 *   weight-grad dW[g] (Og × Cg·kH·kW) = dY[g] (Og × N·Ho·Wo)       · im2col(X)[g]ᵀ
 *
 * The virtual im2col matrix is never materialised: each invocation gathers
 * the B values it needs straight from X (or dY). Forward and input-grad
 * read the weights through a small per-call repack ([G, K, M rounded up to
 * 4], conv_pack) so an A quad is one aligned vec4. Two kernel shapes
 * (conv-wgsl.ts): a direct one (one row of invocations, A read at uniform
 * addresses, a cached per-geometry table of K-index splits, no workgroup
 * memory) for few channels and on CPU adapters, and a tiled one (A and B
 * slices in workgroup memory shared by a 2-D grid of invocations) for many
 * channels on GPUs. Both keep an RM×RN block of C in registers per
 * invocation and keep divisions out of the inner loops. Groups are the GEMM
 * batch; weight-grad splits its long K (N·Ho·Wo) over workgroups and sums
 * the partial products afterwards.
 *
 * All sizes, strides, paddings, dilations and groups are uniforms: one
 * pipeline per (mode, tile shape), not per layer.
 */
import type { Bindable, BufferSource, Engine } from '../core/engine.ts';
import { LimitError, ShapeError } from '../core/errors.ts';
import { kernel, Params, WGSL_MAIN_1D, WGSL_WG_LINEAR } from '../core/kernel.ts';
import { needsGrad, record } from '../core/tape.ts';
import { empty, type Tensor } from '../core/tensor.ts';
import { ACTIVATIONS, type Activation, defaultAlpha, EPILOGUE_ACTS } from './activations.ts';
import { convInputGradValid, validTapFraction } from './conv-dx-valid.ts';
import { convWeightGradBlocks, useDwBlocks } from './conv-dw-blocks.ts';
import { convInputGradRows, useDxRows } from './conv-dx-rows.ts';
import { convWeightGradShifted, useShifted } from './conv-shifted.ts';
import { CONV, CONV_DIRECT, type ConvDirectVariant, type ConvGeom, type ConvMode as Mode, type ConvVariant, directTable } from './conv-wgsl.ts';
import { mapN } from './map.ts';
import { isReluMasked, markReluOutput } from './relu-mask.ts';
import { sum, sumRows2 } from './reduce.ts';
import { reshape } from './shape.ts';

type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  activation?: Activation;
  /** α of leakyRelu / elu (defaults as in activate()). */
  alpha?: number;
}

export interface Conv1dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
  activation?: Activation;
  alpha?: number;
}

/**
 * Tuning knobs, measured on Mesa lavapipe with bench/engine.ts and with
 * per-phase timings (forward, dX, dW apart; configurations interleaved in one
 * process, the machines being noisy):
 *   directMaxM: forward / input-grad use the direct kernel (conv-wgsl.ts)
 *           when the GEMM's M side (output channels per group, resp. input
 *           channels per group) is at most this, the tiled one otherwise.
 *           On lavapipe the direct kernel won at every size measured (ResNet
 *           3×3 convs, N=32: 64→64 on 32×32 forward 291 → 203 ms, input-grad
 *           272 → 230 ms; 128→128 on 16×16 forward 277 → 191 ms), so CPU
 *           adapters always use it. On a GPU, workgroup memory shared by 4
 *           rows of invocations should pay for many channels: untested here,
 *           hence the conservative 16;
 *   direct: [invocations, columns per invocation (multiple of 4)] of the
 *           direct kernel; its rows per invocation are M rounded up to 4, 8
 *           or 16 (three pipelines at most);
 *   large:  tiled kernel [invocations along M, along N, outputs per
 *           invocation along M, along N (multiples of 4), K-slice]: 4 rows of
 *           invocations share each gathered B slice;
 *   directRows, dwRows: output rows per invocation of the direct kernel
 *           (fewer when M ≤ 8: LeNet-5's conv1 weight-grad with 8 rows for
 *           its 6 channels instead of 16 took 4.8 instead of 9.2 ms);
 *   dw, dwWide: weight-grad (always direct) when N = Cg·kH·kW is at most 32, resp. above;
 *   dwTarget, dwChunk: weight-grad splits its K = N·Ho·Wo so that about
 *           dwTarget workgroups run, each summing at least dwChunk terms;
 *   dxValid, dxValidBelow: [invocations, images per invocation] of the
 *           valid-tap input-grad (conv-dx-valid.ts), taken when fewer than
 *           dxValidBelow of the dx GEMM's taps land inside dY (LeNet-5's
 *           conv2: 51%; input-grad 8.4 → 4.2–5.3 ms at N=64; [16, 4] and
 *           [4, 16] measured 6.7–7.0 ms). Not a win with many channels and
 *           most taps valid: AlexNet's 256-channel 3×3 conv on 6×6 planes
 *           (79% valid) took 179 ms this way, 129 ms as a GEMM; on 3×3
 *           planes (60%) both ~equal — hence 0.7.
 * On lavapipe one row of invocations wins: no barriers, A read at
 * workgroup-uniform addresses, and each gathered B value used by its own
 * invocation only, so staging it in workgroup memory is pure overhead.
 */
export const CONV_FLAGS: {
  directMaxM: { software: number; gpu: number };
  direct: [number, number];
  directRows: number;
  dwRows: number;
  large: [number, number, number, number, number];
  dw: [number, number];
  dwWide: [number, number];
  dwTarget: number;
  dwChunk: number;
  dxValid: [number, number];
  dxValidBelow: number;
  poolWindow: boolean;
} = {
  directMaxM: { software: Number.MAX_SAFE_INTEGER, gpu: 16 },
  direct: [16, 8],
  directRows: 16,
  dwRows: 16,
  large: [4, 8, 16, 8, 16],
  dw: [8, 4],
  dwWide: [8, 8],
  dwTarget: 256,
  dwChunk: 256,
  dxValid: [8, 8],
  dxValidBelow: 0.7,
  poolWindow: true,
};

/*
 * conv_pack: Ap[g, k, m] = A[g][m, k] for m < M, 0 for M ≤ m < Mp, where
 * A[g][m, k] = w[g·sg + m·sm + (k / kk)·so + k % kk] (fwd: W[g] as [Og, Cg·kk];
 * dx: W[g]ᵀ as [Cg, Og·kk]). One invocation per element of Ap; 1-D, folded.
 */
const CONV_PACK = kernel(
  'conv_pack',
  /* wgsl */ `
struct Q { n: u32, M: u32, Mp: u32, K: u32, kk: u32, sg: u32, sm: u32, so: u32 }
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Q;
${WGSL_MAIN_1D}
  let m = i % p.Mp;
  let t = i / p.Mp;
  let k = t % p.K;
  let g = t / p.K;
  let src = g * p.sg + m * p.sm + (k / p.kk) * p.so + k % p.kk;
  out[i] = select(0.0, w[min(src, arrayLength(&w) - 1u)], m < p.M);
}`,
  ['read', 'write', 'uniform'],
);

/*
 * conv_pack2: both packings of conv_pack at once (fwd into out, dx into
 * out2), for a forward whose backward will need the input-gradient: one
 * dispatch instead of two per step. Invocation i writes element i of each
 * output it is inside of; 1-D, folded.
 */
const CONV_PACK2 = kernel(
  'conv_pack2',
  /* wgsl */ `
struct Q { n: u32, M: u32, Mp: u32, K: u32, kk: u32, sg: u32, sm: u32, so: u32,
           n2: u32, M2: u32, Mp2: u32, K2: u32, sm2: u32, so2: u32 }
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> out2: array<f32>;
@group(0) @binding(3) var<uniform> p: Q;
${WGSL_WG_LINEAR}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = wg_linear(wid, nwg) * 256u + lid;
  let last = arrayLength(&w) - 1u;
  if (i < p.n) {
    let m = i % p.Mp; let t = i / p.Mp; let k = t % p.K; let g = t / p.K;
    out[i] = select(0.0, w[min(g * p.sg + m * p.sm + (k / p.kk) * p.so + k % p.kk, last)], m < p.M);
  }
  if (i < p.n2) {
    let m = i % p.Mp2; let t = i / p.Mp2; let k = t % p.K2; let g = t / p.K2;
    out2[i] = select(0.0, w[min(g * p.sg + m * p.sm2 + (k / p.kk) * p.so2 + k % p.kk, last)], m < p.M2);
  }
}`,
  ['read', 'write', 'write', 'uniform'],
);

/** Packed-layout sizes of conv_pack for one mode: M rows (padded to Mp) per K index, and w's strides. */
function packLayout(g: Geom, mode: 'fwd' | 'dx'): { M: number; Mp: number; K: number; sm: number; so: number } {
  const Cg = g.C / g.G;
  const Og = g.O / g.G;
  const kk = g.kH * g.kW;
  const M = mode === 'fwd' ? Og : Cg;
  const K = mode === 'fwd' ? Cg * kk : Og * kk;
  const [sm, so] = mode === 'fwd' ? [Cg * kk, kk] : [kk, Cg * kk];
  return { M, Mp: Math.ceil(M / 4) * 4, K, sm, so };
}

/** The weights of one group as the A operand of fwd (or of dx: transposed), packed [G, K, Mp]. */
function packWeights(w: Tensor, g: Geom, mode: 'fwd' | 'dx'): Tensor {
  const { M, Mp, K, sm, so } = packLayout(g, mode);
  const kk = g.kH * g.kW;
  const out = empty(w.engine, [g.G, K, Mp]); // [G, K, Mp]
  const sg = (g.O / g.G) * (g.C / g.G) * kk;
  const params = new Params().u32(out.size).u32(M).u32(Mp).u32(K).u32(kk).u32(sg).u32(sm).u32(so);
  w.engine.run(CONV_PACK, [w, out], params, Math.ceil(out.size / 256));
  return out;
}

/**
 * The forward's packed weights, and the input-gradient's too when the
 * backward will need them (`withDx`): one dispatch either way.
 */
export function packForward(w: Tensor, g: Geom, withDx: boolean): [Tensor, Tensor | null] {
  // (the input-grad by rows reads the weights as they are)
  if (!withDx || dxByRows(w.engine, g)) return [packWeights(w, g, 'fwd'), null];
  const f = packLayout(g, 'fwd');
  const d = packLayout(g, 'dx');
  const kk = g.kH * g.kW;
  const out = empty(w.engine, [g.G, f.K, f.Mp]); // [G, Cg·kH·kW, Og rounded up to 4]
  const out2 = empty(w.engine, [g.G, d.K, d.Mp]); // [G, Og·kH·kW, Cg rounded up to 4]
  const sg = (g.O / g.G) * (g.C / g.G) * kk;
  const params = new Params()
    .u32(out.size).u32(f.M).u32(f.Mp).u32(f.K).u32(kk).u32(sg).u32(f.sm).u32(f.so)
    .u32(out2.size).u32(d.M).u32(d.Mp).u32(d.K).u32(d.sm).u32(d.so);
  w.engine.run(CONV_PACK2, [w, out, out2], params, Math.ceil(Math.max(out.size, out2.size) / 256));
  return [out, out2];
}

/**
 * Rows per invocation of a direct kernel for M rows: M rounded up to 4 or 8,
 * else `rows` (a few pipelines, not one per channel count: each costs
 * seconds of LLVM time on lavapipe; computing LeNet's 6 channels as 6
 * instead of 8 measured no faster).
 */
function roundRows(M: number, rows: number): number {
  return Math.min(rows, M <= 4 ? 4 : M <= 8 ? 8 : rows);
}

export function directMaxM(engine: Engine): number {
  return engine.isSoftware ? CONV_FLAGS.directMaxM.software : CONV_FLAGS.directMaxM.gpu;
}

/** Binds a tensor as array<vec4<f32>>: pool buffers are 256-byte multiples, so the rounded size exists. */
export function v4(t: Tensor): BufferSource {
  return { buffer: t.buffer, byteLength: Math.ceil(t.byteLength / 16) * 16 };
}

type Geom = ConvGeom;

/** Which kernel and tile a GEMM of M rows and Nc columns uses. */
function variantFor(engine: Engine, mode: Mode, M: number, Nc: number): { tiled?: ConvVariant; direct?: ConvDirectVariant; TM: number; TN: number } {
  const f = CONV_FLAGS;
  if (mode === 'dw' || M <= directMaxM(engine)) {
    const [wg, rN] = mode === 'dw' ? (Nc <= 32 ? f.dw : f.dwWide) : f.direct;
    const rows = mode === 'dw' ? f.dwRows : f.directRows;
    const rM = roundRows(M, rows);
    return { direct: { mode, wg, rM, rN }, TM: rM, TN: wg * rN };
  }
  const [wgM, wgN, rM, rN, bk] = f.large;
  const bytes = 4 * bk * (wgM * rM + wgN * rN + 4);
  if (bytes > engine.limits.maxWorkgroupStorageSize) {
    throw new LimitError('maxComputeWorkgroupStorageSize', bytes, engine.limits.maxWorkgroupStorageSize, 'A convolution tile');
  }
  return { tiled: { mode, wgM, wgN, rM, rN, bk }, TM: wgM * rM, TN: wgN * rN };
}

/**
 * Records one implicit-GEMM dispatch (no autodiff, no checks). `bufs` are the
 * operands in binding order (conv-wgsl.ts bindingsFor; A = the packed
 * weights for fwd / dx, dY for dw); the direct kernel also gets its K table
 * appended here.
 */
export function convGemm(
  engine: Engine,
  mode: Mode,
  g: Geom,
  bufs: Bindable[],
  extra: {
    act?: Activation;
    alpha?: number;
    hasBias?: boolean;
    writeZ?: boolean;
    splits?: number;
    kChunk?: number;
    rowSums?: boolean;
    /** fwd then a 2×2/2 max-pool to [N, O, Hp, Wp] (direct kernel only; conv-pool.ts). */
    pool?: { Hp: number; Wp: number };
  } = {},
): void {
  const Cg = g.C / g.G;
  const Og = g.O / g.G;
  const kHW = g.kH * g.kW;
  const M = mode === 'dx' ? Cg : Og;
  const K = mode === 'fwd' ? Cg * kHW : mode === 'dx' ? Og * kHW : g.N * g.Ho * g.Wo;
  // conv → ReLU → pool at stride 1 over one input channel (first layers), CPU adapters: the sliding-window
  // loop (conv-wgsl.ts windowLoop) on pairs of pooled outputs. LeNet-5 conv1 forward on lavapipe 2.7 → 2.5 ms
  // (q1 of 10 interleaved rounds), 3.0 → 2.5 (median); on conv2 (6 channels, rows of 16) it measured no faster.
  const win = !!extra.pool && CONV_FLAGS.poolWindow && engine.isSoftware && Cg === 1 && g.sH === 1 && g.sW === 1 && g.dH === 1 && g.dW === 1;
  // Pooled outputs (their four cells are the columns), or with win pairs of them (8 columns each).
  const Np = extra.pool ? g.N * extra.pool.Hp * (win ? Math.ceil(extra.pool.Wp / 2) : extra.pool.Wp) : 0;
  const Nc = extra.pool ? (win ? 8 : 4) * Np : mode === 'fwd' ? g.N * g.Ho * g.Wo : mode === 'dx' ? g.N * g.H * g.W : Cg * kHW;
  const v = variantFor(engine, mode, M, Nc);
  if (win && v.direct) {
    v.direct = { ...v.direct, rN: 8, win: true };
    v.TN = v.direct.wg * 8;
  }
  const tilesM = Math.ceil(M / v.TM);
  const tilesN = Math.ceil(Nc / v.TN);
  const splits = extra.splits ?? 1;
  const kChunk = extra.kChunk ?? K;
  const params = new Params()
    .u32(g.N).u32(g.C).u32(g.H).u32(g.W)
    .u32(g.O).u32(g.Ho).u32(g.Wo).u32(g.G)
    .u32(g.kH).u32(g.kW).u32(g.sH).u32(g.sW)
    .i32(g.pH).i32(g.pW).u32(g.dH).u32(g.dW)
    .u32(Cg).u32(Og).u32(M).u32(Nc)
    .u32(K).u32(tilesM).u32(tilesN).u32(splits)
    .u32(kChunk).u32(EPILOGUE_ACTS.indexOf(extra.act ?? 'none')).f32(extra.alpha ?? 0).u32(extra.hasBias ? 1 : 0)
    .u32(extra.writeZ ? 1 : 0).u32(v.tiled?.bk ?? 0).u32(kHW).u32(g.Ho * g.Wo)
    .u32(g.H * g.W).u32(Math.ceil(M / 4)).u32(extra.pool?.Wp ?? 0).u32(Np)
    .u32(extra.pool ? extra.pool.Hp * extra.pool.Wp : 0);
  const groups = tilesM * tilesN * g.G * splits;
  if (v.tiled) {
    if (extra.pool) throw new Error('convGemm: the pooled forward needs the direct kernel');
    engine.run(CONV(JSON.stringify(v.tiled)), bufs, params, groups);
    return;
  }
  // The table depends on the geometry only (dw: not on N; fwd/dx: not on N either).
  const { N: _n, ...geomKey } = g;
  const table = engine.constantBuffer(`conv:${mode}:${JSON.stringify(geomKey)}`, () => directTable(mode, g));
  // Unpadded forward: every tap of a valid column is inside x, so no per-element bounds checks
  // (LeNet-5 conv2 forward 2.3 → 1.8 ms in interleaved A/B; the weight-grad measured no different).
  const inb = mode === 'fwd' && g.pH === 0 && g.pW === 0;
  const variant: ConvDirectVariant = { ...v.direct! };
  if (inb) variant.inb = true;
  if (extra.rowSums) variant.rowSums = true;
  if (extra.pool) variant.pool2 = true;
  engine.run(CONV_DIRECT(JSON.stringify(variant)), [...bufs, table], params, groups);
}

function pair(op: string, name: string, v: Pair | undefined, dflt: number, min: number, shapes: ReadonlyArray<readonly number[]>): [number, number] {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new ShapeError(op, `${name} must be an integer ≥ ${min} (or a pair of them), got ${JSON.stringify(v)}`, shapes);
  }
  return p;
}

/**
 * y = act(conv2d(x, w) + b). x: [N, C, H, W], w: [O, C/groups, kH, kW],
 * b: [O] | null → [N, O, Ho, Wo] with Ho = ⌊(H + 2·pH − dH·(kH − 1) − 1) / sH⌋ + 1.
 * Backward: dz = g·act′, dx and dw by implicit GEMM, db = Σ_{N,Ho,Wo} dz.
 */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null = null, opt: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const geom = convGeometry(op, x, w, b, opt);
  const act = opt.activation ?? 'none';
  const alpha = opt.alpha ?? defaultAlpha(act);
  const def = ACTIVATIONS[act];
  const engine = x.engine;

  const out = empty(engine, [geom.N, geom.O, geom.Ho, geom.Wo]); // [N, O, Ho, Wo]
  const keepZ = def.needsZ && needsGrad(x, w, b);
  const z = keepZ ? empty(engine, out.shape) : undefined; // [N, O, Ho, Wo] pre-activation
  // The input-gradient's packed weights come with the forward's (one dispatch), kept until backward.
  let wpDx: Tensor | null = null; // [G, Og·kH·kW, Cg rounded up to 4]
  if (out.size > 0) {
    const [wp, dxPack] = packForward(w, geom, x.requiresGrad && needsGrad(x, w, b)); // [G, Cg·kH·kW, Og rounded up to 4]
    wpDx = dxPack;
    convGemm(engine, 'fwd', geom, [x, v4(wp), b ?? engine.placeholder(0), v4(out), z ? v4(z) : engine.placeholder(1)], { act, alpha, hasBias: !!b, writeZ: !!z });
    wp.dispose();
  }
  const inputs = b ? [x, w, b] : [x, w];
  const res = record(op, inputs, out, (gy) => {
    const dz =
      act === 'none' || (act === 'relu' && isReluMasked(gy, out))
        ? gy
        : mapN(engine, def.grad('a', 'b', 'c', 's.x'), [gy, z ?? out, out], out.shape, { scalars: [alpha], prelude: def.prelude || undefined });
    const grads = convBackward(dz, x, w, b, geom, wpDx);
    if (dz !== gy) dz.dispose();
    return grads;
  });
  if (z) res.own(z);
  if (wpDx) {
    if (res.node) res.own(wpDx);
    else wpDx.dispose();
  }
  if (act === 'relu') markReluOutput(res);
  return res;
}

/** Validates conv2d's operands and options; the geometry with Ho, Wo. */
export function convGeometry(op: string, x: Tensor, w: Tensor, b: Tensor | null, opt: Conv2dOptions): Geom {
  const shapes = b ? [x.shape, w.shape, b.shape] : [x.shape, w.shape];
  if (x.rank !== 4 || w.rank !== 4 || x.dtype !== 'f32' || w.dtype !== 'f32' || (b && b.dtype !== 'f32')) {
    throw new ShapeError(op, 'expects float32 x [N, C, H, W] and w [O, C/groups, kH, kW]', shapes);
  }
  const [N, C, H, W] = x.shape;
  const [O, Cw, kH, kW] = w.shape;
  const G = opt.groups ?? 1;
  if (!Number.isInteger(G) || G < 1) throw new ShapeError(op, `groups must be a positive integer, got ${G}`, shapes);
  if (C % G !== 0 || O % G !== 0) {
    throw new ShapeError(op, `groups = ${G} must divide the input channels (${C}) and the output channels (${O})`, shapes);
  }
  if (Cw !== C / G) {
    throw new ShapeError(op, `input has ${C} channels but the weight expects ${Cw * G} (weight dim 1 = C/groups = ${Cw}, groups = ${G})`, shapes);
  }
  if (b && (b.rank !== 1 || b.shape[0] !== O)) throw new ShapeError(op, `bias must be [${O}]`, shapes);
  const [sH, sW] = pair(op, 'stride', opt.stride, 1, 1, shapes);
  const [pH, pW] = pair(op, 'padding', opt.padding, 0, 0, shapes);
  const [dH, dW] = pair(op, 'dilation', opt.dilation, 1, 1, shapes);
  const Ho = Math.floor((H + 2 * pH - dH * (kH - 1) - 1) / sH) + 1;
  const Wo = Math.floor((W + 2 * pW - dW * (kW - 1) - 1) / sW) + 1;
  if (Ho < 1 || Wo < 1 || kH < 1 || kW < 1) {
    throw new ShapeError(op, `the (dilated) kernel ${kH}×${kW} does not fit the padded input ${H + 2 * pH}×${W + 2 * pW}`, shapes);
  }
  return { N, C, H, W, O, Ho, Wo, G, kH, kW, sH, sW, pH, pW, dH, dW };
}

/**
 * dz of a conv's backward given as the gradient g [N, O, ⌊Ho/2⌋, ⌊Wo/2⌋] of a 2×2/2 max-pool over
 * it and the pool's argmax idx (conv-pool.ts): the by-rows input-grad and by-blocks weight-grad read
 * those in place of dz; `dense()` scatters dz for any other kernel (called at most once).
 */
export interface PooledGrad {
  g: Tensor;
  idx: Tensor;
  dense: () => Tensor;
}

/** Gradients of x, w (and b) from dz, the gradient of the conv's pre-activation output [N, O, Ho, Wo]. */
export function convBackward(dz: Tensor | PooledGrad, x: Tensor, w: Tensor, b: Tensor | null, geom: Geom, wpDx: Tensor | null = null): Array<Tensor | null> {
  const pooled = 'dense' in dz ? dz : null;
  let dense: Tensor | null = pooled ? null : (dz as Tensor);
  const dzDense = (): Tensor => (dense ??= pooled!.dense());
  const lavapipe = x.engine.isLavapipe;
  let gx: Tensor | null = null; // [N, C, H, W]
  if (x.requiresGrad) gx = pooled && dxByRows(x.engine, geom) ? convInputGradRowsPooled(pooled, w, geom) : convInputGrad(dzDense(), w, geom, wpDx);
  let gw: Tensor | null = null; // [O, Cg, kH, kW]
  let gb: Tensor | null = null; // [O]
  // Stride 1 on lavapipe: weight- and bias-grad by blocks of dW, a sliding window of x (conv-dw-blocks.ts).
  if (w.requiresGrad && useDwBlocks(geom, lavapipe)) {
    ({ dw: gw, db: gb } = convWeightGradBlocks(x, pooled ? null : dzDense(), geom, !!b?.requiresGrad, pooled));
  }
  // Few input channels (first layers): weight- and bias-grad in one pass over a shifted-quad copy of x (conv-shifted.ts).
  else if (w.requiresGrad && useShifted(geom)) ({ dw: gw, db: gb } = convWeightGradShifted(x, dzDense(), geom, !!b?.requiresGrad));
  else if (w.requiresGrad) ({ dw: gw, db: gb } = convWeightGrad(x, dzDense(), geom, w.shape, !!b?.requiresGrad));
  if (b?.requiresGrad && !gb) {
    const v = dzDense().view([geom.N, geom.O, geom.Ho * geom.Wo]);
    const s = sum(v, 2); // [N, O]
    gb = sum(s, 0); // [O]
    v.dispose();
    s.dispose();
  }
  return b ? [gx, gw, gb] : [gx, gw];
}

/** dX by rows from a pooled gradient (conv-dx-rows.ts). */
function convInputGradRowsPooled(pooled: PooledGrad, w: Tensor, g: Geom): Tensor {
  const dx = empty(w.engine, [g.N, g.C, g.H, g.W]); // [N, C, H, W]
  if (dx.size > 0) convInputGradRows(w.engine, g, null, w, dx, pooled);
  return dx;
}

/**
 * The input-grad over valid taps only (conv-dx-valid.ts) when the direct
 * kernel would run and fewer than dxValidBelow of its taps land inside dY
 * (stride and dilation 1 only).
 */
function useValidTaps(engine: Engine, g: Geom): boolean {
  if (g.sH !== 1 || g.sW !== 1 || g.dH !== 1 || g.dW !== 1 || g.C / g.G > directMaxM(engine)) return false;
  return validTapFraction(g) < CONV_FLAGS.dxValidBelow;
}

/**
 * The input-grad by rows (conv-dx-rows.ts) where it replaces the valid-tap kernel
 * (unpadded layers with few valid taps: LeNet-5 conv2 2.29 → 1.25 ms). Not for
 * padded layers: ResNet's 16→16 3×3 on 32×32 took 40.7 ms by rows (one
 * channel per invocation) against 14.8 ms for the direct GEMM.
 */
function dxByRows(engine: Engine, g: Geom): boolean {
  return useDxRows(g, engine.isLavapipe) && useValidTaps(engine, g);
}

/** dX = implicit GEMM of the transposed weights with dY (no autodiff); `packed`: the weights already packed for dx (kept by the caller). */
function convInputGrad(dy: Tensor, w: Tensor, g: Geom, packed: Tensor | null = null): Tensor {
  const engine = dy.engine;
  const dx = empty(engine, [g.N, g.C, g.H, g.W]); // [N, C, H, W]
  if (dx.size > 0 && dxByRows(engine, g)) convInputGradRows(engine, g, dy, w, dx);
  else if (dx.size > 0) {
    const wp = packed ?? packWeights(w, g, 'dx'); // [G, Og·kH·kW, Cg rounded up to 4]
    if (useValidTaps(engine, g)) {
      const [wg, rMax] = CONV_FLAGS.dxValid;
      const rN = g.N <= wg * 4 ? 4 : rMax; // a workgroup's columns are images: don't idle most of them at small batch
      convInputGradValid(engine, g, dy, v4(wp), dx, { wg, rN, rM: roundRows(g.C / g.G, CONV_FLAGS.directRows) });
    } else convGemm(engine, 'dx', g, [dy, v4(wp), v4(dx)]);
    if (wp !== packed) wp.dispose();
  }
  return dx;
}

/**
 * dW = Σ over N·Ho·Wo of dY ⊗ im2col(X), split over workgroups along that
 * sum (no autodiff); with `withBias` (direct kernel only) also db = Σ dY
 * per channel, from the dY values the kernel loads anyway (rowSums).
 */
function convWeightGrad(x: Tensor, dy: Tensor, g: Geom, wShape: readonly number[], withBias: boolean): { dw: Tensor; db: Tensor | null } {
  const engine = x.engine;
  const Cg = g.C / g.G;
  const Og = g.O / g.G;
  const Nc = Cg * g.kH * g.kW;
  const K = g.N * g.Ho * g.Wo;
  const v = variantFor(engine, 'dw', Og, Nc);
  const tiles = g.G * Math.ceil(Og / v.TM) * Math.ceil(Nc / v.TN);
  // Enough workgroups to fill the device, each still summing ≥ dwChunk terms.
  let splits = Math.max(1, Math.min(Math.ceil(CONV_FLAGS.dwTarget / tiles), Math.floor(K / CONV_FLAGS.dwChunk)));
  const kChunk = Math.ceil(K / splits);
  splits = Math.ceil(K / kChunk);
  const rowSums = withBias && K > 0; // (the weight-grad always runs the direct kernel)
  const partB = rowSums ? empty(engine, splits === 1 ? [g.O] : [splits, g.O]) : null; // [splits, O]
  const extra = { splits, kChunk, rowSums };
  if (splits === 1) {
    const dw = empty(engine, wShape); // [O, Cg, kH, kW]
    convGemm(engine, 'dw', g, partB ? [x, dy, v4(dw), partB] : [x, dy, v4(dw)], extra);
    return { dw, db: partB };
  }
  const part = empty(engine, [splits, g.O * Nc]); // [splits, O·Cg·kH·kW]
  convGemm(engine, 'dw', g, partB ? [x, dy, v4(part), partB] : [x, dy, v4(part)], extra);
  const [s, db] = partB ? sumRows2(part, partB) : [sum(part, 0), null]; // [O·Cg·kH·kW], [O]
  part.dispose();
  partB?.dispose();
  const dw = s.view(wShape); // [O, Cg, kH, kW]
  s.dispose();
  return { dw, db };
}

/**
 * 1-D convolution: x [N, C, L], w [O, C/groups, k], b [O] | null → [N, O, Lo],
 * computed as conv2d over [N, C, 1, L] views.
 */
export function conv1d(x: Tensor, w: Tensor, b: Tensor | null = null, opt: Conv1dOptions = {}): Tensor {
  const shapes = b ? [x.shape, w.shape, b.shape] : [x.shape, w.shape];
  if (x.rank !== 3 || w.rank !== 3) throw new ShapeError('conv1d', 'expects x [N, C, L] and w [O, C/groups, k]', shapes);
  const G = opt.groups ?? 1;
  if (w.shape[1] * G !== x.shape[1]) {
    throw new ShapeError('conv1d', `input has ${x.shape[1]} channels but the weight expects ${w.shape[1] * G} (groups = ${G})`, shapes);
  }
  const x4 = reshape(x, [x.shape[0], x.shape[1], 1, x.shape[2]]); // [N, C, 1, L]
  const w4 = reshape(w, [w.shape[0], w.shape[1], 1, w.shape[2]]); // [O, Cg, 1, k]
  let y4: Tensor;
  try {
    y4 = conv2d(x4, w4, b, {
      stride: [1, opt.stride ?? 1],
      padding: [0, opt.padding ?? 0],
      dilation: [1, opt.dilation ?? 1],
      groups: opt.groups,
      activation: opt.activation,
      alpha: opt.alpha,
    }); // [N, O, 1, Lo]
  } catch (e) {
    x4.dispose();
    w4.dispose();
    throw e;
  }
  const out = reshape(y4, [y4.shape[0], y4.shape[1], y4.shape[3]]); // [N, O, Lo]
  // The views feed backward: they live as long as the output.
  if (out.node) out.own(x4, w4, y4);
  else [x4, w4, y4].forEach((t) => t.dispose());
  return out;
}
