/**
 * The direct GEMM kernel (ops/matmul.ts dispatches it on CPU adapters, where
 * it beat the tiled kernel at every size measured): one row of `wg`
 * invocations per workgroup, no workgroup memory and no barriers. Each
 * invocation owns a block of rU "uniform-side" lines × rG "gathered-side"
 * lines of C and walks K one index at a time:
 *   u_i = the uniform operand at line u0 + i (the same address in every
 *         invocation of the workgroup: one load on lavapipe, a broadcast on a GPU),
 *   g_j = the gathered operand at line g0 + tx·rG + j (differs per invocation),
 *   acc[i][j] += u_i · g_j.
 * Which side is uniform is a variant: `swap` false → rows of A (M) are
 * uniform and columns of B (N) gathered, true → the other way round.
 * On lavapipe a load at an address that differs between invocations is a
 * scalar loop over the SIMD lanes, a uniform one a single load: this layout
 * needs rU + rG loads per rU·rG multiply-adds and none of the tiled
 * kernel's workgroup-memory round trips.
 */
import { type BindingKind, kernel, kernelFamily, WGSL_WG_LINEAR, type Kernel } from '../core/kernel.ts';
import { ACTIVATIONS, type Activation } from './activations.ts';

export interface MatmulDirectVariant {
  tA: boolean;
  tB: boolean;
  /** false: A's rows are the uniform side; true: B's columns are. */
  swap: boolean;
  epilogue: boolean;
  /**
   * With the epilogue: its activation, compiled in (a pipeline per activation
   * used) rather than chosen at run time by epilogue_act's switch like the
   * tiled kernel does — on lavapipe the switch cost a sixth of LeNet-5's fc1
   * forward (0.66 → 0.55 ms, q1 of 12 interleaved rounds).
   */
  act?: Activation;
  /** Invocations per workgroup (one row). */
  wg: number;
  /** Uniform-side lines per invocation. */
  rU: number;
  /** Gathered-side lines per invocation (multiple of 4). */
  rG: number;
  /**
   * Read the uniform (resp. gathered) operand four lines at a time as one
   * vec4: only when its lines are adjacent in memory and every offset is a
   * multiple of 4 (directVec in matmul.ts decides).
   */
  uVec: boolean;
  gVec: boolean;
  /**
   * Also write S[b·M + m] = Σ_k op(A)(m, k), the row sums of op(A), from the
   * values the kernel loads anyway (a linear layer's bias gradient beside
   * its weight gradient: one dispatch fewer). No epilogue with it.
   */
  rowSums?: boolean;
  /**
   * Zero C wherever Mk (same shape as C) is not positive: the input-gradient
   * of a linear layer whose input is a ReLU output arrives already masked
   * (ops/relu-mask.ts), so the ReLU's own backward pass is skipped. No epilogue with it.
   */
  mask?: boolean;
}

/** Uniforms of both GEMM kernels (filled by gemmParams in matmul.ts). */
export const WGSL_GEMM_P = /* wgsl */ `
struct P { M: u32, N: u32, K: u32, batch: u32, tilesM: u32, tilesN: u32, aBatch: u32, bBatch: u32,
           alpha: f32, act: u32, hasBias: u32, writeZ: u32, bk: u32 }`;

/**
 * WGSL: the workgroup's batch b and tile origin (m0, n0) of a TM × TN tile of
 * C, and the batch offsets of A and B; leaves when past the last tile (the
 * whole workgroup together: uniform control flow for any barrier).
 */
export function wgslGemmOrigin(TM: number, TN: number): string {
  return `let gi = wg_linear(wid, nwg);
  let perBatch = p.tilesM * p.tilesN;
  if (gi >= perBatch * p.batch) { return; }
  let b = gi / perBatch;
  let t = gi % perBatch;
  let m0 = (t / p.tilesN) * ${TM}u;
  let n0 = (t % p.tilesN) * ${TN}u;
  let aBase = b * p.aBatch;
  let bBase = b * p.bBatch;`;
}

/**
 * WGSL bindings of both GEMM kernels, in the order gemmBuffers (matmul.ts)
 * binds them: A, B, [bias], C, [Z], p; element types as given.
 */
