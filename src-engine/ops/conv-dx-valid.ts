/**
 * Convolution input-gradient over valid taps only (stride 1, dilation 1):
 * `convd_dxv_<rM>x<BN>`, used by conv.ts when most taps of the ordinary
 * input-gradient GEMM fall outside dY.
 *
 * The ordinary dx GEMM (conv-wgsl.ts) walks K = Og·kH·kW for every input
 * pixel and zeroes the taps whose dY position lies outside [0, Ho)×[0, Wo).
 * For an unpadded convolution that is most of them: LeNet-5's conv2 (5×5 on
 * 14×14 → 10×10) has (10·5 / (14·5))² = 51% valid taps, and its input-grad
 * was the largest kernel of a training step. Here a workgroup owns ONE input
 * position (ih, iw) and a chunk of BN images (columns = images), so the valid
 * range of kh and kw is the same for the whole workgroup and the loops run
 * over exactly those taps: no bounds checks in the inner loop, weights read
 * at workgroup-uniform addresses (packed as for dx, conv_pack), dY gathered
 * once per (tap, image). The price: dX is stored with a stride of C·H·W per
 * column (scattered scalar stores, a small part of the work) and adjacent
 * columns read dY one image apart, so conv.ts only takes this path when the
 * saving in taps is large (CONV_FLAGS.dxValidBelow).
 *
 *   dX[b, grp·Cg + m, ih, iw] = Σ_{o < Og, kh, kw valid} W[grp·Og + o, m, kh, kw] ·
 *                               dY[b, grp·Og + o, ih + pH − kh, iw + pW − kw]
 * with kh ∈ [max(0, ih + pH − Ho + 1), min(kH − 1, ih + pH)], kw likewise.
 */
import type { Bindable, Engine } from '../core/engine.ts';
import { kernel, kernelFamily, Params, WGSL_DIVMOD, WGSL_WG_LINEAR, type Kernel } from '../core/kernel.ts';
import type { ConvGeom } from './conv-wgsl.ts';

/** Shape of the kernel: wg invocations, rM rows (input channels) × rN images each. */
export interface DxValidVariant {
  wg: number;
  rM: number;
  rN: number;
}

export const CONV_DX_VALID = kernelFamily((key: string): Kernel => {
  const { wg, rM, rN } = JSON.parse(key) as DxValidVariant;
  if (rN % 4 || rM % 4 || rM < 4) throw new Error(`conv: unsupported valid-tap tile ${key}`);
  const RN4 = rN / 4;
  const RM4 = rM / 4;
  const BN = wg * rN;
  const cols: string[] = [];
  const gather: string[] = [];
  const fma: string[] = [];
  const store: string[] = [];
  for (let j = 0; j < rN; j++) {
    cols.push(`let b_${j} = b0 + tx * ${rN}u + ${j}u; let ok_${j} = b_${j} < p.N;`);
    cols.push(`let cb_${j} = select(0u, (b_${j} * p.O + grp * p.Og) * p.HoWo, ok_${j});`);
    gather.push(`let v_${j} = dy[cb_${j} + u];`);
  }
  for (let q = 0; q < RM4; q++) {
    gather.push(`let aq${q} = wa[ab + ${q}u];`);
  }
  for (let q = 0; q < RN4; q++) gather.push(`let bq${q} = vec4<f32>(${[0, 1, 2, 3].map((c) => `v_${4 * q + c}`).join(', ')});`);
  for (let i = 0; i < rM; i++) {
    for (let q = 0; q < RN4; q++) fma.push(`acc[${i * RN4 + q}] = fma(vec4<f32>(aq${i >> 2}.${'xyzw'[i & 3]}), bq${q}, acc[${i * RN4 + q}]);`);
  }
  for (let j = 0; j < rN; j++) {
    store.push(`if (ok_${j}) { let ob = (b_${j} * p.C + grp * p.Cg + m0) * p.HW + pos;`);
    for (let i = 0; i < rM; i++) {
      store.push(`  if (m0 + ${i}u < p.M) { out[ob + ${i}u * p.HW] = acc[${i * RN4 + (j >> 2)}].${'xyzw'[j & 3]}; }`);
    }
    store.push('}');
  }
  return kernel(
    `convd_dxv_${rM}x${BN}`,
    /* wgsl */ `
struct P { N: u32, C: u32, H: u32, W: u32,
           O: u32, Ho: u32, Wo: u32, G: u32,
           kH: u32, kW: u32, pH: u32, pW: u32,
           Cg: u32, Og: u32, M: u32, K: u32,
           tilesM: u32, chunks: u32, Mp4: u32, HW: u32,
           HoWo: u32 }
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> wa: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${WGSL_WG_LINEAR}
${WGSL_DIVMOD}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  // Workgroup → (group, M tile, image chunk, input position); all uniform.
  let g = wg_linear(wid, nwg);
  let perGroup = p.tilesM * p.chunks * p.HW;
  if (g >= perGroup * p.G) { return; }
  let d0 = dm(g, perGroup); let grp = d0.x;
  let d1 = dm(d0.y, p.chunks * p.HW); let m0 = d1.x * ${rM}u;
  let d2 = dm(d1.y, p.HW); let b0 = d2.x * ${BN}u; let pos = d2.y;
  let d3 = dm(pos, p.W); let ih = d3.x; let iw = d3.y;
  // Valid taps: 0 ≤ ih + pH − kh < Ho (unsigned: kh ≤ ih + pH, ih + pH − kh ≤ Ho − 1).
  let sh = ih + p.pH; let sw = iw + p.pW;
  let khLo = select(0u, sh - (p.Ho - 1u), sh >= p.Ho); let khHi = min(p.kH - 1u, sh);
  let kwLo = select(0u, sw - (p.Wo - 1u), sw >= p.Wo); let kwHi = min(p.kW - 1u, sw);
  let tx = lid.x;
  ${cols.join('\n  ')}
  var acc: array<vec4<f32>, ${rM * RN4}>;
  for (var o = 0u; o < p.Og; o++) {
    for (var kh = khLo; kh <= khHi; kh++) {
      for (var kw = kwLo; kw <= kwHi; kw++) {
        let u = o * p.HoWo + (sh - kh) * p.Wo + (sw - kw);
        let ab = (grp * p.K + (o * p.kH + kh) * p.kW + kw) * p.Mp4 + m0 / 4u;
        ${gather.join('\n        ')}
        ${fma.join('\n        ')}
      }
    }
  }
  ${store.join('\n  ')}
}`,
    ['read', 'read', 'write', 'uniform'],
  );
});

