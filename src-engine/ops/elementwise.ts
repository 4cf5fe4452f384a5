/**
 * Elementwise ops with NumPy broadcasting: add, sub, mul, div, pow, maximum,
 * minimum, comparisons, where; unary neg, exp, log, sqrt, abs, square, clamp,
 * pow-by-scalar; scalar variants; cast.
 *
 * All run on the generic broadcasting kernel of ops/map.ts with a WGSL
 * expression. Gradient rules (one place, tinygrad-style), each followed by a
 * sum over the axes an input was broadcast along (sumToShape):
 *   add: g, g          sub: g, −g          mul: g·b, g·a
 *   div: g/b, −g·a/b²  pow: g·b·a^(b−1), g·aᵇ·ln a
 *   maximum/minimum: g to the larger/smaller, split ½–½ on ties
 *   where: g where cond, g where ¬cond
 *   unary: g · f′ (see UNARY below)
 */
import { ShapeError } from '../core/errors.ts';
import { broadcastShapes } from '../core/shape.ts';
import { record } from '../core/tape.ts';
import type { DType, Tensor } from '../core/tensor.ts';
import { mapN } from './map.ts';
import { sumToShape } from './reduce.ts';

// ------------------------------------------------------------------ binary

type Operand = Tensor | number;

function checkFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) if (t.dtype !== 'f32') throw new ShapeError(op, `needs float32 tensors, got ${t.dtype}`, ts.map((x) => x.shape));
}

/** Sums a freshly made gradient to `shape`, disposing the unreduced one. */
function reduceGrad(t: Tensor, shape: readonly number[]): Tensor {
  const r = sumToShape(t, shape);
  if (r !== t) t.dispose();
  return r;
}

