/**
 * WGSL generators of the convolution kernels (ops/conv.ts dispatches them):
 *   conv_<mode>_…  (tiled):  workgroup-memory tiles of A and B shared by a
 *                  2-D grid of invocations; used when the GEMM's M side is
 *                  large (many channels), where B reuse across rows pays.
 *   convd_<mode>_… (direct): one row of invocations, no workgroup memory, no
 *                  barriers; each invocation gathers its own B columns
 *                  straight from global memory and reads A (the weights, or dY
 *                  for dw) at workgroup-uniform addresses; the K-index split
 *                  comes from a per-geometry table (Engine.constantBuffer).
 *                  Used for small M (LeNet-like layers): there each gathered
 *                  value is used by one invocation only, so staging it in
 *                  workgroup memory was pure overhead (a scattered store and
 *                  load per element, two barriers per slice).
 * Both share the column set-up, the B gather and the stores below.
 */
import { kernel, kernelFamily, WGSL_DIVMOD, WGSL_IS_NAN, WGSL_WG_LINEAR, type Kernel } from '../core/kernel.ts';
import { ACTIVATIONS, EPILOGUE_WGSL } from './activations.ts';

export type ConvMode = 'fwd' | 'dx' | 'dw';

/** Tiled kernel shape: wgM × wgN invocations, rM × rN outputs each, K slices of bk. */
export interface ConvVariant {
  mode: ConvMode;
  wgM: number;
  wgN: number;
  rM: number;
  rN: number;
  bk: number;
}

/** Direct kernel shape: wg invocations in one row, rM × rN outputs each. */
export interface ConvDirectVariant {
  mode: ConvMode;
  /** fwd without padding: every gathered element of a valid column is in bounds (no per-element checks). */
  inb?: boolean;
  /** dw: also write S[split, o] = Σ dY[o] over the split's positions (the bias gradient's partial sums). */
  rowSums?: boolean;
  /**
   * fwd followed by a 2×2/2 max-pool (conv-pool.ts): columns are the four
   * cells of each pooled output (rN a multiple of 4), the store writes the
   * window's maximum and its argmax instead of the conv output.
   */
  pool2?: boolean;
  /**
   * pool2 with stride 1 and dilation 1, rN = 8: two pooled outputs side by
   * side (windowColumnState), the K loop over (c, kh) sliding a window of
   * input pixels along kw (windowLoop): 2 loads per tap instead of 8.
   */
  win?: boolean;
  wg: number;
  rM: number;
  rN: number;
}


