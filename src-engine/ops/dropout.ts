/**
 * Dropout (Srivastava et al., 2014) with inverted scaling: in training each
 * element is zeroed with probability p and survivors are scaled by 1/(1−p),
 * so inference is the identity. The mask is never stored: it is a pure
 * function of (seed, element index) through Philox, so backward regenerates
 * it (same kernel applied to the gradient).
 */
import { ShapeError } from '../core/errors.ts';
import { kernel, Params, WGSL_WG_LINEAR } from '../core/kernel.ts';
import { seedKey, WGSL_PHILOX } from '../core/rng.ts';
import { record } from '../core/tape.ts';
import { empty, type Tensor } from '../core/tensor.ts';

/*
 * dropout_mask: out[i] = x[i] · (u_i ≥ p ? scale : 0), u_i uniform in [0, 1)
 * from word i % 4 of philox((i / 4, stream, 0, 0), key). One invocation per
 * group of 4 elements; 1-D dispatch, folded.
 */
const DROPOUT = kernel(
  'dropout_mask',
  /* wgsl */ `
struct P { n: u32, stream: u32, key0: u32, key1: u32, p: f32, scale: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${WGSL_WG_LINEAR}
${WGSL_PHILOX}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = wg_linear(wid, nwg) * 64u + lid;
  if (g * 4u >= p.n) { return; }
  let r = philox4x32_10(vec4<u32>(g, p.stream, 0u, 0u), vec2<u32>(p.key0, p.key1));
  for (var j = 0u; j < 4u; j++) {
    let i = g * 4u + j;
    if (i < p.n) { out[i] = select(0.0, x[i] * p.scale, u32_to_unit(r[j]) >= p.p); }
  }
}`,
  ['read', 'write', 'uniform'],
);

export interface DropoutOptions {
  /** When false (inference), dropout returns x itself. Default true. */
  training?: boolean;
  /** Mask seed; default: the engine's seed sequence. Same seed → same mask. */
  seed?: number;
}

export function dropout(x: Tensor, p: number, opt: DropoutOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ShapeError('dropout', `p must be in [0, 1], got ${p}`, [x.shape]);
  if (x.dtype !== 'f32') throw new ShapeError('dropout', 'needs a float32 tensor', [x.shape]);
  if (opt.training === false || p === 0) return x;
  const engine = x.engine;
  const [k0, k1] = seedKey(opt.seed ?? engine.nextSeed());
  const scale = p < 1 ? 1 / (1 - p) : 0;
  const apply = (src: Tensor): Tensor => {
    const out = empty(engine, src.shape); // [x.shape]
    if (out.size > 0) {
      const params = new Params().u32(out.size).u32(0).u32(k0).u32(k1).f32(p).f32(scale);
      engine.run(DROPOUT, [src, out], params, Math.ceil(out.size / 4 / 64));
    }
    return out;
  };
  const y = apply(x);
  return record('dropout', [x], y, (g) => [apply(g)]);
}
