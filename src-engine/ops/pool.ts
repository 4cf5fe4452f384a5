/**
 * Pooling over NCHW tensors (PyTorch semantics): max pooling (any kernel,
 * stride, padding; padding counts as −∞; gradient routed to the saved
 * argmax), average pooling (countIncludePad), adaptive average pooling
 * (bins start = ⌊i·H/oh⌋, end = ⌈(i+1)·H/oh⌉) and global average pooling.
 *
 * Forward kernels run one invocation per output element (max pooling: four
 * consecutive outputs when the output size allows); backward kernels one
 * invocation per INPUT element, gathering from the outputs whose windows
 * contain it (no atomics, deterministic), except max pooling with windows
 * that cannot overlap (stride ≥ kernel, the usual 2×2/2): there each output
 * writes its whole window (the gradient at the argmax, zeros elsewhere),
 * ~9× faster on lavapipe for LeNet-5's pools. Regular and adaptive average
 * pooling share one pair of kernels (window rule chosen by a uniform).
 */
import { ShapeError } from '../core/errors.ts';
import { kernel, type Kernel, Params, WGSL_DIVMOD, WGSL_IS_NAN, WGSL_MAIN_1D } from '../core/kernel.ts';
import { record } from '../core/tape.ts';
import { empty, type Tensor, zeros } from '../core/tensor.ts';
import { mean } from './reduce.ts';
import { isReluOutput, markReluMasked } from './relu-mask.ts';

type Pair = number | readonly [number, number];

export interface MaxPool2dOptions {
  kernel: Pair;
  /** Default: the kernel size. */
  stride?: Pair;
  padding?: Pair;
}

export interface AvgPool2dOptions extends MaxPool2dOptions {
  /** Count padded zeros in the divisor (PyTorch's default, true). */
  countIncludePad?: boolean;
}

/**
 * Integer division via dm() of core/kernel.ts (measured equal to plain `/`
 * here on lavapipe; kept since both are exact in this range); dvi takes
 * non-negative i32 operands.
 */
const WGSL_DIV = /* wgsl */ `
${WGSL_DIVMOD}
fn dvi(n: i32, d: i32) -> i32 { return i32(dm(u32(n), u32(d)).x); }
`;

/** Uniforms shared by every pooling kernel (mirrored by poolParams). */
const WGSL_P = /* wgsl */ `
struct P { n: u32, H: u32, W: u32, Ho: u32,
           Wo: u32, kH: i32, kW: i32, sH: i32,
           sW: i32, pH: i32, pW: i32, mode: u32 }`;

/**
 * A pooling kernel: the shared uniforms (P) and dm() / dvi(), the storage
 * bindings `bufs` ([name, WGSL type, access]) numbered in order with p last,
 * optional WGSL helpers, and a main with one invocation per element
 * i < p.n (1-D dispatch, folded) running `body`.
 */
function poolKernel(name: string, bufs: Array<[string, string, 'read' | 'write']>, body: string, helpers = ''): Kernel {
  const decl = bufs.map(([n, t, k], b) => `@group(0) @binding(${b}) var<storage, ${k === 'read' ? 'read' : 'read_write'}> ${n}: ${t};`);
  return kernel(
    name,
    /* wgsl */ `
${WGSL_P}
${WGSL_DIV}
${decl.join('\n')}
@group(0) @binding(${bufs.length}) var<uniform> p: P;
${helpers}
${WGSL_MAIN_1D}
${body}
}`,
    [...bufs.map((b) => b[2]), 'uniform'],
  );
}

/*
 * Window of output (oh, ow) for average pooling: returns (hs, he, ws, we)
 * clipped to the input, and the divisor in `div`.
 *   mode 0: regular, divisor counts the padding;   mode 1: regular, divisor = valid cells;
 *   mode 2: adaptive bins ⌊i·H/Ho⌋ .. ⌈(i+1)·H/Ho⌉.
 */
