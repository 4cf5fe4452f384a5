/**
 * Optimizers against the float64 transcription of torch.optim
 * (reference/optim.ts): three steps with changing learning rates and
 * gradients, a parameter that sits out step 2 and one that never gets a
 * gradient; params and every state tensor to 1e-6 relative. Also: a step
 * records exactly one dispatch per parameter with a gradient and never
 * submits (so never reads back); save → load → continue is bit-identical to
 * not stopping; a small quadratic converges with each optimizer; config
 * schemas reject bad values naming the field.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';
import { expectClose, getEngine, randArray } from './helpers.ts';
import { RefOptimizer } from './reference/optim.ts';

const TOL = { rtol: 1e-6, atol: 1e-6 };

const SHAPES: Record<string, number[]> = {
  'fc.weight': [3, 5],
  'fc.bias': [5],
  'norm.weight': [4], // no gradient on step 2
  'frozen.weight': [2, 2], // never a gradient
};
const LR_FACTORS = [1, 0.5, 0.8];
/** Gradient scale per step: large, larger, small (so amsgrad's max matters). */
const GRAD_SCALE = [1, 2, 0.2];

function hasGrad(name: string, step: number): boolean {
  if (name === 'frozen.weight') return false;
  return !(name === 'norm.weight' && step === 1);
}

function gradData(name: string, step: number): Float32Array {
  const n = SHAPES[name].reduce((a, b) => a * b, 1);
  const seed = 100 + step * 10 + Object.keys(SHAPES).indexOf(name);
  return randArray(n, seed).map((v) => v * GRAD_SCALE[step]);
}

function makeParams(engine: E.Engine, values?: Map<string, Float32Array>): Map<string, E.Tensor> {
  const m = new Map<string, E.Tensor>();
  Object.entries(SHAPES).forEach(([name, shape], k) => {
    const data = values?.get(name) ?? randArray(shape.reduce((a, b) => a * b, 1), 7 + k);
    m.set(name, E.fromTypedArray(engine, data, shape).keep());
  });
  return m;
}

function setGrads(engine: E.Engine, params: Map<string, E.Tensor>, step: number): Map<string, Float64Array | null> {
  const ref = new Map<string, Float64Array | null>();
  for (const [name, p] of params) {
    p.grad?.dispose();
    p.grad = null;
    if (!hasGrad(name, step)) {
      ref.set(name, null);
      continue;
    }
    const g = gradData(name, step);
    p.grad = E.fromTypedArray(engine, g, p.shape).keep();
    ref.set(name, Float64Array.from(g));
  }
  return ref;
}

function disposeParams(params: Map<string, E.Tensor>): void {
  for (const p of params.values()) p.dispose();
}

/** Parameters one update dispatch can take: param, grad and each used state buffer per parameter, at most 8. */
function perDispatch(engine: E.Engine, cfg: E.OptimizerConfig): number {
  const states =
    cfg.type === 'sgd' ? (cfg.momentum !== 0 ? 1 : 0)
    : cfg.type === 'adagrad' ? 1
    : cfg.type === 'adadelta' ? 2
    : cfg.type === 'rmsprop' ? 1 + (cfg.momentum !== 0 ? 1 : 0) + (cfg.centered ? 1 : 0)
    : 2 + (cfg.amsgrad ? 1 : 0);
  return Math.min(8, Math.floor(engine.limits.maxStorageBuffersPerStage / (2 + states)));
}

