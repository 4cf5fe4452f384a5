/**
 * mapN: the one generic elementwise kernel. Evaluates a WGSL expression over
 * up to four broadcast inputs (`a`, `b`, `c`, `d`) and scalars `s.x..s.w`,
 * writing a contiguous output. No autodiff here: elementwise.ts and
 * activations.ts wrap it with gradients, and backward formulas use it to fuse
 * several elementwise steps into one pass.
 */
import type { Engine } from '../core/engine.ts';
import { ShapeError } from '../core/errors.ts';
import { kernel, kernelFamily, MAX_RANK, Params, WGSL_WG_LINEAR } from '../core/kernel.ts';
import { broadcastStrides, sameShape, type Shape } from '../core/shape.ts';
import { type DType, empty, type Tensor } from '../core/tensor.ts';

const NAMES = ['a', 'b', 'c', 'd'] as const;

function wgslType(d: DType): string {
  return d === 'f32' ? 'f32' : d === 'i32' ? 'i32' : 'u32';
}

/*
 * map: out[i] = EXPR(a[ia], b[ib], …) for i < n, out: contiguous [outShape].
 * Contiguous variant: ia = i. Broadcast variant: i is split into coordinates
 * of outShape (p.shape) and each input's offset is Σ coord_d · stride_d with
 * stride 0 on broadcast axes (p.st[2k], p.st[2k+1] hold input k's strides).
 * One invocation per output element; 1-D dispatch, folded.
 */
const MAP = kernelFamily((spec: string) => {
  const [expr, dtypes, outType, contiguous, prelude] = spec.split('\u0001');
  const ins = dtypes ? dtypes.split(',') : [];
  const decl = ins
    .map((t, k) => `@group(0) @binding(${k}) var<storage, read> ${NAMES[k]}_buf: array<${t}>;`)
    .join('\n');
  const loads =
    contiguous === '1'
      ? ins.map((_, k) => `let ${NAMES[k]} = ${NAMES[k]}_buf[i];`).join('\n  ')
      : `var rem = i;
  ${ins.map((_, k) => `var o${k} = 0u;`).join(' ')}
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let du = u32(d);
    let sz = p.shape[du / 4u][du % 4u];
    let coord = rem % sz;
    rem = rem / sz;
    ${ins.map((_, k) => `o${k} += coord * p.st[${2 * k}u + du / 4u][du % 4u];`).join('\n    ')}
  }
  ${ins.map((_, k) => `let ${NAMES[k]} = ${NAMES[k]}_buf[o${k}];`).join('\n  ')}`;
  const n = ins.length;
  return kernel(
    'map',
    /* wgsl */ `
struct P { n: u32, rank: u32, s: vec4<f32>, shape: array<vec4<u32>, 2>, st: array<vec4<u32>, 8> }
${decl}
@group(0) @binding(${n}) var<storage, read_write> out: array<${outType}>;
@group(0) @binding(${n + 1}) var<uniform> p: P;
${WGSL_WG_LINEAR}
${prelude}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = wg_linear(wid, nwg) * 256u + lid;
  if (i >= p.n) { return; }
  let s = p.s;
  ${loads}
  out[i] = ${outType}(${expr});
}`,
    [...ins.map(() => 'read' as const), 'write', 'uniform'],
  );
});

export interface MapOptions {
  /** Scalars visible to the expression as s.x, s.y, s.z, s.w. */
  scalars?: readonly number[];
  /** Output dtype (default f32). */
  dtype?: DType;
  /** Op name for shape errors. */
  op?: string;
  /** WGSL helper functions the expression calls (e.g. erf). */
  prelude?: string;
}

/**
 * out = expr(a, b, c, d) over inputs broadcast to `outShape` (every input
 * must broadcast to it). The expression is WGSL using `a`..`d` (typed by the
 * inputs' dtypes) and `s` (vec4<f32> of scalars); e.g. 'a * b + s.x'.
 */
