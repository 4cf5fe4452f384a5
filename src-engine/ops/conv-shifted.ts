/**
 * Weight- and bias-gradient of convolutions with few input channels (first
 * layers: 1 or 3 channels), stride and dilation 1, over a "shifted-quad"
 * copy of the zero-padded input:
 *
 *   xs[n, c, h, w] = vec4(xpad[n, c, h, w], …, xpad[n, c, h, w + 3])
 *
 * With dY read four positions at a time as well (Wo % 4 = 0), the products of
 * four consecutive outputs at one tap are ONE dot(dY4, xs4). The generic
 * direct weight-grad (conv-wgsl.ts) gathers one scalar per tap and position
 * and, for LeNet-5's conv1 (6 × 25 outputs in 8 × 32 tiles), wastes 42% of
 * its multiply-adds; on lavapipe loads, not arithmetic, set the pace
 * (ops/README.md rule 10).
 *
 *   conv_s4_shift: the copy (4× the input: small for 1–4 channels), made in
 *       the backward pass and freed after it.
 *   conv_s4_dw_<R>x<KW>: one invocation per (block of R output channels,
 *       slice of the N·Ho·Wo/4 position quads, input channel c, kernel row
 *       kh): per quad KW vec4s of xs and R vec4s of dY → R·KW dot products
 *       into dW[o, c, kh, 0…KW) and R into the bias gradient Σ dY[o]
 *       (stored by the c = 0, kh = 0 invocations). Partial sums per slice,
 *       summed by the caller: two reductions instead of the generic path's
 *       one plus the bias's two.
 *
 * LeNet-5 conv1 (N = 64, 1→6, 28×28, k5 pad 2), isolated replays in one
 * process: weight-grad 2.4 ms + bias 0.4 ms → copy 0.2 + kernel 1.1 ms.
 * A forward over the same copy (one vec4 per tap for four outputs) measured
 * no faster than the direct kernel (2.3–3.3 vs 2.3–2.9 ms) and was dropped.
 *
 * On CPU adapters the weight-grad by blocks (conv-dw-blocks.ts) now takes
 * these layers when its accumulators fit (kH·kW ≤ 100): LeNet-5's conv1
 * 1.2 + 0.25 ms here → 0.83 ms there. This path remains for GPUs and for
 * kernels up to 11 wide.
 */
import { kernel, kernelFamily, Params, WGSL_MAIN_1D, wgslMain1d, type Kernel } from '../core/kernel.ts';
import { empty, type Tensor } from '../core/tensor.ts';
import type { ConvGeom } from './conv-wgsl.ts';
import { sumSlices } from './reduce.ts';

/**
 * Knobs, measured on lavapipe (isolated replays, configurations interleaved
 * in one process). dwInvocations: about this many invocations in all; for
 * LeNet-5's conv1 512 / 1024 / 2048 / 4096 took 1.2 / 1.1 / 1.2 / 1.7 ms.
 */
export const SHIFTED_FLAGS = {
  /** Use this path at all (tests force both). */
  enabled: true,
  /** At most this many input channels (the copy is 4× the input). */
  maxC: 4,
  dwInvocations: 1024,
};

/** Whether conv2d's weight-grad takes this path: stride 1, dilation 1, no groups, few input channels, Wo a multiple of 4. */
export function useShifted(g: ConvGeom): boolean {
  return (
    SHIFTED_FLAGS.enabled &&
    g.sH === 1 && g.sW === 1 && g.dH === 1 && g.dW === 1 && g.G === 1 &&
    g.C <= SHIFTED_FLAGS.maxC && g.Wo % 4 === 0 && g.kW <= 11
  );
}

/** Output channels per invocation (LeNet-5's 6 as 6 instead of 8 measured no faster). */
const rowsFor = (O: number): number => (O <= 4 ? 4 : 8);

