/**
 * Adam and AdamW, as torch.optim.Adam / AdamW:
 *   g ← grad + wd·p + l1·sign(p)          (coupled L2; AdamW's weightDecay is decoupled)
 *   exp_avg ← lerp(exp_avg, g, 1 − β1);  exp_avg_sq ← β2·exp_avg_sq + (1 − β2)·g²
 *   amsgrad: max_exp_avg_sq ← max(max_exp_avg_sq, exp_avg_sq), used below instead of exp_avg_sq
 *   denom ← √exp_avg_sq / √(1 − β2^t) + eps
 *   p ← p·(1 − lr·decoupled) − lr / (1 − β1^t) · exp_avg / denom
 * 1 − β and the bias corrections are computed on the CPU in float64 (1 − β
 * of an f32-rounded β would be off by ~1e-5 relative) from the parameter's step t and
 * passed as uniforms.
 */
import type { Params } from '../core/kernel.ts';
import { BaseOptimizer, decayFactor, type Regularisation, type StateSlot } from './base.ts';
import type { AdamConfig, AdamWConfig } from './config.ts';
import type { UpdateRule } from './update-kernel.ts';

/* Per element: param[i] and its moments in place; max_exp_avg_sq is unbound without amsgrad (kernel: optim/update-kernel.ts). */
const ADAM_RULE: UpdateRule = {
  name: 'optim.adam',
  fields: 'omb1: f32, beta2: f32, omb2: f32, eps: f32, wd: f32, l1: f32, decay: f32, step_size: f32, bc2_sqrt: f32, amsgrad: u32',
  states: ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'],
  body: /* wgsl */ `
  let w = param[i];
  let g = grad[i] + p.wd * w + p.l1 * sign(w);
  let m0 = exp_avg[i];
  let m = m0 + p.omb1 * (g - m0);
  exp_avg[i] = m;
  var v = p.beta2 * exp_avg_sq[i] + p.omb2 * g * g;
  exp_avg_sq[i] = v;
  if (p.amsgrad != 0u) {
    v = max(max_exp_avg_sq[i], v);
    max_exp_avg_sq[i] = v;
  }
  let denom = sqrt(v) / p.bc2_sqrt + p.eps;
  param[i] = w * p.decay - p.step_size * (m / denom);`,
};

export class Adam<C extends AdamConfig | AdamWConfig = AdamConfig> extends BaseOptimizer<C> {
  protected stateSlots(): StateSlot[] {
    return [
      { key: 'exp_avg', used: true, init: 0 },
      { key: 'exp_avg_sq', used: true, init: 0 },
      { key: 'max_exp_avg_sq', used: this.config.amsgrad, init: 0 },
    ];
  }
  protected rule() {
    return ADAM_RULE;
  }
  protected uniforms(q: Params, lr: number, step: number, reg: Regularisation): void {
    const [b1, b2] = this.config.betas;
    const bc1 = 1 - b1 ** step;
    const bc2 = 1 - b2 ** step;
    q.f32(1 - b1)
      .f32(b2)
      .f32(1 - b2)
      .f32(this.config.eps)
      .f32(reg.wd)
      .f32(reg.l1)
      .f32(decayFactor(lr, reg))
      .f32(lr / bc1)
      .f32(Math.sqrt(bc2))
      .u32(this.config.amsgrad ? 1 : 0);
  }
}

/** AdamW: Adam whose `weightDecay` is decoupled (p ← p·(1 − lr·wd) before the update). */
export class AdamW extends Adam<AdamWConfig> {
  protected override regularisation(): Regularisation {
    return { wd: 0, decoupled: this.config.weightDecay, l1: this.config.l1 };
  }
}
