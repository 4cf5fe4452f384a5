/**
 * A ReLU's gradient mask, applied once instead of twice.
 *
 * Two consumers of a ReLU output know how to hand back an already masked
 * gradient: max-pool (below) and linear, whose input-gradient GEMM zeroes
 * the entries where its input is not positive in its store (matmul-direct.ts
 * `mask`; LeNet-5's fc2 and fc3, every hidden layer of an MLP).
 *
 * ReLU's backward is g·[y > 0]. When a ReLU output y feeds a max-pool (conv →
 * ReLU → pool, LeNet-5 and AlexNet), the pool's input-gradient is non-zero
 * only at each window's argmax; if the pool also routes nothing from windows
 * whose maximum is not positive (there the argmax has y = 0, so the mask
 * would zero it), its gradient is already zero wherever y ≤ 0 and the ReLU's
 * mask pass (a full read and write of the conv output's size; 1.2 ms of a
 * LeNet-5 step on lavapipe) changes nothing. The result is bit-identical.
 *
 * Two facts tie the ops together, each keyed on the exact Tensor object (a
 * view, a copy or an accumulated sum is a new object, so the facts do not
 * carry over and the mask runs as usual):
 *   - markReluOutput(y): y is the output of a ReLU (conv2d or linear with
 *     the fused activation 'relu');
 *   - markReluMasked(g, y): g, a gradient for y, is already zero wherever y ≤ 0.
 */
import type { Tensor } from '../core/tensor.ts';

const reluOutputs = new WeakSet<Tensor>();
const masked = new WeakMap<Tensor, Tensor>();

export function markReluOutput(y: Tensor): void {
  reluOutputs.add(y);
}

export function isReluOutput(y: Tensor): boolean {
  return reluOutputs.has(y);
}

export function markReluMasked(g: Tensor, y: Tensor): void {
  masked.set(g, y);
}

/** Whether g (a gradient for the ReLU output y) already carries the ReLU's mask. */
export function isReluMasked(g: Tensor, y: Tensor): boolean {
  return masked.get(g) === y;
}