const WGSL_AVG_WINDOW = /* wgsl */ `
fn avg_window(oh: i32, ow: i32, div: ptr<function, f32>) -> vec4<i32> {
  let H = i32(p.H); let W = i32(p.W);
  if (p.mode == 2u) {
    let Ho = i32(p.Ho); let Wo = i32(p.Wo);
    let hs = dvi(oh * H, Ho); let he = dvi((oh + 1) * H + Ho - 1, Ho);
    let ws = dvi(ow * W, Wo); let we = dvi((ow + 1) * W + Wo - 1, Wo);
    *div = f32((he - hs) * (we - ws));
    return vec4<i32>(hs, he, ws, we);
  }
  var hs = oh * p.sH - p.pH; var he = min(hs + p.kH, H + p.pH);
  var ws = ow * p.sW - p.pW; var we = min(ws + p.kW, W + p.pW);
  let full = f32((he - hs) * (we - ws));
  hs = max(hs, 0); ws = max(ws, 0); he = min(he, H); we = min(we, W);
  *div = select(f32((he - hs) * (we - ws)), full, p.mode == 0u);
  return vec4<i32>(hs, he, ws, we);
}
`;

/*
 * maxpool_fwd: x [planes, H, W] → out [planes, Ho, Wo], idx (i32, same shape) =
 * ih·W + iw of the first maximum in scan order (NaN wins, as in PyTorch);
 * cells in the padding are skipped (−∞). One invocation per output; 1-D, folded.
 */
/**
 * WGSL for the four-outputs-per-invocation kernels (p.n = outputs / 4):
 * the position (plane, oh, ow) of output 4i, then the step to the next
 * output with carries.
 */
const FOUR_FIRST = 'let d0 = dm(4u * i, p.Ho * p.Wo); let d1 = dm(d0.y, p.Wo); var plane = d0.x; var oh = d1.x; var ow = d1.y;';
const FOUR_NEXT = 'ow += 1u; if (ow == p.Wo) { ow = 0u; oh += 1u; if (oh == p.Ho) { oh = 0u; plane += 1u; } }';

/** WGSL: max over the window of output (plane, oh, ow) into `best` / `arg` (see maxpool_fwd). */
const WGSL_MAX_WINDOW = /* wgsl */ `${WGSL_IS_NAN}
fn max_window(plane: u32, oh: u32, ow: u32, best: ptr<function, f32>, arg: ptr<function, i32>) {
  let hs = i32(oh) * p.sH - p.pH;
  let ws = i32(ow) * p.sW - p.pW;
  let H = i32(p.H); let W = i32(p.W);
  let base = plane * p.H * p.W;
  // -inf from a runtime value: Dawn rejects a constant expression that evaluates to -inf.
  let neg_inf_bits = 0xff800000u;
  *best = bitcast<f32>(neg_inf_bits);
  *arg = -1;
  for (var ih = max(hs, 0); ih < min(hs + p.kH, H); ih++) {
    for (var iw = max(ws, 0); iw < min(ws + p.kW, W); iw++) {
      let j = ih * W + iw;
      let v = x[base + u32(j)];
      if (*arg < 0 || v > *best || is_nan(v)) { *best = v; *arg = j; }
    }
  }
  // mode 1: x is a ReLU output (relu-mask.ts): no argmax unless the max is positive.
  if (p.mode == 1u && !(*best > 0.0)) { *arg = -1; }
}
`;

const MAXPOOL_FWD = poolKernel(
  'maxpool_fwd',
  [['x', 'array<f32>', 'read'], ['out', 'array<f32>', 'write'], ['idx', 'array<i32>', 'write']],
  /* wgsl */ `
  let d0 = dm(i, p.Ho * p.Wo);
  let d1 = dm(d0.y, p.Wo);
  var best: f32; var arg: i32;
  max_window(d0.x, d1.x, d1.y, &best, &arg);
  out[i] = best;
  idx[i] = arg;`,
  WGSL_MAX_WINDOW,
);

/*
 * maxpool_fwd4: maxpool_fwd for four consecutive outputs per invocation
 * (outputs 4i … 4i + 3, position stepped with carries; p.n = outputs / 4),
 * stored as one vec4 each: the per-invocation set-up is shared by four.
 */
