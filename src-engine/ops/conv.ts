/**
 * 2-D / 1-D convolution (PyTorch semantics: NCHW, weight [O, C/groups, kH, kW],
 * zero padding, stride, dilation, groups) with a fused bias + activation
 * epilogue, as an IMPLICIT GEMM for all three products:
 *
 *   forward   Y[g]  (Og × N·Ho·Wo)    = W[g]  (Og × Cg·kH·kW)      · im2col(X)[g]
 *   input-grad dX[g] (Cg × N·H·W)     = Wᵀ[g] (Cg × Og·kH·kW)      · col2im-gather(dY)[g]
 *   weight-grad dW[g] (Og × Cg·kH·kW) = dY[g] (Og × N·Ho·Wo)       · im2col(X)[g]ᵀ
 *
 * The virtual im2col matrix is never materialised: each workgroup gathers
 * the BK×TN slice it needs straight from X (or dY) into workgroup memory,
 * then runs the same register-blocked inner product as ops/matmul.ts (each
 * invocation owns an RM×RN block of C in registers). Divisions that split a
 * K index into (channel, kh, kw) or (image, oh, ow) are done once per slice
 * per workgroup (a BK-entry table in workgroup memory); the N-side split is
 * done once per invocation before the K loop, so the inner loops are
 * division-free. Groups are the GEMM batch; weight-grad splits its long K
 * (N·Ho·Wo) over workgroups and sums the partial products afterwards.
 *
 * All sizes, strides, paddings, dilations and groups are uniforms: one
 * pipeline per (mode, tile shape), not per layer.
 */
import type { Bindable, Engine } from '../core/engine.ts';
import { LimitError, ShapeError } from '../core/errors.ts';
import { kernel, kernelFamily, Params, WGSL_WG_LINEAR } from '../core/kernel.ts';
import { needsGrad, record } from '../core/tape.ts';
import { empty, type Tensor } from '../core/tensor.ts';
import { ACTIVATIONS, type Activation, defaultAlpha } from './activations.ts';
import { gatherStrided, mapN } from './map.ts';
import { sum } from './reduce.ts';
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
 * Tuning knobs, measured on Mesa lavapipe with bench/engine.ts. Each tile is
 * [invocations along M, along N, outputs per invocation along M, along N
 * (both multiples of 4), K-slice]:
 *   small: forward / input-grad when the GEMM's M side (output channels per
 *          group, resp. input channels per group) is at most 16;
 *   large: forward / input-grad otherwise;
 *   dw:    weight-grad (M = output channels per group, N = Cg·kH·kW);
 *   dwTarget, dwChunk: weight-grad splits its K = N·Ho·Wo so that about
 *          dwTarget workgroups run, each summing at least dwChunk terms.
 */
export const CONV_FLAGS: {
  small: [number, number, number, number, number];
  large: [number, number, number, number, number];
  dw: [number, number, number, number, number];
  dwTarget: number;
  dwChunk: number;
  exp?: number;
} = { small: [1, 16, 16, 8, 16], large: [4, 8, 16, 8, 16], dw: [1, 8, 16, 4, 32], dwTarget: 256, dwChunk: 256 };

type Mode = 'fwd' | 'dx' | 'dw';

interface ConvVariant {
  mode: Mode;
  wgM: number;
  wgN: number;
  rM: number;
  rN: number;
  bk: number;
  exp?: number;
}

const ACT_LIST = Object.keys(ACTIVATIONS) as Activation[];
const WGSL_EPILOGUE = /* wgsl */ `
${[...new Set(ACT_LIST.map((a) => ACTIVATIONS[a].prelude))].join('\n')}
fn epilogue_act(z: f32, act: u32, alpha: f32) -> f32 {
  switch act {
${ACT_LIST.map((a, i) => `    case ${i}u: { return ${ACTIVATIONS[a].fwd('z', 'alpha')}; }`).join('\n')}
    default: { return z; }
  }
}
`;

