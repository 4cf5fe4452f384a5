/**
 * What every optimizer shares: per-parameter state tensors (allocated once,
 * named like PyTorch's state_dict entries: `<param>.exp_avg`), the step loop
 * (one fused update kernel per parameter with a gradient, everything
 * step-dependent passed as uniforms, so a step records dispatches and never
 * reads back), regularisation settings per parameter, optional global
 * gradient clipping, and checkpoint save/restore.
 *
 * Step counts: PyTorch keeps one `step` per parameter and only advances it
 * when the parameter had a gradient. Here `stepCount` counts step() calls and
 * each parameter remembers how many of them it sat out (`skipped`), so its own
 * step is `stepCount − skipped` (bias corrections, Adagrad's lr decay, SGD's
 * first momentum step). `stateMeta()` returns both for checkpoints.
 */
import type { Engine } from '../core/engine.ts';
import { EngineError } from '../core/errors.ts';
import { Params } from '../core/kernel.ts';
import { full, type Tensor } from '../core/tensor.ts';
import { clipGradNorm } from './clip.ts';
import type { OptimizerConfig } from './config.ts';
import { bindingsPerParam, slotWords, UPDATE_PER_WORKGROUP, updateKernel, type UpdateRule } from './update-kernel.ts';

/** Regularisation of one parameter (zeros when it is exempt from decay). */
export interface Regularisation {
  /** Coupled L2: added to the gradient as wd·p. */
  wd: number;
  /** Decoupled decay: p ← p·(1 − lr·decoupled) before the update. */
  decoupled: number;
  /** L1: l1·sign(p) added to the gradient. */
  l1: number;
}

/** One state buffer of a family, in kernel binding order (after param and grad). */
export interface StateSlot {
  /** State name, PyTorch's key: 'momentum_buffer', 'exp_avg', … */
  key: string;
  /** Whether this configuration uses it (unused slots get no binding and are not saved). */
  used: boolean;
  /** Initial value of every element. */
  init: number;
}

interface ParamEntry {
  name: string;
  param: Tensor;
  reg: Regularisation;
  /** step() calls this parameter had no gradient for. */
  skipped: number;
  /** One per StateSlot (null when unused). */
  state: Array<Tensor | null>;
}

/** Checkpoint metadata next to the state tensors. */
export interface OptimizerStateMeta {
  type: OptimizerConfig['type'];
  stepCount: number;
  /** Per parameter: step() calls without a gradient (omitted when 0). */
  skipped: Record<string, number>;
}

export interface Optimizer {
  readonly config: OptimizerConfig;
  /** step() calls so far (restored from checkpoints; assignable). */
  stepCount: number;
  /**
   * One update with learning rate `lr` (from the schedule): reads each
   * parameter's `.grad` (parameters without one are skipped) and updates
   * parameters and state in place on the GPU. Records dispatches only: no
   * readback, no submit. With `clipNorm` set, clips gradients first.
   */
  step(lr: number): void;
  /**
   * The global gradient norm measured by the last step's clipping (a [] tensor
   * on the GPU, owned by the optimizer, replaced every step), or null when
   * `clipNorm` is not set.
   */
  readonly lastGradNorm: Tensor | null;
  /** Live state tensors by checkpoint name (owned by the optimizer: do not dispose). */
  stateTensors(): Map<string, Tensor>;
  /** Step counts for checkpoints (save with the tensors). */
  stateMeta(): OptimizerStateMeta;
  /**
   * Restores state saved from stateTensors() (read to Float32Array) and,
   * when given, stateMeta(). Every expected name must be present with the
   * right length. Without `meta`, step counts are left as they are (set
   * `stepCount` yourself). Continuing after a restore is bit-identical to
   * never having stopped.
   */
  loadState(map: ReadonlyMap<string, Float32Array>, meta?: Partial<OptimizerStateMeta>): void;
  /** Frees the state tensors (not the parameters). */
  dispose(): void;
}

export interface OptimizerOptions {
  /**
   * Which parameters are exempt from weight decay / L1 when the config says
   * `decayBiasAndNorm: false`. Default: rank ≤ 1 (biases, norm gains and
   * shifts), the usual heuristic (timm, nanoGPT).
   */
  isBiasOrNorm?: (name: string, param: Tensor) => boolean;
}

export abstract class BaseOptimizer<C extends OptimizerConfig = OptimizerConfig> implements Optimizer {
  readonly engine: Engine;
  readonly config: C;
  stepCount = 0;
  private readonly entries: ParamEntry[] = [];
  private readonly slots: readonly StateSlot[];
  private normTensor: Tensor | null = null;
  private disposed = false;

  // Plain fields, not parameter properties: the abstract methods below run in this constructor.
  constructor(engine: Engine, params: ReadonlyMap<string, Tensor>, config: C, options: OptimizerOptions = {}) {
    this.engine = engine;
    this.config = config;
    this.slots = this.stateSlots();
    const exempt = options.isBiasOrNorm ?? ((_n: string, p: Tensor) => p.rank <= 1);
    const base = this.regularisation();
    for (const [name, param] of params) {
      if (param.dtype !== 'f32') throw new EngineError(`Optimizer: parameter '${name}' is ${param.dtype}; only f32 parameters can be trained.`);
      if (param.engine !== engine) throw new EngineError(`Optimizer: parameter '${name}' lives on another engine.`);
      const reg = !config.decayBiasAndNorm && exempt(name, param) ? { wd: 0, decoupled: 0, l1: 0 } : base;
      const state = this.slots.map((s) => (s.used ? full(engine, param.shape, s.init).keep() : null)); // [param.shape]
      this.entries.push({ name, param, reg, skipped: 0, state });
    }
  }

