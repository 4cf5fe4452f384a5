/** Small constructors for the layer specs the zoo families emit. */
import type { ActivationKind, LayerSpecInput } from '../graph.ts';

export const conv = (out: number, kernel: number, opt: { stride?: number; padding?: number; bias?: boolean } = {}): LayerSpecInput => ({
  type: 'conv2d',
  out,
  kernel,
  stride: opt.stride ?? 1,
  padding: opt.padding ?? 0,
  bias: opt.bias ?? true,
});
export const linear = (out: number, bias = true): LayerSpecInput => ({ type: 'linear', out, bias });
export const act = (kind: ActivationKind): LayerSpecInput => ({ type: 'activation', kind });
export const bn = (): LayerSpecInput => ({ type: 'batchnorm' });
export const maxpool = (kernel: number, stride = kernel, padding = 0): LayerSpecInput => ({ type: 'maxpool2d', kernel, stride, padding });
export const avgpool = (kernel: number, stride = kernel): LayerSpecInput => ({ type: 'avgpool2d', kernel, stride });
export const flatten = (): LayerSpecInput => ({ type: 'flatten' });
export const dropout = (p: number): LayerSpecInput[] => (p > 0 ? [{ type: 'dropout', p }] : []);