const MAXPOOL_FWD4 = poolKernel(
  'maxpool_fwd4',
  [['x', 'array<f32>', 'read'], ['out', 'array<vec4<f32>>', 'write'], ['idx', 'array<vec4<i32>>', 'write']],
  /* wgsl */ `
  ${FOUR_FIRST}
  var o4: vec4<f32>; var a4: vec4<i32>;
  for (var c = 0u; c < 4u; c++) {
    var best: f32; var arg: i32;
    max_window(plane, oh, ow, &best, &arg);
    o4[c] = best; a4[c] = arg;
    ${FOUR_NEXT}
  }
  out[i] = o4;
  idx[i] = a4;`,
  WGSL_MAX_WINDOW,
);

/*
 * maxpool_bwd: dx [planes, H, W] from gy, idx [planes, Ho, Wo]: invocation per
 * input cell (ih, iw) sums gy over the outputs whose window contains it and
 * whose argmax is this cell. One invocation per input; 1-D, folded.
 */
const MAXPOOL_BWD = poolKernel(
  'maxpool_bwd',
  [['gy', 'array<f32>', 'read'], ['idx', 'array<i32>', 'read'], ['dx', 'array<f32>', 'write']],
  /* wgsl */ `
  let HW = p.H * p.W;
  let d0 = dm(i, HW);
  let plane = d0.x;
  let j = i32(d0.y);
  let d1 = dm(d0.y, p.W);
  let ih = i32(d1.x);
  let iw = i32(d1.y);
  // Outputs o with o·s − p ≤ i ≤ o·s − p + k − 1.
  let nh = ih + p.pH - p.kH + 1;
  let nw = iw + p.pW - p.kW + 1;
  let oh0 = select(0, dvi(max(nh, 0) + p.sH - 1, p.sH), nh > 0);
  let ow0 = select(0, dvi(max(nw, 0) + p.sW - 1, p.sW), nw > 0);
  let oh1 = min(dvi(ih + p.pH, p.sH), i32(p.Ho) - 1);
  let ow1 = min(dvi(iw + p.pW, p.sW), i32(p.Wo) - 1);
  let base = plane * p.Ho * p.Wo;
  var acc = 0.0;
  for (var oh = oh0; oh <= oh1; oh++) {
    for (var ow = ow0; ow <= ow1; ow++) {
      let o = base + u32(oh) * p.Wo + u32(ow);
      if (idx[o] == j) { acc += gy[o]; }
    }
  }
  dx[i] = acc;`,
);

/*
 * maxpool_bwd_scatter, for windows that do not overlap (sH ≥ kH, sW ≥ kW):
 * invocation per OUTPUT o writes every input cell of its window (clipped to
 * the input): gy[o] at the argmax idx[o], 0 elsewhere. Each input cell is in
 * at most one window, so there are no races; cells in no window (stride >
 * kernel, or a floor remainder) must be zeroed beforehand. 1-D, folded.
 */
/** WGSL: writes the window of output (plane, oh, ow): g at its argmax j, 0 elsewhere (see maxpool_bwd_scatter). */
const WGSL_SCATTER_WINDOW = /* wgsl */ `
fn scatter_window(plane: u32, oh: u32, ow: u32, j: i32, g: f32) {
  let hs = i32(oh) * p.sH - p.pH;
  let ws = i32(ow) * p.sW - p.pW;
  let W = i32(p.W);
  let base = plane * p.H * p.W;
  for (var kh = 0; kh < p.kH; kh++) {
    for (var kw = 0; kw < p.kW; kw++) {
      let ih = hs + kh; let iw = ws + kw;
      if (u32(ih) < p.H && u32(iw) < p.W) {
        let c = ih * W + iw;
        dx[base + u32(c)] = select(0.0, g, c == j);
      }
    }
  }
}
`;

const MAXPOOL_BWD_SCATTER = poolKernel(
  'maxpool_bwd_scatter',
  [['gy', 'array<f32>', 'read'], ['idx', 'array<i32>', 'read'], ['dx', 'array<f32>', 'write']],
  /* wgsl */ `
  let d0 = dm(i, p.Ho * p.Wo);
  let d1 = dm(d0.y, p.Wo);
  scatter_window(d0.x, d1.x, d1.y, idx[i], gy[i]);`,
  WGSL_SCATTER_WINDOW,
);

