/**
 * Shared test helpers for engine tests: one Engine per test file on the
 * worker's device, deterministic CPU random data, tolerance checks that say
 * where the worst element is, and the forward + backward checker that
 * compares a GPU op with its float64 CPU reference and with central finite
 * differences of that reference.
 */
import { expect } from 'vitest';
import { Engine } from '../../src-engine/core/engine.ts';
import { backward } from '../../src-engine/core/tape.ts';
import { fromTypedArray, type Tensor } from '../../src-engine/core/tensor.ts';
import { testDevice } from '../helpers/gpu.ts';

let shared: Engine | null = null;
export async function getEngine(): Promise<Engine> {
  shared ??= new Engine(await testDevice(), { seed: 1234 });
  return shared;
}

/** Deterministic CPU PRNG (mulberry32) for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** Random values with |x| ≥ gap: keeps finite differences away from kinks (relu, abs, max ties). */
export function randAwayFromZero(n: number, seed: number, gap = 0.05, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const m = gap + (scale - gap) * r();
    out[i] = r() < 0.5 ? -m : m;
  }
  return out;
}

export const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

export interface Tol {
  /** Relative tolerance. */
  rtol: number;
  /** Absolute floor, as a fraction of the largest |expected| value. */
  atol: number;
}

/**
 * Asserts |actual − expected| ≤ atol·max|expected| + rtol·|expected| for
 * every element, and reports the worst element when not.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tol,
  label = '',
): { maxAbs: number; maxRel: number } {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  const floor = tol.atol * Math.max(scale, 1e-30);
  let worst = -1;
  let worstExcess = 0;
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const err = Math.abs(a - e);
    if (!Number.isFinite(a) && a !== e) {
      worst = i;
      worstExcess = Infinity;
      break;
    }
    maxAbs = Math.max(maxAbs, err);
    if (Math.abs(e) > floor) maxRel = Math.max(maxRel, err / Math.abs(e));
    const excess = err - (floor + tol.rtol * Math.abs(e));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(rtol ${tol.rtol}, atol ${tol.atol}·${scale.toExponential(2)})`,
    );
  }
  return { maxAbs, maxRel };
}

export interface GradCheckSpec {
  /** Input tensors: shape and float32 data (others, e.g. labels, are closed over). */
  inputs: ReadonlyArray<{ shape: readonly number[]; data: Float32Array }>;
  /** The GPU op. */
  gpu: (xs: Tensor[]) => Tensor;
  /** Float64 CPU reference of the same op. */
  cpu: (xs: Float64Array[]) => Float64Array;
  /** Forward tolerance (GPU f32 vs CPU f64). */
  fwdTol: Tol;
  /** Backward tolerance (GPU f32 gradient vs finite differences of the f64 reference). */
  bwdTol: Tol;
  /** Finite-difference step (central differences in float64). */
  eps?: number;
  /** Which inputs get gradients (default all). */
  diff?: readonly boolean[];
  seed?: number;
  label?: string;
}

/**
 * Forward against the reference, then backward with a random upstream
 * gradient w against the float64 central-difference gradient of
 * L(x) = Σ w · cpu(x).
 */
export async function checkForwardBackward(engine: Engine, spec: GradCheckSpec): Promise<void> {
  const label = spec.label ?? 'op';
  const diff = spec.inputs.map((_, i) => spec.diff?.[i] ?? true);
  const ts = spec.inputs.map((inp, i) => {
    const t = fromTypedArray(engine, inp.data, inp.shape);
    t.requiresGrad = diff[i];
    return t;
  });
  const xs = spec.inputs.map((inp) => Float64Array.from(inp.data));
  const y = spec.gpu(ts);
  const ref = spec.cpu(xs);
  expectClose(await y.read(), ref, spec.fwdTol, `${label} forward`);

  const w = randArray(y.size, (spec.seed ?? 7) + 99);
  const wt = fromTypedArray(engine, w, y.shape);
  backward(y, wt);
  const loss = (vals: Float64Array[]): number => {
    const out = spec.cpu(vals);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += w[i] * out[i];
    return s;
  };
  const eps = spec.eps ?? 1e-5;
  for (let k = 0; k < ts.length; k++) {
    if (!diff[k]) continue;
    const x = xs[k];
    const num = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const keep = x[i];
      x[i] = keep + eps;
      const lp = loss(xs);
      x[i] = keep - eps;
      const lm = loss(xs);
      x[i] = keep;
      num[i] = (lp - lm) / (2 * eps);
    }
    const g = ts[k].grad;
    expect(g, `${label}: input ${k} got no gradient`).not.toBeNull();
    expectClose(await g!.read(), num, spec.bwdTol, `${label} d/dinput${k}`);
  }
  for (const t of [...ts, y, wt]) t.dispose();
}

/** Float64 copy helper. */
export const f64 = (a: ArrayLike<number>): Float64Array => Float64Array.from(a as ArrayLike<number>);
