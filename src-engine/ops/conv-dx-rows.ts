/**
 * Convolution input-gradient by rows (stride 1, dilation 1, no groups, small
 * planes) on lavapipe: `conv_dxr_<R>x<kW>x<W>x<Wo>x<pW>x<Y>`, one
 * pipeline per row geometry (the row is unrolled).
 *
 *   dX[n, c, iy, ix] = Σ_{o, kh, kw} W[o, c, kh, kw] · dY[n, o, iy + pH − kh, ix + pW − kw]
 *
 * One invocation per (image n, Y consecutive input rows, block of R input
 * channels) holds the R × Y × W outputs. For each (o, kh) it loads the R·kW
 * weights W[o, c, kh, ·] once for its Y rows, and for each of its rows whose
 * dY row oy = iy + pH − kh exists, the Wo values of that row; then it adds
 * every product to the dX column it belongs to (ix = j − pW + kw for dY column
 * j). Which products exist is known when the WGSL is generated, so taps
 * outside dY cost nothing — the saving conv-dx-valid.ts makes with
 * per-position tap ranges. The lanes of a SIMD group share their rows, so a
 * missing dY row is skipped, not computed under a mask. After a 2×2/2
 * max-pool (conv-pool.ts) the kernel reads the pool's gradient and argmax
 * instead of dY (`_pooled`: dY is g where the argmax is the position, else 0).
 *
 * Why: on lavapipe a load inside a loop is a per-lane sequence of ~10
 * instructions (execution-mask test, buffer base and size, bounds check,
 * load, insert), even at an address every invocation shares (ops/README.md
 * rule 10, measured with perf). conv-dx-valid.ts loads 8 values of dY and 2
 * vec4s of weights per 48 useful multiply-adds; this loads R·kW + Y·Wo per
 * R·kW·Y·Wo (LeNet-5 conv2 at R = 3, Y = 2: 35 per 300).
 *
 * LeNet-5 conv2 (N = 64, 6→16, 14×14, k5), isolated replays interleaved in
 * one process, fastest of 12: valid-tap kernel 2.29 ms; by rows Y = 1, R = 6:
 * 1.50; Y = 2, R = 3: 1.25; Y = 2, R = 6: 1.44; Y = 3, R = 2: 1.52; Y = 4,
 * R = 3: 1.63 (more accumulators than registers).
 */
import type { Bindable, Engine } from '../core/engine.ts';
import { kernel, kernelFamily, Params, wgslMain1d, type Kernel } from '../core/kernel.ts';
import { type ConvGeom, evenBlock, unitStride } from './conv-wgsl.ts';

/** Knobs (tests force the path off to test the others). */
export const DX_ROWS_FLAGS = {
  enabled: true,
  /** At most this many accumulators (R·Y·W) per invocation. */
  maxAcc: 96,
  /** At most this many products (R·kW·Wo) unrolled per (o, kh) step. */
  maxUnroll: 512,
  /** dX rows per invocation (they share the weight loads). */
  rowsPer: 2,
};

/** Input channels per invocation (0: not this path): blocks as even as possible within maxAcc and maxUnroll. */
function rowsFor(g: ConvGeom): number {
  return evenBlock(g.C, Math.min(Math.floor(DX_ROWS_FLAGS.maxAcc / (g.W * DX_ROWS_FLAGS.rowsPer)), Math.floor(DX_ROWS_FLAGS.maxUnroll / (g.kW * g.Wo))));
}

/** Whether the input-grad of g may take this path (lavapipe only: measured there; SwiftShader took 150 s to compile it). */
export function useDxRows(g: ConvGeom, lavapipe: boolean): boolean {
  return DX_ROWS_FLAGS.enabled && lavapipe && unitStride(g) && rowsFor(g) > 0;
}

/*
 * Invocation i → (n, iy, cb), n fastest: the lanes of a SIMD group share iy,
 * so a dY row that does not exist for iy is skipped, not computed masked.
 * w: [O, C, kH, kW] as stored (no packing), dy: [N, O, Ho, Wo] (pooled: g
 * [N, O, ⌊Ho/2⌋, ⌊Wo/2⌋] and idx), out: [N, C, H, W].
 */