const VARIANTS: Array<[string, E.OptimizerConfigInput]> = [
  ['sgd plain', { type: 'sgd', lr: 0.1 }],
  ['sgd momentum + dampening + L2', { type: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }],
  ['sgd nesterov + L2', { type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.05 }],
  ['sgd momentum + decoupled decay + L1', { type: 'sgd', lr: 0.1, momentum: 0.5, decoupledWeightDecay: 0.1, l1: 0.01 }],
  ['sgd no decay on biases/norms', { type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0.1, l1: 0.01, decayBiasAndNorm: false }],
  ['adagrad lr decay + init acc + L2', { type: 'adagrad', lr: 0.1, lrDecay: 0.1, initialAccumulatorValue: 0.1, weightDecay: 0.01 }],
  ['adagrad defaults', { type: 'adagrad', lr: 0.1 }],
  ['adadelta + L2', { type: 'adadelta', lr: 1, rho: 0.9, weightDecay: 0.01 }],
  ['adadelta decoupled', { type: 'adadelta', lr: 2, rho: 0.8, eps: 1e-4, decoupledWeightDecay: 0.05 }],
  ['rmsprop plain', { type: 'rmsprop', lr: 0.01 }],
  ['rmsprop centered + momentum + L2', { type: 'rmsprop', lr: 0.01, centered: true, momentum: 0.9, weightDecay: 0.01 }],
  ['rmsprop centered', { type: 'rmsprop', lr: 0.02, alpha: 0.9, centered: true }],
  ['rmsprop momentum + L1', { type: 'rmsprop', lr: 0.01, momentum: 0.5, l1: 0.01 }],
  ['adam plain', { type: 'adam', lr: 0.1 }],
  ['adam amsgrad + L2 + L1', { type: 'adam', lr: 0.1, betas: [0.8, 0.9], amsgrad: true, weightDecay: 0.01, l1: 0.001 }],
  ['adam decoupled', { type: 'adam', lr: 0.1, decoupledWeightDecay: 0.1 }],
  ['adamw', { type: 'adamw', lr: 0.1, weightDecay: 0.1 }],
  ['adamw amsgrad, no decay on biases/norms', { type: 'adamw', lr: 0.05, betas: [0.8, 0.9], amsgrad: true, decayBiasAndNorm: false }],
];

