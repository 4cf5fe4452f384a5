/**
 * Batched matrix multiply (with transposes) and `linear` with a fused
 * bias + activation epilogue (PyTorch layout: W is [out, in]).
 *
 * Kernel: classic shared-memory tiling with register blocking (as in
 * Volkov & Demmel 2008 and every GEMM tutorial since): a workgroup of
 * WG×WG invocations computes a (4·WG)×(4·WG) tile of C, each invocation a 4×4
 * block held in registers; K is walked in slices of BK, staged in workgroup
 * memory. Bounds are checked on load and store, so any M, N, K works.
 * Transposes are baked into the load index arithmetic (one pipeline per
 * variant) so no transposed copy is ever made.
 */
import type { Bindable, Engine } from '../core/engine.ts';
import { ShapeError } from '../core/errors.ts';
import { kernel, kernelFamily, Params, WGSL_WG_LINEAR } from '../core/kernel.ts';
import { broadcastShapes, sameShape, sizeOf } from '../core/shape.ts';
import { needsGrad, record } from '../core/tape.ts';
import { empty, type Tensor } from '../core/tensor.ts';
import { ACTIVATIONS, type Activation, defaultAlpha, EPILOGUE_ACTS, EPILOGUE_WGSL } from './activations.ts';
import { mapN } from './map.ts';
import { adjacentLines, directTile, MATMUL_DIRECT, type MatmulDirectVariant, WGSL_GEMM_P, wgslGemmBindings, wgslGemmOrigin } from './matmul-direct.ts';
import { broadcastTo, sum, sumToShape } from './reduce.ts';
import { isReluMasked, isReluOutput, markReluMasked, markReluOutput } from './relu-mask.ts';

/**
 * Tuning knobs (TF.js-style flags, kept in one place). Measured on Mesa
 * lavapipe (bench/engine.ts); a real GPU may prefer other values.
 *   tile: 'auto' picks 32×32 tiles (8×8 invocations, 4×4 each) for small
 *         outputs and 64×64 otherwise; 32/64 force one.
 *   bk:   K-slice staged in workgroup memory per step for 64×64 tiles.
 *   perThread: 4 → 4×4 outputs per invocation (16×16 invocations per 64 tile),
 *              8 → 8×8 (8×8 invocations).
 *   direct: use the direct kernel (matmul-direct.ts) instead of the tiled
 *           one, by adapter class. On lavapipe it won everywhere measured
 *           (1024³: 6.4 → 11.5 GFLOP/s; LeNet-5's 64×400×120: 1.8 → 6.7;
 *           SwiftShader 2–7×); on GPUs the tiled kernel's shared tiles
 *           should win and stay the default (not measurable here).
 *   directShape: [invocations, uniform-side lines, gathered-side lines] per invocation.
 *   directSwap: which operand is the uniform side; 'auto' → the smaller of M and N.
 *   directVec: read an operand four lines at a time (vec4) where its lines
 *           are adjacent in memory and aligned.
 */
export const MATMUL_FLAGS: {
  tile: 'auto' | 32 | 64 | 128;
  bk: number;
  perThread: 4 | 8;
  direct: { software: boolean; gpu: boolean };
  directShape: [number, number, number];
  directSwap: 'auto' | boolean;
  directVec: boolean;
} = { tile: 'auto', bk: 16, perThread: 8, direct: { software: true, gpu: false }, directShape: [16, 8, 8], directSwap: 'auto', directVec: true };

interface MatmulVariant {
  /** Invocations per side of the workgroup. */
  wg: number;
  /** Outputs per invocation per side (multiple of 4). */
  r: number;
  bk: number;
  tA: boolean;
  tB: boolean;
  /** M, N multiples of the tile and K of bk: no bounds checks, vec4 global loads/stores. */
  aligned: boolean;
  /**
   * With the epilogue (linear): bias, activation and the pre-activation
   * output Z are chosen at run time from uniforms (bias/Z bound to dummies
   * when unused), so one pipeline serves every activation: each pipeline
   * costs ~1 s of LLVM time on lavapipe at first dispatch.
   */
  epilogue: boolean;
}