export function wgslGemmBindings(aEl: string, bEl: string, cEl: string, epilogue: boolean, rowSums = false, mask = false): { decl: string; kinds: BindingKind[] } {
  const b: string[] = [`var<storage, read> A: array<${aEl}>;`, `var<storage, read> B: array<${bEl}>;`];
  if (epilogue) b.push('var<storage, read> bias: array<f32>;');
  b.push(`var<storage, read_write> C: array<${cEl}>;`);
  if (epilogue) b.push(`var<storage, read_write> Z: array<${cEl}>;`);
  if (rowSums) b.push('var<storage, read_write> S: array<f32>;');
  if (mask) b.push('var<storage, read> Mk: array<f32>;');
  b.push('var<uniform> p: P;');
  const kinds: BindingKind[] = epilogue ? ['read', 'read', 'read', 'write', 'write'] : ['read', 'read', 'write'];
  if (rowSums) kinds.push('write');
  if (mask) kinds.push('read');
  kinds.push('uniform');
  return { decl: b.map((d, i) => `@group(0) @binding(${i}) ${d}`).join('\n'), kinds };
}

/** Whether the uniform / gathered side's lines are adjacent in memory (one apart). */
export function adjacentLines(v: { tA: boolean; tB: boolean; swap: boolean }): { u: boolean; g: boolean } {
  return v.swap ? { u: !v.tB, g: v.tA } : { u: v.tA, g: !v.tB };
}

/** Tile extents (rows, columns of C) of a variant: what tilesM / tilesN count. */
export function directTile(v: MatmulDirectVariant): { TM: number; TN: number } {
  const U = v.rU;
  const G = v.wg * v.rG;
  return v.swap ? { TM: G, TN: U } : { TM: U, TN: G };
}

/*
 * matmuld: C[b] = act(op(A[b]) · op(B[b]) + bias), same operands, uniforms
 * (struct P) and bindings as the tiled `matmul` kernel.
 *   A(m, k) = tA ? A[aBase + k·M + m] : A[aBase + m·K + k]
 *   B(k, n) = tB ? B[bBase + n·K + k] : B[bBase + k·N + n]
 * Line offsets at k = 0 and their step per k are set up once per
 * invocation; the K loop only adds.
 */