describe('optimizers vs the float64 PyTorch reference (3 steps)', () => {
  // Many parameters of sizes around the 1024-element workgroup boundary: several per dispatch, several dispatches.
  const SIZES = [1, 1023, 1024, 1025, 3000, 7, 4096, 5, 2049, 17, 300, 1];
  for (const [label, raw] of VARIANTS.filter(([l]) => /nesterov|rmsprop centered \+|adam amsgrad/.test(l))) {
    it(`${label}: ${SIZES.length} parameters in grouped dispatches`, async () => {
      const engine = await getEngine();
      const cfg = E.parseOptimizerConfig(raw);
      const initial = new Map(SIZES.map((n, k) => [`p${k}`, randArray(n, 500 + k)]));
      const params = new Map([...initial].map(([name, v]) => [name, E.fromTypedArray(engine, v, [v.length]).keep()]));
      const opt = E.createOptimizer(engine, params, cfg);
      const ref = new RefOptimizer(cfg, new Map([...initial].map(([n, v]) => [n, Float64Array.from(v)])), new Set());
      for (let s = 0; s < 2; s++) {
        const grads = new Map<string, Float64Array | null>();
        for (const [name, p] of params) {
          p.grad?.dispose();
          const g = randArray(p.size, 900 + 10 * s + Number(name.slice(1)));
          p.grad = E.fromTypedArray(engine, g, p.shape).keep();
          grads.set(name, Float64Array.from(g));
        }
        const before = engine.memory().dispatches;
        opt.step(cfg.lr);
        expect(engine.memory().dispatches - before).toBe(Math.ceil(SIZES.length / perDispatch(engine, cfg)));
        ref.step(cfg.lr, grads);
      }
      for (const [name, p] of params) expectClose(await p.read(), ref.params.get(name)!, TOL, `${label}: ${name}`);
      for (const [key, t] of opt.stateTensors()) {
        const dot = key.lastIndexOf('.');
        expectClose(await t.read(), ref.state.get(key.slice(0, dot))![key.slice(dot + 1)], TOL, `${label}: state ${key}`);
      }
      opt.dispose();
      for (const p of params.values()) {
        p.grad?.dispose();
        p.dispose();
      }
    });
  }

  for (const [label, raw] of VARIANTS) {
    it(label, async () => {
      const engine = await getEngine();
      const cfg = E.parseOptimizerConfig(raw);
      const params = makeParams(engine);
      const initial = new Map<string, Float32Array>();
      for (const [n, p] of params) initial.set(n, await p.read());
      const opt = E.createOptimizer(engine, params, cfg);
      const exempt = new Set(cfg.decayBiasAndNorm ? [] : [...params].filter(([, p]) => p.rank <= 1).map(([n]) => n));
      const ref = new RefOptimizer(cfg, new Map([...initial].map(([n, v]) => [n, Float64Array.from(v)])), exempt);
      for (let s = 0; s < 3; s++) {
        const lr = cfg.lr * LR_FACTORS[s];
        const refGrads = setGrads(engine, params, s);
        const before = engine.memory();
        opt.step(lr);
        const after = engine.memory();
        // One fused kernel per group of parameters with a gradient; nothing submitted, so nothing read back.
        expect(after.submits, 'submits during step').toBe(before.submits);
        const withGrad = [...refGrads.values()].filter(Boolean).length;
        expect(after.dispatches - before.dispatches, 'dispatches per step').toBe(Math.ceil(withGrad / perDispatch(engine, cfg)));
        ref.step(lr, refGrads);
      }
      expect(opt.stepCount).toBe(3);
      for (const [name, p] of params) {
        expectClose(await p.read(), ref.params.get(name)!, TOL, `${label}: ${name}`);
      }
      expect(await params.get('frozen.weight')!.read()).toEqual(initial.get('frozen.weight'));
      // State: every tensor the optimizer holds matches the reference's (zeros where it has none yet).
      const states = opt.stateTensors();
      expect(states.size > 0).toBe(!(cfg.type === 'sgd' && cfg.momentum === 0));
      for (const [key, t] of states) {
        const dot = key.lastIndexOf('.');
        const pname = key.slice(0, dot);
        const sname = key.slice(dot + 1);
        const expected = ref.state.get(pname)?.[sname] ?? new Float64Array(t.size);
        expectClose(await t.read(), expected, TOL, `${label}: state ${key}`);
      }
      if (cfg.type === 'adam' && cfg.amsgrad) {
        // The variant must actually exercise the max (exp_avg_sq decreased somewhere).
        const v = await states.get('fc.weight.exp_avg_sq')!.read();
        const vmax = await states.get('fc.weight.max_exp_avg_sq')!.read();
        expect(v.some((x, i) => x < vmax[i])).toBe(true);
      }
      opt.dispose();
      disposeParams(params);
    });
  }

  it('names state like PyTorch and allocates only what the settings use', async () => {
    const engine = await getEngine();
    const params = makeParams(engine);
    const names = (cfg: E.OptimizerConfigInput): string[] => {
      const opt = E.createOptimizer(engine, params, cfg);
      const keys = [...opt.stateTensors().keys()].filter((k) => k.startsWith('fc.weight.'));
      opt.dispose();
      return keys;
    };
    expect(names({ type: 'sgd' })).toEqual([]);
    expect(names({ type: 'sgd', momentum: 0.9 })).toEqual(['fc.weight.momentum_buffer']);
    expect(names({ type: 'adam' })).toEqual(['fc.weight.exp_avg', 'fc.weight.exp_avg_sq']);
    expect(names({ type: 'adamw', amsgrad: true })).toEqual(['fc.weight.exp_avg', 'fc.weight.exp_avg_sq', 'fc.weight.max_exp_avg_sq']);
    expect(names({ type: 'adagrad' })).toEqual(['fc.weight.sum']);
    expect(names({ type: 'adadelta' })).toEqual(['fc.weight.square_avg', 'fc.weight.acc_delta']);
    expect(names({ type: 'rmsprop', momentum: 0.9, centered: true })).toEqual([
      'fc.weight.square_avg',
      'fc.weight.momentum_buffer',
      'fc.weight.grad_avg',
    ]);
    disposeParams(params);
  });

  it('keeps GPU memory flat across steps and frees its state on dispose', async () => {
    const engine = await getEngine();
    const params = makeParams(engine);
    const live0 = engine.memory().liveTensors;
    const opt = E.createOptimizer(engine, params, { type: 'rmsprop', momentum: 0.9, centered: true, clipNorm: 1 });
    setGrads(engine, params, 0);
    opt.step(0.01);
    const live1 = engine.memory().liveTensors;
    for (let s = 0; s < 3; s++) opt.step(0.01);
    expect(engine.memory().liveTensors).toBe(live1);
    opt.dispose();
    E.zeroGrad(params.values());
    expect(engine.memory().liveTensors).toBe(live0);
    disposeParams(params);
  });

  it('rejects a bad learning rate at step time', async () => {
    const engine = await getEngine();
    const params = makeParams(engine);
    const opt = E.createOptimizer(engine, params, { type: 'sgd' });
    expect(() => opt.step(Number.NaN)).toThrow(/learning rate/);
    expect(() => opt.step(-1)).toThrow(/learning rate/);
    opt.dispose();
    disposeParams(params);
  });
});

