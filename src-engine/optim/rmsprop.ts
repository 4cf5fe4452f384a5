/**
 * RMSprop, as torch.optim.RMSprop:
 *   g ← grad + wd·p + l1·sign(p)
 *   square_avg ← alpha·square_avg + (1 − alpha)·g²
 *   centered: grad_avg ← lerp(grad_avg, g, 1 − alpha); avg ← √(square_avg − grad_avg²) + eps
 *   else:     avg ← √square_avg + eps
 *   momentum > 0: buf ← momentum·buf + g / avg; p ← p·(1 − lr·decoupled) − lr·buf
 *   else:         p ← p·(1 − lr·decoupled) − lr·g / avg
 * (square_avg − grad_avg² is clamped at 0 against rounding; PyTorch would give NaN.)
 */
import type { Params } from '../core/kernel.ts';
import { BaseOptimizer, decayFactor, type Regularisation, type StateSlot } from './base.ts';
import type { RmspropConfig } from './config.ts';
import type { UpdateRule } from './update-kernel.ts';

/* Per element: param[i] and its state in place; momentum_buffer / grad_avg are unbound when unused (kernel: optim/update-kernel.ts). */
const RMSPROP_RULE: UpdateRule = {
  name: 'optim.rmsprop',
  fields: 'lr: f32, alpha: f32, oma: f32, eps: f32, momentum: f32, wd: f32, l1: f32, decay: f32, centered: u32',
  states: ['square_avg', 'momentum_buffer', 'grad_avg'],
  body: /* wgsl */ `
  let w = param[i];
  let g = grad[i] + p.wd * w + p.l1 * sign(w);
  let sq = p.alpha * square_avg[i] + p.oma * g * g;
  square_avg[i] = sq;
  var avg: f32;
  if (p.centered != 0u) {
    let ga0 = grad_avg[i];
    let ga = ga0 + p.oma * (g - ga0);
    grad_avg[i] = ga;
    avg = sqrt(max(sq - ga * ga, 0.0)) + p.eps;
  } else {
    avg = sqrt(sq) + p.eps;
  }
  if (p.momentum != 0.0) {
    let b = p.momentum * momentum_buffer[i] + g / avg;
    momentum_buffer[i] = b;
    param[i] = w * p.decay - p.lr * b;
  } else {
    param[i] = w * p.decay - p.lr * g / avg;
  }`,
};

export class RMSprop extends BaseOptimizer<RmspropConfig> {
  protected stateSlots(): StateSlot[] {
    return [
      { key: 'square_avg', used: true, init: 0 },
      { key: 'momentum_buffer', used: this.config.momentum !== 0, init: 0 },
      { key: 'grad_avg', used: this.config.centered, init: 0 },
    ];
  }
  protected rule() {
    return RMSPROP_RULE;
  }
  protected uniforms(q: Params, lr: number, _step: number, reg: Regularisation): void {
    const c = this.config;
    q.f32(lr)
      .f32(c.alpha)
      .f32(1 - c.alpha) // in float64: 1 − an f32-rounded alpha is off by ~1e-5 relative
      .f32(c.eps)
      .f32(c.momentum)
      .f32(reg.wd)
      .f32(reg.l1)
      .f32(decayFactor(lr, reg))
      .u32(c.centered ? 1 : 0);
  }
}
