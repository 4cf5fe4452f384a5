/**
 * Adadelta, as torch.optim.Adadelta:
 *   g ← grad + wd·p + l1·sign(p)
 *   square_avg ← rho·square_avg + (1 − rho)·g²
 *   delta ← √(acc_delta + eps) / √(square_avg + eps) · g
 *   acc_delta ← rho·acc_delta + (1 − rho)·delta²
 *   p ← p·(1 − lr·decoupled) − lr·delta
 */
import { kernel, Params, WGSL_MAIN_1D } from '../core/kernel.ts';
import { BaseOptimizer, decayFactor, type Regularisation, type StateSlot } from './base.ts';
import type { AdadeltaConfig } from './config.ts';

/*
 * adadelta_update: param, grad, square_avg, acc_delta: contiguous f32 [n].
 * One invocation per element updates param[i] and both accumulators in
 * place. 1-D dispatch, folded.
 */
const ADADELTA = kernel(
  'optim.adadelta',
  /* wgsl */ `
struct P { n: u32, lr: f32, rho: f32, omr: f32, eps: f32, wd: f32, l1: f32, decay: f32 }
@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> square_avg: array<f32>;
@group(0) @binding(3) var<storage, read_write> acc_delta: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${WGSL_MAIN_1D}
  let w = param[i];
  let g = grad[i] + p.wd * w + p.l1 * sign(w);
  let sq = p.rho * square_avg[i] + p.omr * g * g;
  square_avg[i] = sq;
  let acc = acc_delta[i];
  let delta = sqrt(acc + p.eps) / sqrt(sq + p.eps) * g;
  acc_delta[i] = p.rho * acc + p.omr * delta * delta;
  param[i] = w * p.decay - p.lr * delta;
}`,
  ['write', 'read', 'write', 'write', 'uniform'],
);

export class Adadelta extends BaseOptimizer<AdadeltaConfig> {
  protected stateSlots(): StateSlot[] {
    return [
      { key: 'square_avg', used: true, init: 0 },
      { key: 'acc_delta', used: true, init: 0 },
    ];
  }
  protected kernel() {
    return ADADELTA;
  }
  protected uniforms(n: number, lr: number, _step: number, reg: Regularisation): Params {
    const c = this.config;
    return new Params().u32(n).f32(lr).f32(c.rho).f32(1 - c.rho).f32(c.eps).f32(reg.wd).f32(reg.l1).f32(decayFactor(lr, reg));
  }
}