// ------------------------------------------------------------ checkpointing

const RESUME: Array<[string, E.OptimizerConfigInput]> = [
  ['sgd nesterov', { type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }],
  ['adagrad', { type: 'adagrad', lr: 0.1, lrDecay: 0.05 }],
  ['adadelta', { type: 'adadelta' }],
  ['rmsprop centered momentum', { type: 'rmsprop', centered: true, momentum: 0.9 }],
  ['adam amsgrad', { type: 'adam', lr: 0.05, amsgrad: true, betas: [0.8, 0.9] }],
  ['adamw', { type: 'adamw', lr: 0.05 }],
];

describe('checkpoint: save, load, continue = never stopped (bit-identical)', () => {
  const STEPS = 5;
  const STOP = 3;
  const stepAt = (s: number): number => s % 3; // reuses the 3 gradient sets (norm.weight skips steps 1 and 4)
  for (const [label, cfg] of RESUME) {
    it(label, async () => {
      const engine = await getEngine();
      const lrOf = (s: number): number => 0.05 * (1 + 0.1 * s);
      // Uninterrupted run.
      const pa = makeParams(engine);
      const a = E.createOptimizer(engine, pa, cfg);
      for (let s = 0; s < STEPS; s++) {
        setGrads(engine, pa, stepAt(s));
        a.step(lrOf(s));
      }
      // Interrupted run: save after STOP steps, rebuild everything from the saved values.
      const pb = makeParams(engine);
      const b = E.createOptimizer(engine, pb, cfg);
      for (let s = 0; s < STOP; s++) {
        setGrads(engine, pb, stepAt(s));
        b.step(lrOf(s));
      }
      const savedParams = new Map<string, Float32Array>();
      for (const [n, p] of pb) savedParams.set(n, await p.read());
      const savedState = new Map<string, Float32Array>();
      for (const [n, t] of b.stateTensors()) savedState.set(n, await t.read());
      const meta = JSON.parse(JSON.stringify(b.stateMeta())) as E.OptimizerStateMeta;
      expect(meta.stepCount).toBe(STOP);
      expect(meta.skipped).toEqual({ 'norm.weight': 1, 'frozen.weight': STOP });
      b.dispose();
      E.zeroGrad(pb.values());
      disposeParams(pb);

      const pc = makeParams(engine, savedParams);
      const c = E.createOptimizer(engine, pc, cfg);
      c.loadState(savedState, meta);
      expect(c.stepCount).toBe(STOP);
      for (let s = STOP; s < STEPS; s++) {
        setGrads(engine, pc, stepAt(s));
        c.step(lrOf(s));
      }
      for (const [n, p] of pa) expect(await pc.get(n)!.read(), `${label}: ${n}`).toEqual(await p.read());
      const sa = a.stateTensors();
      for (const [n, t] of c.stateTensors()) expect(await t.read(), `${label}: ${n}`).toEqual(await sa.get(n)!.read());
      for (const o of [a, c]) o.dispose();
      for (const ps of [pa, pc]) {
        E.zeroGrad(ps.values());
        disposeParams(ps);
      }
    });
  }

  it('refuses a checkpoint that does not match', async () => {
    const engine = await getEngine();
    const params = makeParams(engine);
    const opt = E.createOptimizer(engine, params, { type: 'adam' });
    const full = new Map<string, Float32Array>();
    for (const [n, t] of opt.stateTensors()) full.set(n, new Float32Array(t.size));
    const missing = new Map(full);
    missing.delete('fc.bias.exp_avg');
    expect(() => opt.loadState(missing)).toThrow(/'fc\.bias\.exp_avg' is missing/);
    const wrong = new Map(full).set('fc.bias.exp_avg', new Float32Array(3));
    expect(() => opt.loadState(wrong)).toThrow(/'fc\.bias\.exp_avg' has 3 values, expected 5/);
    const extra = new Map(full).set('fc.bias.momentum_buffer', new Float32Array(5));
    expect(() => opt.loadState(extra)).toThrow(/unexpected entry 'fc\.bias\.momentum_buffer'/);
    expect(() => opt.loadState(full, { type: 'sgd' })).toThrow(/is for 'sgd'/);
    opt.dispose();
    disposeParams(params);
  });
});