/** Sizes of one convolution (all integers, validated by conv2d). */
export interface ConvGeom {
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

/** Stride 1, dilation 1, no groups: the layers the sliding-window kernels handle. */
export const unitStride = (g: ConvGeom): boolean => g.sH === 1 && g.sW === 1 && g.dH === 1 && g.dW === 1 && g.G === 1;

/** Size of n split into as few blocks of at most `cap` as possible, as evenly as possible (0 when cap < 1). */
export const evenBlock = (n: number, cap: number): number => (cap < 1 ? 0 : Math.ceil(n / Math.ceil(n / cap)));

/** Uniform layout shared by the three modes (filled in this order by convGemm). */
export const WGSL_P = /* wgsl */ `
struct P { N: u32, C: u32, H: u32, W: u32,
           O: u32, Ho: u32, Wo: u32, G: u32,
           kH: u32, kW: u32, sH: u32, sW: u32,
           pH: i32, pW: i32, dH: u32, dW: u32,
           Cg: u32, Og: u32, M: u32, Nc: u32,
           K: u32, tilesM: u32, tilesN: u32, splits: u32,
           kChunk: u32, act: u32, alpha: f32, hasBias: u32,
           writeZ: u32, bk: u32, kHW: u32, HoWo: u32,
           HW: u32, Mp4: u32, Wp: u32, Np: u32,
           HpWp: u32 }`;



/**
 * WGSL: state of the invocation's rN columns n0 + tx·rN + j, computed once:
 * column 0 is split into (outer, row, col) with dm(), the next ones by
 * stepping the innermost counter with carries. ok_j: column exists; ch/cw:
 * spatial origin; cb: flat offset (of the element at K-table entry 0 for
 * fwd / dw); dx also splits the origin by the stride (chq/cwq, key ck).
 */
function columnState(mode: ConvMode, rN: number): string {
  const [L1, L2] = mode === 'fwd' ? ['p.Ho', 'p.Wo'] : mode === 'dx' ? ['p.H', 'p.W'] : ['p.kH', 'p.kW'];
  const out: string[] = [
    `let c0 = dm(n0 + tx * ${rN}u, ${L1} * ${L2}); let c1 = dm(c0.y, ${L2});`,
    `var ca = c0.x; var cr = c1.x; var cc = c1.y;`,
  ];
  for (let j = 0; j < rN; j++) {
    if (j > 0) out.push(`cc += 1u; if (cc == ${L2}) { cc = 0u; cr += 1u; } if (cr == ${L1}) { cr = 0u; ca += 1u; }`);
    out.push(`let ok_${j} = n0 + tx * ${rN}u + ${j}u < p.Nc;`);
    if (mode === 'fwd') {
      out.push(`let ch_${j} = i32(cr * p.sH) - p.pH; let cw_${j} = i32(cc * p.sW) - p.pW;`);
      out.push(`let cb_${j} = i32((ca * p.C + grp * p.Cg) * p.HW) + ch_${j} * i32(p.W) + cw_${j};`);
    } else if (mode === 'dx') {
      out.push(`let dh_${j} = dm(cr + u32(p.pH), p.sH); let dw_${j} = dm(cc + u32(p.pW), p.sW);`);
      out.push(`let chq_${j} = i32(dh_${j}.x); let cwq_${j} = i32(dw_${j}.x); let ck_${j} = i32(dh_${j}.y * p.sW + dw_${j}.y);`);
      out.push(`let cb_${j} = i32((ca * p.O + grp * p.Og) * p.HoWo) + chq_${j} * i32(p.Wo) + cwq_${j};`);
    } else {
      out.push(`let ch_${j} = i32(cr * p.dH); let cw_${j} = i32(cc * p.dW);`);
      out.push(`let cb_${j} = i32((grp * p.Cg + ca) * p.HW) + ch_${j} * i32(p.W) + cw_${j};`);
    }
  }
  return out.join('\n  ');
}

/**
 * WGSL (fwd, pool2): column state as columnState, for columns that are the
 * cells (0,0) (0,1) (1,0) (1,1) of pooled outputs pn = column / 4, pooled
 * output q of the invocation at (pimg_q, ph_q, pw_q).
 */
function pooledColumnState(rN: number): string {
  const out: string[] = [`let pn0 = (n0 + tx * ${rN}u) / 4u;`];
  for (let q = 0; q < rN / 4; q++) {
    out.push(`let pd_${q} = dm(pn0 + ${q}u, p.HpWp); let pe_${q} = dm(pd_${q}.y, p.Wp);`);
    out.push(`let pimg_${q} = pd_${q}.x; let ph_${q} = pe_${q}.x; let pw_${q} = pe_${q}.y; let pok_${q} = pn0 + ${q}u < p.Np;`);
    for (let c = 0; c < 4; c++) {
      const j = 4 * q + c;
      out.push(`let ok_${j} = pok_${q};`);
      out.push(`let ch_${j} = i32((2u * ph_${q} + ${c >> 1}u) * p.sH) - p.pH; let cw_${j} = i32((2u * pw_${q} + ${c & 1}u) * p.sW) - p.pW;`);
      out.push(`let cb_${j} = i32((pimg_${q} * p.C + grp * p.Cg) * p.HW) + ch_${j} * i32(p.W) + cw_${j};`);
    }
  }
  return out.join('\n  ');
}

/**
 * WGSL (fwd, pool2, win): the invocation's two pooled outputs are the pair
 * pp of its pooled row: (pimg, ph, 2·pp) and (pimg, ph, 2·pp + 1), the
 * second absent when the pooled width Wp is odd and pp the last pair
 * (p.Np = N·Hp·⌈Wp / 2⌉ pairs; every pair's 8 columns are one column slot).
 */
function windowColumnState(): string {
  return `let Wpp = (p.Wp + 1u) / 2u;
  let slot = (n0 + tx * 8u) / 8u;
  let pd = dm(slot, (p.HpWp / p.Wp) * Wpp); let pe = dm(pd.y, Wpp);
  let pimg_0 = pd.x; let ph_0 = pe.x; let pw_0 = 2u * pe.y; let pok_0 = slot < p.Np;
  let pimg_1 = pimg_0; let ph_1 = ph_0; let pw_1 = pw_0 + 1u; let pok_1 = pok_0 && pw_1 < p.Wp;`;
}

/**
 * WGSL (fwd, pool2): bias + ReLU of the four cells of each pooled
 * output, then their maximum and its argmax (as pool.ts maxpool2_fwd4 over a
 * ReLU output: scan order, NaN wins, no argmax when the maximum is not
 * positive), stored at [img, o, ph, pw]; the argmax as oh·Wo + ow.
 */
function pooledStore(rM: number, rN: number): string {
  const RN4 = rN / 4;
  const s: string[] = [];
  s.push(`for (var i = 0u; i < ${rM}u; i++) { let m = m0 + i; if (m >= p.M) { break; }`);
  s.push('  let bv = select(0.0, bias[min(grp * p.Og + m, arrayLength(&bias) - 1u)], p.hasBias != 0u);');
  for (let q = 0; q < RN4; q++) {
    s.push(`  if (pok_${q}) {`);
    s.push(`    let z4 = acc[i * ${RN4}u + ${q}u] + vec4<f32>(bv); var y4 = z4;`);
    // Always ReLU here (conv-pool.ts): inline, not the epilogue's run-time switch (which cost LeNet-5's
    // pooled conv1 / conv2 forward 14% / 20% on lavapipe: q1 of 12 interleaved rounds 1.82 → 1.56, 1.91 → 1.48 ms).
    s.push(`    for (var c = 0u; c < 4u; c++) { y4[c] = ${ACTIVATIONS.relu.fwd('z4[c]', '0.0')}; }`);
    s.push('    var best = y4.x; var arg = 0u;');
    s.push('    for (var c = 1u; c < 4u; c++) { if (y4[c] > best || is_nan(y4[c])) { best = y4[c]; arg = c; } }');
    s.push(`    let o = (pimg_${q} * p.O + grp * p.Og + m) * p.HpWp + ph_${q} * p.Wp + pw_${q};`);
    s.push('    out[o] = best;');
    s.push(`    idx[o] = select(-1, i32((2u * ph_${q} + arg / 2u) * p.Wo + 2u * pw_${q} + arg % 2u), best > 0.0);`);
    s.push('  }');
  }
  s.push('}');
  return s.join('\n  ');
}

/**
 * WGSL (fwd, pool2, win): the K loop of the sliding-window variant, over
 * (c, kh) with kw innermost. The invocation's 8 columns (two pooled outputs
 * side by side) are a 2-row × 4-column block of the conv plane at rows
 * 2·ph_0 + r, columns 2·pw_0 + j. At tap kw, column j reads input column
 * 2·pw_0 + j + kw − pW: from one tap to the next, three of a row's four
 * pixels are the previous tap's moved by one (registers w_r0…w_r2), and only
 * w_r3 is loaded — 2 loads per tap instead of 8. (On lavapipe every load
 * inside a loop is a per-lane sequence of ~10 instructions with a bounds
 * check, even at a workgroup-uniform address: most of a gathering kernel's
 * time, measured with perf on the JIT code.) racc[2i + r] holds row r's four
 * columns for output row m0 + i, regrouped into the pooled layout of acc
 * ((0,0) (0,1) (1,0) (1,1) of each pooled output) afterwards. Same k order
 * and fma as the gathering loop: the same bits.
 */
function windowLoop(rM: number): string {
  const rowLoad = (r: number, j: string): string =>
    `select(0.0, src[u32(max(rb${r} + ${j}, 0))], ok${r} && u32(ix0 + ${j}) < p.W)`;
  const tap: string[] = ['let ab = (grp * p.K + k0 + kw) * p.Mp4 + m0 / 4u;'];
  for (let q = 0; q < rM / 4; q++) {
    tap.push(`let okq${q} = m0 / 4u + ${q}u < p.Mp4; let aq${q} = select(vec4<f32>(0.0), wa[select(0u, ab + ${q}u, okq${q})], okq${q});`);
  }
  tap.push(`let w03 = ${rowLoad(0, 'i32(kw) + 3')}; let w13 = ${rowLoad(1, 'i32(kw) + 3')};`);
  tap.push('let b0 = vec4<f32>(w00, w01, w02, w03); let b1 = vec4<f32>(w10, w11, w12, w13);');
  for (let i = 0; i < rM; i++) {
    const a = `vec4<f32>(aq${i >> 2}.${'xyzw'[i & 3]})`;
    tap.push(`racc[${2 * i}] = fma(${a}, b0, racc[${2 * i}]); racc[${2 * i + 1}] = fma(${a}, b1, racc[${2 * i + 1}]);`);
  }
  tap.push('w00 = w01; w01 = w02; w02 = w03; w10 = w11; w11 = w12; w12 = w13;');
  const regroup: string[] = [];
  for (let i = 0; i < rM; i++) {
    regroup.push(`acc[${2 * i}] = vec4<f32>(racc[${2 * i}].xy, racc[${2 * i + 1}].xy); acc[${2 * i + 1}] = vec4<f32>(racc[${2 * i}].zw, racc[${2 * i + 1}].zw);`);
  }
  return `var racc: array<vec4<f32>, ${2 * rM}>;
  let ix0 = i32(2u * pw_0) - p.pW;
  for (var c = 0u; c < p.Cg; c++) {
    let xb = i32((pimg_0 * p.C + grp * p.Cg + c) * p.HW) + ix0;
    for (var kh = 0u; kh < p.kH; kh++) {
      let k0 = (c * p.kH + kh) * p.kW;
      let iy0 = i32(2u * ph_0 + kh) - p.pH;
      let ok0 = pok_0 && u32(iy0) < p.H; let ok1 = pok_0 && u32(iy0 + 1) < p.H;
      let rb0 = xb + iy0 * i32(p.W); let rb1 = rb0 + i32(p.W);
      var w00 = ${rowLoad(0, '0')}; var w01 = ${rowLoad(0, '1')}; var w02 = ${rowLoad(0, '2')};
      var w10 = ${rowLoad(1, '0')}; var w11 = ${rowLoad(1, '1')}; var w12 = ${rowLoad(1, '2')};
      for (var kw = 0u; kw < p.kW; kw++) {
        ${tap.join('\n        ')}
      }
    }
  }
  ${regroup.join('\n  ')}`;
}

/**
 * WGSL: the invocation's rN B elements v_0… of the K index whose table entry
 * is `t` (see ktabEntry), `kok` false past the end of K.
 * dx: oh = (ih + pH − kh·dH) / sH must be exact: with both terms split by the
 * stride (column: chq/cwq quotients and key = remainders; table: the same
 * for kh·dH, kw·dW) that is "keys equal", and the quotient is a subtraction.
 * No per-element division or float→int conversion (written assuming both
 * are slow on lavapipe; see ops/README.md rule 10 for what was measured).
 * inb (direct kernel, unpadded forward): no bounds checks, only the column's
 * own ok_j (an invalid column's address is clamped by robust buffer access
 * and its result never stored).
 */
function gatherB(mode: ConvMode, rN: number, inb = false): string {
  const out: string[] = [];
  if (inb) {
    for (let j = 0; j < rN; j++) out.push(`let v_${j} = select(0.0, src[u32(cb_${j} + t.x)], ok_${j});`);
    return out.join('\n      ');
  }
  for (let j = 0; j < rN; j++) {
    if (mode === 'dx') {
      out.push(`let qh_${j} = chq_${j} - t.y; let qw_${j} = cwq_${j} - t.z;
      let okb_${j} = ok_${j} && kok && ck_${j} == t.w && u32(qh_${j}) < p.Ho && u32(qw_${j}) < p.Wo;
      let ad_${j} = cb_${j} + t.x;`);
    } else {
      out.push(`let ih_${j} = ch_${j} + t.y; let iw_${j} = cw_${j} + t.z;
      let okb_${j} = ok_${j} && kok && u32(ih_${j}) < p.H && u32(iw_${j}) < p.W;
      let ad_${j} = cb_${j} + t.x;`);
    }
  }
  for (let j = 0; j < rN; j++) out.push(`let v_${j} = select(0.0, src[u32(max(ad_${j}, 0))], okb_${j});`);
  return out.join('\n      ');
}

/** WGSL: vec4 j of the invocation's B elements. */
const bQuad = (q: number): string => `vec4<f32>(${[0, 1, 2, 3].map((c) => `v_${4 * q + c}`).join(', ')})`;

/**
 * WGSL: K-table entry of K index k (fwd / dx), or of output position k
 * (dw; the image offset is added by the kernel), as vec4<i32>:
 *   fwd: (c·H·W + kh·dH·W + kw·dW, kh·dH, kw·dW, 0)
 *   dx:  (o·Ho·Wo − ⌊kh·dH/sH⌋·Wo − ⌊kw·dW/sW⌋, ⌊kh·dH/sH⌋, ⌊kw·dW/sW⌋, key of the remainders):
 *        the column's base already holds its own quotients (·Wo, +1), so the
 *        address is one addition
 *   dw:  (ih·W + iw, ih, iw, oh·Wo + ow) with ih = oh·sH − pH, iw = ow·sW − pW
 *        (direct kernel only; it adds the image offsets as it walks K)
 * The tiled kernel (fwd, dx) computes them in WGSL (ktab below); the direct
 * kernel reads them from a table built on the CPU (directTable, same formulas).
 */
const WGSL_KTAB: Record<'fwd' | 'dx', string> = {
  fwd: `let a = dm(k, p.kHW); let b = dm(a.y, p.kW); let kh = i32(b.x * p.dH); let kw = i32(b.y * p.dW);
    return vec4<i32>(i32(a.x * p.HW) + kh * i32(p.W) + kw, kh, kw, 0);`,
  dx: `let a = dm(k, p.kHW); let b = dm(a.y, p.kW); let h = dm(b.x * p.dH, p.sH); let w = dm(b.y * p.dW, p.sW);
    return vec4<i32>(i32(a.x * p.HoWo) - i32(h.x * p.Wo) - i32(w.x), i32(h.x), i32(w.x), i32(h.y * p.sW + w.y));`,
};

/**
 * WGSL: the epilogue and stores of the rM×rN block in acc (rows m0 + TY·rM + i),
 * as loops rather than unrolled per element: unrolled, the epilogue (bias,
 * activation switch) and the bounds checks take LLVM tens of seconds on
 * lavapipe. cols[j]: output offset of column n0 + tx·rN + j (0xffffffff past
 * the end), split into (image, position) once and then stepped. When the
 * plane size S is a multiple of 4, each vec4 of acc is 4 consecutive,
 * aligned outputs: one vec4 store.
 */
function storeBlock(mode: ConvMode, rM: number, rN: number, TY: string): string {
  const RN4 = rN / 4;
  const S = mode === 'fwd' ? 'p.HoWo' : mode === 'dx' ? 'p.HW' : 'p.Nc';
  const BS = mode === 'fwd' ? 'p.O * p.HoWo' : mode === 'dx' ? 'p.C * p.HW' : '0u';
  const rowOff =
    mode === 'fwd' ? '(grp * p.Og + m) * p.HoWo' : mode === 'dx' ? '(grp * p.Cg + m) * p.HW' : '(split * p.O + grp * p.Og + m) * p.Nc';
  const s: string[] = [
    `let vecOut = ${S} % 4u == 0u;`,
    `var cols: array<u32, ${rN}>;`,
    `{ let n = n0 + tx * ${rN}u; let d = dm(n, ${S}); var nb = d.x; var s = d.y;`,
  ];
  for (let j = 0; j < rN; j++) {
    if (j > 0) s.push(`  s += 1u; if (s == ${S}) { s = 0u; nb += 1u; }`);
    s.push(`  cols[${j}] = select(0xffffffffu, nb * ${BS} + s, n + ${j}u < p.Nc);`);
  }
  s.push('}');
  s.push(`for (var i = 0u; i < ${rM}u; i++) { let m = m0 + ${TY} * ${rM}u + i; if (m >= p.M) { break; }`);
  s.push(`  let ro = ${rowOff};`);
  if (mode === 'fwd') s.push('  let bv = select(0.0, bias[min(grp * p.Og + m, arrayLength(&bias) - 1u)], p.hasBias != 0u);');
  s.push(`  for (var q = 0u; q < ${RN4}u; q++) {`);
  s.push(`    let col = cols[4u * q];`);
  if (mode === 'fwd') {
    s.push(`    let z4 = acc[i * ${RN4}u + q] + vec4<f32>(bv); var y4 = z4;`);
    s.push('    for (var c = 0u; c < 4u; c++) { y4[c] = epilogue_act(z4[c], p.act, p.alpha); }');
  } else {
    s.push(`    let y4 = acc[i * ${RN4}u + q];`);
  }
  s.push('    if (vecOut) { if (col != 0xffffffffu) {');
  s.push('      out[(col + ro) / 4u] = y4;');
  if (mode === 'fwd') s.push('      if (p.writeZ != 0u) { Z[(col + ro) / 4u] = z4; }');
  s.push('    } } else {');
  s.push('      for (var c = 0u; c < 4u; c++) { let cc = cols[4u * q + c]; if (cc != 0xffffffffu) {');
  s.push('        let idx = cc + ro; out[idx / 4u][idx % 4u] = y4[c];');
  if (mode === 'fwd') s.push('        if (p.writeZ != 0u) { Z[idx / 4u][idx % 4u] = z4[c]; }');
  s.push('      } }');
  s.push('    }');
  s.push('  }');
  s.push('}');
  return s.join('\n  ');
}

/**
 * Storage bindings of a mode, in order: the gathered source, the A operand
 * (`aType`: packed vec4 weights for the tiled kernel, raw weights or dY for
 * the direct one), [fwd: bias], the output, [fwd: Z], [direct: K table].
 */
function bindingsFor(mode: ConvMode, aType: string, table: boolean, rowSums = false, pool2 = false): { decl: string; kinds: Array<'read' | 'write' | 'uniform'> } {
  const names: Array<[string, string, 'read' | 'write']> = [['src', 'array<f32>', 'read']];
  names.push([mode === 'dw' ? 'dy' : 'wa', aType, 'read']);
  if (mode === 'fwd') names.push(['bias', 'array<f32>', 'read']);
  names.push(['out', pool2 ? 'array<f32>' : 'array<vec4<f32>>', 'write']);
  if (mode === 'fwd') names.push(pool2 ? ['idx', 'array<i32>', 'write'] : ['Z', 'array<vec4<f32>>', 'write']);
  if (rowSums) names.push(['S', 'array<f32>', 'write']);
  if (table) names.push(['ktg', 'array<vec4<i32>>', 'read']);
  const decl = names
    .map(([n, t, k], i) => `@group(0) @binding(${i}) var<storage, ${k === 'read' ? 'read' : 'read_write'}> ${n}: ${t};`)
    .concat(`@group(0) @binding(${names.length}) var<uniform> p: P;`)
    .join('\n');
  return { decl, kinds: [...names.map((n) => n[2]), 'uniform'] };
}

/** WGSL: the workgroup's (split, group, tile) from its linear id; returns early past the end. */
const WGSL_TILE_ORIGIN = (TM: number, TN: number): string => `let g = wg_linear(wid, nwg);
  let perGroup = p.tilesM * p.tilesN;
  // Whole workgroup leaves together (uniform control flow for any barrier).
  if (g >= perGroup * p.G * p.splits) { return; }
  let d0 = dm(g, perGroup * p.G);
  let split = d0.x;
  let d1 = dm(d0.y, perGroup);
  let grp = d1.x;
  let d2 = dm(d1.y, p.tilesN);
  let m0 = d2.x * ${TM}u;
  let n0 = d2.y * ${TN}u;
  let kStart = split * p.kChunk;
  let kEnd = min(p.K, kStart + p.kChunk);`;

/*
 * Tiled, conv_<mode>_<TM>x<TN>x<BK>: one implicit-GEMM tile C[m0:m0+TM, n0:n0+TN]
 * of group `grp` (and K-split `split` for dw), K walked in BK slices.
 *   X: [N, C, H, W], W: [O, Cg, kH, kW], Y / dY: [N, O, Ho, Wo], all row-major.
 *   fwd: A = W[grp] as [Og, K = Cg·kH·kW], B[k=(c,kh,kw), n=(b,oh,ow)] = X[b, grp·Cg+c, oh·sH−pH+kh·dH, ow·sW−pW+kw·dW]
 *        (0 outside), C → Y[b, grp·Og+m, oh, ow] after bias + activation (Z = pre-activation).
 *   dx:  A = W[grp]ᵀ as [Cg, K = Og·kH·kW],
 *        B[k=(o,kh,kw), n=(b,ih,iw)] = dY[b, grp·Og+o, (ih+pH−kh·dH)/sH, (iw+pW−kw·dW)/sW]
 *        (0 unless both divide exactly and land inside), C → dX[b, grp·Cg+m, ih, iw].
 * (Weight-grad, dw: A[m=o, k=(b,oh,ow)] = dY, B[k, n=(c,kh,kw)] = im2col as in
 * fwd, C → part[split, grp·Og+m, n] summed over K splits by the caller, always
 * runs the direct kernel below.)
 * A is read from the weights packed by conv_pack as Ap[G, K, Mp] (Mp = M
 * rounded up to 4, zero-filled), so an A quad is one aligned vec4.
 * Workgroup (wgN × wgM invocations; linear id folded) → (grp, tile m, tile n);
 * invocation (tx, ty) accumulates the rM×rN block at rows ty·rM…, columns tx·rN…
 * of the tile, and gathers exactly those rN columns of each B slice (rows
 * ty, ty + wgM, …) into workgroup memory Bs as vec4s. kt (workgroup) holds
 * the split of the slice's K indices, computed by the first BK invocations
 * for the next slice while the others compute.
 *
 * Written for lavapipe (CI) as much as for GPUs. There, every access whose
 * address differs between invocations is a scalar loop over the SIMD lanes
 * with a bounds check per lane (a vec4 is four of them), a uniform address
 * is one load (though measured since to cost about as much as a gather),
 * and each distinct WGSL source costs seconds of LLVM time. Hence: with
 * wgM = 1 every A read is uniform; B is gathered once per element and read
 * back by its own invocation; the inner loops contain no division (index
 * splits are done per slice in kt, or once per invocation, with dm());
 * stores are vec4 when the plane size is a multiple of 4; loops have uniform bounds (no unrolling) and the epilogue
 * and stores are loops, not unrolled per element (compile time).
 */
export const CONV = kernelFamily((key: string): Kernel => {
  const v = JSON.parse(key) as ConvVariant;
  const { wgM, wgN, rM, rN, bk: BK, mode } = v;
  const TM = wgM * rM;
  const TN = wgN * rN;
  const TM4 = TM / 4;
  const TN4 = TN / 4;
  const RM4 = rM / 4;
  const RN4 = rN / 4;
  const threads = wgM * wgN;
  if (rN % 4 || rM % 4 || BK % wgM || mode === 'dw') throw new Error(`conv: unsupported tile ${key}`);
  // With one row of invocations `ty` is the constant 0, so addresses that
  // only depend on it stay uniform for the compiler.
  const TY = wgM === 1 ? '0u' : 'ty';

  const bStores = Array.from({ length: RN4 }, (_, q) => `Bs[r * ${TN4}u + tx * ${RN4}u + ${q}u] = ${bQuad(q)};`);
  const loadB = `for (var r = ${TY}; r < p.bk; r += ${wgM}u) {
      let t = kt[r];
      let kok = k0 + r < kEnd;
      ${gatherB(mode, rN)}
      ${bStores.join('\n      ')}
    }`;

  // ---- A slice: TM × BK from the packed weights, As[k·TM4 + m/4].
  const loadA = `for (var e = li; e < p.bk * ${TM4}u; e += ${threads}u) {
      let kl = e / ${TM4}u; let m4 = m0 / 4u + e % ${TM4}u;
      let oka = k0 + kl < kEnd && m4 < p.Mp4;
      As[e] = select(vec4<f32>(0.0), wa[select(0u, (grp * p.K + k0 + kl) * p.Mp4 + m4, oka)], oka);
    }`;

  // ---- inner product over the slice, unrolled over the rM×rN block.
  const inner: string[] = [];
  for (let q = 0; q < RM4; q++) inner.push(`let aq${q} = As[kk * ${TM4}u + ${TY} * ${RM4}u + ${q}u];`);
  for (let i = 0; i < rM; i++) inner.push(`let a${i} = aq${i >> 2}.${'xyzw'[i & 3]};`);
  for (let q = 0; q < RN4; q++) inner.push(`let b${q} = Bs[kk * ${TN4}u + tx * ${RN4}u + ${q}u];`);
  for (let i = 0; i < rM; i++) {
    for (let q = 0; q < RN4; q++) inner.push(`acc[${i * RN4 + q}] = fma(vec4<f32>(a${i}), b${q}, acc[${i * RN4 + q}]);`);
  }

  const { decl, kinds } = bindingsFor(mode, 'array<vec4<f32>>', false);

  return kernel(
    `conv_${mode}_${TM}x${TN}x${BK}`,
    /* wgsl */ `
${WGSL_P}
${decl}
${mode === 'fwd' ? EPILOGUE_WGSL : ''}
${WGSL_WG_LINEAR}
var<workgroup> As: array<vec4<f32>, ${TM4 * BK}>;
var<workgroup> Bs: array<vec4<f32>, ${TN4 * BK}>;
var<workgroup> kt: array<vec4<i32>, ${BK}>;
${WGSL_DIVMOD}
fn ktab(k: u32) -> vec4<i32> {
    ${WGSL_KTAB[mode as 'fwd' | 'dx']}
}
@compute @workgroup_size(${wgN}, ${wgM})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${WGSL_TILE_ORIGIN(TM, TN)}
  let tx = lid.x;
  let ty = lid.y;
  ${columnState(mode, rN)}
  for (var q = li; q < ${BK}u; q += ${threads}u) { kt[q] = ktab(kStart + q); }
  workgroupBarrier();
  var acc: array<vec4<f32>, ${rM * RN4}>;
  for (var k0 = kStart; k0 < kEnd; k0 += ${BK}u) {
    ${loadB}
    ${loadA}
    workgroupBarrier();
    // The next slice's K-table entries (the inner loop below does not read kt).
    for (var q = li; q < ${BK}u; q += ${threads}u) { kt[q] = ktab(k0 + ${BK}u + q); }
    for (var kk = 0u; kk < p.bk; kk++) {
      ${inner.join('\n      ')}
    }
    workgroupBarrier();
  }
  ${storeBlock(mode, rM, rN, TY)}
}`,
    kinds,
  );
});

/*
 * Direct, convd_<mode>_<rM>x<wg·rN>: the same GEMMs as the tiled kernel (see
 * above), one row of wg invocations per workgroup, each accumulating rM rows
 * × rN consecutive columns, walking K one index at a time:
 *   t      = ktg[k] (a K-table entry, see WGSL_KTAB; dw: ktg[output
 *            position] plus the image offsets of the running (img, pos) counter),
 *   v_j    = B[k, column j], gathered from global memory by this invocation,
 *   a_i    = A[m0 + i, k], read at a workgroup-uniform address:
 *            fwd / dx: the weights packed by conv_pack as Ap[grp, k, m]
 *                      (W[grp] resp. W[grp]ᵀ), rM / 4 vec4 loads per k;
 *            dw:       dY[img, grp·Og + m, pos], rM scalar loads;
 *   acc   += a_i · v_j.
 * No workgroup memory, no barriers, no division in the loop. The table is
 * built on the CPU once per geometry (conv.ts). On lavapipe the A loads,
 * although uniform, cost about as much as the gathers (LeNet-5 conv2
 * input-grad: 11 ms; 7.2 without the gathers, 7.4 without the A loads), hence
 * the packed vec4 reads.
 */
export const CONV_DIRECT = kernelFamily((key: string): Kernel => {
  const { mode, wg, rM, rN, inb, rowSums, pool2, win } = JSON.parse(key) as ConvDirectVariant;
  if (rN % 4 || rM < 1) throw new Error(`conv: unsupported direct tile ${key}`);
  const RN4 = rN / 4;
  if (mode !== 'dw' && (rM % 4 || rowSums)) throw new Error(`conv: unsupported direct tile ${key}`);
  if (pool2 && mode !== 'fwd') throw new Error(`conv: unsupported direct tile ${key}`);
  if (win && (!pool2 || rN !== 8 || rM % 4)) throw new Error(`conv: unsupported direct tile ${key}`);
  const { decl, kinds } = bindingsFor(mode, mode === 'dw' ? 'array<f32>' : 'array<vec4<f32>>', true, rowSums, pool2);
  const head =
    mode === 'dw'
      ? `let bp = dm(kStart, p.HoWo); var img = bp.x; var pos = bp.y;
  for (var k = kStart; k < kEnd; k++) {
    let t = ktg[pos] + vec4<i32>(i32(img * p.C * p.HW), 0, 0, i32(img * p.O * p.HoWo));
    pos += 1u; if (pos == p.HoWo) { pos = 0u; img += 1u; }`
      : `for (var k = kStart; k < kEnd; k++) {
    let t = ktg[k];`;
  const inner: string[] = [];
  if (mode === 'dw') {
    // A = dY rows at stride Ho·Wo: rM scalar loads.
    inner.push('let ab = (grp * p.Og + m0) * p.HoWo + u32(t.w);');
    for (let i = 0; i < rM; i++) {
      inner.push(`let okA${i} = m0 + ${i}u < p.M; let a${i} = select(0.0, dy[select(0u, ab + ${i}u * p.HoWo, okA${i})], okA${i});`);
      if (rowSums) inner.push(`rs[${i}] += a${i};`);
    }
  } else {
    // A = the packed weights Ap[grp, k, m] (conv_pack): rM / 4 vec4 loads.
    inner.push('let ab = (grp * p.K + k) * p.Mp4 + m0 / 4u;');
    for (let q = 0; q < rM / 4; q++) {
      inner.push(`let okq${q} = m0 / 4u + ${q}u < p.Mp4; let aq${q} = select(vec4<f32>(0.0), wa[select(0u, ab + ${q}u, okq${q})], okq${q});`);
    }
    for (let i = 0; i < rM; i++) inner.push(`let a${i} = aq${i >> 2}.${'xyzw'[i & 3]};`);
  }
  for (let q = 0; q < RN4; q++) inner.push(`let b${q} = ${bQuad(q)};`);
  for (let i = 0; i < rM; i++) {
    for (let q = 0; q < RN4; q++) inner.push(`acc[${i * RN4 + q}] = fma(vec4<f32>(a${i}), b${q}, acc[${i * RN4 + q}]);`);
  }
  return kernel(
    `convd_${mode}_${rM}x${wg * rN}${rowSums ? '_rowsums' : ''}${pool2 ? '_pool2' : ''}${win ? '_win' : ''}`,
    /* wgsl */ `
${WGSL_P}
${decl}
${mode === 'fwd' ? EPILOGUE_WGSL : ''}
${WGSL_WG_LINEAR}
${WGSL_DIVMOD}
${pool2 ? WGSL_IS_NAN : ''}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  ${WGSL_TILE_ORIGIN(rM, wg * rN)}
  let tx = lid.x;
  ${win ? windowColumnState() : pool2 ? pooledColumnState(rN) : columnState(mode, rN)}
  var acc: array<vec4<f32>, ${rM * RN4}>;
  ${rowSums ? `var rs: array<f32, ${rM}>;` : ''}
  ${
    win
      ? windowLoop(rM)
      : `let kok = true;
  ${head}
    ${gatherB(mode, rN, inb)}
    ${inner.join('\n    ')}
  }`
  }
  ${pool2 ? pooledStore(rM, rN) : storeBlock(mode, rM, rN, '0u')}
  ${
    rowSums
      ? `// The bias gradient's partial sums: dY's rows are the same in every column tile; the first writes them.
  if (n0 == 0u && tx == 0u) {
    for (var i = 0u; i < ${rM}u; i++) { let m = m0 + i; if (m < p.M) { S[split * p.O + grp * p.Og + m] = rs[i]; } }
  }`
      : ''
  }
}`,
    kinds,
  );
});

