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
 * division-free. Forward and input-grad read the weights through a small
 * per-call repack ([G, K, M rounded up to 4], conv_pack) so A quads are
 * aligned vec4s; weight-grad reads dY in place. Groups are the GEMM batch;
 * weight-grad splits its long K (N·Ho·Wo) over workgroups and sums the
 * partial products afterwards.
 *
 * All sizes, strides, paddings, dilations and groups are uniforms: one
 * pipeline per (mode, tile shape), not per layer.
 */
import type { Bindable, BufferSource, Engine } from '../core/engine.ts';
import { LimitError, ShapeError } from '../core/errors.ts';
import { kernel, kernelFamily, Params, WGSL_WG_LINEAR } from '../core/kernel.ts';
import { needsGrad, record } from '../core/tape.ts';
import { empty, type Tensor } from '../core/tensor.ts';
import { ACTIVATIONS, type Activation, defaultAlpha } from './activations.ts';
import { mapN } from './map.ts';
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
 *   small:  forward / input-grad when the GEMM's M side (output channels per
 *           group, resp. input channels per group) is at most 16;
 *   large:  forward / input-grad otherwise (4 rows of invocations share each
 *           gathered B slice);
 *   dw:     weight-grad when N = Cg·kH·kW is at most 32, dwWide otherwise;
 *   dwTarget, dwChunk: weight-grad splits its K = N·Ho·Wo so that about
 *           dwTarget workgroups run, each summing at least dwChunk terms.
 * On lavapipe a tile with one row of invocations (wgM = 1) wins for small M:
 * its A reads are uniform (one load for all lanes).
 */
export const CONV_FLAGS: {
  small: [number, number, number, number, number];
  large: [number, number, number, number, number];
  dw: [number, number, number, number, number];
  dwWide: [number, number, number, number, number];
  dwTarget: number;
  dwChunk: number;
} = {
  small: [1, 16, 16, 8, 16],
  large: [4, 8, 16, 8, 16],
  dw: [1, 8, 16, 4, 32],
  dwWide: [1, 8, 16, 8, 32],
  dwTarget: 256,
  dwChunk: 256,
};

type Mode = 'fwd' | 'dx' | 'dw';