// -------------------------------------------------------------- convergence

describe('a small quadratic converges with every optimizer', () => {
  const N = 8;
  const a = Float32Array.from({ length: N }, (_, i) => 0.5 + (1.5 * i) / (N - 1));
  const c = Float32Array.from({ length: N }, (_, i) => Math.sin(i + 1));
  const cases: Array<[string, E.OptimizerConfigInput]> = [
    ['sgd', { type: 'sgd', lr: 0.1, momentum: 0.9 }],
    ['adagrad', { type: 'adagrad', lr: 0.5 }],
    ['adadelta', { type: 'adadelta', lr: 8 }],
    ['rmsprop', { type: 'rmsprop', lr: 0.02, momentum: 0.5 }],
    ['adam', { type: 'adam', lr: 0.1 }],
    ['adamw', { type: 'adamw', lr: 0.1, weightDecay: 0 }],
  ];
  for (const [label, cfg] of cases) {
    it(label, async () => {
      const engine = await getEngine();
      const w = E.full(engine, [N], 2).keep();
      w.requiresGrad = true;
      const at = E.fromTypedArray(engine, a).keep();
      const ct = E.fromTypedArray(engine, c).keep();
      const lossOf = (): E.Tensor => {
        const d = E.sub(w, ct); // [N]
        return E.mulScalar(E.sum(E.mul(E.mul(d, d), at)), 0.5); // []
      };
      const measure = async (): Promise<number> => {
        const l = E.tidy(() => E.noGrad(lossOf));
        const v = await l.item();
        l.dispose();
        return v;
      };
      const l0 = await measure();
      const opt = E.createOptimizer(engine, new Map([['w', w]]), cfg);
      for (let s = 0; s < 200; s++) {
        E.tidy(() => {
          E.backward(lossOf());
        });
        opt.step(opt.config.lr);
        E.zeroGrad([w]);
        if (s % 50 === 49) engine.flush();
      }
      const l1 = await measure();
      expect(l1 / l0, `${label}: loss ${l0} → ${l1}`).toBeLessThan(1e-4);
      opt.dispose();
      for (const t of [w, at, ct]) t.dispose();
    });
  }
});

// ------------------------------------------------------------------ schemas

