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
import { kernel, Params, WGSL_MAIN_1D } from '../core/kernel.ts';
import { BaseOptimizer, decayFactor, type Regularisation, type StateSlot } from './base.ts';
import type { RmspropConfig } from './config.ts';

/*
 * rmsprop_update: param, grad, square_avg, momentum_buffer, grad_avg:
 * contiguous f32 [n] (the last two are dummies when unused). One invocation
 * per element updates param[i] and its state in place. 1-D dispatch, folded.
 */
const RMSPROP = kernel(
  'optim.rmsprop',
  /* wgsl */ `
struct P { n: u32, lr: f32, alpha: f32, oma: f32, eps: f32, momentum: f32, wd: f32, l1: f32, decay: f32, centered: u32 }
@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> square_avg: array<f32>;
@group(0) @binding(3) var<storage, read_write> buf: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_avg: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
${WGSL_MAIN_1D}
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
    let b = p.momentum * buf[i] + g / avg;
    buf[i] = b;
    param[i] = w * p.decay - p.lr * b;
  } else {
    param[i] = w * p.decay - p.lr * g / avg;
  }
}`,
  ['write', 'read', 'write', 'write', 'write', 'uniform'],
);

export class RMSprop extends BaseOptimizer<RmspropConfig> {
  protected stateSlots(): StateSlot[] {
    return [
      { key: 'square_avg', used: true, init: 0 },
      { key: 'momentum_buffer', used: this.config.momentum !== 0, init: 0 },
      { key: 'grad_avg', used: this.config.centered, init: 0 },
    ];
  }
  protected kernel() {
    return RMSPROP;
  }
  protected uniforms(n: number, lr: number, _step: number, reg: Regularisation): Params {
    const c = this.config;
    return new Params()
      .u32(n)
      .f32(lr)
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
