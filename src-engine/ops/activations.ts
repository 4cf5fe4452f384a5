/**
 * Activations: ReLU, LeakyReLU(α), ELU(α), GELU (exact erf form, PyTorch's
 * default), sigmoid, tanh, softplus, Maxout(k).
 *
 * ACTIVATIONS is the single table of each activation's WGSL forward and
 * derivative, used both by the standalone ops here and by fused epilogues
 * (linear in ops/matmul.ts, and conv). Derivatives are expressed from the
 * output y when possible so the pre-activation need not be kept.
 */
import { ShapeError } from '../core/errors.ts';
import type { Tensor } from '../core/tensor.ts';
import { unaryExpr } from './elementwise.ts';
import { max } from './reduce.ts';
import { reshape } from './shape.ts';

export type Activation = 'none' | 'relu' | 'leakyRelu' | 'elu' | 'gelu' | 'sigmoid' | 'tanh' | 'softplus';

export interface ActivationDef {
  /** WGSL expression of the activation of `z` (α available as `alpha`). */
  fwd(z: string, alpha: string): string;
  /** WGSL expression of dy/dz · g from g, z (pre-activation), y (output), alpha. */
  grad(g: string, z: string, y: string, alpha: string): string;
  /** Whether grad reads z (then fused kernels must keep the pre-activation). */
  needsZ: boolean;
  /** WGSL helper functions fwd/grad call. */
  prelude: string;
}

/**
 * erfc(x) with fractional error < 1.2e-7 everywhere (Numerical Recipes'
 * erfcc, a Chebyshev fit), so GELU stays accurate far into the negative tail.
 */
export const WGSL_ERFC = /* wgsl */ `
fn erfc_nr(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
          t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
          t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, x >= 0.0);
}
`;

export const ACTIVATIONS: Record<Activation, ActivationDef> = {
  none: { fwd: (z) => z, grad: (g) => g, needsZ: false, prelude: '' },
  relu: { fwd: (z) => `max(${z}, 0.0)`, grad: (g, _z, y) => `select(0.0, ${g}, ${y} > 0.0)`, needsZ: false, prelude: '' },
  leakyRelu: {
    fwd: (z, a) => `select(${a} * ${z}, ${z}, ${z} > 0.0)`,
    grad: (g, z, _y, a) => `select(${a} * ${g}, ${g}, ${z} > 0.0)`,
    needsZ: true,
    prelude: '',
  },
  elu: {
    fwd: (z, a) => `select(${a} * (exp(${z}) - 1.0), ${z}, ${z} > 0.0)`,
    grad: (g, z, y, a) => `select(${g} * (${y} + ${a}), ${g}, ${z} > 0.0)`,
    needsZ: true,
    prelude: '',
  },
  gelu: {
    // 0.5·z·erfc(−z/√2) = z·Φ(z);  d/dz = Φ(z) + z·φ(z)
    fwd: (z) => `0.5 * ${z} * erfc_nr(-0.70710678118654752 * ${z})`,
    grad: (g, z) =>
      `${g} * (0.5 * erfc_nr(-0.70710678118654752 * ${z}) + ${z} * 0.39894228040143268 * exp(-0.5 * ${z} * ${z}))`,
    needsZ: true,
    prelude: WGSL_ERFC,
  },
  sigmoid: { fwd: (z) => `1.0 / (1.0 + exp(-${z}))`, grad: (g, _z, y) => `${g} * ${y} * (1.0 - ${y})`, needsZ: false, prelude: '' },
  // Clamped: some tanh implementations return NaN for |z| ≳ 45 (inf/inf).
  tanh: { fwd: (z) => `tanh(clamp(${z}, -15.0, 15.0))`, grad: (g, _z, y) => `${g} * (1.0 - ${y} * ${y})`, needsZ: false, prelude: '' },
  softplus: {
    // log(1 + eᶻ) computed without overflow; derivative is sigmoid(z).
    fwd: (z) => `max(${z}, 0.0) + log(1.0 + exp(-abs(${z})))`,
    grad: (g, z) => `${g} / (1.0 + exp(-${z}))`,
    needsZ: true,
    prelude: '',
  },
};

/** Index of each activation in EPILOGUE_WGSL's switch (a uniform picks it at run time). */
export const EPILOGUE_ACTS = Object.keys(ACTIVATIONS) as Activation[];

/**
 * WGSL epilogue_act(z, act, alpha): every activation behind one switch, so
 * GEMM kernels with a fused bias + activation need one pipeline, not one per
 * activation (each pipeline costs ~1 s of LLVM time on lavapipe).
 */
export const EPILOGUE_WGSL = /* wgsl */ `
${[...new Set(EPILOGUE_ACTS.map((a) => ACTIVATIONS[a].prelude))].join('\n')}
fn epilogue_act(z: f32, act: u32, alpha: f32) -> f32 {
  switch act {
${EPILOGUE_ACTS.map((a, i) => `    case ${i}u: { return ${ACTIVATIONS[a].fwd('z', 'alpha')}; }`).join('\n')}
    default: { return z; }
  }
}
`;

/** Applies an activation by name (α for leakyRelu/elu). */
export function activate(x: Tensor, act: Activation, alpha = defaultAlpha(act)): Tensor {
  if (act === 'none') return x;
  const d = ACTIVATIONS[act];
  return unaryExpr(act, d.fwd('a', 's.x'), x, [alpha], d.grad('g', 'x', 'y', 's.x'), d.prelude || undefined);
}

export function defaultAlpha(act: Activation): number {
  return act === 'leakyRelu' ? 0.01 : act === 'elu' ? 1 : 0;
}

export const relu = (x: Tensor): Tensor => activate(x, 'relu');
export const leakyRelu = (x: Tensor, alpha = 0.01): Tensor => activate(x, 'leakyRelu', alpha);
export const elu = (x: Tensor, alpha = 1): Tensor => activate(x, 'elu', alpha);
export const gelu = (x: Tensor): Tensor => activate(x, 'gelu');
export const sigmoid = (x: Tensor): Tensor => activate(x, 'sigmoid');
export const tanh = (x: Tensor): Tensor => activate(x, 'tanh');
export const softplus = (x: Tensor): Tensor => activate(x, 'softplus');

/**
 * Maxout (Goodfellow et al., 2013): the last axis of size C·k is split into C
 * groups of k consecutive features; out[..., c] = max_j x[..., c·k + j].
 */
export function maxout(x: Tensor, k: number): Tensor {
  const last = x.shape[x.rank - 1];
  if (x.rank === 0 || !Number.isInteger(k) || k < 1 || last % k !== 0) {
    throw new ShapeError('maxout', `last axis must be a multiple of k = ${k}`, [x.shape]);
  }
  const grouped = reshape(x, [...x.shape.slice(0, -1), last / k, k]); // [..., C, k]
  const out = max(grouped, -1); // [..., C]
  // max's backward reads `grouped`: tie its lifetime to the output.
  if (out.node) out.own(grouped);
  else grouped.dispose();
  return out;
}