describe('optimizer config schemas', () => {
  it('fill PyTorch defaults', () => {
    const p = E.parseOptimizerConfig;
    expect(p({ type: 'sgd' })).toMatchObject({ lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 });
    expect(p({ type: 'adagrad' })).toMatchObject({ lr: 1e-2, lrDecay: 0, initialAccumulatorValue: 0, eps: 1e-10 });
    expect(p({ type: 'adadelta' })).toMatchObject({ lr: 1, rho: 0.9, eps: 1e-6 });
    expect(p({ type: 'rmsprop' })).toMatchObject({ lr: 1e-2, alpha: 0.99, eps: 1e-8, momentum: 0, centered: false });
    expect(p({ type: 'adam' })).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false });
    expect(p({ type: 'adamw' })).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], weightDecay: 1e-2, amsgrad: false });
    expect(p({ type: 'adam' })).toMatchObject({ decoupledWeightDecay: 0, l1: 0, decayBiasAndNorm: true });
  });

  const bad: Array<[unknown, RegExp]> = [
    [{ type: 'sgd', lr: 0 }, /optimizer\.lr: lr must be > 0 \(got 0\)/],
    [{ type: 'adam', lr: -1e-3 }, /optimizer\.lr: lr must be > 0/],
    [{ type: 'adam', lr: 11 }, /optimizer\.lr: lr must be ≤ 10/],
    [{ type: 'sgd', lr: '0.1' }, /optimizer\.lr: lr must be a number/],
    [{ type: 'sgd', momentum: 1 }, /optimizer\.momentum: momentum must be in \[0, 1\) \(got 1\)/],
    [{ type: 'rmsprop', momentum: -0.1 }, /optimizer\.momentum/],
    [{ type: 'sgd', nesterov: true }, /optimizer\.nesterov: nesterov needs momentum > 0/],
    [{ type: 'sgd', nesterov: true, momentum: 0.9, dampening: 0.1 }, /optimizer\.nesterov/],
    [{ type: 'adam', betas: [0.9, 1] }, /optimizer\.betas\[1\]: betas\[1\] must be in \[0, 1\)/],
    [{ type: 'adamw', betas: [-0.1, 0.9] }, /optimizer\.betas\[0\]/],
    [{ type: 'adam', betas: 0.9 }, /optimizer\.betas: betas must be a pair/],
    [{ type: 'adam', eps: 0 }, /optimizer\.eps: eps must be > 0/],
    [{ type: 'rmsprop', alpha: 1 }, /optimizer\.alpha/],
    [{ type: 'adadelta', rho: 1.5 }, /optimizer\.rho: rho must be in \[0, 1\]/],
    [{ type: 'sgd', weightDecay: 2 }, /optimizer\.weightDecay: weightDecay must be ≤ 1/],
    [{ type: 'sgd', l1: -1 }, /optimizer\.l1/],
    [{ type: 'adagrad', lrDecay: -0.1 }, /optimizer\.lrDecay/],
    [{ type: 'adam', clipNorm: 0 }, /optimizer\.clipNorm: clipNorm must be > 0/],
    [{ type: 'lion' }, /optimizer\.type: type must be one of sgd, adagrad/],
    [{ type: 'adam', beta1: 0.9 }, /beta1/],
    [{ type: 'adamw', decoupledWeightDecay: 0.1 }, /decoupledWeightDecay/],
  ];
  for (const [input, msg] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      expect(() => E.parseOptimizerConfig(input)).toThrow(E.OptimizerConfigError);
      expect(() => E.parseOptimizerConfig(input)).toThrow(msg);
    });
  }

  it('treats keys set to undefined as absent', () => {
    expect(E.parseOptimizerConfig({ type: 'adam', lr: undefined, amsgrad: undefined })).toMatchObject({ lr: 1e-3, amsgrad: false });
  });

  it('createOptimizer validates too', async () => {
    const engine = await getEngine();
    expect(() => E.createOptimizer(engine, new Map(), { type: 'sgd', lr: 100 })).toThrow(/optimizer\.lr/);
  });
});