/** maxpool_bwd_scatter for four consecutive outputs per invocation (p.n = outputs / 4; gy, idx read as vec4). */
const MAXPOOL_BWD_SCATTER4 = poolKernel(
  'maxpool_bwd_scatter4',
  [['gy', 'array<vec4<f32>>', 'read'], ['idx', 'array<vec4<i32>>', 'read'], ['dx', 'array<f32>', 'write']],
  /* wgsl */ `
  ${FOUR_FIRST}
  let g4 = gy[i]; let j4 = idx[i];
  for (var c = 0u; c < 4u; c++) {
    scatter_window(plane, oh, ow, j4[c], g4[c]);
    ${FOUR_NEXT}
  }`,
  WGSL_SCATTER_WINDOW,
);

/*
 * maxpool2_fwd4 / maxpool2_bwd4: the 2×2, stride 2, unpadded max pool with
 * W even (LeNet-5's and most CNNs' pools), four consecutive outputs per
 * invocation like the *4 kernels above, each window read (resp. written) as
 * two vec2s of its two rows, unrolled: no window loops and no bounds checks
 * (every window lies inside the input). Same results as maxpool_fwd /
 * maxpool_bwd_scatter: scan order (0,0) (0,1) (1,0) (1,1), NaN wins, mode 1
 * drops the argmax of non-positive maxima.
 */
const WGSL_MAX2 = /* wgsl */ `${WGSL_IS_NAN}
fn take(v: f32, j: i32, best: ptr<function, f32>, arg: ptr<function, i32>) {
  if (v > *best || is_nan(v)) { *best = v; *arg = j; }
}
`;

const MAXPOOL2_FWD4 = poolKernel(
  'maxpool2_fwd4',
  [['x', 'array<vec2<f32>>', 'read'], ['out', 'array<vec4<f32>>', 'write'], ['idx', 'array<vec4<i32>>', 'write']],
  /* wgsl */ `
  ${FOUR_FIRST}
  let Wh = p.W / 2u;
  var o4: vec4<f32>; var a4: vec4<i32>;
  for (var c = 0u; c < 4u; c++) {
    let r = (plane * p.H + 2u * oh) * Wh + ow;
    let t = x[r]; let b = x[r + Wh];
    let j = i32(2u * (oh * p.W + ow));
    var best = t.x; var arg = j;
    take(t.y, j + 1, &best, &arg);
    take(b.x, j + i32(p.W), &best, &arg);
    take(b.y, j + i32(p.W) + 1, &best, &arg);
    if (p.mode == 1u && !(best > 0.0)) { arg = -1; }
    o4[c] = best; a4[c] = arg;
    ${FOUR_NEXT}
  }
  out[i] = o4;
  idx[i] = a4;`,
  WGSL_MAX2,
);

const MAXPOOL2_BWD4 = poolKernel(
  'maxpool2_bwd4',
  [['gy', 'array<vec4<f32>>', 'read'], ['idx', 'array<vec4<i32>>', 'read'], ['dx', 'array<vec2<f32>>', 'write']],
  /* wgsl */ `
  ${FOUR_FIRST}
  let Wh = p.W / 2u;
  let g4 = gy[i]; let j4 = idx[i];
  for (var c = 0u; c < 4u; c++) {
    let r = (plane * p.H + 2u * oh) * Wh + ow;
    let j = i32(2u * (oh * p.W + ow));
    let g = g4[c]; let a = j4[c];
    dx[r] = vec2<f32>(select(0.0, g, a == j), select(0.0, g, a == j + 1));
    dx[r + Wh] = vec2<f32>(select(0.0, g, a == j + i32(p.W)), select(0.0, g, a == j + i32(p.W) + 1));
    ${FOUR_NEXT}
  }`,
);

/*
 * avgpool_fwd: out [planes, Ho, Wo] = mean of x [planes, H, W] over
 * avg_window (regular or adaptive, see above). One invocation per output.
 */
