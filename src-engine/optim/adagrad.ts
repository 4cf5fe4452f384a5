/**
 * Adagrad, as torch.optim.Adagrad:
 *   g ← grad + wd·p + l1·sign(p)
 *   clr ← lr / (1 + (step − 1)·lr_decay)
 *   sum ← sum + g²                        (sum starts at initial_accumulator_value)
 *   p ← p·(1 − lr·decoupled) − clr·g / (√sum + eps)
 */
import { kernel, Params, WGSL_MAIN_1D } from '../core/kernel.ts';
import { BaseOptimizer, decayFactor, type Regularisation, type StateSlot } from './base.ts';
import type { AdagradConfig } from './config.ts';

/*
 * adagrad_update: param, grad, sum: contiguous f32 [n]. One invocation per
 * element updates param[i] and sum[i] in place. 1-D dispatch, folded.
 */
const ADAGRAD = kernel(
  'optim.adagrad',
  /* wgsl */ `
struct P { n: u32, clr: f32, eps: f32, wd: f32, l1: f32, decay: f32 }
@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> sum: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${WGSL_MAIN_1D}
  let w = param[i];
  let g = grad[i] + p.wd * w + p.l1 * sign(w);
  let s = sum[i] + g * g;
  sum[i] = s;
  param[i] = w * p.decay - p.clr * g / (sqrt(s) + p.eps);
}`,
  ['write', 'read', 'write', 'uniform'],
);

export class Adagrad extends BaseOptimizer<AdagradConfig> {
  protected stateSlots(): StateSlot[] {
    return [{ key: 'sum', used: true, init: this.config.initialAccumulatorValue }];
  }
  protected kernel() {
    return ADAGRAD;
  }
  protected uniforms(n: number, lr: number, step: number, reg: Regularisation): Params {
    const c = this.config;
    const clr = lr / (1 + (step - 1) * c.lrDecay);
    return new Params().u32(n).f32(clr).f32(c.eps).f32(reg.wd).f32(reg.l1).f32(decayFactor(lr, reg));
  }
}
