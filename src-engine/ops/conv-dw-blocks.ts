/**
 * Weight- and bias-gradient of stride-1, dilation-1, ungrouped convolutions
 * with at most 100 taps (LeNet-5's conv1 and conv2, most small CNN layers)
 * on lavapipe, by blocks of the weight gradient:
 *
 *   dW[o, c, kh, kw] = Σ_{n, oh, ow} dY[n, o, oh, ow] · x[n, c, oh + kh − pH, ow + kw − pW]
 *
 * One invocation per (input channel c, block of R output channels, slice of
 * the N·Ho output rows) holds the whole R × kH × kW block of dW[·, c] and the
 * R bias sums. Along an output row the kH × kW window of input pixels of one
 * position is the previous position's moved by one column: it stays in
 * registers and each position loads kH new pixels and R values of dY.
 *
 * Why: on lavapipe a load inside a loop is a per-lane sequence of ~10
 * instructions (execution-mask test, buffer base and size, bounds check,
 * load, insert) even when every invocation reads the same address — most of
 * the generic direct weight-grad's time (conv-wgsl.ts, ~25 loads per 128
 * multiply-adds), measured with perf on the JIT code. Here: R + kH loads per
 * R·kH·kW multiply-adds (9 per 100 for LeNet-5's conv2 at R = 4). Larger R
 * measured slower (the accumulators no longer fit in registers).
 *
 * LeNet-5 (N = 64), isolated replays interleaved in one process, fastest of
 * 10: conv2 (6→16, 14×14, k5) weight-grad 2.62 → 1.72 ms; conv1 (1→6, 28×28,
 * k5 pad 2) 1.20 ms + the shifted copy 0.25 ms (conv-shifted.ts) → 0.83 ms.
 *
 * After a 2×2/2 max-pool (conv-pool.ts) the kernel reads the pool's
 * gradient and argmax instead of dY (`_pooled`, two positions per step).
 * Partial sums per slice [S, O, C·kH·kW] and [S, O] (bias), summed with one
 * reduction (reduce.ts sumSlices).
 */
import { kernel, kernelFamily, Params, wgslMain1d, type Kernel } from '../core/kernel.ts';
import { empty, type Tensor } from '../core/tensor.ts';
import { type ConvGeom, evenBlock, unitStride } from './conv-wgsl.ts';
import { sumSlices } from './reduce.ts';

/** Knobs, measured on lavapipe (interleaved isolated replays). */
export const DW_BLOCKS_FLAGS = {
  /** Use this path on lavapipe (tests force it off to test the others). */
  enabled: true,
  /** At most this many output channels per invocation (LeNet-5 conv2: 4 / 8 / 16 took 1.7 / 2.2 / 2.4 ms). */
  maxRows: 4,
  /** At most this many accumulators per invocation (R·kH·kW). */
  maxAcc: 100,
  /** About this many invocations in all (conv2: 256 / 512 took 1.71 / 1.72 ms; conv1: 512 / 1024 0.83 / 1.06). */
  invocations: 512,
};

/** Output channels per invocation: blocks as even as possible, ≤ maxRows, R·kH·kW ≤ maxAcc (0: not this path). */
function rowsFor(g: ConvGeom): number {
  const taps = g.kH * g.kW;
  return evenBlock(g.O, Math.min(DW_BLOCKS_FLAGS.maxRows, Math.floor(DW_BLOCKS_FLAGS.maxAcc / taps)));
}

/** Whether the weight-grad of g takes this path (lavapipe only: measured there; SwiftShader took 150 s to compile it). */
export function useDwBlocks(g: ConvGeom, lavapipe: boolean): boolean {
  return DW_BLOCKS_FLAGS.enabled && lavapipe && unitStride(g) && rowsFor(g) > 0;
}

/*
 * conv_dwb_<R>x<KH>x<KW> (a pipeline per block shape): invocation i →
 * (c, ob, s), c fastest. It sums, over the output rows of slice s,
 * dW[ob·R + r, c, kh, kw] for r < R and all KH × KW taps into R·KH·KW
 * scalars (every index a constant: an array indexed by a loop variable would
 * live in memory) and Σ dY[ob·R + r]. Per output position: KH new pixels
 * (column ow + KW − 1 of each window row), R loads of dY, R·KH·KW fma.
 * x: [N, C, H, W], dy: [N, O, Ho, Wo], part: [S, O, C·KH·KW], partB: [S, O].
 */
