/**
 * Parameter initialisers with PyTorch's conventions (torch.nn.init):
 * fan_in = shape[1]·receptive, fan_out = shape[0]·receptive for weights laid
 * out [out, in, ...kernel]; gains from calculate_gain. All seeded (Philox),
 * so the same seed gives the same parameters on the same adapter.
 *
 *   xavierUniform: U(−a, a), a = gain·√(6 / (fan_in + fan_out))   (Glorot & Bengio 2010)
 *   xavierNormal:  N(0, σ²), σ = gain·√(2 / (fan_in + fan_out))
 *   kaimingUniform: U(−b, b), b = gain·√(3 / fan)                   (He et al. 2015)
 *   kaimingNormal:  N(0, σ²), σ = gain / √fan
 */
import type { Engine } from '../core/engine.ts';
import { ShapeError } from '../core/errors.ts';
import { randNormal, randUniform } from '../core/rng.ts';
import type { Shape } from '../core/shape.ts';
import { full, type Tensor } from '../core/tensor.ts';

export type Nonlinearity = 'linear' | 'conv' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'selu';

/** torch.nn.init.calculate_gain. `param` is the negative slope for leakyRelu (default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leakyRelu': {
      const a = param ?? 0.01;
      return Math.sqrt(2 / (1 + a * a));
    }
    case 'selu':
      return 3 / 4;
  }
}

/** [fan_in, fan_out] of a weight shape [out, in, ...kernel] (1-D: both = length). */
export function fans(shape: Shape): [number, number] {
  if (shape.length === 0) throw new ShapeError('init', 'fan in/out need at least one dimension', [shape]);
  if (shape.length === 1) return [shape[0], shape[0]];
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return [shape[1] * receptive, shape[0] * receptive];
}

export interface InitOptions {
  seed?: number;
  gain?: number;
}

export interface KaimingOptions {
  seed?: number;
  /** Negative slope of the rectifier after this layer (leakyRelu); default 0. */
  a?: number;
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: Nonlinearity;
}

export function xavierUniform(engine: Engine, shape: Shape, opt: InitOptions = {}): Tensor {
  const [fi, fo] = fans(shape);
  const a = (opt.gain ?? 1) * Math.sqrt(6 / (fi + fo));
  return randUniform(engine, shape, { seed: opt.seed, low: -a, high: a });
}

export function xavierNormal(engine: Engine, shape: Shape, opt: InitOptions = {}): Tensor {
  const [fi, fo] = fans(shape);
  return randNormal(engine, shape, { seed: opt.seed, std: (opt.gain ?? 1) * Math.sqrt(2 / (fi + fo)) });
}

function kaimingStd(shape: Shape, opt: KaimingOptions): number {
  const [fi, fo] = fans(shape);
  const fan = (opt.mode ?? 'fanIn') === 'fanIn' ? fi : fo;
  const gain = calculateGain(opt.nonlinearity ?? 'leakyRelu', opt.a ?? 0);
  return gain / Math.sqrt(fan);
}

/** PyTorch defaults: a = 0, mode fan_in, nonlinearity leaky_relu (gain √2). */
export function kaimingUniform(engine: Engine, shape: Shape, opt: KaimingOptions = {}): Tensor {
  const b = Math.sqrt(3) * kaimingStd(shape, opt);
  return randUniform(engine, shape, { seed: opt.seed, low: -b, high: b });
}

export function kaimingNormal(engine: Engine, shape: Shape, opt: KaimingOptions = {}): Tensor {
  return randNormal(engine, shape, { seed: opt.seed, std: kaimingStd(shape, opt) });
}

/**
 * PyTorch's default for nn.Linear / nn.Conv weights and biases:
 * U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5 gives the same bound).
 */
export function uniformFanIn(engine: Engine, shape: Shape, fanIn: number, opt: { seed?: number } = {}): Tensor {
  const b = 1 / Math.sqrt(Math.max(fanIn, 1));
  return randUniform(engine, shape, { seed: opt.seed, low: -b, high: b });
}

export function zerosInit(engine: Engine, shape: Shape): Tensor {
  return full(engine, shape, 0);
}

export function constantInit(engine: Engine, shape: Shape, value: number): Tensor {
  return full(engine, shape, value);
}
