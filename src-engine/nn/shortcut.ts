/**
 * He et al.'s option-A shortcut (Deep Residual Learning, section 4.2): the
 * identity, subsampled by the block's stride (x[:, :, ::s, ::s]) and padded
 * with zero channels, floor((C'−C)/2) before and the rest after — the layout
 * of the widely used PyTorch CIFAR ResNets (F.pad(x[:, :, ::2, ::2],
 * (0, 0, 0, 0, C/2, C/2))). Parameter-free.
 */
import { record } from '../core/tape.ts';
import { full, type Tensor } from '../core/tensor.ts';
import { gatherStrided, scatterStrided } from '../ops/map.ts';
import { pad } from '../ops/shape.ts';

/** x[:, :, ::s, ::s] for x [N, C, H, W] → [N, C, ⌈H/s⌉, ⌈W/s⌉]; backward scatters into zeros. */
export function subsample2d(x: Tensor, s: number): Tensor {
  if (s === 1) return x;
  const [n, c, h, w] = x.shape;
  const outShape = [n, c, Math.ceil(h / s), Math.ceil(w / s)];
  const strides = [c * h * w, h * w, s * w, s];
  const out = gatherStrided(x, outShape, strides, 0); // [N, C, ⌈H/s⌉, ⌈W/s⌉]
  return record('subsample2d', [x], out, (gy) => {
    const gx = full(x.engine, x.shape, 0); // [N, C, H, W]
    scatterStrided(gy, gx, strides, 0);
    return [gx];
  });
}

/** Option-A shortcut of x [N, C, H, W] to [N, outC, ⌈H/s⌉, ⌈W/s⌉]. */
export function optionAShortcut(x: Tensor, stride: number, outChannels: number): Tensor {
  const sub = subsample2d(x, stride);
  const extra = outChannels - x.shape[1];
  if (extra === 0) return sub;
  const before = Math.floor(extra / 2);
  return pad(sub, [[0, 0], [before, extra - before], [0, 0], [0, 0]]); // [N, outC, Ho, Wo]
}