/*
 * matmul: C[b] = act(op(A[b]) · op(B[b]) + bias)
 *   A: [batchA, M, K] (or [batchA, K, M] when tA), B: [batchB, K, N] (or [batchB, N, K] when tB),
 *   bias: [N], C and Z: [batch, M, N]; batch strides of A/B are 0 when broadcast.
 * Workgroup (linear id, folded) → (b, tile row, tile col); invocation (tx, ty)
 * accumulates the R×R block C[m0 + R·ty + i, n0 + R·tx + j] over all K, one
 * BK-slice at a time staged (k-major) in workgroup memory.
 * The aligned variant binds A, B, C as vec4 arrays (16-byte loads/stores).
 */
const MATMUL = kernelFamily((key: string) => {
  const v = JSON.parse(key) as MatmulVariant;
  const { wg: WG, r: R, bk: BK } = v;
  const T = WG * R; // tile side
  const T4 = T / 4;
  const R4 = R / 4;
  const threads = WG * WG;
  const el = v.aligned ? 'vec4<f32>' : 'f32';
  const { decl, kinds } = wgslGemmBindings(el, el, el, v.epilogue);

  // ---- tile loads. As holds A's slice k-major (As[k·T + m]), Bs holds B's (Bs[k·T + n]).
  let loads: string;
  if (!v.aligned) {
    // Element e of a tile: consecutive e walk the dimension contiguous in memory.
    const aIdx = v.tA
      ? `let r = e % ${T}u; let c = e / ${T}u; let m = m0 + r; let k = k0 + c;
         if (m < p.M && k < p.K) { x = A[aBase + k * p.M + m]; }`
      : `let r = e / ${BK}u; let c = e % ${BK}u; let m = m0 + r; let k = k0 + c;
         if (m < p.M && k < p.K) { x = A[aBase + m * p.K + k]; }`;
    const bIdx = v.tB
      ? `let c = e / ${BK}u; let r = e % ${BK}u; let k = k0 + r; let n = n0 + c;
         if (k < p.K && n < p.N) { x = B[bBase + n * p.K + k]; }`
      : `let r = e / ${T}u; let c = e % ${T}u; let k = k0 + r; let n = n0 + c;
         if (k < p.K && n < p.N) { x = B[bBase + k * p.N + n]; }`;
    const per = (T * BK) / threads;
    loads = `
    for (var j = 0u; j < ${per}u; j++) {
      let e = li + j * ${threads}u;
      var x = 0.0;
      ${aIdx}
      As[(c * ${T}u + r) / 4u][r % 4u] = x;
    }
    for (var j = 0u; j < ${per}u; j++) {
      let e = li + j * ${threads}u;
      var x = 0.0;
      ${bIdx}
      Bs[(r * ${T}u + c) / 4u][c % 4u] = x;
    }`;
  } else {
    // vec4 e of a tile; indices in vec4 units (all offsets are multiples of 4).
    const per = (T * BK) / 4 / threads;
    const aLoad = v.tA
      ? `let r4 = e % ${T4}u; let c = e / ${T4}u;
         As[c * ${T4}u + r4] = A[(aBase + (k0 + c) * p.M + m0) / 4u + r4];`
      : `let r = e / ${BK / 4}u; let c4 = e % ${BK / 4}u;
         let x = A[(aBase + (m0 + r) * p.K + k0) / 4u + c4];
         let o = c4 * 4u * ${T}u + r;
         As[o / 4u][r % 4u] = x.x; As[(o + ${T}u) / 4u][r % 4u] = x.y;
         As[(o + ${2 * T}u) / 4u][r % 4u] = x.z; As[(o + ${3 * T}u) / 4u][r % 4u] = x.w;`;
    const bLoad = v.tB
      ? `let c = e / ${BK / 4}u; let r4 = e % ${BK / 4}u;
         let x = B[(bBase + (n0 + c) * p.K + k0) / 4u + r4];
         let o = r4 * 4u * ${T}u + c;
         Bs[o / 4u][c % 4u] = x.x; Bs[(o + ${T}u) / 4u][c % 4u] = x.y;
         Bs[(o + ${2 * T}u) / 4u][c % 4u] = x.z; Bs[(o + ${3 * T}u) / 4u][c % 4u] = x.w;`
      : `let c4 = e % ${T4}u; let r = e / ${T4}u;
         Bs[r * ${T4}u + c4] = B[(bBase + (k0 + r) * p.N + n0) / 4u + c4];`;
    loads = `
    for (var j = 0u; j < ${per}u; j++) {
      let e = li + j * ${threads}u;
      ${aLoad}
    }
    for (var j = 0u; j < ${per}u; j++) {
      let e = li + j * ${threads}u;
      ${bLoad}
    }`;
  }

  // ---- inner product over the slice, fully unrolled over the R×R block.
  const inner: string[] = [];
  for (let q = 0; q < R4; q++) inner.push(`let a${q} = As[kk * ${T4}u + ty * ${R4}u + ${q}u];`);
  for (let q = 0; q < R4; q++) inner.push(`let b${q} = Bs[kk * ${T4}u + tx * ${R4}u + ${q}u];`);
  for (let i = 0; i < R; i++) {
    for (let q = 0; q < R4; q++) {
      const idx = i * R4 + q;
      inner.push(`acc[${idx}] = fma(vec4<f32>(a${i >> 2}.${'xyzw'[i & 3]}), b${q}, acc[${idx}]);`);
    }
  }

  // ---- epilogue: bias, activation, store.
  const f = (z: string): string => (v.epilogue ? `epilogue_act(${z}, p.act, alpha)` : z);
  // Unrolled with constant indices: dynamic indexing of `acc` makes LLVM
  // (lavapipe) spill it to memory and compile for seconds.
  const stores: string[] = [];
  if (v.aligned) {
    for (let i = 0; i < R; i++) {
      stores.push(`{ let m = m0 + ty * ${R}u + ${i}u;`);
      for (let q = 0; q < R4; q++) {
        stores.push(`  { let n = n0 + tx * ${R}u + ${q * 4}u;`);
        if (v.epilogue) {
          stores.push(`    var z = acc[${i * R4 + q}];`);
          stores.push('    if (p.hasBias != 0u) { z += vec4<f32>(bias[n], bias[n + 1u], bias[n + 2u], bias[n + 3u]); }');
        } else {
          stores.push(`    let z = acc[${i * R4 + q}];`);
        }
        stores.push('    let o = (cBase + m * p.N + n) / 4u;');
        if (v.epilogue) stores.push('    if (p.writeZ != 0u) { Z[o] = z; }');
        stores.push(`    C[o] = vec4<f32>(${f('z.x')}, ${f('z.y')}, ${f('z.z')}, ${f('z.w')}); }`);
      }
      stores.push('}');
    }
  } else {
    for (let i = 0; i < R; i++) {
      stores.push(`{ let m = m0 + ty * ${R}u + ${i}u;`);
      stores.push('  if (m < p.M) {');
      for (let j = 0; j < R; j++) {
        stores.push(`    { let n = n0 + tx * ${R}u + ${j}u;`);
        stores.push('      if (n < p.N) {');
        if (v.epilogue) {
          stores.push(`        var z = acc[${i * R4 + (j >> 2)}].${'xyzw'[j & 3]};`);
          stores.push('        if (p.hasBias != 0u) { z += bias[n]; }');
          stores.push('        if (p.writeZ != 0u) { Z[cBase + m * p.N + n] = z; }');
        } else {
          stores.push(`        let z = acc[${i * R4 + (j >> 2)}].${'xyzw'[j & 3]};`);
        }
        stores.push(`        C[cBase + m * p.N + n] = ${f('z')};`);
        stores.push('      } }');
      }
      stores.push('  } }');
    }
  }
  const store = stores.join('\n  ');

  const name = `matmul_${v.tA ? 't' : 'n'}${v.tB ? 't' : 'n'}_${T}x${BK}${v.aligned ? '_v4' : ''}${v.epilogue ? '_epilogue' : ''}`;
  return kernel(
    name,
    /* wgsl */ `
${WGSL_GEMM_P}
${decl}
${v.epilogue ? EPILOGUE_WGSL : ''}
${WGSL_WG_LINEAR}
var<workgroup> As: array<vec4<f32>, ${(BK * T) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(BK * T) / 4}>;
@compute @workgroup_size(${WG}, ${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${wgslGemmOrigin(T, T)}
  let tx = lid.x;
  let ty = lid.y;
  var acc: array<vec4<f32>, ${R * R4}>;
  for (var k0 = 0u; k0 < p.K; k0 += ${BK}u) {
    ${loads}
    workgroupBarrier();
    // Bound read from a uniform (always BK): a constant bound lets LLVM unroll
    // the whole slice, which doubles lavapipe's compile time for no speed.
    for (var kk = 0u; kk < p.bk; kk++) {
      ${inner.join('\n      ')}
    }
    workgroupBarrier();
  }
  let cBase = b * p.M * p.N;
  let alpha = p.alpha;
  ${store}
}`,
    kinds,
  );
});