/** Uniform layout shared by the three modes (mirrored by convParams). */
const WGSL_P = /* wgsl */ `
struct P { N: u32, C: u32, H: u32, W: u32,
           O: u32, Ho: u32, Wo: u32, G: u32,
           kH: u32, kW: u32, sH: u32, sW: u32,
           pH: i32, pW: i32, dH: u32, dW: u32,
           Cg: u32, Og: u32, M: u32, Nc: u32,
           K: u32, tilesM: u32, tilesN: u32, splits: u32,
           kChunk: u32, act: u32, alpha: f32, hasBias: u32,
           writeZ: u32, bk: u32, kHW: u32, HoWo: u32,
           HW: u32, four: u32 }`;

/*
 * conv_<mode>_<TM>x<TN>x<BK>: one implicit-GEMM tile C[m0:m0+TM, n0:n0+TN]
 * of group `grp` (and K-split `split` for dw), K walked in BK slices.
 *   X: [N, C, H, W], W: [O, Cg, kH, kW], Y / dY: [N, O, Ho, Wo], all row-major.
 *   fwd: A = W[grp]  as [Og, K = Cg·kH·kW],  B[k=(c,kh,kw), n=(b,oh,ow)] = X[b, grp·Cg+c, oh·sH−pH+kh·dH, ow·sW−pW+kw·dW]
 *        (0 outside), C → Y[b, grp·Og+m, oh, ow] after bias + activation (Z = pre-activation).
 *   dx:  A = Wt[grp] as [Cg, K = Og·kH·kW] (weights pre-transposed to [G, Cg, Og, kH·kW]),
 *        B[k=(o,kh,kw), n=(b,ih,iw)] = dY[b, grp·Og+o, (ih+pH−kh·dH)/sH, (iw+pW−kw·dW)/sW]
 *        (0 unless both divide exactly and land inside), C → dX[b, grp·Cg+m, ih, iw].
 *   dw:  A[m=o, k=(b,oh,ow)] = dY[b, grp·Og+o, oh, ow], B[k, n=(c,kh,kw)] = im2col as in fwd,
 *        C → part[split, grp·Og+m, n] (summed over splits by the caller).
 * Workgroup (wgN × wgM invocations; linear id folded) → (split, grp, tile m, tile n);
 * invocation (tx, ty) accumulates the rM×rN block at rows ty·rM…, columns tx·rN…
 * of the tile, and gathers exactly those rN columns of each B slice (rows
 * ty, ty + wgM, …) into workgroup memory as vec4s. kt[BK] (workgroup) holds
 * the split of the slice's K indices, refreshed by the first BK invocations
 * while the others compute.
 *
 * Written for lavapipe as much as for GPUs: there every workgroup-memory or
 * storage access whose address differs between invocations costs a scalar
 * loop over the SIMD lanes, while uniform addresses cost one load. So tiles
 * with wgM = 1 read A (As, kt) at uniform addresses, B goes in and out of
 * workgroup memory as vec4, loops have uniform bounds (no unrolling: compile
 * time) and the loads are branch-free (clamped address + select).
 */
