/**
 * conv2d → ReLU → 2×2/2 max-pool (LeNet-5's and most small CNNs' blocks)
 * with the pool folded into the convolution's forward kernel: the direct
 * kernel's columns are the four cells of each pooled output, and its store
 * writes the window's maximum and argmax instead of the conv output
 * (conv-wgsl.ts `pool2`). The full-size conv output is never written nor
 * read back by a pooling pass (LeNet-5's conv1: 301,056 values per step).
 *
 * Backward: the pool's scatter (pool.ts maxPool2Grad) gives the gradient of
 * the conv's pre-activation directly — windows whose maximum is not
 * positive route nothing, which is the ReLU's mask (relu-mask.ts) — then
 * the convolution's own backward (conv.ts convBackward). Same values as
 * conv2d(…, relu) → maxPool2d, bit for bit.
 *
 * Only where the direct kernel runs (CPU adapters; few output channels on
 * GPUs); elsewhere this is exactly those two ops.
 */
import { needsGrad, record } from '../core/tape.ts';
import { empty, type Tensor } from '../core/tensor.ts';
import { type Conv2dOptions, conv2d, convBackward, convGemm, convGeometry, directMaxM, packForward, v4 } from './conv.ts';
import { maxPool2d, maxPool2Grad } from './pool.ts';

/** maxPool2d(conv2d(x, w, b, {…opt, activation: 'relu'}), {kernel: 2}) in one forward dispatch. */
export function conv2dReluPool(x: Tensor, w: Tensor, b: Tensor | null, opt: Omit<Conv2dOptions, 'activation' | 'alpha'> = {}): Tensor {
  const op = 'conv2dReluPool';
  const geom = convGeometry(op, x, w, b, opt);
  const engine = x.engine;
  const Hp = Math.floor(geom.Ho / 2);
  const Wp = Math.floor(geom.Wo / 2);
  if (geom.O / geom.G > directMaxM(engine) || Hp < 1 || Wp < 1) {
    // The tiled kernel (many channels on a GPU) has no pooled store; a 1-pixel plane has no 2×2 window.
    const y = conv2d(x, w, b, { ...opt, activation: 'relu' });
    const p = maxPool2d(y, { kernel: 2 });
    if (p.node) p.own(y);
    else y.dispose();
    return p;
  }
  const outShape = [geom.N, geom.O, Hp, Wp];
  const out = empty(engine, outShape); // [N, O, Hp, Wp]
  const idx = empty(engine, outShape, 'i32'); // [N, O, Hp, Wp]: argmax oh·Wo + ow in the conv plane, −1 for none
  let wpDx: Tensor | null = null; // [G, Og·kH·kW, Cg rounded up to 4]: the input-gradient's packed weights
  if (out.size > 0) {
    const [wp, dxPack] = packForward(w, geom, x.requiresGrad && needsGrad(x, w, b)); // [G, Cg·kH·kW, Og rounded up to 4]
    wpDx = dxPack;
    convGemm(engine, 'fwd', geom, [x, v4(wp), b ?? engine.placeholder(0), out, idx], { act: 'relu', alpha: 0, hasBias: !!b, pool: { Hp, Wp } });
    wp.dispose();
  }
  const res = record(op, b ? [x, w, b] : [x, w], out, (g) => {
    // The by-rows input-grad and by-blocks weight-grad read g and idx in place of dz (lavapipe);
    // any other kernel gets dz scattered by the pool's backward.
    let dz: Tensor | null = null; // [N, O, Ho, Wo]
    const grads = convBackward({ g, idx, dense: () => (dz = maxPool2Grad(g, idx, [geom.N, geom.O, geom.Ho, geom.Wo])) }, x, w, b, geom, wpDx);
    (dz as Tensor | null)?.dispose();
    return grads;
  });
  for (const t of wpDx ? [idx, wpDx] : [idx]) {
    if (res.node) res.own(t);
    else t.dispose();
  }
  return res;
}