/*
 * conv_s4_shift: xs[nc, hp, wp] = xpad[nc, hp, wp … wp + 3] with
 * xpad(h, w) = x[nc, h − pH, w − pW] inside the input, 0 outside.
 * x: [N·C, H, W] f32, xs: [N·C, Hp = H + 2pH, Wp = W + 2pW] vec4. One
 * invocation per 8 consecutive wp of a row (11 loads, 8 vec4 stores: one
 * vec4 per invocation cost ~10 ns each on lavapipe); 1-D, folded.
 */
const SHIFT = kernel(
  'conv_s4_shift',
  /* wgsl */ `
struct P { n: u32, H: u32, W: u32, Hp: u32, Wp: u32, pH: u32, pW: u32, chunks: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> xs: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: P;
${WGSL_MAIN_1D}
  let w0 = (i % p.chunks) * 8u;
  let row = i / p.chunks;
  let h = i32(row % p.Hp) - i32(p.pH);
  let hok = h >= 0 && h < i32(p.H);
  let src = ((row / p.Hp) * p.H + u32(max(h, 0))) * p.W;
  var v: array<f32, 11>;
  for (var c = 0u; c < 11u; c++) {
    let w = i32(w0 + c) - i32(p.pW);
    if (hok && w >= 0 && w < i32(p.W)) { v[c] = x[src + u32(w)]; }
  }
  let out = row * p.Wp + w0;
  for (var j = 0u; j < 8u; j++) {
    if (w0 + j < p.Wp) { xs[out + j] = vec4<f32>(v[j], v[j + 1u], v[j + 2u], v[j + 3u]); }
  }
}`,
  ['read', 'write', 'uniform'],
);

/** The shifted-quad copy of x ([N, C, H, W]) for geometry g: [N, C, H + 2pH, W + 2pW, 4]. */
export function shiftInput(x: Tensor, g: ConvGeom): Tensor {
  const Hp = g.H + 2 * g.pH;
  const Wp = g.W + 2 * g.pW;
  const xs = empty(x.engine, [g.N, g.C, Hp, Wp, 4]); // [N, C, Hp, Wp, 4]
  const chunks = Math.ceil(Wp / 8);
  const n = g.N * g.C * Hp * chunks;
  x.engine.run(SHIFT, [x, xs], new Params().u32(n).u32(g.H).u32(g.W).u32(Hp).u32(Wp).u32(g.pH).u32(g.pW).u32(chunks), Math.ceil(n / 256));
  return xs;
}

/*
 * conv_s4_dw (see the file comment). E invocations, i → (ob, s, c, kh) with kh
 * fastest; slice s covers quads [s·L, min(EQ, s·L + L)) of (n, oh, q) order.
 * xs: [N, C, Hp, Wp] vec4, dy: [N, O, Ho, Wo4] vec4, part: [S, O, C, kH, kW],
 * partB: [S, O]. Taps kw ≥ kW (kW rounded up to KW) are computed, not stored.
 */