const CONV = kernelFamily((key: string) => {
  const v = JSON.parse(key) as ConvVariant;
  const { wgM, wgN, rM, rN, bk: BK, mode } = v;
  const TM = wgM * rM;
  const TN = wgN * rN;
  const TM4 = TM / 4;
  const TN4 = TN / 4;
  const RM4 = rM / 4;
  const RN4 = rN / 4;
  const threads = wgM * wgN;
  if (rN % 4 || rM % 4 || BK % wgM) throw new Error(`conv: unsupported tile ${key}`);
  // With one row of invocations, `ty` is the constant 0: addresses that only
  // depend on it stay uniform for the compiler.
  const TY = wgM === 1 ? '0u' : 'ty';

  // ---- column state of the invocation's rN columns, computed once.
  const colDecl: string[] = [];
  for (let j = 0; j < rN; j++) {
    colDecl.push(`let n_${j} = n0 + tx * ${rN}u + ${j}u; let ok_${j} = n_${j} < p.Nc;`);
    if (mode === 'fwd') {
      colDecl.push(`let s_${j} = n_${j} % p.HoWo; let ch_${j} = i32((s_${j} / p.Wo) * p.sH) - p.pH; let cw_${j} = i32((s_${j} % p.Wo) * p.sW) - p.pW;`);
      colDecl.push(`let cb_${j} = i32(((n_${j} / p.HoWo) * p.C + grp * p.Cg) * p.HW) + ch_${j} * i32(p.W) + cw_${j};`);
    } else if (mode === 'dx') {
      colDecl.push(`let s_${j} = n_${j} % p.HW; let ch_${j} = i32(s_${j} / p.W) + p.pH; let cw_${j} = i32(s_${j} % p.W) + p.pW;`);
      colDecl.push(`let cb_${j} = i32(((n_${j} / p.HW) * p.O + grp * p.Og) * p.HoWo);`);
    } else {
      colDecl.push(`let r_${j} = n_${j} % p.kHW; let ch_${j} = i32((r_${j} / p.kW) * p.dH); let cw_${j} = i32((r_${j} % p.kW) * p.dW);`);
      colDecl.push(`let cb_${j} = i32((grp * p.Cg + n_${j} / p.kHW) * p.HW) + ch_${j} * i32(p.W) + cw_${j};`);
    }
  }

  // ---- B slice: row r of the invocation's columns.
  const bElems: string[] = [];
  for (let j = 0; j < rN; j++) {
    if (mode === 'dx') {
      // Stride 1: oh = th directly; otherwise th must divide exactly by the stride.
      bElems.push(`let th_${j} = ch_${j} - t.y; let tw_${j} = cw_${j} - t.z;
      var qh_${j} = th_${j}; var qw_${j} = tw_${j};
      ${v.exp === 1 ? '' : `if (!unit) { qh_${j} = th_${j} / sh; qw_${j} = tw_${j} / sw; }`}
      let okb_${j} = ok_${j} && kok && ${v.exp === 1 ? '' : `qh_${j} * sh == th_${j} && qw_${j} * sw == tw_${j} &&`} u32(qh_${j}) < p.Ho && u32(qw_${j}) < p.Wo;
      let v_${j} = select(0.0, src[select(0u, u32(cb_${j} + t.x + qh_${j} * i32(p.Wo) + qw_${j}), okb_${j})], okb_${j});`);
    } else {
      bElems.push(`let ih_${j} = ch_${j} + t.y; let iw_${j} = cw_${j} + t.z;
      let okb_${j} = ok_${j} && kok && u32(ih_${j}) < p.H && u32(iw_${j}) < p.W;
      let v_${j} = select(0.0, src[select(0u, u32(cb_${j} + t.x), okb_${j})], okb_${j});`);
    }
  }
  for (let q = 0; q < RN4; q++) {
    const c = [0, 1, 2, 3].map((i) => `v_${4 * q + i}`).join(', ');
    bElems.push(`Bs[r * ${TN4}u + tx * ${RN4}u + ${q}u] = vec4<f32>(${c});`);
  }
  const loadB = `for (var r = ${TY}; r < p.bk; r += ${wgM}u) {
      let t = kt[r];
      let kok = k0 + r < kEnd;
      ${bElems.join('\n      ')}
    }`;

  // ---- A slice (TM × BK), stored k-major as vec4 over m: As[k·TM4 + m/4].
  const aSrc = (c: number): string =>
    mode === 'dw'
      ? `dy[select(0u, ko + (m + ${c}u) * p.HoWo, ok${c})]`
      : `wa[select(0u, aBase + (m + ${c}u) * p.K + k0 + kl, ok${c})]`;
  const loadA = `for (var e = li; e < p.bk * ${TM4}u; e += ${threads}u) {
      let kl = e / ${TM4}u; let m = m0 + (e % ${TM4}u) * 4u;
      let kok = k0 + kl < kEnd;
      ${mode === 'dw' ? `let ko = u32(kt[kl].w) + grp * p.Og * p.HoWo;` : ''}
      ${[0, 1, 2, 3].map((c) => `let ok${c} = kok && m + ${c}u < p.M;`).join(' ')}
      As[e] = vec4<f32>(${[0, 1, 2, 3].map((c) => `select(0.0, ${aSrc(c)}, ok${c})`).join(',\n        ')});
    }`;

  // ---- K-table entry for K index k (see header).
  const ktab =
    mode === 'fwd'
      ? `let c = k / p.kHW; let r = k % p.kHW; let kh = i32((r / p.kW) * p.dH); let kw = i32((r % p.kW) * p.dW);
    return vec4<i32>(i32(c * p.HW) + kh * i32(p.W) + kw, kh, kw, 0);`
      : mode === 'dx'
        ? `let o = k / p.kHW; let r = k % p.kHW;
    return vec4<i32>(i32(o * p.HoWo), i32((r / p.kW) * p.dH), i32((r % p.kW) * p.dW), 0);`
        : `let b = k / p.HoWo; let s = k % p.HoWo;
    let ih = i32((s / p.Wo) * p.sH) - p.pH; let iw = i32((s % p.Wo) * p.sW) - p.pW;
    return vec4<i32>(i32(b * p.C * p.HW) + ih * i32(p.W) + iw, ih, iw, i32(b * p.O * p.HoWo + s));`;

  // ---- inner product over the slice, unrolled over the rM×rN block.
  const inner: string[] = [];
  for (let q = 0; q < RM4; q++) inner.push(`let a${q} = As[kk * ${TM4}u + ${TY} * ${RM4}u + ${q}u];`);
  for (let q = 0; q < RN4; q++) inner.push(`let b${q} = Bs[kk * ${TN4}u + tx * ${RN4}u + ${q}u];`);
  for (let i = 0; i < rM; i++) {
    for (let q = 0; q < RN4; q++) {
      inner.push(`acc[${i * RN4 + q}] = fma(vec4<f32>(a${i >> 2}.${'xyzw'[i & 3]}), b${q}, acc[${i * RN4 + q}]);`);
    }
  }

  // ---- stores. acc is only indexed by constants (a dynamic index makes LLVM
  // spill it); the 4 lanes of each vec4 are stored by a loop whose bound
  // comes from a uniform (p.four = 4), so the epilogue (bias, activation
  // switch) is emitted rM·rN/4 times instead of rM·rN: lavapipe compile time.
  // cols[j]: output offset of column n0 + tx·rN + j (0xffffffff past the end),
  // split into (image, position) once and then stepped without divisions.
  const S = mode === 'fwd' ? 'p.HoWo' : mode === 'dx' ? 'p.HW' : 'p.Nc';
  const BS = mode === 'fwd' ? 'p.O * p.HoWo' : mode === 'dx' ? 'p.C * p.HW' : '0u';
  const rowOff =
    mode === 'fwd' ? '(grp * p.Og + m) * p.HoWo' : mode === 'dx' ? '(grp * p.Cg + m) * p.HW' : '(split * p.O + grp * p.Og + m) * p.Nc';
  const stores: string[] = [
    `var cols: array<u32, ${rN}>;`,
    `{ let n = n0 + tx * ${rN}u; var nb = n / ${S}; var s = n % ${S};`,
  ];
  for (let j = 0; j < rN; j++) {
    if (j > 0) stores.push(`  s += 1u; if (s == ${S}) { s = 0u; nb += 1u; }`);
    stores.push(`  cols[${j}] = select(0xffffffffu, nb * ${BS} + s, n + ${j}u < p.Nc);`);
  }
  stores.push('}');
  for (let i = 0; i < rM; i++) {
    stores.push(`{ let m = m0 + ${TY} * ${rM}u + ${i}u; if (m < p.M) {`);
    stores.push(`  let ro = ${rowOff};`);
    if (mode === 'fwd') stores.push('  let bv = select(0.0, bias[min(grp * p.Og + m, arrayLength(&bias) - 1u)], p.hasBias != 0u);');
    for (let q = 0; q < RN4; q++) {
      stores.push(`  { let z4 = acc[${i * RN4 + q}];`);
      stores.push(`    for (var c = 0u; c < p.four; c++) { let col = cols[${4 * q}u + c]; if (col != 0xffffffffu) {`);
      if (mode === 'fwd') {
        stores.push('      let z = z4[c] + bv; let idx = col + ro;');
        stores.push('      if (p.writeZ != 0u) { Z[idx] = z; }');
        stores.push('      out[idx] = epilogue_act(z, p.act, p.alpha);');
      } else {
        stores.push('      out[col + ro] = z4[c];');
      }
      stores.push('    } } }');
    }
    stores.push('} }');
  }

  const decl =
    mode === 'fwd'
      ? `@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> wa: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> Z: array<f32>;
@group(0) @binding(5) var<uniform> p: P;`
      : mode === 'dx'
        ? `@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> wa: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: P;`
        : `@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: P;`;
  const bindings: Array<'read' | 'write' | 'uniform'> =
    mode === 'fwd' ? ['read', 'read', 'read', 'write', 'write', 'uniform'] : ['read', 'read', 'write', 'uniform'];

  return kernel(
    `conv_${mode}_${TM}x${TN}x${BK}`,
    /* wgsl */ `
${WGSL_P}
${decl}
${mode === 'fwd' ? WGSL_EPILOGUE : ''}
${WGSL_WG_LINEAR}
var<workgroup> As: array<vec4<f32>, ${TM4 * BK}>;
var<workgroup> Bs: array<vec4<f32>, ${TN4 * BK}>;
var<workgroup> kt: array<vec4<i32>, ${BK}>;
fn ktab(k: u32) -> vec4<i32> {
    ${ktab}
}
@compute @workgroup_size(${wgN}, ${wgM})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = wg_linear(wid, nwg);
  let perGroup = p.tilesM * p.tilesN;
  // Whole workgroup leaves together (uniform control flow for the barriers).
  if (g >= perGroup * p.G * p.splits) { return; }
  let split = g / (perGroup * p.G);
  let gr = g % (perGroup * p.G);
  let grp = gr / perGroup;
  let t = gr % perGroup;
  let m0 = (t / p.tilesN) * ${TM}u;
  let n0 = (t % p.tilesN) * ${TN}u;
  let kStart = split * p.kChunk;
  let kEnd = min(p.K, kStart + p.kChunk);
  let aBase = grp * p.M * p.K;
  let tx = lid.x;
  let ty = lid.y;
  let sh = i32(p.sH); let sw = i32(p.sW); let unit = p.sH == 1u && p.sW == 1u;
  ${colDecl.join('\n  ')}
  for (var q = li; q < ${BK}u; q += ${threads}u) { kt[q] = ktab(kStart + q); }
  workgroupBarrier();
  var acc: array<vec4<f32>, ${rM * RN4}>;
  for (var k0 = kStart; k0 < kEnd; k0 += ${BK}u) {
    ${loadB}
    ${loadA}
    workgroupBarrier();
    // kt was last read above: refresh it for the next slice while computing.
    for (var q = li; q < ${BK}u; q += ${threads}u) { kt[q] = ktab(k0 + ${BK}u + q); }
    for (var kk = 0u; kk < p.bk; kk++) {
      ${inner.join('\n      ')}
    }
    workgroupBarrier();
  }
  ${stores.join('\n  ')}
}`,
    bindings,
  );
});

