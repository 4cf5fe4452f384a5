/**
 * mapN: the one generic elementwise kernel. Evaluates a WGSL expression over
 * up to four broadcast inputs (`a`, `b`, `c`, `d`) and scalars `s.x..s.w`,
 * writing a contiguous output. No autodiff here: elementwise.ts and
 * activations.ts wrap it with gradients, and backward formulas use it to fuse
 * several elementwise steps into one pass.
 */
import type { Engine } from '../core/engine.ts';
import { ShapeError } from '../core/errors.ts';
import { kernel, kernelFamily, MAX_RANK, Params, WGSL_MAIN_1D } from '../core/kernel.ts';
import { broadcastStrides, sameShape, type Shape } from '../core/shape.ts';
import { type DType, empty, type Tensor } from '../core/tensor.ts';

const NAMES = ['a', 'b', 'c', 'd'] as const;


function wgslType(d: DType): string {
  return d === 'f32' ? 'f32' : d === 'i32' ? 'i32' : 'u32';
}

/*
 * map: out[i] = EXPR(a[ia], b[ib], …) for i < n, out: contiguous [outShape].
 * Each input is read one of three ways (spec `kinds`, one letter each):
 *   c  same shape as the output:   ia = i;
 *   u  a single element:           ia = 0 (a workgroup-uniform load);
 *   b  broadcast:                  ia = Σ_j coord_j · stride_j over the
 *      output's dimensions after merging those no input tells apart
 *      (mapN: [N, C, H, W] + bias [1, C, 1, 1] is split as [N, C, H·W]).
 * The split of i into coordinates is unrolled over that (small) rank R,
 * innermost first (p.shape / p.st hold dimensions innermost first), with
 * plain `/` and `%` (dm() of core/kernel.ts measured slower here on
 * lavapipe: a permute of 614,400 elements 11.1 vs 8.3 ms). One invocation
 * per output element; 1-D dispatch, folded.
 * map_v4 (no broadcast input, size a multiple of 4): one invocation per four
 * consecutive outputs, `c` inputs and the output bound as vec4 arrays (a
 * relu gradient over 301,056 elements: 2.9 → 1.75 ms on lavapipe).
 */
const MAP = kernelFamily((spec: string) => {
  const [expr, dtypes, outType, kinds, rankStr, width, prelude] = spec.split('\u0001');
  const ins = dtypes ? dtypes.split(',') : [];
  const R = Number(rankStr);
  const bIns = ins.map((_, k) => k).filter((k) => kinds[k] === 'b');
  const split: string[] = [];
  if (bIns.length) {
    split.push('var rem = i;', ...bIns.map((k) => `var o${k} = 0u;`));
    for (let j = 0; j < R; j++) {
      const sz = `p.shape[${j >> 2}][${j & 3}]`;
      if (j === R - 1) split.push('let c' + j + ' = rem;');
      else split.push(`let c${j} = rem % ${sz}; rem = rem / ${sz};`);
      for (const k of bIns) split.push(`o${k} += c${j} * p.st[${2 * k + (j >> 2)}][${j & 3}];`);
    }
  }
  const n = ins.length;
  const vec = width === 'v4';
  const decl = ins
    .map((t, k) => `@group(0) @binding(${k}) var<storage, read> ${NAMES[k]}_buf: array<${vec && kinds[k] === 'c' ? `vec4<${t}>` : t}>;`)
    .join('\n');
  let body: string;
  if (vec) {
    // Four consecutive outputs per invocation (vec4 loads and store): the
    // per-invocation overhead (index, bounds check) is shared by four.
    const lanes = [0, 1, 2, 3].map((c) => {
      const ld = ins.map((_, k) => `let ${NAMES[k]} = ${kinds[k] === 'c' ? `${NAMES[k]}4[${c}]` : `${NAMES[k]}_buf[0]`};`).join(' ');
      return `{ ${ld} r[${c}] = ${outType}(${expr}); }`;
    });
    body = [
      ...ins.map((_, k) => (kinds[k] === 'c' ? `let ${NAMES[k]}4 = ${NAMES[k]}_buf[i];` : '')),
      `var r: vec4<${outType}>;`,
      ...lanes,
      'out[i] = r;',
    ].join('\n  ');
  } else {
    const loads = ins.map((_, k) => `let ${NAMES[k]} = ${NAMES[k]}_buf[${kinds[k] === 'c' ? 'i' : kinds[k] === 'u' ? '0' : 'o' + k}];`);
    body = [...split, ...loads, `out[i] = ${outType}(${expr});`].join('\n  ');
  }
  return kernel(
    vec ? 'map_v4' : 'map',
    /* wgsl */ `
struct P { n: u32, rank: u32, s: vec4<f32>, shape: array<vec4<u32>, 2>, st: array<vec4<u32>, 8> }
${decl}
@group(0) @binding(${n}) var<storage, read_write> out: array<${vec ? `vec4<${outType}>` : outType}>;
@group(0) @binding(${n + 1}) var<uniform> p: P;
${prelude}
${WGSL_MAIN_1D}
  let s = p.s;
  ${body}
}`,
    [...ins.map(() => 'read' as const), 'write', 'uniform'],
  );
});