interface GemmArgs {
  a: Tensor;
  b: Tensor;
  out: Tensor;
  z?: Tensor;
  bias?: Tensor;
  M: number;
  N: number;
  K: number;
  batch: number;
  aBatch: number;
  bBatch: number;
  tA: boolean;
  tB: boolean;
  act: Activation;
  alpha: number;
  /** Also write the row sums of op(A), [batch, M] (direct kernel only: see usesDirectGemm). */
  rowSums?: Tensor;
  /** Zero the output wherever this tensor (same size) is not positive (direct kernel only). */
  mask?: Tensor;
}

/** Whether GEMMs on this engine run the direct kernel (CPU adapters by default). */
function usesDirectGemm(engine: Engine): boolean {
  return engine.isSoftware ? MATMUL_FLAGS.direct.software : MATMUL_FLAGS.direct.gpu;
}

/** Records one GEMM dispatch (no autodiff, no checks). */
function gemm(engine: Engine, g: GemmArgs): void {
  if (g.out.size === 0) return;
  if (usesDirectGemm(engine)) {
    gemmDirect(engine, g);
    return;
  }
  if (g.rowSums || g.mask) throw new Error('gemm: row sums and masks need the direct kernel');
  // Small outputs waste most of a 64×64 tile: use 32×32 there.
  const small = g.M <= 32 || g.N <= 32 || g.M * g.N * g.batch < 64 * 64 * 8;
  const big = MATMUL_FLAGS.tile === 'auto' ? !small : MATMUL_FLAGS.tile !== 32;
  const bigTile = MATMUL_FLAGS.tile === 'auto' || MATMUL_FLAGS.tile === 32 ? 64 : MATMUL_FLAGS.tile;
  const r = big ? MATMUL_FLAGS.perThread : 4;
  const wg = big ? bigTile / r : 8;
  const bk = big ? MATMUL_FLAGS.bk : 16;
  const T = wg * r;
  const aligned = g.M % T === 0 && g.N % T === 0 && g.K % bk === 0;
  const epilogue = !!g.bias || !!g.z || g.act !== 'none';
  const v: MatmulVariant = { wg, r, bk, aligned, tA: g.tA, tB: g.tB, epilogue };
  const tilesM = Math.ceil(g.M / T);
  const tilesN = Math.ceil(g.N / T);
  engine.run(MATMUL(JSON.stringify(v)), gemmBuffers(engine, g, epilogue), gemmParams(g, tilesM, tilesN, bk), tilesM * tilesN * g.batch);
}