interface ConvVariant {
  mode: Mode;
  wgM: number;
  wgN: number;
  rM: number;
  rN: number;
  bk: number;
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

/** Uniform layout shared by the three modes (filled in this order by convGemm). */
const WGSL_P = /* wgsl */ `
struct P { N: u32, C: u32, H: u32, W: u32,
           O: u32, Ho: u32, Wo: u32, G: u32,
           kH: u32, kW: u32, sH: u32, sW: u32,
           pH: i32, pW: i32, dH: u32, dW: u32,
           Cg: u32, Og: u32, M: u32, Nc: u32,
           K: u32, tilesM: u32, tilesN: u32, splits: u32,
           kChunk: u32, act: u32, alpha: f32, hasBias: u32,
           writeZ: u32, bk: u32, kHW: u32, HoWo: u32,
           HW: u32, Mp4: u32 }`;

/**
 * WGSL dm(n, d) = (n / d, n % d) for n < 2³¹, 1 ≤ d < 2²⁴ without an integer division
 * (on lavapipe a vector u32 division is a scalar loop over the lanes, ~25
 * cycles each): a float estimate, a second one from the remainder, then a
 * final ±1 correction.
 */
export const WGSL_DIVMOD = /* wgsl */ `
fn dm(n: u32, d: u32) -> vec2<u32> {
  let inv = 1.0 / f32(d);
  var q = u32(f32(n) * inv);
  q = u32(i32(q) + i32(floor(f32(i32(n - q * d)) * inv)));
  let r = i32(n - q * d);
  q = select(q, q - 1u, r < 0);
  q = select(q, q + 1u, r >= i32(d));
  return vec2<u32>(q, n - q * d);
}
`;

/*
 * conv_<mode>_<TM>x<TN>x<BK>: one implicit-GEMM tile C[m0:m0+TM, n0:n0+TN]
 * of group `grp` (and K-split `split` for dw), K walked in BK slices.
 *   X: [N, C, H, W], W: [O, Cg, kH, kW], Y / dY: [N, O, Ho, Wo], all row-major.
 *   fwd: A = W[grp] as [Og, K = Cg·kH·kW], B[k=(c,kh,kw), n=(b,oh,ow)] = X[b, grp·Cg+c, oh·sH−pH+kh·dH, ow·sW−pW+kw·dW]
 *        (0 outside), C → Y[b, grp·Og+m, oh, ow] after bias + activation (Z = pre-activation).
 *   dx:  A = W[grp]ᵀ as [Cg, K = Og·kH·kW],
 *        B[k=(o,kh,kw), n=(b,ih,iw)] = dY[b, grp·Og+o, (ih+pH−kh·dH)/sH, (iw+pW−kw·dW)/sW]
 *        (0 unless both divide exactly and land inside), C → dX[b, grp·Cg+m, ih, iw].
 *   dw:  A[m=o, k=(b,oh,ow)] = dY[b, grp·Og+o, oh, ow], B[k, n=(c,kh,kw)] = im2col as in fwd,
 *        C → part[split, grp·Og+m, n] (summed over splits by the caller).
 * fwd / dx read A from weights packed by conv_pack as Ap[G, K, Mp] (Mp = M
 * rounded up to 4, zero-filled), so an A quad is one aligned vec4.
 * Workgroup (wgN × wgM invocations; linear id folded) → (split, grp, tile m, tile n);
 * invocation (tx, ty) accumulates the rM×rN block at rows ty·rM…, columns tx·rN…
 * of the tile, and gathers exactly those rN columns of each B slice (rows
 * ty, ty + wgM, …) into workgroup memory Bs as vec4s. kt (workgroup) holds
 * the split of the slice's K indices, computed by the first BK invocations
 * for the next slice while the others compute.
 *
 * Written for lavapipe (CI) as much as for GPUs. There, every access whose
 * address differs between invocations is a scalar loop over the SIMD lanes
 * with a bounds check per lane (a vec4 is four of them), a uniform address
 * is one load, an integer division or float→int conversion is scalarised
 * too, and each distinct WGSL source costs seconds of LLVM time. Hence: with
 * wgM = 1 every A read is uniform (dw reads dY directly, no A tile at all);
 * B is gathered once per element and read back by its own invocation; the
 * inner loops contain no division (index splits are done per slice in kt, or
 * once per invocation, with dm()); stores are vec4 when the plane size is a
 * multiple of 4; loops have uniform bounds (no unrolling) and the epilogue
 * and stores are loops, not unrolled per element (compile time).
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
  // With one row of invocations `ty` is the constant 0, so addresses that
  // only depend on it stay uniform for the compiler.
  const TY = wgM === 1 ? '0u' : 'ty';

  // ---- column state of the invocation's rN columns, computed once: column
  // 0 is split into (outer, row, col) with dm(), the next ones by stepping
  // the innermost counter with carries. ch/cw: spatial origin, cb: flat
  // offset (of the element at K-table entry 0 for fwd / dw).
  const [L1, L2] = mode === 'fwd' ? ['p.Ho', 'p.Wo'] : mode === 'dx' ? ['p.H', 'p.W'] : ['p.kH', 'p.kW'];
  const colDecl: string[] = [
    `let c0 = dm(n0 + tx * ${rN}u, ${L1} * ${L2}); let c1 = dm(c0.y, ${L2});`,
    `var ca = c0.x; var cr = c1.x; var cc = c1.y;`,
  ];
  for (let j = 0; j < rN; j++) {
    if (j > 0) {
      colDecl.push(`cc += 1u; if (cc == ${L2}) { cc = 0u; cr += 1u; } if (cr == ${L1}) { cr = 0u; ca += 1u; }`);
    }
    colDecl.push(`let ok_${j} = n0 + tx * ${rN}u + ${j}u < p.Nc;`);
    if (mode === 'fwd') {
      colDecl.push(`let ch_${j} = i32(cr * p.sH) - p.pH; let cw_${j} = i32(cc * p.sW) - p.pW;`);
      colDecl.push(`let cb_${j} = i32((ca * p.C + grp * p.Cg) * p.HW) + ch_${j} * i32(p.W) + cw_${j};`);
    } else if (mode === 'dx') {
      colDecl.push(`let dh_${j} = dm(cr + u32(p.pH), p.sH); let dw_${j} = dm(cc + u32(p.pW), p.sW);`);
      colDecl.push(`let chq_${j} = i32(dh_${j}.x); let cwq_${j} = i32(dw_${j}.x); let ck_${j} = i32(dh_${j}.y * p.sW + dw_${j}.y);`);
      colDecl.push(`let cb_${j} = i32((ca * p.O + grp * p.Og) * p.HoWo);`);
    } else {
      colDecl.push(`let ch_${j} = i32(cr * p.dH); let cw_${j} = i32(cc * p.dW);`);
      colDecl.push(`let cb_${j} = i32((grp * p.Cg + ca) * p.HW) + ch_${j} * i32(p.W) + cw_${j};`);
    }
  }

  // ---- B slice, row r: element j (validity okb_j, flat address ad_j).
  const okb: string[] = [];
  for (let j = 0; j < rN; j++) {
    if (mode === 'dx') {
      // oh = (ih + pH − kh·dH) / sH must be exact: with both terms split by
      // the stride (column: chq/cwq quotients and key = remainders, K-table:
      // the same for kh·dH, kw·dW) that is "keys equal", and the quotient is
      // a subtraction. No per-element division or float→int conversion: on
      // lavapipe both are scalar loops over the SIMD lanes.
      okb.push(`let qh_${j} = chq_${j} - t.y; let qw_${j} = cwq_${j} - t.z;
        let okb_${j} = ok_${j} && kok && ck_${j} == t.w && u32(qh_${j}) < p.Ho && u32(qw_${j}) < p.Wo;
        let ad_${j} = cb_${j} + t.x + qh_${j} * i32(p.Wo) + qw_${j};`);
    } else {
      okb.push(`let ih_${j} = ch_${j} + t.y; let iw_${j} = cw_${j} + t.z;
        let okb_${j} = ok_${j} && kok && u32(ih_${j}) < p.H && u32(iw_${j}) < p.W;
        let ad_${j} = cb_${j} + t.x;`);
    }
  }
  const vj = (j: number): string => `v_${j}`;
  const scalarLoads = Array.from({ length: rN }, (_, j) => `let ${vj(j)} = select(0.0, src[u32(max(ad_${j}, 0))], okb_${j});`).join('\n      ');
  const bStores = Array.from(
    { length: RN4 },
    (_, q) => `Bs[r * ${TN4}u + tx * ${RN4}u + ${q}u] = vec4<f32>(${[0, 1, 2, 3].map((c) => vj(4 * q + c)).join(', ')});`,
  );
  const loadB = `for (var r = ${TY}; r < p.bk; r += ${wgM}u) {
      let t = kt[${mode === 'dw' ? 'slot + ' : ''}r];
      let kok = k0 + r < kEnd;
      ${okb.join('\n      ')}
      ${scalarLoads}
      ${bStores.join('\n      ')}
    }`;

  // ---- A slice (fwd / dx): TM × BK from the packed weights, As[k·TM4 + m/4].
  const loadA =
    mode === 'dw'
      ? ''
      : `for (var e = li; e < p.bk * ${TM4}u; e += ${threads}u) {
      let kl = e / ${TM4}u; let m4 = m0 / 4u + e % ${TM4}u;
      let oka = k0 + kl < kEnd && m4 < p.Mp4;
      As[e] = select(vec4<f32>(0.0), wa[select(0u, (grp * p.K + k0 + kl) * p.Mp4 + m4, oka)], oka);
    }`;

  // ---- K-table entry for K index k (see header).
  const ktab =
    mode === 'fwd'
      ? `let a = dm(k, p.kHW); let b = dm(a.y, p.kW); let kh = i32(b.x * p.dH); let kw = i32(b.y * p.dW);
    return vec4<i32>(i32(a.x * p.HW) + kh * i32(p.W) + kw, kh, kw, 0);`
      : mode === 'dx'
        ? `let a = dm(k, p.kHW); let b = dm(a.y, p.kW); let h = dm(b.x * p.dH, p.sH); let w = dm(b.y * p.dW, p.sW);
    return vec4<i32>(i32(a.x * p.HoWo), i32(h.x), i32(w.x), i32(h.y * p.sW + w.y));`
        : `let a = dm(k, p.HoWo); let b = dm(a.y, p.Wo);
    let ih = i32(b.x * p.sH) - p.pH; let iw = i32(b.y * p.sW) - p.pW;
    return vec4<i32>(i32(a.x * p.C * p.HW) + ih * i32(p.W) + iw, ih, iw, i32((a.x * p.O + grp * p.Og) * p.HoWo + a.y));`;

  // ---- inner product over the slice, unrolled over the rM×rN block.
  const inner: string[] = [];
  if (mode === 'dw') {
    // A straight from dY at uniform addresses (row m0 + ty·rM + i, column k0 + kk).
    inner.push(`let kr = kt[slot + kk]; let kv = k0 + kk < kEnd;`);
    inner.push(`let ab = u32(kr.w) + (m0 + ${TY} * ${rM}u) * p.HoWo;`);
    for (let i = 0; i < rM; i++) {
      inner.push(`let a${i} = select(0.0, dy[select(0u, ab + ${i}u * p.HoWo, kv)], kv && m0 + ${TY} * ${rM}u + ${i}u < p.M);`);
    }
  } else {
    for (let q = 0; q < RM4; q++) inner.push(`let aq${q} = As[kk * ${TM4}u + ${TY} * ${RM4}u + ${q}u];`);
    for (let i = 0; i < rM; i++) inner.push(`let a${i} = aq${i >> 2}.${'xyzw'[i & 3]};`);
  }
  for (let q = 0; q < RN4; q++) inner.push(`let b${q} = Bs[kk * ${TN4}u + tx * ${RN4}u + ${q}u];`);
  for (let i = 0; i < rM; i++) {
    for (let q = 0; q < RN4; q++) inner.push(`acc[${i * RN4 + q}] = fma(vec4<f32>(a${i}), b${q}, acc[${i * RN4 + q}]);`);
  }

  // ---- stores, as loops rather than unrolled per element: unrolled, the
  // epilogue (bias, activation switch) and the bounds checks take LLVM tens
  // of seconds on lavapipe. cols[j]: output offset of column n0 + tx·rN + j
  // (0xffffffff past the end), split into (image, position) once and then
  // stepped. When the plane size S is a multiple of 4, each vec4 of acc is 4
  // consecutive, aligned outputs: one vec4 store.
  const S = mode === 'fwd' ? 'p.HoWo' : mode === 'dx' ? 'p.HW' : 'p.Nc';
  const BS = mode === 'fwd' ? 'p.O * p.HoWo' : mode === 'dx' ? 'p.C * p.HW' : '0u';
  const rowOff =
    mode === 'fwd' ? '(grp * p.Og + m) * p.HoWo' : mode === 'dx' ? '(grp * p.Cg + m) * p.HW' : '(split * p.O + grp * p.Og + m) * p.Nc';
  const stores: string[] = [
    `let vecOut = ${S} % 4u == 0u;`,
    `var cols: array<u32, ${rN}>;`,
    `{ let n = n0 + tx * ${rN}u; let d = dm(n, ${S}); var nb = d.x; var s = d.y;`,
  ];
  for (let j = 0; j < rN; j++) {
    if (j > 0) stores.push(`  s += 1u; if (s == ${S}) { s = 0u; nb += 1u; }`);
    stores.push(`  cols[${j}] = select(0xffffffffu, nb * ${BS} + s, n + ${j}u < p.Nc);`);
  }
  stores.push('}');
  stores.push(`for (var i = 0u; i < ${rM}u; i++) { let m = m0 + ${TY} * ${rM}u + i; if (m >= p.M) { break; }`);
  stores.push(`  let ro = ${rowOff};`);
  if (mode === 'fwd') stores.push('  let bv = select(0.0, bias[min(grp * p.Og + m, arrayLength(&bias) - 1u)], p.hasBias != 0u);');
  stores.push(`  for (var q = 0u; q < ${RN4}u; q++) {`);
  stores.push(`    let col = cols[4u * q];`);
  if (mode === 'fwd') {
    stores.push(`    let z4 = acc[i * ${RN4}u + q] + vec4<f32>(bv); var y4 = z4;`);
    stores.push('    for (var c = 0u; c < 4u; c++) { y4[c] = epilogue_act(z4[c], p.act, p.alpha); }');
  } else {
    stores.push(`    let y4 = acc[i * ${RN4}u + q];`);
  }
  stores.push('    if (vecOut) { if (col != 0xffffffffu) {');
  stores.push('      out[(col + ro) / 4u] = y4;');
  if (mode === 'fwd') stores.push('      if (p.writeZ != 0u) { Z[(col + ro) / 4u] = z4; }');
  stores.push('    } } else {');
  stores.push('      for (var c = 0u; c < 4u; c++) { let cc = cols[4u * q + c]; if (cc != 0xffffffffu) {');
  stores.push('        let idx = cc + ro; out[idx / 4u][idx % 4u] = y4[c];');
  if (mode === 'fwd') stores.push('        if (p.writeZ != 0u) { Z[idx / 4u][idx % 4u] = z4[c]; }');
  stores.push('      } }');
  stores.push('    }');
  stores.push('  }');
  stores.push('}');

  const decl =
    mode === 'fwd'
      ? `@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> wa: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> Z: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> p: P;`
      : mode === 'dx'
        ? `@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> wa: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: P;`
        : `@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: P;`;
  const bindings: Array<'read' | 'write' | 'uniform'> =
    mode === 'fwd' ? ['read', 'read', 'read', 'write', 'write', 'uniform'] : ['read', 'read', 'write', 'uniform'];
  // dw reads kt while the next slice's entries are written: two halves.
  const ktSize = mode === 'dw' ? 2 * BK : BK;
  const refresh = `for (var q = li; q < ${BK}u; q += ${threads}u) { kt[${mode === 'dw' ? '(slot ^ ' + BK + 'u) + ' : ''}q] = ktab(k0 + ${BK}u + q, grp); }`;

  return kernel(
    `conv_${mode}_${TM}x${TN}x${BK}`,
    /* wgsl */ `
${WGSL_P}
${decl}
${mode === 'fwd' ? WGSL_EPILOGUE : ''}
${WGSL_WG_LINEAR}
${mode === 'dw' ? '' : `var<workgroup> As: array<vec4<f32>, ${TM4 * BK}>;`}
var<workgroup> Bs: array<vec4<f32>, ${TN4 * BK}>;
var<workgroup> kt: array<vec4<i32>, ${ktSize}>;
${WGSL_DIVMOD}
fn ktab(k: u32, grp: u32) -> vec4<i32> {
    ${ktab}
}
@compute @workgroup_size(${wgN}, ${wgM})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = wg_linear(wid, nwg);
  let perGroup = p.tilesM * p.tilesN;
  // Whole workgroup leaves together (uniform control flow for the barriers).
  if (g >= perGroup * p.G * p.splits) { return; }
  let d0 = dm(g, perGroup * p.G);
  let split = d0.x;
  let d1 = dm(d0.y, perGroup);
  let grp = d1.x;
  let d2 = dm(d1.y, p.tilesN);
  let m0 = d2.x * ${TM}u;
  let n0 = d2.y * ${TN}u;
  let kStart = split * p.kChunk;
  let kEnd = min(p.K, kStart + p.kChunk);
  let tx = lid.x;
  let ty = lid.y;
  ${colDecl.join('\n  ')}
  for (var q = li; q < ${BK}u; q += ${threads}u) { kt[q] = ktab(kStart + q, grp); }
  workgroupBarrier();
  var acc: array<vec4<f32>, ${rM * RN4}>;
  var slot = 0u;
  for (var k0 = kStart; k0 < kEnd; k0 += ${BK}u) {
    ${loadB}
    ${loadA}
    workgroupBarrier();
    ${refresh}
    for (var kk = 0u; kk < p.bk; kk++) {
      ${inner.join('\n      ')}
    }
    slot ^= ${BK}u;
    workgroupBarrier();
  }
  ${stores.join('\n  ')}
}`,
    bindings,
  );
});

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
${WGSL_WG_LINEAR}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = wg_linear(wid, nwg) * 256u + lid;
  if (i >= p.n) { return; }
  let m = i % p.Mp;
  let t = i / p.Mp;
  let k = t % p.K;
  let g = t / p.K;
  let src = g * p.sg + m * p.sm + (k / p.kk) * p.so + k % p.kk;
  out[i] = select(0.0, w[min(src, arrayLength(&w) - 1u)], m < p.M);
}`,
  ['read', 'write', 'uniform'],
);

/** The weights of one group as the A operand of fwd (or of dx: transposed), packed [G, K, Mp]. */
function packWeights(w: Tensor, g: Geom, mode: 'fwd' | 'dx'): Tensor {
  const Cg = g.C / g.G;
  const Og = g.O / g.G;
  const kk = g.kH * g.kW;
  const M = mode === 'fwd' ? Og : Cg;
  const K = mode === 'fwd' ? Cg * kk : Og * kk;
  const Mp = Math.ceil(M / 4) * 4;
  const out = empty(w.engine, [g.G, K, Mp]); // [G, K, Mp]
  const sg = Og * Cg * kk;
  const [sm, so] = mode === 'fwd' ? [Cg * kk, kk] : [kk, Cg * kk];
  const params = new Params().u32(out.size).u32(M).u32(Mp).u32(K).u32(kk).u32(sg).u32(sm).u32(so);
  w.engine.run(CONV_PACK, [w, out], params, Math.ceil(out.size / 256));
  return out;
}

/** Binds a tensor as array<vec4<f32>>: pool buffers are 256-byte multiples, so the rounded size exists. */
function v4(t: Tensor): BufferSource {
  return { buffer: t.buffer, byteLength: Math.ceil(t.byteLength / 16) * 16 };
}

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

function variantFor(engine: Engine, mode: Mode, M: number, Nc: number): ConvVariant {
  const f = CONV_FLAGS;
  const [wgM, wgN, rM, rN, bk] = mode === 'dw' ? (Nc <= 32 ? f.dw : f.dwWide) : M <= 16 ? f.small : f.large;
  const bytes = 4 * bk * (wgM * rM + wgN * rN + 4);
  if (bytes > engine.limits.maxWorkgroupStorageSize) {
    throw new LimitError('maxComputeWorkgroupStorageSize', bytes, engine.limits.maxWorkgroupStorageSize, 'A convolution tile');
  }
  return { mode, wgM, wgN, rM, rN, bk };
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
  const v = variantFor(engine, mode, M, Nc);
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
    .u32(g.H * g.W).u32(Math.ceil(M / 4));
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
    const wp = packWeights(w, geom, 'fwd'); // [G, Cg·kH·kW, Og rounded up to 4]
    convGemm(engine, 'fwd', geom, [x, v4(wp), b ?? d.bias, v4(out), z ? v4(z) : d.z], { act, alpha, hasBias: !!b, writeZ: !!z });
    wp.dispose();
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
  const dx = empty(engine, [g.N, g.C, g.H, g.W]); // [N, C, H, W]
  if (dx.size > 0) {
    const wp = packWeights(w, g, 'dx'); // [G, Og·kH·kW, Cg rounded up to 4]
    convGemm(engine, 'dx', g, [dy, v4(wp), v4(dx)]);
    wp.dispose();
  }
  return dx;
}

/** dW = Σ over N·Ho·Wo of dY ⊗ im2col(X), split over workgroups along that sum (no autodiff). */
function convWeightGrad(x: Tensor, dy: Tensor, g: Geom, wShape: readonly number[]): Tensor {
  const engine = x.engine;
  const Cg = g.C / g.G;
  const Og = g.O / g.G;
  const Nc = Cg * g.kH * g.kW;
  const K = g.N * g.Ho * g.Wo;
  const v = variantFor(engine, 'dw', Og, Nc);
  const tiles = g.G * Math.ceil(Og / (v.wgM * v.rM)) * Math.ceil(Nc / (v.wgN * v.rN));
  // Enough workgroups to fill the device, each still summing ≥ dwChunk terms.
  let splits = Math.max(1, Math.min(Math.ceil(CONV_FLAGS.dwTarget / tiles), Math.floor(K / CONV_FLAGS.dwChunk)));
  const kChunk = Math.ceil(Math.ceil(K / splits) / v.bk) * v.bk;
  splits = Math.ceil(K / kChunk);
  if (splits === 1) {
    const dw = empty(engine, wShape); // [O, Cg, kH, kW]
    convGemm(engine, 'dw', g, [x, dy, v4(dw)], { splits, kChunk });
    return dw;
  }
  const part = empty(engine, [splits, g.O * Nc]); // [splits, O·Cg·kH·kW]
  convGemm(engine, 'dw', g, [x, dy, v4(part)], { splits, kChunk });
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