export function mapN(engine: Engine, expr: string, inputs: readonly Tensor[], outShape: Shape, opt: MapOptions = {}): Tensor {
  if (inputs.length > 4) throw new ShapeError(opt.op ?? 'map', 'at most 4 inputs', inputs.map((t) => t.shape));
  if (outShape.length > MAX_RANK) {
    throw new ShapeError(opt.op ?? 'map', `rank above ${MAX_RANK} is not supported`, [outShape]);
  }
  for (const t of inputs) {
    if (t.rank > outShape.length) throw new ShapeError(opt.op ?? 'map', 'input does not broadcast to output', [t.shape, outShape]);
  }
  const out = empty(engine, outShape, opt.dtype ?? 'f32');
  if (out.size === 0) return out;
  const contiguous = inputs.every((t) => sameShape(t.shape, outShape));
  const spec = [expr, inputs.map((t) => wgslType(t.dtype)).join(','), wgslType(out.dtype), contiguous ? '1' : '0', opt.prelude ?? ''].join('\u0001');
  const params = new Params().u32(out.size).u32(outShape.length).align16();
  const sc = opt.scalars ?? [];
  for (let k = 0; k < 4; k++) params.f32(sc[k] ?? 0);
  params.vec([...outShape], 2);
  for (let k = 0; k < 4; k++) {
    const t = inputs[k];
    params.vec(t ? broadcastStrides(t.shape, outShape) : [], 2);
  }
  engine.run(MAP(spec), [...inputs, out], params, Math.ceil(out.size / 256));
  return out;
}

/*
 * gather / scatter: strided copies used by the shape ops.
 *   gather:  out[i] = x[base + Σ_d coord_d(i, shape) · st_d]   (out contiguous)
 *   scatter: out[base + Σ_d coord_d(i, shape) · st_d] = x[i]   (x contiguous)
 * where coord_d(i, shape) are the row-major coordinates of i in p.shape.
 * Element type is moved as raw u32 bits, so any dtype works.
 * One invocation per element of the contiguous side; 1-D dispatch, folded.
 */
const STRIDED = kernelFamily((mode: 'gather' | 'scatter') =>
  kernel(
    mode,
    /* wgsl */ `
struct P { n: u32, rank: u32, base: u32, shape: array<vec4<u32>, 2>, st: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: P;
${WGSL_WG_LINEAR}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = wg_linear(wid, nwg) * 256u + lid;
  if (i >= p.n) { return; }
  var rem = i;
  var o = p.base;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let du = u32(d);
    let sz = p.shape[du / 4u][du % 4u];
    o += (rem % sz) * p.st[du / 4u][du % 4u];
    rem = rem / sz;
  }
  ${mode === 'gather' ? 'out[i] = x[o];' : 'out[o] = x[i];'}
}`,
    ['read', 'write', 'uniform'],
  ),
);

function stridedParams(n: number, shape: Shape, strides: readonly number[], base: number): Params {
  return new Params().u32(n).u32(shape.length).u32(base).vec([...shape], 2).vec([...strides], 2);
}

/** out[coords] = x[base + Σ coords·strides] for every coordinate of `outShape` (no autodiff). */
export function gatherStrided(x: Tensor, outShape: Shape, strides: readonly number[], base: number): Tensor {
  if (outShape.length > MAX_RANK) throw new ShapeError('gather', `rank above ${MAX_RANK}`, [outShape]);
  const out = empty(x.engine, outShape, x.dtype);
  if (out.size) x.engine.run(STRIDED('gather'), [x, out], stridedParams(out.size, outShape, strides, base), Math.ceil(out.size / 256));
  return out;
}

/** out[base + Σ coords·strides] = x[coords] for every coordinate of x (writes into `out`; no autodiff). */
export function scatterStrided(x: Tensor, out: Tensor, strides: readonly number[], base: number): void {
  if (x.rank > MAX_RANK) throw new ShapeError('scatter', `rank above ${MAX_RANK}`, [x.shape]);
  if (x.size) x.engine.run(STRIDED('scatter'), [x, out], stridedParams(x.size, x.shape, strides, base), Math.ceil(x.size / 256));
}