/**
 * The direct kernel's K table (Int32Array of vec4s), the same formulas as
 * WGSL_KTAB: fwd one per K = Cg·kH·kW index, dx one per K = Og·kH·kW
 * index, dw one per output position Ho·Wo.
 */
export function directTable(mode: ConvMode, g: ConvGeom): Int32Array {
  const Cg = g.C / g.G;
  const Og = g.O / g.G;
  const kHW = g.kH * g.kW;
  if (mode === 'dw') {
    const t = new Int32Array(4 * g.Ho * g.Wo);
    for (let oh = 0, i = 0; oh < g.Ho; oh++) {
      for (let ow = 0; ow < g.Wo; ow++, i++) {
        const ih = oh * g.sH - g.pH;
        const iw = ow * g.sW - g.pW;
        t.set([ih * g.W + iw, ih, iw, i], 4 * i);
      }
    }
    return t;
  }
  const K = (mode === 'fwd' ? Cg : Og) * kHW;
  const t = new Int32Array(4 * K);
  for (let k = 0; k < K; k++) {
    const a = Math.floor(k / kHW);
    const r = k % kHW;
    const kh = Math.floor(r / g.kW) * g.dH;
    const kw = (r % g.kW) * g.dW;
    if (mode === 'fwd') t.set([a * g.H * g.W + kh * g.W + kw, kh, kw, 0], 4 * k);
    else {
      const hq = Math.floor(kh / g.sH);
      const wq = Math.floor(kw / g.sW);
      t.set([a * g.Ho * g.Wo - hq * g.Wo - wq, hq, wq, (kh % g.sH) * g.sW + (kw % g.sW)], 4 * k);
    }
  }
  return t;
}