const AVGPOOL_FWD = poolKernel(
  'avgpool_fwd',
  [['x', 'array<f32>', 'read'], ['out', 'array<f32>', 'write']],
  /* wgsl */ `
  let HoWo = p.Ho * p.Wo;
  let d0 = dm(i, HoWo);
  let plane = d0.x;
  let d1 = dm(d0.y, p.Wo);
  var div = 1.0;
  let win = avg_window(i32(d1.x), i32(d1.y), &div);
  let base = plane * p.H * p.W;
  var acc = 0.0;
  for (var ih = win.x; ih < win.y; ih++) {
    for (var iw = win.z; iw < win.w; iw++) { acc += x[base + u32(ih) * p.W + u32(iw)]; }
  }
  out[i] = acc / div;`,
  WGSL_AVG_WINDOW,
);

/*
 * avgpool_bwd: dx [planes, H, W] = Σ gy[o] / div(o) over the outputs o whose
 * window contains the input cell. Candidate ranges are a superset (regular:
 * o·s − p ≤ i < o·s − p + k; adaptive: ⌊i·Ho/H⌋ .. ⌈(i+1)·Ho/H⌉ − 1), each
 * candidate is checked against avg_window. One invocation per input.
 */
const AVGPOOL_BWD = poolKernel(
  'avgpool_bwd',
  [['gy', 'array<f32>', 'read'], ['dx', 'array<f32>', 'write']],
  /* wgsl */ `
  let HW = p.H * p.W;
  let d0 = dm(i, HW);
  let plane = d0.x;
  let j = i32(d0.y);
  let d1 = dm(d0.y, p.W);
  let ih = i32(d1.x);
  let iw = i32(d1.y);
  let H = i32(p.H); let W = i32(p.W); let Ho = i32(p.Ho); let Wo = i32(p.Wo);
  var oh0: i32; var oh1: i32; var ow0: i32; var ow1: i32;
  if (p.mode == 2u) {
    oh0 = dvi(ih * Ho, H); oh1 = dvi((ih + 1) * Ho + H - 1, H) - 1;
    ow0 = dvi(iw * Wo, W); ow1 = dvi((iw + 1) * Wo + W - 1, W) - 1;
  } else {
    let nh = ih + p.pH - p.kH + 1;
    let nw = iw + p.pW - p.kW + 1;
    oh0 = select(0, dvi(max(nh, 0) + p.sH - 1, p.sH), nh > 0);
    ow0 = select(0, dvi(max(nw, 0) + p.sW - 1, p.sW), nw > 0);
    oh1 = dvi(ih + p.pH, p.sH);
    ow1 = dvi(iw + p.pW, p.sW);
  }
  oh1 = min(oh1, Ho - 1);
  ow1 = min(ow1, Wo - 1);
  let base = plane * p.Ho * p.Wo;
  var acc = 0.0;
  for (var oh = oh0; oh <= oh1; oh++) {
    for (var ow = ow0; ow <= ow1; ow++) {
      var div = 1.0;
      let win = avg_window(oh, ow, &div);
      if (ih >= win.x && ih < win.y && iw >= win.z && iw < win.w) {
        acc += gy[base + u32(oh) * p.Wo + u32(ow)] / div;
      }
    }
  }
  dx[i] = acc;`,
  WGSL_AVG_WINDOW,
);

interface PoolGeom {
  planes: number;
  H: number;
  W: number;
  Ho: number;
  Wo: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  pH: number;
  pW: number;
  /** 0 avg counting padding (and max), 1 avg over valid cells (max: over a ReLU output), 2 adaptive. */
  mode: number;
}

function poolParams(n: number, g: PoolGeom): Params {
  return new Params()
    .u32(n).u32(g.H).u32(g.W).u32(g.Ho)
    .u32(g.Wo).i32(g.kH).i32(g.kW).i32(g.sH)
    .i32(g.sW).i32(g.pH).i32(g.pW).u32(g.mode);
}

function pair(op: string, name: string, v: Pair | undefined, dflt: [number, number], min: number, shape: readonly number[]): [number, number] {
  const p: [number, number] = v === undefined ? dflt : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new ShapeError(op, `${name} must be an integer ≥ ${min} (or a pair of them), got ${JSON.stringify(v)}`, [shape]);
  }
  return p;
}