/** The bindings of a GEMM in kernel order (bias / Z bound to dummies when the epilogue does not use them). */
function gemmBuffers(engine: Engine, g: GemmArgs, epilogue: boolean): Bindable[] {
  if (!epilogue) return [g.a, g.b, g.out];
  return [g.a, g.b, g.bias ?? engine.placeholder(0), g.out, g.z ?? engine.placeholder(1)];
}

function gemmParams(g: GemmArgs, tilesM: number, tilesN: number, bk: number): Params {
  return new Params()
    .u32(g.M).u32(g.N).u32(g.K).u32(g.batch)
    .u32(tilesM).u32(tilesN).u32(g.aBatch).u32(g.bBatch)
    .f32(g.alpha).u32(EPILOGUE_ACTS.indexOf(g.act)).u32(g.bias ? 1 : 0).u32(g.z ? 1 : 0).u32(bk);
}

/** Records one GEMM dispatch of the direct kernel. */
function gemmDirect(engine: Engine, g: GemmArgs): void {
  const [wg, rU, rG] = MATMUL_FLAGS.directShape;
  const swap = MATMUL_FLAGS.directSwap === 'auto' ? g.N < g.M : MATMUL_FLAGS.directSwap;
  const epilogue = !!g.bias || !!g.z || g.act !== 'none';
  // vec4 reads of an operand whose lines are adjacent: its line length and
  // batch stride must be multiples of 4 (then every quad offset is), and the
  // uniform side's lines per invocation too.
  const adj = adjacentLines({ tA: g.tA, tB: g.tB, swap });
  const aOk = g.M % 4 === 0 && g.aBatch % 4 === 0; // A's lines are adjacent only when tA: stride M
  const bOk = g.N % 4 === 0 && g.bBatch % 4 === 0; // B's only when !tB: stride N
  const [uOk, gOk] = swap ? [bOk, aOk] : [aOk, bOk];
  const vec = MATMUL_FLAGS.directVec;
  const v: MatmulDirectVariant = { tA: g.tA, tB: g.tB, swap, epilogue, wg, rU, rG, uVec: vec && adj.u && uOk && rU % 4 === 0, gVec: vec && adj.g && gOk };
  if (g.rowSums) v.rowSums = true;
  if (g.mask) v.mask = true;
  // The activation compiled in (matmul-direct.ts): LeNet-5's fc1 forward 0.66 → 0.55 ms on lavapipe (q1 of 12).
  if (epilogue) v.act = g.act;
  const { TM, TN } = directTile(v);
  const tilesM = Math.ceil(g.M / TM);
  const tilesN = Math.ceil(g.N / TN);
  const bufs = gemmBuffers(engine, g, epilogue);
  if (g.rowSums) bufs.push(g.rowSums);
  if (g.mask) bufs.push(g.mask);
  engine.run(MATMUL_DIRECT(JSON.stringify(v)), bufs, gemmParams(g, tilesM, tilesN, 0), tilesM * tilesN * g.batch);
}

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
}