function binary(
  op: string,
  expr: string,
  a: Tensor,
  b: Tensor,
  grads: ((g: Tensor, shape: readonly number[]) => [Tensor | null, Tensor | null]) | null,
): Tensor {
  checkFloat(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = mapN(a.engine, expr, [a, b], shape, { op }); // [broadcast(a, b)]
  if (!grads) return out;
  return record(op, [a, b], out, (g) => grads(g, shape));
}

function lift(x: Tensor, v: Operand): Tensor | null {
  return typeof v === 'number' ? null : v;
}

export function add(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') return addScalar(a, b);
  return binary('add', 'a + b', a, b, (g) => [
    a.requiresGrad ? sumToShape(g, a.shape) : null,
    b.requiresGrad ? sumToShape(g, b.shape) : null,
  ]);
}

export function sub(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') return addScalar(a, -b);
  return binary('sub', 'a - b', a, b, (g) => [
    a.requiresGrad ? sumToShape(g, a.shape) : null,
    b.requiresGrad ? reduceGrad(mapN(g.engine, '-a', [g], g.shape), b.shape) : null,
  ]);
}

export function mul(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') return mulScalar(a, b);
  return binary('mul', 'a * b', a, b, (g, s) => [
    a.requiresGrad ? reduceGrad(mapN(g.engine, 'a * b', [g, b], s), a.shape) : null,
    b.requiresGrad ? reduceGrad(mapN(g.engine, 'a * b', [g, a], s), b.shape) : null,
  ]);
}

export function div(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') return mulScalar(a, 1 / b);
  return binary('div', 'a / b', a, b, (g, s) => [
    a.requiresGrad ? reduceGrad(mapN(g.engine, 'a / b', [g, b], s), a.shape) : null,
    b.requiresGrad ? reduceGrad(mapN(g.engine, '-a * b / (c * c)', [g, a, b], s), b.shape) : null,
  ]);
}

/** aᵇ elementwise (a > 0 for tensor exponents; use powScalar for integer powers of negatives). */
export function pow(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') return powScalar(a, b);
  return binary('pow', 'pow(a, b)', a, b, (g, s) => [
    a.requiresGrad ? reduceGrad(mapN(g.engine, 'a * c * pow(b, c - 1.0)', [g, a, b], s), a.shape) : null,
    b.requiresGrad ? reduceGrad(mapN(g.engine, 'a * pow(b, c) * log(b)', [g, a, b], s), b.shape) : null,
  ]);
}

export function maximum(a: Tensor, b: Operand): Tensor {
  return extremum('maximum', '>', a, b);
}

export function minimum(a: Tensor, b: Operand): Tensor {
  return extremum('minimum', '<', a, b);
}

function extremum(op: string, cmp: '>' | '<', a: Tensor, bIn: Operand): Tensor {
  if (typeof bIn === 'number') {
    return unaryExpr(op, `select(s.x, a, a ${cmp} s.x)`, a, [bIn], `g * select(select(0.0, 0.5, x == s.x), 1.0, x ${cmp} s.x)`);
  }
  const b = bIn;
  // Ties split the gradient evenly (as PyTorch does).
  const share = (first: boolean): string =>
    `a * select(select(0.0, 0.5, b == c), 1.0, ${first ? `b ${cmp} c` : `c ${cmp} b`})`;
  return binary(op, `select(b, a, a ${cmp} b)`, a, b, (g, s) => [
    a.requiresGrad ? reduceGrad(mapN(g.engine, share(true), [g, a, b], s), a.shape) : null,
    b.requiresGrad ? reduceGrad(mapN(g.engine, share(false), [g, a, b], s), b.shape) : null,
  ]);
}

/** Comparisons give float masks (1 where true, 0 elsewhere) and no gradient. */
function compare(op: string, cmp: string, a: Tensor, b: Operand): Tensor {
  const bt = lift(a, b);
  if (!bt) return mapN(a.engine, `select(0.0, 1.0, f32(a) ${cmp} s.x)`, [a], a.shape, { op, scalars: [b as number] });
  const shape = broadcastShapes(op, a.shape, bt.shape);
  return mapN(a.engine, `select(0.0, 1.0, f32(a) ${cmp} f32(b))`, [a, bt], shape, { op });
}
export const greater = (a: Tensor, b: Operand): Tensor => compare('greater', '>', a, b);
export const greaterEqual = (a: Tensor, b: Operand): Tensor => compare('greaterEqual', '>=', a, b);
export const less = (a: Tensor, b: Operand): Tensor => compare('less', '<', a, b);
export const lessEqual = (a: Tensor, b: Operand): Tensor => compare('lessEqual', '<=', a, b);
export const equal = (a: Tensor, b: Operand): Tensor => compare('equal', '==', a, b);
export const notEqual = (a: Tensor, b: Operand): Tensor => compare('notEqual', '!=', a, b);

/** cond ? a : b elementwise (cond: any dtype, non-zero = true), all three broadcast. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  checkFloat('where', a, b);
  const shape = broadcastShapes('where', cond.shape, a.shape, b.shape);
  const out = mapN(a.engine, 'select(c, b, f32(a) != 0.0)', [cond, a, b], shape); // [broadcast]
  return record('where', [a, b], out, (g) => [
    a.requiresGrad ? reduceGrad(mapN(g.engine, 'select(0.0, b, f32(a) != 0.0)', [cond, g], shape), a.shape) : null,
    b.requiresGrad ? reduceGrad(mapN(g.engine, 'select(b, 0.0, f32(a) != 0.0)', [cond, g], shape), b.shape) : null,
  ]);
}

/** Converts dtype (f32 → int truncates toward zero). No gradient. */
export function cast(x: Tensor, dtype: DType): Tensor {
  const t = dtype === 'f32' ? 'f32' : dtype;
  return mapN(x.engine, `${t}(a)`, [x], x.shape, { op: 'cast', dtype });
}

// ------------------------------------------------------------------- unary

/**
 * A unary op from WGSL expressions. `fwd` uses `a` (the input) and `s`
 * (vec4 of scalars); `grad` uses `g` (incoming gradient), `x` (input), `y`
 * (output) and `s`. Only the tensors `grad` mentions are kept for backward.
 */
export function unaryExpr(
  op: string,
  fwd: string,
  x: Tensor,
  scalars: readonly number[],
  grad: string | null,
  prelude?: string,
): Tensor {
  checkFloat(op, x);
  const y = mapN(x.engine, fwd, [x], x.shape, { op, scalars, prelude }); // [x.shape]
  if (!grad) return y;
  // Identifiers g/x/y, not the components s.x / s.y of the scalar vector.
  const ident = (c: string): RegExp => new RegExp(`(?<![.\\w])${c}\\b`, 'g');
  const usesX = ident('x').test(grad);
  const usesY = ident('y').test(grad);
  const names: Record<string, string> = { g: 'a' };
  const ins: Tensor[] = [];
  if (usesX) names.x = 'b';
  if (usesY) names.y = usesX ? 'c' : 'b';
  const expr = grad.replace(/(?<![.\w])([gxy])\b/g, (m) => names[m] ?? m);
  return record(op, [x], y, (g) => {
    ins.length = 0;
    ins.push(g);
    if (usesX) ins.push(x);
    if (usesY) ins.push(y);
    return [mapN(x.engine, expr, ins, x.shape, { scalars, prelude })];
  });
}

export const neg = (x: Tensor): Tensor => unaryExpr('neg', '-a', x, [], '-g');
export const exp = (x: Tensor): Tensor => unaryExpr('exp', 'exp(a)', x, [], 'g * y');
export const log = (x: Tensor): Tensor => unaryExpr('log', 'log(a)', x, [], 'g / x');
export const sqrt = (x: Tensor): Tensor => unaryExpr('sqrt', 'sqrt(a)', x, [], 'g * 0.5 / y');
export const abs = (x: Tensor): Tensor => unaryExpr('abs', 'abs(a)', x, [], 'g * sign(x)');
export const square = (x: Tensor): Tensor => unaryExpr('square', 'a * a', x, [], '2.0 * g * x');
export const reciprocal = (x: Tensor): Tensor => unaryExpr('reciprocal', '1.0 / a', x, [], '-g * y * y');

/** Clamps to [lo, hi]; the gradient passes where lo ≤ x ≤ hi (PyTorch's rule). */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  return unaryExpr('clamp', 'clamp(a, s.x, s.y)', x, [lo, hi], 'g * select(0.0, 1.0, x >= s.x && x <= s.y)');
}