const DWB = kernelFamily((key: string): Kernel => {
  const [shape, mode] = key.split('_');
  const [R, KH, KW] = shape.split('x').map(Number);
  const pooled = mode === 'pooled';
  const decl: string[] = [];
  for (let r = 0; r < R; r++) {
    decl.push(`let ok${r} = ob * ${R}u + ${r}u < p.O; var b${r} = 0.0;`);
    for (let t = 0; t < KH * KW; t++) decl.push(`var a${r}_${t} = 0.0;`);
  }
  for (let kh = 0; kh < KH; kh++) decl.push(Array.from({ length: KW - 1 }, (_, kw) => `var w${kh}_${kw} = 0.0;`).join(' '));
  const rowSetup: string[] = [];
  for (let kh = 0; kh < KH; kh++) {
    rowSetup.push(`let iy${kh} = i32(oh) + ${kh} - p.pH; let ok_${kh} = u32(iy${kh}) < p.H; let rb${kh} = xb + iy${kh} * i32(p.W) - p.pW;`);
    for (let kw = 0; kw < KW - 1; kw++) {
      rowSetup.push(`w${kh}_${kw} = select(0.0, x[u32(max(rb${kh} + ${kw}, 0))], ok_${kh} && u32(${kw} - p.pW) < p.W);`);
    }
  }
  /** One output position `ow` with dY values `d(r)`: its new pixels, the products, the windows moved by one. */
  const position = (ow: string, d: (r: number) => string): string[] => {
    const b: string[] = ['{'];
    for (let kh = 0; kh < KH; kh++) {
      b.push(`let w${kh}_${KW - 1} = select(0.0, x[u32(max(rb${kh} + i32(${ow}) + ${KW - 1}, 0))], ok_${kh} && u32(i32(${ow}) + ${KW - 1} - p.pW) < p.W);`);
    }
    for (let r = 0; r < R; r++) {
      b.push(`let d${r} = ${d(r)}; b${r} += d${r};`);
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) b.push(`a${r}_${kh * KW + kw} = fma(d${r}, w${kh}_${kw}, a${r}_${kh * KW + kw});`);
      }
    }
    // the windows move by one: the pixel at kw + 1 is the next position's kw
    for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW - 1; kw++) b.push(`w${kh}_${kw} = w${kh}_${kw + 1};`);
    b.push('}');
    return b;
  };
  let row: string;
  if (!pooled) {
    row = `let db = (n * p.O + ob * ${R}u) * HoWo + oh * p.Wo;
    ${rowSetup.join('\n    ')}
    for (var ow = 0u; ow < p.Wo; ow++) {
      ${position('ow', (r) => `select(0.0, dy[select(0u, db + ${r}u * HoWo + ow, ok${r})], ok${r})`).join('\n      ')}
    }`;
  } else {
    // dY from the 2×2 max-pool's gradient: dY[oh, ow] = g[oh / 2, ow / 2] where the window's argmax is
    // (oh, ow), else 0; rows and columns past the last window are 0 (skipped).
    const loads = Array.from({ length: R }, (_, r) => `let gi${r} = select(0u, pb + ${r}u * HpWp + px, ok${r}); let gv${r} = select(0.0, dy[gi${r}], ok${r}); let iv${r} = idx[gi${r}];`);
    row = `if (oh < 2u * p.Hp) {
    let pb = (n * p.O + ob * ${R}u) * HpWp + (oh / 2u) * p.Wp;
    ${rowSetup.join('\n    ')}
    for (var px = 0u; px < p.Wp; px++) {
      ${loads.join('\n      ')}
      let at = i32(oh * p.Wo + 2u * px);
      ${position('2u * px', (r) => `select(0.0, gv${r}, iv${r} == at)`).join('\n      ')}
      ${position('2u * px + 1u', (r) => `select(0.0, gv${r}, iv${r} == at + 1)`).join('\n      ')}
    }
    }`;
  }
  const store: string[] = [];
  for (let r = 0; r < R; r++) {
    store.push(`if (ok${r}) {`);
    store.push(`  let base = (s * p.O + ob * ${R}u + ${r}u) * p.CKK + c * ${KH * KW}u;`);
    for (let t = 0; t < KH * KW; t++) store.push(`  part[base + ${t}u] = a${r}_${t};`);
    store.push(`  if (c == 0u) { partB[s * p.O + ob * ${R}u + ${r}u] = b${r}; }`);
    store.push('}');
  }
  const bind = pooled ? ['x', 'dy', 'idx', 'part', 'partB'] : ['x', 'dy', 'part', 'partB'];
  const types: Record<string, string> = { x: 'read> x: array<f32>', dy: 'read> dy: array<f32>', idx: 'read> idx: array<i32>', part: 'read_write> part: array<f32>', partB: 'read_write> partB: array<f32>' };
  return kernel(
    `conv_dwb_${key}`,
    /* wgsl */ `
struct P { E: u32, C: u32, H: u32, W: u32, O: u32, Ho: u32, Wo: u32, obs: u32,
           pH: i32, pW: i32, rows: u32, L: u32, CKK: u32, Hp: u32, Wp: u32 }
${bind.map((b, i) => `@group(0) @binding(${i}) var<storage, ${types[b]};`).join('\n')}
@group(0) @binding(${bind.length}) var<uniform> p: P;
${wgslMain1d(64, 'p.E')}
  let c = i % p.C;
  let ob = (i / p.C) % p.obs;
  let s = i / (p.C * p.obs);
  let HoWo = p.Ho * p.Wo;
  let HpWp = p.Hp * p.Wp;
  ${decl.join('\n  ')}
  let r1 = min(p.rows, (s + 1u) * p.L);
  for (var row = s * p.L; row < r1; row++) {
    let n = row / p.Ho;
    let oh = row % p.Ho;
    let xb = i32((n * p.C + c) * p.H * p.W);
    ${row}
  }
  ${store.join('\n  ')}
}`,
    [...bind.map((b) => (b === 'part' || b === 'partB' ? 'write' : 'read') as 'read' | 'write'), 'uniform'],
  );
});