/**
 * op(a) · op(b) over the last two axes, broadcasting the leading (batch)
 * axes: a [..., M, K] (or [..., K, M] with transposeA), b [..., K, N] (or
 * [..., N, K] with transposeB) → [..., M, N].
 */
export function matmul(a: Tensor, b: Tensor, opt: MatmulOptions = {}): Tensor {
  const tA = opt.transposeA ?? false;
  const tB = opt.transposeB ?? false;
  if (a.rank < 2 || b.rank < 2 || a.dtype !== 'f32' || b.dtype !== 'f32') {
    throw new ShapeError('matmul', 'needs float32 tensors of rank ≥ 2', [a.shape, b.shape]);
  }
  const M = a.shape[a.rank - (tA ? 1 : 2)];
  const K = a.shape[a.rank - (tA ? 2 : 1)];
  const Kb = b.shape[b.rank - (tB ? 1 : 2)];
  const N = b.shape[b.rank - (tB ? 2 : 1)];
  if (K !== Kb) throw new ShapeError('matmul', `inner dimensions differ (${K} vs ${Kb})`, [a.shape, b.shape]);
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batchShape = broadcastShapes('matmul', batchA, batchB);
  const batch = sizeOf(batchShape);
  // Batch axes must either match the result's or be absent/all-ones (stride 0);
  // anything else (partial broadcast) is materialised first.
  const prep = (t: Tensor, bt: readonly number[]): { src: Tensor; stride: number } => {
    const own = sizeOf(bt);
    if (own === 1) return { src: t, stride: 0 };
    if (sameShape(bt, batchShape.slice(batchShape.length - bt.length)) && own === batch) {
      return { src: t, stride: t.shape[t.rank - 1] * t.shape[t.rank - 2] };
    }
    const full = broadcastTo(t, [...batchShape, ...t.shape.slice(-2)]);
    return { src: full, stride: t.shape[t.rank - 1] * t.shape[t.rank - 2] };
  };
  const pa = prep(a, batchA);
  const pb = prep(b, batchB);
  const out = empty(a.engine, [...batchShape, M, N]); // [..., M, N]
  gemm(a.engine, {
    a: pa.src, b: pb.src, out, M, N, K, batch,
    aBatch: pa.stride, bBatch: pb.stride, tA, tB, act: 'none', alpha: 0,
  });
  if (pa.src !== a) pa.src.dispose();
  if (pb.src !== b) pb.src.dispose();
  return record('matmul', [a, b], out, (g) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      ga = !tA ? matmul(g, b, { transposeB: !tB }) : matmul(b, g, { transposeA: tB, transposeB: true });
      ga = reduceBatch(ga, a.shape);
    }
    if (b.requiresGrad) {
      gb = !tB ? matmul(a, g, { transposeA: !tA }) : matmul(g, a, { transposeA: true, transposeB: tA });
      gb = reduceBatch(gb, b.shape);
    }
    return [ga, gb];
  });
}