/** Validates x and the window options; output size as PyTorch (floor mode). */
function windowGeom(op: string, x: Tensor, opt: MaxPool2dOptions, mode: number): PoolGeom {
  if (x.rank !== 4 || x.dtype !== 'f32') throw new ShapeError(op, 'expects a float32 [N, C, H, W] tensor', [x.shape]);
  const [N, C, H, W] = x.shape;
  const [kH, kW] = pair(op, 'kernel', opt.kernel, [1, 1], 1, x.shape);
  const [sH, sW] = pair(op, 'stride', opt.stride, [kH, kW], 1, x.shape);
  const [pH, pW] = pair(op, 'padding', opt.padding, [0, 0], 0, x.shape);
  if (2 * pH > kH || 2 * pW > kW) {
    throw new ShapeError(op, `padding (${pH}, ${pW}) must be at most half the kernel (${kH}, ${kW})`, [x.shape]);
  }
  const Ho = Math.floor((H + 2 * pH - kH) / sH) + 1;
  const Wo = Math.floor((W + 2 * pW - kW) / sW) + 1;
  if (Ho < 1 || Wo < 1) throw new ShapeError(op, `kernel ${kH}×${kW} does not fit the padded input ${H + 2 * pH}×${W + 2 * pW}`, [x.shape]);
  return { planes: N * C, H, W, Ho, Wo, kH, kW, sH, sW, pH, pW, mode };
}

/**
 * Max pooling: x [N, C, H, W] → [N, C, Ho, Wo], Ho = ⌊(H + 2p − k)/s⌋ + 1.
 * The argmax (i32, ih·W + iw per output) is kept with the output for backward.
 */
export function maxPool2d(x: Tensor, opt: MaxPool2dOptions): Tensor {
  // Over a ReLU output, windows whose max is not positive route no gradient
  // (the ReLU would zero it): the gradient then carries the ReLU's mask.
  const reluIn = isReluOutput(x);
  const g = windowGeom('maxPool2d', x, opt, reluIn ? 1 : 0);
  const engine = x.engine;
  const outShape = [x.shape[0], x.shape[1], g.Ho, g.Wo];
  const out = empty(engine, outShape); // [N, C, Ho, Wo]
  const idx = empty(engine, outShape, 'i32'); // [N, C, Ho, Wo] argmax within the plane
  // The common 2×2/2 pool: unrolled vec2 kernels (see maxpool2_fwd4).
  const two = unrolled2x2(g, out.size);
  if (out.size % 4 === 0) {
    if (out.size > 0) engine.run(two ? MAXPOOL2_FWD4 : MAXPOOL_FWD4, [x, out, idx], poolParams(out.size / 4, g), Math.ceil(out.size / 4 / 256));
  } else {
    engine.run(MAXPOOL_FWD, [x, out, idx], poolParams(out.size, g), Math.ceil(out.size / 256));
  }
  const res = record('maxPool2d', [x], out, (gy) => {
    const dx = maxPoolGrad(gy, idx, x.shape, g); // [N, C, H, W]
    if (reluIn) markReluMasked(dx, x);
    return [dx];
  });
  if (res.node) res.own(idx);
  else idx.dispose();
  return res;
}

/** Whether the unrolled 2×2/2 kernels (maxpool2_fwd4 / maxpool2_bwd4) apply to `outputs` outputs of geometry g. */
function unrolled2x2(g: PoolGeom, outputs: number): boolean {
  return outputs % 4 === 0 && g.kH === 2 && g.kW === 2 && g.sH === 2 && g.sW === 2 && g.pH === 0 && g.pW === 0 && g.W % 2 === 0;
}