/**
 * dW [O, C, kH, kW] and db [O] (null unless `withBias`) from x [N, C, H, W] and dY [N, O, Ho, Wo] —
 * or, with `pooled`, from the gradient g [N, O, Hp, Wp] of a 2×2/2 max-pool over dY's plane and its
 * argmax idx (conv-pool.ts: idx = oh·Wo + ow of each window's maximum, −1 for none), read in place of
 * the dY the pool's backward would scatter (same values, so the same sums).
 */
export function convWeightGradBlocks(
  x: Tensor,
  dy: Tensor | null,
  g: ConvGeom,
  withBias: boolean,
  pooled: { g: Tensor; idx: Tensor } | null = null,
): { dw: Tensor; db: Tensor | null } {
  const engine = x.engine;
  const R = rowsFor(g);
  const rows = g.N * g.Ho;
  const obs = Math.ceil(g.O / R);
  const S = Math.max(1, Math.min(rows, Math.round(DW_BLOCKS_FLAGS.invocations / (g.C * obs))));
  const L = Math.ceil(rows / S);
  const slices = Math.ceil(rows / L);
  const E = slices * g.C * obs;
  const CKK = g.C * g.kH * g.kW;
  const part = empty(engine, [slices, g.O * CKK]); // [S, O·C·kH·kW]
  const partB = empty(engine, [slices, g.O]); // [S, O]
  const params = new Params()
    .u32(E).u32(g.C).u32(g.H).u32(g.W).u32(g.O).u32(g.Ho).u32(g.Wo).u32(obs)
    .i32(g.pH).i32(g.pW).u32(rows).u32(L).u32(CKK).u32(Math.floor(g.Ho / 2)).u32(Math.floor(g.Wo / 2));
  const shape = `${R}x${g.kH}x${g.kW}`;
  if (pooled) engine.run(DWB(`${shape}_pooled`), [x, pooled.g, pooled.idx, part, partB], params, Math.ceil(E / 64));
  else engine.run(DWB(shape), [x, dy!, part, partB], params, Math.ceil(E / 64));
  return sumSlices(part, partB, withBias, [g.O, g.C, g.kH, g.kW]); // [O, C, kH, kW], [O]
}