/** Stand-ins bound when there is no bias or no saved pre-activation (never read / written). */
const dummyBuffers = new WeakMap<Engine, { bias: GPUBuffer; z: GPUBuffer }>();
function dummies(engine: Engine): { bias: GPUBuffer; z: GPUBuffer } {
  let d = dummyBuffers.get(engine);
  if (!d) {
    const usage = GPUBufferUsage.STORAGE;
    d = { bias: engine.device.createBuffer({ size: 256, usage }), z: engine.device.createBuffer({ size: 256, usage }) };
    dummyBuffers.set(engine, d);
  }
  return d;
}

/** Sizes of one convolution (all integers, validated). */
interface Geom {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  Ho: number;
  Wo: number;
  G: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  pH: number;
  pW: number;
  dH: number;
  dW: number;
}

function variantFor(engine: Engine, mode: Mode, M: number): ConvVariant {
  const [wgM, wgN, rM, rN, bk] = mode === 'dw' ? CONV_FLAGS.dw : M <= 16 ? CONV_FLAGS.small : CONV_FLAGS.large;
  const bytes = 4 * bk * (wgM * rM + wgN * rN + 4);
  if (bytes > engine.limits.maxWorkgroupStorageSize) {
    throw new LimitError('maxComputeWorkgroupStorageSize', bytes, engine.limits.maxWorkgroupStorageSize, 'A convolution tile');
  }
  return { mode, wgM, wgN, rM, rN, bk, exp: CONV_FLAGS.exp };
}

