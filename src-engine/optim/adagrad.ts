/**
 * Adagrad, as torch.optim.Adagrad:
 *   g ← grad + wd·p + l1·sign(p)
 *   clr ← lr / (1 + (step − 1)·lr_decay)
 *   sum ← sum + g²                        (sum starts at initial_accumulator_value)
 *   p ← p·(1 − lr·decoupled) − clr·g / (√sum + eps)
 */
import type { Params } from '../core/kernel.ts';
import { BaseOptimizer, decayFactor, type Regularisation, type StateSlot } from './base.ts';
import type { AdagradConfig } from './config.ts';
import type { UpdateRule } from './update-kernel.ts';

/* Per element: param[i] and sum[i] in place (kernel: optim/update-kernel.ts). */
const ADAGRAD_RULE: UpdateRule = {
  name: 'optim.adagrad',
  fields: 'clr: f32, eps: f32, wd: f32, l1: f32, decay: f32',
  states: ['sum'],
  body: /* wgsl */ `
  let w = param[i];
  let g = grad[i] + p.wd * w + p.l1 * sign(w);
  let s = sum[i] + g * g;
  sum[i] = s;
  param[i] = w * p.decay - p.clr * g / (sqrt(s) + p.eps);`,
};

export class Adagrad extends BaseOptimizer<AdagradConfig> {
  protected stateSlots(): StateSlot[] {
    return [{ key: 'sum', used: true, init: this.config.initialAccumulatorValue }];
  }
  protected rule() {
    return ADAGRAD_RULE;
  }
  protected uniforms(q: Params, lr: number, step: number, reg: Regularisation): void {
    const c = this.config;
    const clr = lr / (1 + (step - 1) * c.lrDecay);
    q.f32(clr).f32(c.eps).f32(reg.wd).f32(reg.l1).f32(decayFactor(lr, reg));
  }
}