function reduceBatch(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const r = sumToShape(g, shape);
  g.dispose();
  return r;
}

/**
 * y = act(x · Wᵀ + b) in one kernel. x: [..., in], W: [out, in], b: [out].
 * Backward: dz = g·act′, dx = dz·W, dW = dzᵀ·x, db = Σ dz.
 */
export function linear(x: Tensor, W: Tensor, b: Tensor | null = null, act: Activation = 'none', alpha = defaultAlpha(act)): Tensor {
  const inF = x.shape[x.rank - 1];
  if (x.rank < 1 || W.rank !== 2 || W.shape[1] !== inF || (b && (b.rank !== 1 || b.shape[0] !== W.shape[0]))) {
    throw new ShapeError('linear', 'expects x [..., in], W [out, in], b [out]', b ? [x.shape, W.shape, b.shape] : [x.shape, W.shape]);
  }
  const outF = W.shape[0];
  const rows = x.size / Math.max(inF, 1);
  const def = ACTIVATIONS[act];
  const out = empty(x.engine, [...x.shape.slice(0, -1), outF]); // [..., out]
  const keepZ = def.needsZ && needsGrad(x, W, b);
  const z = keepZ ? empty(x.engine, out.shape) : undefined; // [..., out] pre-activation
  gemm(x.engine, {
    a: x, b: W, bias: b ?? undefined, out, z, M: rows, N: outF, K: inF, batch: 1,
    aBatch: 0, bBatch: 0, tA: false, tB: true, act, alpha,
  });
  const inputs = b ? [x, W, b] : [x, W];
  const res = record('linear', inputs, out, (g) => {
    // [rows, out] gradient of the pre-activation
    const dz =
      act === 'none' || (act === 'relu' && isReluMasked(g, out))
        ? g
        : mapN(x.engine, def.grad('a', 'b', 'c', 's.x'), [g, z ?? out, out], out.shape, { scalars: [alpha], prelude: def.prelude || undefined });
    const dz2 = dz.view([rows, outF]); // [rows, out]
    const x2 = x.view([rows, inF]); // [rows, in]
    let gx2: Tensor | null = null; // [rows, in]
    // x a ReLU output: its gradient leaves already masked, and the ReLU's backward skips its pass (relu-mask.ts).
    const maskGx = x.requiresGrad && isReluOutput(x) && usesDirectGemm(x.engine);
    if (maskGx) {
      gx2 = empty(x.engine, [rows, inF]);
      gemm(x.engine, { a: dz2, b: W, out: gx2, mask: x2, M: rows, N: inF, K: outF, batch: 1, aBatch: 0, bBatch: 0, tA: false, tB: false, act: 'none', alpha: 0 });
    } else if (x.requiresGrad) gx2 = matmul(dz2, W);
    const gx = gx2 ? gx2.view(x.shape) : null; // [..., in]
    gx2?.dispose();
    if (gx && maskGx) markReluMasked(gx, x);
    let gW: Tensor | null = null; // [out, in]
    let gb: Tensor | null = null; // [out]
    if (W.requiresGrad && b?.requiresGrad && usesDirectGemm(x.engine)) {
      // dW = dzᵀ·x and db = Σ dz (the row sums of dzᵀ) in one dispatch.
      gW = empty(x.engine, [outF, inF]);
      gb = empty(x.engine, [outF]);
      gemm(x.engine, { a: dz2, b: x2, out: gW, rowSums: gb, M: outF, N: inF, K: rows, batch: 1, aBatch: 0, bBatch: 0, tA: true, tB: false, act: 'none', alpha: 0 });
    } else {
      gW = W.requiresGrad ? matmul(dz2, x2, { transposeA: true }) : null;
      gb = b?.requiresGrad ? sum(dz2, 0) : null;
    }
    dz2.dispose();
    x2.dispose();
    if (dz !== g) dz.dispose();
    return b ? [gx, gW, gb] : [gx, gW];
  });
  if (z) res.own(z);
  if (act === 'relu') markReluOutput(res);
  return res;
}
