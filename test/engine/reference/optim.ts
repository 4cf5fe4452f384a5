/**
 * Float64 CPU references of torch.optim's single-tensor algorithms (SGD,
 * Adagrad, Adadelta, RMSprop, Adam, AdamW), transcribed from the PyTorch
 * sources, plus this project's regularisation options (L1, decoupled decay for
 * every optimizer, decay exemption). Tests only.
 */
import type { OptimizerConfig } from '../../../src-engine/optim/config.ts';

type State = Record<string, Float64Array>;

export class RefOptimizer {
  readonly state = new Map<string, State>();
  readonly steps = new Map<string, number>();

  constructor(
    readonly cfg: OptimizerConfig,
    readonly params: Map<string, Float64Array>,
    /** Parameters exempt from weight decay / L1. */
    readonly exempt: ReadonlySet<string> = new Set(),
  ) {
    if (cfg.type === 'adagrad') {
      for (const [name, p] of params) this.state.set(name, { sum: new Float64Array(p.length).fill(cfg.initialAccumulatorValue) });
    }
  }

  step(lr: number, grads: ReadonlyMap<string, Float64Array | null>): void {
    for (const [name, p] of this.params) {
      const grad = grads.get(name);
      if (!grad) continue;
      const t = (this.steps.get(name) ?? 0) + 1;
      this.steps.set(name, t);
      const st = this.state.get(name) ?? {};
      this.state.set(name, st);
      const c = this.cfg;
      const free = this.exempt.has(name);
      const adamw = c.type === 'adamw';
      const wd = free || adamw ? 0 : c.weightDecay;
      const dwd = free ? 0 : adamw ? c.weightDecay : c.decoupledWeightDecay;
      const l1 = free ? 0 : c.l1;
      const n = p.length;
      // grad + wd·p + l1·sign(p); then decoupled decay p ← p·(1 − lr·dwd) (AdamW: before the update).
      const g = new Float64Array(n);
      for (let i = 0; i < n; i++) g[i] = grad[i] + wd * p[i] + l1 * Math.sign(p[i]);
      for (let i = 0; i < n; i++) p[i] *= 1 - lr * dwd;
      const zeros = (): Float64Array => new Float64Array(n);
      switch (c.type) {
        case 'sgd': {
          let d: Float64Array = g;
          if (c.momentum !== 0) {
            let buf = st.momentum_buffer;
            if (!buf) {
              buf = Float64Array.from(d);
              st.momentum_buffer = buf;
            } else {
              for (let i = 0; i < n; i++) buf[i] = c.momentum * buf[i] + (1 - c.dampening) * d[i];
            }
            if (c.nesterov) d = d.map((v, i) => v + c.momentum * buf[i]);
            else d = buf;
          }
          for (let i = 0; i < n; i++) p[i] -= lr * d[i];
          break;
        }
        case 'adagrad': {
          const sum = st.sum;
          const clr = lr / (1 + (t - 1) * c.lrDecay);
          for (let i = 0; i < n; i++) {
            sum[i] += g[i] * g[i];
            p[i] -= (clr * g[i]) / (Math.sqrt(sum[i]) + c.eps);
          }
          break;
        }
        case 'adadelta': {
          const sq = (st.square_avg ??= zeros());
          const acc = (st.acc_delta ??= zeros());
          for (let i = 0; i < n; i++) {
            sq[i] = sq[i] * c.rho + (1 - c.rho) * g[i] * g[i];
            const std = Math.sqrt(sq[i] + c.eps);
            const delta = (Math.sqrt(acc[i] + c.eps) / std) * g[i];
            acc[i] = acc[i] * c.rho + (1 - c.rho) * delta * delta;
            p[i] -= lr * delta;
          }
          break;
        }
        case 'rmsprop': {
          const sq = (st.square_avg ??= zeros());
          if (c.momentum > 0) st.momentum_buffer ??= zeros();
          if (c.centered) st.grad_avg ??= zeros();
          for (let i = 0; i < n; i++) {
            sq[i] = sq[i] * c.alpha + (1 - c.alpha) * g[i] * g[i];
            let avg: number;
            if (c.centered) {
              const ga = st.grad_avg;
              ga[i] = ga[i] + (1 - c.alpha) * (g[i] - ga[i]); // lerp_
              avg = Math.sqrt(sq[i] - ga[i] * ga[i]) + c.eps;
            } else {
              avg = Math.sqrt(sq[i]) + c.eps;
            }
            if (c.momentum > 0) {
              const b = st.momentum_buffer;
              b[i] = b[i] * c.momentum + g[i] / avg;
              p[i] -= lr * b[i];
            } else {
              p[i] -= (lr * g[i]) / avg;
            }
          }
          break;
        }
        case 'adam':
        case 'adamw': {
          const [b1, b2] = c.betas;
          const m = (st.exp_avg ??= zeros());
          const v = (st.exp_avg_sq ??= zeros());
          if (c.amsgrad) st.max_exp_avg_sq ??= zeros();
          const bc1 = 1 - b1 ** t;
          const bc2 = 1 - b2 ** t;
          const stepSize = lr / bc1;
          const bc2Sqrt = Math.sqrt(bc2);
          for (let i = 0; i < n; i++) {
            m[i] = m[i] + (1 - b1) * (g[i] - m[i]); // lerp_
            v[i] = v[i] * b2 + (1 - b2) * g[i] * g[i];
            let vv = v[i];
            if (c.amsgrad) {
              st.max_exp_avg_sq[i] = Math.max(st.max_exp_avg_sq[i], v[i]);
              vv = st.max_exp_avg_sq[i];
            }
            const denom = Math.sqrt(vv) / bc2Sqrt + c.eps;
            p[i] -= (stepSize * m[i]) / denom;
          }
          break;
        }
      }
    }
  }
}

/** Global L2 norm of the given gradients and torch's clip coefficient. */
export function clipRef(grads: readonly Float64Array[], maxNorm: number): { norm: number; coef: number; norms: number[] } {
  const norms = grads.map((g) => Math.sqrt(g.reduce((s, v) => s + v * v, 0)));
  const norm = Math.sqrt(norms.reduce((s, v) => s + v * v, 0));
  return { norm, coef: Math.min(1, maxNorm / (norm + 1e-6)), norms };
}
