/**
 * LayerLab's WebGPU deep-learning engine (TypeScript + WGSL only: no Node,
 * DOM or Electron import; hand it a GPUDevice).
 *
 *   const engine = new Engine(device, { seed: 1 });
 *   const x = fromTypedArray(engine, data, [B, 784]);        // [B, 784]
 *   const loss = tidy(() => {
 *     const h = linear(x, W1, b1, 'relu');                    // [B, 128]
 *     const l = crossEntropy(linear(h, W2, b2), labels);      // []
 *     backward(l);                                            // W1.grad, …
 *     return l;
 *   });
 *   console.log(await loss.item());                           // flushes the step
 *
 * Everything an op records goes into the engine's current command encoder;
 * `read()`/`item()`/`engine.sync()` submit it. See ops/README.md for HOW TO
 * WRITE AN OP (kernel + dispatch + backward in one file).
 */
export { Engine, MAX_CONSTANTS } from './core/engine.ts';
export type { EngineOptions, EngineLimits, MemoryStats, Bindable, BufferSource } from './core/engine.ts';
export {
  EngineError,
  DeviceLostError,
  OutOfMemoryError,
  ShaderCompileError,
  ShapeError,
  LimitError,
  DisposedError,
} from './core/errors.ts';
export { kernel, kernelFamily, Params, MAX_RANK, WGSL_WG_LINEAR } from './core/kernel.ts';
export type { Kernel, BindingKind } from './core/kernel.ts';
export * from './core/shape.ts';
export {
  Tensor,
  empty,
  zeros,
  ones,
  full,
  scalar,
  fillTensor,
  fromArray,
  fromTypedArray,
} from './core/tensor.ts';
export type { DType, TensorData, NestedNumbers } from './core/tensor.ts';
export { randUniform, randNormal, randBits, seedKey, WGSL_PHILOX } from './core/rng.ts';
export type { RandomOptions } from './core/rng.ts';
export {
  backward,
  grad,
  noGrad,
  enableGrad,
  isGradEnabled,
  tidy,
  disposeAll,
  zeroGrad,
  record,
  recordMulti,
  needsGrad,
  addSameShape,
  copyTensor,
} from './core/tape.ts';
export type { GradNode, BackwardOptions } from './core/tape.ts';

export { mapN, gatherStrided, scatterStrided } from './ops/map.ts';
export type { MapOptions } from './ops/map.ts';
export * from './ops/elementwise.ts';
export * from './ops/activations.ts';
export * from './ops/reduce.ts';
export * from './ops/shape.ts';
export * from './ops/matmul.ts';
export * from './ops/softmax.ts';
export * from './ops/losses.ts';
export * from './ops/dropout.ts';
export * from './nn/init.ts';
export * from './ops/norm.ts';
export * from './ops/attention.ts';
export * from './optim/index.ts';
export * from './ops/recurrent.ts';
export { conv1d, conv2d, CONV_FLAGS, type Conv1dOptions, type Conv2dOptions } from './ops/conv.ts';
export { conv2dReluPool } from './ops/conv-pool.ts';
export { SHIFTED_FLAGS } from './ops/conv-shifted.ts';
export { DW_BLOCKS_FLAGS } from './ops/conv-dw-blocks.ts';
export { DX_ROWS_FLAGS } from './ops/conv-dx-rows.ts';
export * from './ops/pool.ts';
export * from './models/index.ts';
export * from './train/index.ts';
