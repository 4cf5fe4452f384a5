/**
 * SGD with momentum, dampening and Nesterov, as torch.optim.SGD:
 *   g ← grad + wd·p + l1·sign(p)
 *   buf ← g (first step) | momentum·buf + (1 − dampening)·g
 *   g ← g + momentum·buf (nesterov) | buf
 *   p ← p·(1 − lr·decoupled) − lr·g
 */
import type { Params } from '../core/kernel.ts';
import { BaseOptimizer, decayFactor, type Regularisation, type StateSlot } from './base.ts';
import type { SgdConfig } from './config.ts';
import type { UpdateRule } from './update-kernel.ts';

/* momentum_buffer is unbound when momentum = 0; first = 1 on the parameter's first step (the buffer starts as the gradient). */
const SGD_RULE: UpdateRule = {
  name: 'optim.sgd',
  fields: 'lr: f32, momentum: f32, omd: f32, wd: f32, l1: f32, decay: f32, nesterov: u32, first: u32',
  states: ['momentum_buffer'],
  body: /* wgsl */ `
  let w = param[i];
  var g = grad[i] + p.wd * w + p.l1 * sign(w);
  if (p.momentum != 0.0) {
    var b = g;
    if (p.first == 0u) { b = p.momentum * momentum_buffer[i] + p.omd * g; }
    momentum_buffer[i] = b;
    if (p.nesterov != 0u) { g = g + p.momentum * b; } else { g = b; }
  }
  param[i] = w * p.decay - p.lr * g;`,
};

export class SGD extends BaseOptimizer<SgdConfig> {
  protected stateSlots(): StateSlot[] {
    return [{ key: 'momentum_buffer', used: this.config.momentum !== 0, init: 0 }];
  }
  protected rule() {
    return SGD_RULE;
  }
  protected uniforms(q: Params, lr: number, step: number, reg: Regularisation): void {
    const c = this.config;
    q.f32(lr)
      .f32(c.momentum)
      .f32(1 - c.dampening) // 1 − dampening in float64 (not from an f32-rounded value)
      .f32(reg.wd)
      .f32(reg.l1)
      .f32(decayFactor(lr, reg))
      .u32(c.nesterov ? 1 : 0)
      .u32(step === 1 ? 1 : 0);
  }
}