/** Records one implicit-GEMM dispatch (no autodiff, no checks). */
function convGemm(
  engine: Engine,
  mode: Mode,
  g: Geom,
  bufs: Bindable[],
  extra: { act?: Activation; alpha?: number; hasBias?: boolean; writeZ?: boolean; splits?: number; kChunk?: number } = {},
): void {
  const Cg = g.C / g.G;
  const Og = g.O / g.G;
  const kHW = g.kH * g.kW;
  const M = mode === 'dx' ? Cg : Og;
  const Nc = mode === 'fwd' ? g.N * g.Ho * g.Wo : mode === 'dx' ? g.N * g.H * g.W : Cg * kHW;
  const K = mode === 'fwd' ? Cg * kHW : mode === 'dx' ? Og * kHW : g.N * g.Ho * g.Wo;
  const v = variantFor(engine, mode, M);
  const TM = v.wgM * v.rM;
  const TN = v.wgN * v.rN;
  const tilesM = Math.ceil(M / TM);
  const tilesN = Math.ceil(Nc / TN);
  const splits = extra.splits ?? 1;
  const kChunk = extra.kChunk ?? K;
  const params = new Params()
    .u32(g.N).u32(g.C).u32(g.H).u32(g.W)
    .u32(g.O).u32(g.Ho).u32(g.Wo).u32(g.G)
    .u32(g.kH).u32(g.kW).u32(g.sH).u32(g.sW)
    .i32(g.pH).i32(g.pW).u32(g.dH).u32(g.dW)
    .u32(Cg).u32(Og).u32(M).u32(Nc)
    .u32(K).u32(tilesM).u32(tilesN).u32(splits)
    .u32(kChunk).u32(ACT_LIST.indexOf(extra.act ?? 'none')).f32(extra.alpha ?? 0).u32(extra.hasBias ? 1 : 0)
    .u32(extra.writeZ ? 1 : 0).u32(v.bk).u32(kHW).u32(g.Ho * g.Wo)
    .u32(g.H * g.W).u32(4);
  engine.run(CONV(JSON.stringify(v)), bufs, params, tilesM * tilesN * g.G * splits);
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
  const geom: Geom = { N, C, H, W, O, Ho, Wo, G, kH, kW, sH, sW, pH, pW, dH, dW };
  const act = opt.activation ?? 'none';
  const alpha = opt.alpha ?? defaultAlpha(act);
  const def = ACTIVATIONS[act];
  const engine = x.engine;

  const out = empty(engine, [N, O, Ho, Wo]); // [N, O, Ho, Wo]
  const keepZ = def.needsZ && needsGrad(x, w, b);
  const z = keepZ ? empty(engine, out.shape) : undefined; // [N, O, Ho, Wo] pre-activation
  if (out.size > 0) {
    const d = dummies(engine);
    convGemm(engine, 'fwd', geom, [x, w, b ?? d.bias, out, z ?? d.z], { act, alpha, hasBias: !!b, writeZ: !!z });
  }
  const inputs = b ? [x, w, b] : [x, w];
  const res = record(op, inputs, out, (gy) => {
    const dz =
      act === 'none'
        ? gy
        : mapN(engine, def.grad('a', 'b', 'c', 's.x'), [gy, z ?? out, out], out.shape, { scalars: [alpha], prelude: def.prelude || undefined });
    const gx = x.requiresGrad ? convInputGrad(dz, w, geom) : null; // [N, C, H, W]
    const gw = w.requiresGrad ? convWeightGrad(x, dz, geom, w.shape) : null; // [O, Cg, kH, kW]
    let gb: Tensor | null = null;
    if (b?.requiresGrad) {
      const v = dz.view([N, O, Ho * Wo]);
      const s = sum(v, 2); // [N, O]
      gb = sum(s, 0); // [O]
      v.dispose();
      s.dispose();
    }
    if (dz !== gy) dz.dispose();
    return b ? [gx, gw, gb] : [gx, gw];
  });
  if (z) res.own(z);
  return res;
}