const DXR = kernelFamily((key: string): Kernel => {
  const [shape, mode] = key.split('_');
  const [R, KW, W, Wo, PW, Y] = shape.split('x').map(Number);
  const pooled = mode === 'pooled';
  const Wp = Math.floor(Wo / 2);
  // pooled: only columns j < 2·Wp can hold a gradient (the rest are in no window)
  const cols = pooled ? 2 * Wp : Wo;
  const decl: string[] = [];
  for (let r = 0; r < R; r++) {
    decl.push(`let okc${r} = c0 + ${r}u < p.C;`);
    for (let y = 0; y < Y; y++) decl.push(Array.from({ length: W }, (_, ix) => `var a${r}_${y}_${ix} = 0.0;`).join(' '));
  }
  const body: string[] = [];
  for (let r = 0; r < R; r++) {
    for (let kw = 0; kw < KW; kw++) {
      body.push(`let w${r}_${kw} = select(0.0, w[select(0u, wb + ${r}u * p.kHkW + ${kw}u, okc${r})], okc${r});`);
    }
  }
  const rowBody: string[][] = [];
  for (let y = 0; y < Y; y++) {
    const b: string[] = [];
    if (!pooled) for (let j = 0; j < Wo; j++) b.push(`let d${j} = dy[db${y} + ${j}u];`);
    else {
      // dY from the 2×2 max-pool's gradient: g where the window's argmax is this position, else 0.
      for (let px = 0; px < Wp; px++) {
        b.push(`let gv${px} = dy[pb${y} + ${px}u]; let iv${px} = idx[pb${y} + ${px}u];`);
        b.push(`let d${2 * px} = select(0.0, gv${px}, iv${px} == at${y} + ${2 * px}); let d${2 * px + 1} = select(0.0, gv${px}, iv${px} == at${y} + ${2 * px + 1});`);
      }
    }
    for (let j = 0; j < cols; j++) {
      for (let kw = 0; kw < KW; kw++) {
        const ix = j - PW + kw;
        if (ix < 0 || ix >= W) continue;
        for (let r = 0; r < R; r++) b.push(`a${r}_${y}_${ix} = fma(d${j}, w${r}_${kw}, a${r}_${y}_${ix});`);
      }
    }
    rowBody.push(b);
  }
  const store: string[] = [];
  for (let r = 0; r < R; r++) {
    store.push(`if (okc${r}) {`);
    for (let y = 0; y < Y; y++) {
      store.push(`  if (iy + ${y}u < p.H) { let ob = ((n * p.C + c0 + ${r}u) * p.H + iy + ${y}u) * ${W}u;`);
      for (let ix = 0; ix < W; ix++) store.push(`    out[ob + ${ix}u] = a${r}_${y}_${ix};`);
      store.push('  }');
    }
    store.push('}');
  }
  return kernel(
    `conv_dxr_${key}`,
    /* wgsl */ `
struct P { E: u32, N: u32, C: u32, H: u32, O: u32, Ho: u32, kH: u32, pH: u32, kHkW: u32, HY: u32, Hp: u32 }
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${pooled ? '@group(0) @binding(3) var<storage, read> idx: array<i32>;' : ''}
@group(0) @binding(${pooled ? 4 : 3}) var<uniform> p: P;
${wgslMain1d(64, 'p.E')}
  let n = i % p.N;
  let iy = ((i / p.N) % p.HY) * ${Y}u;
  let c0 = (i / (p.N * p.HY)) * ${R}u;
  ${decl.join('\n  ')}
  for (var o = 0u; o < p.O; o++) {
    for (var kh = 0u; kh < p.kH; kh++) {
      let wb = ((o * p.C + c0) * p.kH + kh) * ${KW}u;
      let wok = ${Array.from({ length: Y }, (_, y) => `(iy + ${y}u + p.pH >= kh && iy + ${y}u + p.pH - kh < p.Ho)`).join(' || ')};
      if (wok) {
        ${body.join('\n        ')}
        ${rowBody
          .map(
            (b, y) => `if (iy + ${y}u + p.pH >= kh && iy + ${y}u + p.pH - kh < ${pooled ? '2u * p.Hp' : 'p.Ho'}) {
          let oy${y} = iy + ${y}u + p.pH - kh;
          ${
            pooled
              ? `let pb${y} = ((n * p.O + o) * p.Hp + oy${y} / 2u) * ${Wp}u; let at${y} = i32(oy${y} * ${Wo}u);`
              : `let db${y} = ((n * p.O + o) * p.Ho + oy${y}) * ${Wo}u;`
          }
          ${b.join('\n          ')}
        }`,
          )
          .join('\n        ')}
      }
    }
  }
  ${store.join('\n  ')}
}`,
    pooled ? ['read', 'read', 'write', 'read', 'uniform'] : ['read', 'read', 'write', 'uniform'],
  );
});

/**
 * Records dX (`out`, [N, C, H, W]) from dY ([N, O, Ho, Wo]) and the weights ([O, C, kH, kW]) — or, with
 * `pooled`, from the gradient g [N, O, ⌊Ho/2⌋, ⌊Wo/2⌋] of a 2×2/2 max-pool over dY's plane and its argmax
 * idx (conv-pool.ts), read in place of the dY the pool's backward would scatter (same values and sums).
 */
export function convInputGradRows(engine: Engine, g: ConvGeom, dy: Bindable | null, w: Bindable, out: Bindable, pooled: { g: Bindable; idx: Bindable } | null = null): void {
  const R = rowsFor(g);
  const blocks = Math.ceil(g.C / R);
  const Y = DX_ROWS_FLAGS.rowsPer;
  const HY = Math.ceil(g.H / Y);
  const E = HY * g.N * blocks;
  const params = new Params().u32(E).u32(g.N).u32(g.C).u32(g.H).u32(g.O).u32(g.Ho).u32(g.kH).u32(g.pH).u32(g.kH * g.kW).u32(HY).u32(Math.floor(g.Ho / 2));
  const shape = `${R}x${g.kW}x${g.W}x${g.Wo}x${g.pW}x${Y}`;
  if (pooled) engine.run(DXR(`${shape}_pooled`), [pooled.g, w, out, pooled.idx], params, Math.ceil(E / 64));
  else engine.run(DXR(shape), [dy!, w, out], params, Math.ceil(E / 64));
}