/** What the valid-tap kernel reads of a convolution's sizes (stride and dilation are 1). */
export type DxValidGeom = Pick<ConvGeom, 'N' | 'C' | 'H' | 'W' | 'O' | 'Ho' | 'Wo' | 'G' | 'kH' | 'kW' | 'pH' | 'pW'>;

/** Fraction of the dx GEMM's taps that land inside dY (stride 1, dilation 1). */
export function validTapFraction(g: DxValidGeom): number {
  const dim = (n: number, no: number, k: number, pad: number): number => {
    let valid = 0;
    for (let i = 0; i < n; i++) valid += Math.max(0, Math.min(k - 1, i + pad) - Math.max(0, i + pad - no + 1) + 1);
    return valid / (n * k);
  };
  return dim(g.H, g.Ho, g.kH, g.pH) * dim(g.W, g.Wo, g.kW, g.pW);
}

/**
 * Records dX (`out`, [N, C, H, W]) from dY and the weights packed for dx
 * (`wp`: [G, Og·kH·kW, Cg rounded up to 4], bound as vec4s). tile.rM: input
 * channels per invocation (a multiple of 4), tile.wg × tile.rN: images per
 * workgroup.
 */
export function convInputGradValid(engine: Engine, g: DxValidGeom, dy: Bindable, wp: Bindable, out: Bindable, tile: DxValidVariant): void {
  const Cg = g.C / g.G;
  const Og = g.O / g.G;
  const M = Cg;
  const tilesM = Math.ceil(M / tile.rM);
  const chunks = Math.ceil(g.N / (tile.wg * tile.rN));
  const params = new Params()
    .u32(g.N).u32(g.C).u32(g.H).u32(g.W)
    .u32(g.O).u32(g.Ho).u32(g.Wo).u32(g.G)
    .u32(g.kH).u32(g.kW).u32(g.pH).u32(g.pW)
    .u32(Cg).u32(Og).u32(M).u32(Og * g.kH * g.kW)
    .u32(tilesM).u32(chunks).u32(Math.ceil(M / 4)).u32(g.H * g.W)
    .u32(g.Ho * g.Wo);
  engine.run(CONV_DX_VALID(JSON.stringify({ wg: tile.wg, rM: tile.rM, rN: tile.rN })), [dy, wp, out], params, g.G * tilesM * chunks * g.H * g.W);
}
