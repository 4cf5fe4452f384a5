/**
 * Optimizers, learning-rate schedules and gradient clipping.
 *
 *   const opt = createOptimizer(engine, model.parameters(), { type: 'adamw', lr: 1e-3 });
 *   for (let s = 0; s < total; s++) {
 *     tidy(() => { backward(loss(...)); });
 *     opt.step(learningRate(schedule, cfg.lr, s, total, stepsPerEpoch));   // GPU only, no readback
 *     zeroGrad(params.values());
 *   }
 *   checkpoint: opt.stateTensors() (read each) + opt.stateMeta(); resume: opt.loadState(map, meta).
 */
import type { Engine } from '../core/engine.ts';
import type { Tensor } from '../core/tensor.ts';
import { Adadelta } from './adadelta.ts';
import { Adagrad } from './adagrad.ts';
import { Adam, AdamW } from './adam.ts';
import type { Optimizer, OptimizerOptions } from './base.ts';
import { type OptimizerConfig, type OptimizerConfigInput, parseOptimizerConfig } from './config.ts';
import { RMSprop } from './rmsprop.ts';
import { SGD } from './sgd.ts';

export type { Optimizer, OptimizerOptions, OptimizerStateMeta, Regularisation } from './base.ts';
export { SGD } from './sgd.ts';
export { Adagrad } from './adagrad.ts';
export { Adadelta } from './adadelta.ts';
export { RMSprop } from './rmsprop.ts';
export { Adam, AdamW } from './adam.ts';
export * from './config.ts';
export * from './schedules.ts';
export { clipGradNorm, gradNorms } from './clip.ts';

/**
 * An optimizer over `params` (name → parameter, e.g. model.parameters();
 * names become checkpoint keys `<name>.<state>`). `config` is validated and
 * completed with PyTorch's defaults (OptimizerConfigError names a bad field).
 */
export function createOptimizer(
  engine: Engine,
  params: ReadonlyMap<string, Tensor>,
  config: OptimizerConfigInput | OptimizerConfig,
  options: OptimizerOptions = {},
): Optimizer {
  const c = parseOptimizerConfig(config);
  switch (c.type) {
    case 'sgd':
      return new SGD(engine, params, c, options);
    case 'adagrad':
      return new Adagrad(engine, params, c, options);
    case 'adadelta':
      return new Adadelta(engine, params, c, options);
    case 'rmsprop':
      return new RMSprop(engine, params, c, options);
    case 'adam':
      return new Adam(engine, params, c, options);
    case 'adamw':
      return new AdamW(engine, params, c, options);
  }
}