/**
 * The output's dimensions with each input's broadcast strides, merging
 * neighbours that every input walks alike (stride[d] = stride[d+1]·size[d+1]
 * for all, zero strides included), dropping size-1 dimensions; innermost
 * first, as the map kernel reads them.
 */
function mergedDims(outShape: Shape, strides: number[][]): { shape: number[]; strides: number[][] } {
  const shape: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = outShape.length - 1; d >= 0; d--) {
    const size = outShape[d];
    if (size === 1) continue;
    const j = shape.length - 1;
    if (j >= 0 && strides.every((s, k) => s[d] === st[k][j] * shape[j])) {
      shape[j] *= size;
      continue;
    }
    shape.push(size);
    strides.forEach((s, k) => st[k].push(s[d]));
  }
  return { shape, strides: st };
}

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
  const kinds = inputs.map((t) => (sameShape(t.shape, outShape) ? 'c' : t.size === 1 ? 'u' : 'b')).join('');
  const broadcast = inputs.map((t, k) => (kinds[k] === 'b' ? broadcastStrides(t.shape, outShape) : outShape.map(() => 0)));
  const m = kinds.includes('b') ? mergedDims(outShape, broadcast) : { shape: [], strides: broadcast.map(() => []) };
  // No broadcast input and whole vec4s: four outputs per invocation.
  const v4 = !kinds.includes('b') && out.size % 4 === 0;
  const spec = [expr, inputs.map((t) => wgslType(t.dtype)).join(','), wgslType(out.dtype), kinds, String(m.shape.length), v4 ? 'v4' : '', opt.prelude ?? ''].join('\u0001');
  const params = new Params().u32(v4 ? out.size / 4 : out.size).u32(m.shape.length).align16();
  const sc = opt.scalars ?? [];
  for (let k = 0; k < 4; k++) params.f32(sc[k] ?? 0);
  params.vec(m.shape, 2);
  for (let k = 0; k < 4; k++) params.vec(m.strides[k] ?? [], 2);
  engine.run(MAP(spec), [...inputs, out], params, Math.ceil((v4 ? out.size / 4 : out.size) / 256));
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
const STRIDED = kernelFamily((spec: string) => {
  const [mode, rankStr] = spec.split(':') as ['gather' | 'scatter', string];
  const R = Number(rankStr);
  // The coordinate split, unrolled over the merged rank, innermost dimension first (as in map).
  const split: string[] = ['var rem = i;', 'var o = p.base;'];
  for (let j = 0; j < R; j++) {
    const sz = `p.shape[${j >> 2}][${j & 3}]`;
    const st = `p.st[${j >> 2}][${j & 3}]`;
    if (j === R - 1) split.push(`o += rem * ${st};`);
    else split.push(`o += (rem % ${sz}) * ${st}; rem = rem / ${sz};`);
  }
  return kernel(
    mode,
    /* wgsl */ `
struct P { n: u32, rank: u32, base: u32, shape: array<vec4<u32>, 2>, st: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: P;
${WGSL_MAIN_1D}
  ${split.join('\n  ')}
  ${mode === 'gather' ? 'out[i] = x[o];' : 'out[o] = x[i];'}
}`,
    ['read', 'write', 'uniform'],
  );
});

/**
 * Records a strided copy over the coordinates of `shape` (merged where the
 * strides allow, so e.g. a head split [B, T, H, D] → [B, H, T, D] walks 3
 * dimensions, not 4).
 */
function runStrided(mode: 'gather' | 'scatter', x: Tensor, out: Tensor, n: number, shape: Shape, strides: readonly number[], base: number): void {
  const m = mergedDims(shape, [[...strides]]);
  const params = new Params().u32(n).u32(m.shape.length).u32(base).vec(m.shape, 2).vec(m.strides[0], 2);
  x.engine.run(STRIDED(`${mode}:${m.shape.length}`), [x, out], params, Math.ceil(n / 256));
}

/** out[coords] = x[base + Σ coords·strides] for every coordinate of `outShape` (no autodiff). */
export function gatherStrided(x: Tensor, outShape: Shape, strides: readonly number[], base: number): Tensor {
  if (outShape.length > MAX_RANK) throw new ShapeError('gather', `rank above ${MAX_RANK}`, [outShape]);
  const out = empty(x.engine, outShape, x.dtype);
  if (out.size) runStrided('gather', x, out, out.size, outShape, strides, base);
  return out;
}

/** out[base + Σ coords·strides] = x[coords] for every coordinate of x (writes into `out`; no autodiff). */
export function scatterStrided(x: Tensor, out: Tensor, strides: readonly number[], base: number): void {
  if (x.rank > MAX_RANK) throw new ShapeError('scatter', `rank above ${MAX_RANK}`, [x.shape]);
  if (x.size) runStrided('scatter', x, out, x.size, x.shape, strides, base);
}