export const MATMUL_DIRECT = kernelFamily((key: string): Kernel => {
  const v = JSON.parse(key) as MatmulDirectVariant;
  const { rU, rG, wg } = v;
  if (rG % 4) throw new Error(`matmul: unsupported direct tile ${key}`);
  const RG4 = rG / 4;
  const { TM, TN } = directTile(v);
  // Uniform side: A rows (m) unless swapped, then B columns (n).
  const uIsA = !v.swap;
  const aLine = (m: string): string => (v.tA ? `aBase + ${m}` : `aBase + ${m} * p.K`);
  const bLine = (n: string): string => (v.tB ? `bBase + ${n} * p.K` : `bBase + ${n}`);
  const aStep = v.tA ? 'p.M' : '1u';
  const bStep = v.tB ? '1u' : 'p.N';
  const [uLim, gLim] = uIsA ? ['p.M', 'p.N'] : ['p.N', 'p.M'];
  const [uOrigin, gOrigin] = uIsA ? ['m0', 'n0'] : ['n0', 'm0'];
  const uLine = uIsA ? aLine : bLine;
  const gLine = uIsA ? bLine : aLine;
  const [uBuf, gBuf] = uIsA ? ['A', 'B'] : ['B', 'A'];
  const [uStep, gStep] = uIsA ? [aStep, bStep] : [bStep, aStep];

  const setup: string[] = [];
  const body: string[] = [];
  // One side's loads: scalar per line, or (vec) a vec4 per four adjacent lines.
  const side = (pre: string, n: number, origin: string, lim: string, line: (x: string) => string, buf: string, step: string, vec: boolean): void => {
    const per = vec ? 4 : 1;
    for (let j = 0; j < n; j += per) {
      setup.push(`let ${pre}ok${j} = ${origin} + ${j}u < ${lim}; var ${pre}o${j} = select(0u, ${line(`(${origin} + ${j}u)`)}, ${pre}ok${j});`);
      if (vec) {
        body.push(`let ${pre}q${j / 4} = select(vec4<f32>(0.0), ${buf}[${pre}o${j} / 4u], ${pre}ok${j}); ${pre}o${j} += ${step};`);
      } else {
        body.push(`let ${pre}${j} = select(0.0, ${buf}[${pre}o${j}], ${pre}ok${j}); ${pre}o${j} += ${step};`);
      }
    }
    if (vec) for (let j = 0; j < n; j++) body.push(`let ${pre}${j} = ${pre}q${j >> 2}.${'xyzw'[j & 3]};`);
  };
  side('u', rU, uOrigin, uLim, uLine, uBuf, uStep, v.uVec);
  side('g', rG, 'g0', gLim, gLine, gBuf, gStep, v.gVec);
  // Row sums of op(A): its lines are the uniform side (written by the first invocation of the
  // first column tile) or the gathered side (written by every invocation of the first row tile).
  const aLines = uIsA ? rU : rG;
  let sums = '';
  if (v.rowSums) {
    for (let j = 0; j < aLines; j++) body.push(`rs[${j}] += ${uIsA ? 'u' : 'g'}${j};`);
    const first = uIsA ? 'n0 == 0u && lid.x == 0u' : 'n0 == 0u';
    const line = uIsA ? 'm0 + j' : 'g0 + j';
    sums = `if (${first}) {
    for (var j = 0u; j < ${aLines}u; j++) { let m = ${line}; if (m < p.M) { S[b * p.M + m] = rs[j]; } }
  }`;
  }
  for (let q = 0; q < RG4; q++) body.push(`let gv${q} = vec4<f32>(g${4 * q}, g${4 * q + 1}, g${4 * q + 2}, g${4 * q + 3});`);
  for (let i = 0; i < rU; i++) {
    for (let q = 0; q < RG4; q++) body.push(`acc[${i * RG4 + q}] = fma(vec4<f32>(u${i}), gv${q}, acc[${i * RG4 + q}]);`);
  }

  // Stores as loops (unrolled, the epilogue makes LLVM compile for tens of seconds).
  const [mOf, nOf] = uIsA ? ['m0 + i', 'g0 + 4u * q + c'] : ['g0 + 4u * q + c', 'n0 + i'];
  const store = `for (var i = 0u; i < ${rU}u; i++) {
    for (var q = 0u; q < ${RG4}u; q++) {
      let a4 = acc[i * ${RG4}u + q];
      for (var c = 0u; c < 4u; c++) {
        let m = ${mOf}; let n = ${nOf};
        if (m < p.M && n < p.N) {
          ${
            v.epilogue
              ? `var z = a4[c];
          if (p.hasBias != 0u) { z += bias[n]; }
          if (p.writeZ != 0u) { Z[cBase + m * p.N + n] = z; }
          C[cBase + m * p.N + n] = ${ACTIVATIONS[v.act ?? 'none'].fwd('z', 'p.alpha')};`
              : v.mask
                ? 'C[cBase + m * p.N + n] = select(0.0, a4[c], Mk[cBase + m * p.N + n] > 0.0);'
                : 'C[cBase + m * p.N + n] = a4[c];'
          }
        }
      }
    }
  }`;

  const v4 = (vec: boolean): string => (vec ? 'vec4<f32>' : 'f32');
  if ((v.rowSums || v.mask) && v.epilogue) throw new Error(`matmul: row sums or a mask with an epilogue are not supported (${key})`);
  if (v.epilogue && !v.act) throw new Error(`matmul: a direct epilogue needs its activation (${key})`);
  const { decl, kinds } = wgslGemmBindings(v4(uIsA ? v.uVec : v.gVec), v4(uIsA ? v.gVec : v.uVec), 'f32', v.epilogue, v.rowSums, v.mask);
  const name = `matmuld_${v.tA ? 't' : 'n'}${v.tB ? 't' : 'n'}_${TM}x${TN}${v.uVec || v.gVec ? `_v${v.uVec ? 'u' : ''}${v.gVec ? 'g' : ''}` : ''}${v.epilogue ? `_epilogue${v.act ? `_${v.act}` : ''}` : ''}${v.rowSums ? '_rowsums' : ''}${v.mask ? '_masked' : ''}`;
  return kernel(
    name,
    /* wgsl */ `
${WGSL_GEMM_P}
${decl}
${v.epilogue ? ACTIVATIONS[v.act ?? 'none'].prelude : ''}
${WGSL_WG_LINEAR}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  ${wgslGemmOrigin(TM, TN)}
  let cBase = b * p.M * p.N;
  let g0 = ${gOrigin} + lid.x * ${rG}u;
  ${setup.join('\n  ')}
  var acc: array<vec4<f32>, ${rU * RG4}>;
  ${v.rowSums ? `var rs: array<f32, ${aLines}>;` : ''}
  for (var k = 0u; k < p.K; k++) {
    ${body.join('\n    ')}
  }
  ${store}
  ${sums}
}`,
    kinds,
  );
});