  /** The family's state buffers in binding order (bindings: param, grad, states…, uniform). */
  protected abstract stateSlots(): StateSlot[];
  /** The family's per-element update (optim/update-kernel.ts builds the kernels). */
  protected abstract rule(): UpdateRule;
  /** Appends one parameter's uniforms (lr-derived values, flags) to `q`, in the order of the rule's fields. */
  protected abstract uniforms(q: Params, lr: number, step: number, reg: Regularisation): void;

  /** Regularisation from the config; AdamW overrides (its weightDecay is decoupled). */
  protected regularisation(): Regularisation {
    const c = this.config;
    return { wd: c.weightDecay, decoupled: 'decoupledWeightDecay' in c ? c.decoupledWeightDecay : 0, l1: c.l1 };
  }

  get lastGradNorm(): Tensor | null {
    return this.normTensor;
  }

  step(lr: number): void {
    if (this.disposed) throw new EngineError('Optimizer: step() after dispose().');
    if (!Number.isFinite(lr) || lr < 0) throw new EngineError(`Optimizer: learning rate must be a finite number ≥ 0, got ${lr}.`);
    this.stepCount++;
    const clip = this.config.clipNorm;
    if (clip != null) {
      const withGrad = this.entries.filter((e) => e.param.grad).map((e) => e.param);
      this.normTensor?.dispose();
      this.normTensor = clipGradNorm(withGrad, clip).keep();
    }
    const todo: ParamEntry[] = [];
    for (const e of this.entries) {
      const g = e.param.grad;
      if (!g) {
        e.skipped++;
        continue;
      }
      if (g.size !== e.param.size) {
        throw new EngineError(`Optimizer: gradient of '${e.name}' has ${g.size} elements, the parameter ${e.param.size}.`);
      }
      if (e.param.size > 0) todo.push(e);
    }
    // One dispatch per group of parameters, as many as the storage-buffer limit allows (at most 8).
    const used = this.slots.map((s) => s.used);
    const perGroup = Math.max(1, Math.min(8, Math.floor(this.engine.limits.maxStorageBuffersPerStage / bindingsPerParam(used))));
    for (let g0 = 0; g0 < todo.length; g0 += perGroup) this.update(todo.slice(g0, g0 + perGroup), used, lr);
  }

  /** Records one update dispatch for `group` (see optim/update-kernel.ts for the layout). */
  private update(group: ParamEntry[], used: boolean[], lr: number): void {
    const rule = this.rule();
    const words = slotWords(rule);
    const q = new Params();
    const bufs: Tensor[] = [];
    let wg = 0;
    for (const e of group) {
      const n = e.param.size;
      const end = q.length + words;
      q.u32(n).u32(wg);
      this.uniforms(q, lr, this.stepCount - e.skipped, e.reg);
      if (q.align16().length !== end) throw new EngineError(`Optimizer: ${rule.name} wrote the wrong number of uniforms.`);
      bufs.push(e.param, e.param.grad!, ...e.state.filter((t, i) => used[i] && t).map((t) => t!));
      wg += Math.ceil(n / UPDATE_PER_WORKGROUP);
    }
    this.engine.run(updateKernel(rule, group.length, used), bufs, q, wg);
  }

  stateTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const e of this.entries) {
      this.slots.forEach((s, i) => {
        const t = e.state[i];
        if (t) out.set(`${e.name}.${s.key}`, t);
      });
    }
    return out;
  }

  stateMeta(): OptimizerStateMeta {
    const skipped: Record<string, number> = {};
    for (const e of this.entries) if (e.skipped) skipped[e.name] = e.skipped;
    return { type: this.config.type, stepCount: this.stepCount, skipped };
  }

  loadState(map: ReadonlyMap<string, Float32Array>, meta?: Partial<OptimizerStateMeta>): void {
    if (meta?.type !== undefined && meta.type !== this.config.type) {
      throw new EngineError(`Optimizer state is for '${meta.type}', this optimizer is '${this.config.type}'.`);
    }
    const own = this.stateTensors();
    for (const [name, t] of own) {
      const data = map.get(name);
      if (!data) throw new EngineError(`Optimizer state: '${name}' is missing from the checkpoint (was it saved with other settings?).`);
      if (data.length !== t.size) {
        throw new EngineError(`Optimizer state: '${name}' has ${data.length} values, expected ${t.size}.`);
      }
    }
    for (const name of map.keys()) {
      if (!own.has(name)) throw new EngineError(`Optimizer state: unexpected entry '${name}' (a different optimizer or model?).`);
    }
    for (const [name, t] of own) this.engine.upload(t.buffer, map.get(name)!);
    if (meta?.stepCount !== undefined) this.stepCount = meta.stepCount;
    if (meta?.skipped !== undefined) for (const e of this.entries) e.skipped = meta.skipped[e.name] ?? 0;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const e of this.entries) for (const s of e.state) s?.dispose();
    this.normTensor?.dispose();
    this.normTensor = null;
  }
}

/** The decoupled-decay multiplier 1 − lr·wd (exactly 1 without decay). */
export const decayFactor = (lr: number, reg: Regularisation): number => 1 - lr * reg.decoupled;
