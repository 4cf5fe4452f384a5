/**
 * Model input from a uint8 image batch, converted on the GPU.
 *
 * The batch producer hands out [B, H, W, C] uint8 (HWC, as stored in the
 * dataset library). Uploading bytes rather than floats moves 4× less data
 * over the CPU→GPU path; one kernel unpacks them (4 pixels per u32, little
 * endian) straight into the model's layout [B, C, H, W] as f32 in 0..255.
 * Normalisation ((x/255 − mean)/std) is the model's first layer
 * (models/graph.ts, `normalize`), so exported models take raw pixels too.
 */
import type { Engine } from '../core/engine.ts';
import { ShapeError } from '../core/errors.ts';
import { kernel, Params, WGSL_MAIN_1D } from '../core/kernel.ts';
import { empty, fromTypedArray, type Tensor } from '../core/tensor.ts';
import type { PixelNormalizer } from '../nn/normalize.ts';

/*
 * unpack_hwc_u8: packed: the batch's bytes [B, H, W, C] packed 4 per u32
 * (byte k in bits 8·(k % 4) of word k / 4), out: [B, C, H, W] f32.
 * One invocation writes one output element (gathering its byte); 1-D
 * dispatch, folded.
 */
const UNPACK = kernel(
  'train.unpack_hwc_u8',
  /* wgsl */ `
struct P { n: u32, C: u32, H: u32, W: u32, norm: u32 }
@group(0) @binding(0) var<storage, read> packed: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> shift: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${WGSL_MAIN_1D}
  let x = i % p.W;
  let y = (i / p.W) % p.H;
  let c = (i / (p.W * p.H)) % p.C;
  let b = i / (p.W * p.H * p.C);
  let src = ((b * p.H + y) * p.W + x) * p.C + c;
  var v = f32((packed[src >> 2u] >> ((src & 3u) * 8u)) & 255u);
  if (p.norm != 0u) { v = v * scale[c] + shift[c]; }
  out[i] = v;
}`,
  ['read', 'write', 'read', 'read', 'uniform'],
);

/*
 * unpack_u8x4: single-channel images (HWC = CHW): word i of the packed bytes
 * becomes out[4i … 4i + 3] as one vec4 store (p.n = words). The general
 * kernel's per-element index split cost ~0.7 ms per 64 MNIST images on lavapipe.
 */
const UNPACK_X4 = kernel(
  'train.unpack_u8x4',
  /* wgsl */ `
struct P { n: u32, norm: u32 }
@group(0) @binding(0) var<storage, read> packed: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> shift: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${WGSL_MAIN_1D}
  let w = packed[i];
  var v = vec4<f32>(f32(w & 255u), f32((w >> 8u) & 255u), f32((w >> 16u) & 255u), f32(w >> 24u));
  if (p.norm != 0u) { v = v * scale[0] + shift[0]; }
  out[i] = v;
}`,
  ['read', 'write', 'read', 'read', 'uniform'],
);

/**
 * [B, C, H, W] f32 (raw 0..255) from uint8 pixels [B, H, W, C]. Records an
 * upload and one dispatch; nothing is submitted. `shape` is [B, H, W, C].
 * With `norm` (a model's input normalisation, nn/normalize.ts) the pixels
 * come out normalised, p·scale[c] + shift[c], in the same dispatch (the
 * model then skips its own normalize layer: ForwardOptions.normalized).
 */
export function imagesToTensor(engine: Engine, bytes: Uint8Array, shape: readonly [number, number, number, number], norm: PixelNormalizer | null = null): Tensor {
  const [B, H, W, C] = shape;
  const n = B * H * W * C;
  if (bytes.length !== n || n === 0) {
    throw new ShapeError('imagesToTensor', `${bytes.length} bytes do not make a batch of ${B}×${H}×${W}×${C} images`, [shape]);
  }
  const words = Math.ceil(n / 4);
  const packed = empty(engine, [words], 'u32'); // [⌈B·H·W·C / 4⌉]
  engine.upload(packed.buffer, bytes); // padded to whole words by the engine
  const out = empty(engine, [B, C, H, W]); // [B, C, H, W]
  if (norm && norm.scale.size !== C) throw new ShapeError('imagesToTensor', `the normalisation has ${norm.scale.size} channels, the images ${C}`, [shape]);
  const ns = norm ? [norm.scale, norm.shift] : [engine.placeholder(0), engine.placeholder(1)];
  const flag = norm ? 1 : 0;
  if (C === 1 && n % 4 === 0) engine.run(UNPACK_X4, [packed, out, ...ns], new Params().u32(words).u32(flag), Math.ceil(words / 256));
  else engine.run(UNPACK, [packed, out, ...ns], new Params().u32(n).u32(C).u32(H).u32(W).u32(flag), Math.ceil(n / 256));
  packed.dispose(); // back to the pool: reused only by later commands, in queue order
  return out;
}

/** [B] i32 class ids on the GPU. */
export function labelsToTensor(engine: Engine, labels: Int32Array): Tensor {
  return fromTypedArray(engine, labels, [labels.length]); // [B]
}