/** The input-gradient of a max-pool from its output gradient and argmax (no autodiff). */
function maxPoolGrad(gy: Tensor, idx: Tensor, xShape: readonly number[], g: PoolGeom): Tensor {
  const engine = gy.engine;
  const disjoint = g.sH >= g.kH && g.sW >= g.kW;
  if (!disjoint) {
    const dx = empty(engine, xShape); // [N, C, H, W]
    if (dx.size > 0) engine.run(MAXPOOL_BWD, [gy, idx, dx], poolParams(dx.size, g), Math.ceil(dx.size / 256));
    return dx;
  }
  // Every input cell lies in exactly one window: stride = kernel and the windows reach the end.
  const covering = g.sH === g.kH && g.sW === g.kW && g.Ho * g.sH - g.pH >= g.H && g.Wo * g.sW - g.pW >= g.W;
  const dx = covering ? empty(engine, xShape) : zeros(engine, xShape); // [N, C, H, W]
  const n = gy.size;
  const two = unrolled2x2(g, n);
  if (n % 4 === 0) {
    if (n > 0) engine.run(two ? MAXPOOL2_BWD4 : MAXPOOL_BWD_SCATTER4, [gy, idx, dx], poolParams(n / 4, g), Math.ceil(n / 4 / 256));
  } else {
    engine.run(MAXPOOL_BWD_SCATTER, [gy, idx, dx], poolParams(n, g), Math.ceil(n / 256));
  }
  return dx;
}

/**
 * The input-gradient of a 2×2, stride-2, unpadded max-pool over [N, C, H, W]
 * from the gradient of its [N, C, ⌊H/2⌋, ⌊W/2⌋] output and the argmax (ih·W + iw,
 * −1 for none), as maxPool2d's backward (conv-pool.ts uses it).
 */
export function maxPool2Grad(gy: Tensor, idx: Tensor, xShape: readonly number[]): Tensor {
  const [, , H, W] = xShape;
  const Ho = Math.floor(H / 2);
  const Wo = Math.floor(W / 2);
  return maxPoolGrad(gy, idx, xShape, { planes: xShape[0] * xShape[1], H, W, Ho, Wo, kH: 2, kW: 2, sH: 2, sW: 2, pH: 0, pW: 0, mode: 1 });
}

function avgPool(op: string, x: Tensor, g: PoolGeom): Tensor {
  const engine = x.engine;
  const out = empty(engine, [x.shape[0], x.shape[1], g.Ho, g.Wo]); // [N, C, Ho, Wo]
  if (out.size > 0) engine.run(AVGPOOL_FWD, [x, out], poolParams(out.size, g), Math.ceil(out.size / 256));
  return record(op, [x], out, (gy) => {
    const dx = empty(engine, x.shape); // [N, C, H, W]
    if (dx.size > 0) engine.run(AVGPOOL_BWD, [gy, dx], poolParams(dx.size, g), Math.ceil(dx.size / 256));
    return [dx];
  });
}

/** Average pooling (countIncludePad default true, as PyTorch). */
export function avgPool2d(x: Tensor, opt: AvgPool2dOptions): Tensor {
  return avgPool('avgPool2d', x, windowGeom('avgPool2d', x, opt, opt.countIncludePad === false ? 1 : 0));
}

/**
 * Adaptive average pooling to [oh, ow] with PyTorch's bins: output i covers
 * ⌊i·H/oh⌋ ≤ h < ⌈(i+1)·H/oh⌉ (bins overlap when oh does not divide H).
 */
export function adaptiveAvgPool2d(x: Tensor, outSize: number | readonly [number, number]): Tensor {
  const op = 'adaptiveAvgPool2d';
  if (x.rank !== 4 || x.dtype !== 'f32') throw new ShapeError(op, 'expects a float32 [N, C, H, W] tensor', [x.shape]);
  const [Ho, Wo] = pair(op, 'output size', outSize, [1, 1], 1, x.shape);
  const [N, C, H, W] = x.shape;
  if (H < 1 || W < 1) throw new ShapeError(op, 'input plane is empty', [x.shape]);
  return avgPool(op, x, { planes: N * C, H, W, Ho, Wo, kH: 1, kW: 1, sH: 1, sW: 1, pH: 0, pW: 0, mode: 2 });
}

/** Mean over H and W: [N, C, H, W] → [N, C, 1, 1]. */
export function globalAvgPool2d(x: Tensor): Tensor {
  if (x.rank !== 4 || x.dtype !== 'f32') throw new ShapeError('globalAvgPool2d', 'expects a float32 [N, C, H, W] tensor', [x.shape]);
  return mean(x, [2, 3], true); // [N, C, 1, 1]
}
