/**
 * Adadelta, as torch.optim.Adadelta:
 *   g ← grad + wd·p + l1·sign(p)
 *   square_avg ← rho·square_avg + (1 − rho)·g²
 *   delta ← √(acc_delta + eps) / √(square_avg + eps) · g
 *   acc_delta ← rho·acc_delta + (1 − rho)·delta²
 *   p ← p·(1 − lr·decoupled) − lr·delta
 */
import type { Params } from '../core/kernel.ts';
import { BaseOptimizer, decayFactor, type Regularisation, type StateSlot } from './base.ts';
import type { AdadeltaConfig } from './config.ts';
import type { UpdateRule } from './update-kernel.ts';

/* Per element: param[i] and both accumulators in place (kernel: optim/update-kernel.ts). */
const ADADELTA_RULE: UpdateRule = {
  name: 'optim.adadelta',
  fields: 'lr: f32, rho: f32, omr: f32, eps: f32, wd: f32, l1: f32, decay: f32',
  states: ['square_avg', 'acc_delta'],
  body: /* wgsl */ `
  let w = param[i];
  let g = grad[i] + p.wd * w + p.l1 * sign(w);
  let sq = p.rho * square_avg[i] + p.omr * g * g;
  square_avg[i] = sq;
  let acc = acc_delta[i];
  let delta = sqrt(acc + p.eps) / sqrt(sq + p.eps) * g;
  acc_delta[i] = p.rho * acc + p.omr * delta * delta;
  param[i] = w * p.decay - p.lr * delta;`,
};

export class Adadelta extends BaseOptimizer<AdadeltaConfig> {
  protected stateSlots(): StateSlot[] {
    return [
      { key: 'square_avg', used: true, init: 0 },
      { key: 'acc_delta', used: true, init: 0 },
    ];
  }
  protected rule() {
    return ADADELTA_RULE;
  }
  protected uniforms(q: Params, lr: number, _step: number, reg: Regularisation): void {
    const c = this.config;
    q.f32(lr).f32(c.rho).f32(1 - c.rho).f32(c.eps).f32(reg.wd).f32(reg.l1).f32(decayFactor(lr, reg));
  }
}