const DW = kernelFamily((key: string): Kernel => {
  const [R, KW] = key.split('x').map(Number);
  const body: string[] = [];
  for (let kw = 0; kw < KW; kw++) body.push(`let x${kw} = xs[xa + ${kw}u];`);
  for (let r = 0; r < R; r++) {
    body.push(`let d${r} = select(vec4<f32>(0.0), dy[select(0u, da + ${r}u * HoWo4, ok${r})], ok${r});`);
    for (let kw = 0; kw < KW; kw++) body.push(`acc[${r * KW + kw}] += dot(d${r}, x${kw});`);
    body.push(`accB[${r}] += dot(d${r}, vec4<f32>(1.0));`);
  }
  const oks = Array.from({ length: R }, (_, r) => `let ok${r} = ob * ${R}u + ${r}u < p.O;`);
  return kernel(
    `conv_s4_dw_${R}x${KW}`,
    /* wgsl */ `
struct P { E: u32, C: u32, Hp: u32, Wp: u32, O: u32, Ho: u32, Wo4: u32, kH: u32, kW: u32, S: u32, L: u32, EQ: u32 }
@group(0) @binding(0) var<storage, read> xs: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<storage, read_write> partB: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${wgslMain1d(64, 'p.E')}
  let kh = i % p.kH;
  var t = i / p.kH;
  let c = t % p.C;
  t = t / p.C;
  let s = t % p.S;
  let ob = t / p.S;
  ${oks.join('\n  ')}
  let HoWo4 = p.Ho * p.Wo4;
  let e0 = s * p.L;
  let e1 = min(p.EQ, e0 + p.L);
  var q = e0 % p.Wo4;
  var oh = (e0 / p.Wo4) % p.Ho;
  var n = e0 / HoWo4;
  var acc: array<f32, ${R * KW}>;
  var accB: array<f32, ${R}>;
  for (var e = e0; e < e1; e++) {
    let xa = ((n * p.C + c) * p.Hp + oh + kh) * p.Wp + 4u * q;
    let da = (n * p.O + ob * ${R}u) * HoWo4 + oh * p.Wo4 + q;
    ${body.join('\n    ')}
    q += 1u;
    if (q == p.Wo4) { q = 0u; oh += 1u; if (oh == p.Ho) { oh = 0u; n += 1u; } }
  }
  let CkHkW = p.C * p.kH * p.kW;
  for (var r = 0u; r < ${R}u; r++) {
    let o = ob * ${R}u + r;
    if (o >= p.O) { break; }
    let base = (s * p.O + o) * CkHkW + (c * p.kH + kh) * p.kW;
    for (var kw = 0u; kw < p.kW; kw++) { part[base + kw] = acc[r * ${KW}u + kw]; }
    if (c == 0u && kh == 0u) { partB[s * p.O + o] = accB[r]; }
  }
}`,
    ['read', 'read', 'write', 'write', 'uniform'],
  );
});

/** Kernel widths compiled for (each a pipeline); kW is rounded up to the next. */
const KW_SIZES = [3, 5, 7, 11];

/**
 * Weight- and bias-gradient from xs (shiftInput of the forward's x) and dY
 * ([N, O, Ho, Wo]): dW [O, C, kH, kW] and db [O] (null unless `withBias`).
 */
export function convWeightGradShifted(x: Tensor, dy: Tensor, g: ConvGeom, withBias: boolean): { dw: Tensor; db: Tensor | null } {
  const engine = x.engine;
  const xs = shiftInput(x, g); // [N, C, Hp, Wp, 4]
  const R = rowsFor(g.O);
  const KW = KW_SIZES.find((k) => k >= g.kW)!;
  const blocks = Math.ceil(g.O / R);
  const EQ = (g.N * g.Ho * g.Wo) / 4;
  const perSlice = blocks * g.C * g.kH;
  const S = Math.max(1, Math.min(EQ, Math.round(SHIFTED_FLAGS.dwInvocations / perSlice)));
  const L = Math.ceil(EQ / S);
  const slices = Math.ceil(EQ / L);
  const E = slices * perSlice;
  const part = empty(engine, [slices, g.O * g.C * g.kH * g.kW]); // [S, O·C·kH·kW]
  const partB = empty(engine, [slices, g.O]); // [S, O]
  const params = new Params()
    .u32(E).u32(g.C).u32(g.H + 2 * g.pH).u32(g.W + 2 * g.pW).u32(g.O).u32(g.Ho).u32(g.Wo / 4)
    .u32(g.kH).u32(g.kW).u32(slices).u32(L).u32(EQ);
  engine.run(DW(`${R}x${KW}`), [xs, dy, part, partB], params, Math.ceil(E / 64));
  xs.dispose();
  return sumSlices(part, partB, withBias, [g.O, g.C, g.kH, g.kW]); // [O, C, kH, kW], [O]
}