/**
 * xᵉ for a number e. Integer exponents work for negative x (sign kept for odd
 * e); x⁰ = 1 everywhere.
 */
export function powScalar(x: Tensor, e: number): Tensor {
  if (e === 0) return unaryExpr('pow', '1.0', x, [], '0.0 * g');
  if (e === 1) return unaryExpr('pow', 'a', x, [], 'g');
  if (e === 2) return square(x);
  const odd = Number.isInteger(e) && Math.abs(e) % 2 === 1;
  const oddM1 = Number.isInteger(e) && Math.abs(e - 1) % 2 === 1;
  // |x|^e with the sign restored for odd integer exponents.
  const sp = (v: string, ex: string, oddFlag: string): string =>
    `select(pow(abs(${v}), ${ex}), sign(${v}) * pow(abs(${v}), ${ex}), ${oddFlag} > 0.5)`;
  const gradBody = e - 1 === 1 ? 'x' : sp('x', 's.z', 's.w');
  return unaryExpr('pow', sp('a', 's.x', 's.y'), x, [e, odd ? 1 : 0, e - 1, oddM1 ? 1 : 0], `g * s.x * ${gradBody}`);
}

// ------------------------------------------------------------------ scalar

export const addScalar = (x: Tensor, c: number): Tensor => unaryExpr('addScalar', 'a + s.x', x, [c], 'g');
export const subScalar = (x: Tensor, c: number): Tensor => unaryExpr('addScalar', 'a + s.x', x, [-c], 'g');
export const mulScalar = (x: Tensor, c: number): Tensor => unaryExpr('mulScalar', 'a * s.x', x, [c], 'g * s.x');
export const divScalar = (x: Tensor, c: number): Tensor => unaryExpr('mulScalar', 'a * s.x', x, [1 / c], 'g * s.x');
/** c − x */
export const rsubScalar = (x: Tensor, c: number): Tensor => unaryExpr('rsubScalar', 's.x - a', x, [c], '-g');
/** c / x */
export const rdivScalar = (x: Tensor, c: number): Tensor => unaryExpr('rdivScalar', 's.x / a', x, [c], '-g * y / x');
