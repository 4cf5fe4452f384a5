/**
 * SGD with momentum, dampening and Nesterov, as torch.optim.SGD:
 *   g ← grad + wd·p + l1·sign(p)
 *   buf ← g (first step) | momentum·buf + (1 − dampening)·g
 *   g ← g + momentum·buf (nesterov) | buf
 *   p ← p·(1 − lr·decoupled) − lr·g
 */
import { kernel, Params, WGSL_MAIN_1D } from '../core/kernel.ts';
import { BaseOptimizer, decayFactor, type Regularisation, type StateSlot } from './base.ts';
import type { SgdConfig } from './config.ts';

/*
 * sgd_update: param, grad, buf: contiguous f32 [n] (buf is a dummy when
 * momentum = 0). One invocation per element updates param[i] (and buf[i]) in
 * place. first = 1 on the parameter's first step (buf starts as the gradient).
 * 1-D dispatch, folded.
 */
const SGD_UPDATE = kernel(
  'optim.sgd',
  /* wgsl */ `
struct P { n: u32, lr: f32, momentum: f32, omd: f32, wd: f32, l1: f32, decay: f32, nesterov: u32, first: u32 }
@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> buf: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
${WGSL_MAIN_1D}
  let w = param[i];
  var g = grad[i] + p.wd * w + p.l1 * sign(w);
  if (p.momentum != 0.0) {
    var b = g;
    if (p.first == 0u) { b = p.momentum * buf[i] + p.omd * g; }
    buf[i] = b;
    if (p.nesterov != 0u) { g = g + p.momentum * b; } else { g = b; }
  }
  param[i] = w * p.decay - p.lr * g;
}`,
  ['write', 'read', 'write', 'uniform'],
);

export class SGD extends BaseOptimizer<SgdConfig> {
  protected stateSlots(): StateSlot[] {
    return [{ key: 'momentum_buffer', used: this.config.momentum !== 0, init: 0 }];
  }
  protected kernel() {
    return SGD_UPDATE;
  }
  protected uniforms(n: number, lr: number, step: number, reg: Regularisation): Params {
    const c = this.config;
    return new Params()
      .u32(n)
      .f32(lr)
      .f32(c.momentum)
      .f32(1 - c.dampening) // 1 − dampening in float64 (not from an f32-rounded value)
      .f32(reg.wd)
      .f32(reg.l1)
      .f32(decayFactor(lr, reg))
      .u32(c.nesterov ? 1 : 0)
      .u32(step === 1 ? 1 : 0);
  }
}