/** dX = implicit GEMM of the transposed weights with dY (no autodiff). */
function convInputGrad(dy: Tensor, w: Tensor, g: Geom): Tensor {
  const engine = dy.engine;
  const Cg = g.C / g.G;
  const Og = g.O / g.G;
  const kk = g.kH * g.kW;
  // [G, Og, Cg, kk] → [G, Cg, Og, kk] (a no-op layout when Cg or Og is 1).
  const wt = Cg === 1 || Og === 1 ? w : gatherStrided(w, [g.G, Cg, Og, kk], [Og * Cg * kk, kk, Cg * kk, 1], 0);
  const dx = empty(engine, [g.N, g.C, g.H, g.W]); // [N, C, H, W]
  if (dx.size > 0) convGemm(engine, 'dx', g, [dy, wt, dx]);
  if (wt !== w) wt.dispose();
  return dx;
}

/** dW = Σ over N·Ho·Wo of dY ⊗ im2col(X), split over workgroups along that sum (no autodiff). */
function convWeightGrad(x: Tensor, dy: Tensor, g: Geom, wShape: readonly number[]): Tensor {
  const engine = x.engine;
  const Cg = g.C / g.G;
  const Og = g.O / g.G;
  const Nc = Cg * g.kH * g.kW;
  const K = g.N * g.Ho * g.Wo;
  const v = variantFor(engine, 'dw', Og);
  const tiles = g.G * Math.ceil(Og / (v.wgM * v.rM)) * Math.ceil(Nc / (v.wgN * v.rN));
  // Enough workgroups to fill the device, each still summing ≥ dwChunk terms.
  let splits = Math.max(1, Math.min(Math.ceil(CONV_FLAGS.dwTarget / tiles), Math.floor(K / CONV_FLAGS.dwChunk)));
  const kChunk = Math.ceil(Math.ceil(K / splits) / v.bk) * v.bk;
  splits = Math.ceil(K / kChunk);
  if (splits === 1) {
    const dw = empty(engine, wShape); // [O, Cg, kH, kW]
    convGemm(engine, 'dw', g, [x, dy, dw], { splits, kChunk });
    return dw;
  }
  const part = empty(engine, [splits, g.O * Nc]); // [splits, O·Cg·kH·kW]
  convGemm(engine, 'dw', g, [x, dy, part], { splits, kChunk });
  const s = sum(part, 0); // [O·Cg·kH·kW]
  part.dispose();
  const dw = s.view(wShape); // [O, Cg, kH, kW]
  s.dispose();
  return dw;
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
export const __CONV_KERNEL = CONV;
export const __DBG = { convInputGrad: (dy: Tensor, w: Tensor, g: Geom) => convInputGrad(dy, w, g), convWeightGrad: (x: Tensor, dy: Tensor, g: Geom, s: readonly number[]) => convWeightGrad(x, dy, g, s) };
