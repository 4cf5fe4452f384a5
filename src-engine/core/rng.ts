/**
 * Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel
 * random numbers: as easy as 1, 2, 3", SC 2011; constants from Random123).
 *
 * Value i of a random tensor is a pure function of (seed, stream, i): the
 * counter is (i / 4, stream, 0, 0) and the key is the 64-bit seed. Results do
 * not depend on dispatch order or workgroup size, so the same seed gives
 * bitwise-identical tensors on the same adapter.
 */
import type { Engine } from './engine.ts';
import { kernel, kernelFamily, Params, WGSL_WG_LINEAR } from './kernel.ts';
import type { Shape } from './shape.ts';
import { empty, type Tensor } from './tensor.ts';

/** WGSL: philox4x32_10(counter, key) → 4 random u32, and u32 → float helpers. */
export const WGSL_PHILOX = /* wgsl */ `
fn philox_mulhilo(a: u32, b: u32) -> vec2<u32> {
  // WGSL has no 32×32→64 multiply: build the high word from 16-bit halves.
  let al = a & 0xffffu; let ah = a >> 16u;
  let bl = b & 0xffffu; let bh = b >> 16u;
  let ll = al * bl; let lh = al * bh; let hl = ah * bl; let hh = ah * bh;
  let cross = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  let hi = hh + (lh >> 16u) + (hl >> 16u) + (cross >> 16u);
  return vec2<u32>(hi, a * b);
}
fn philox4x32_10(ctr_in: vec4<u32>, key_in: vec2<u32>) -> vec4<u32> {
  var c = ctr_in;
  var k = key_in;
  for (var r = 0u; r < 10u; r++) {
    let p0 = philox_mulhilo(0xD2511F53u, c.x);
    let p1 = philox_mulhilo(0xCD9E8D57u, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}
// Uniform in [0, 1): the top 24 bits, exactly representable in f32.
fn u32_to_unit(x: u32) -> f32 { return f32(x >> 8u) * (1.0 / 16777216.0); }
// Uniform in (0, 1]: safe for log().
fn u32_to_unit_open0(x: u32) -> f32 { return (f32(x >> 8u) + 1.0) * (1.0 / 16777216.0); }
`;

/** Splits a JS seed (up to 2^53) into Philox's two key words. */
export function seedKey(seed: number): [number, number] {
  const s = Math.floor(Math.abs(seed));
  return [s >>> 0, Math.floor(s / 2 ** 32) >>> 0];
}

type RandomKind = 'uniform' | 'normal' | 'bits';

/*
 * random_<kind>: out[4g + j] for j < 4 from philox(ctr = (g, stream, 0, 0), key).
 *   uniform: lo + (hi - lo) · u;  normal: mean + std · BoxMuller(u1, u2) (pairs);
 *   bits: the raw u32 (tests check Philox known-answer vectors through it).
 * One invocation computes one group g of 4 values; 1-D dispatch, folded.
 */
const RANDOM = kernelFamily((kind: RandomKind) =>
  kernel(
    'random_' + kind,
    /* wgsl */ `
struct P { n: u32, stream: u32, key0: u32, key1: u32, a: f32, b: f32 }
@group(0) @binding(0) var<storage, read_write> out: array<${kind === 'bits' ? 'u32' : 'f32'}>;
@group(0) @binding(1) var<uniform> p: P;
${WGSL_WG_LINEAR}
${WGSL_PHILOX}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = wg_linear(wid, nwg) * 64u + lid;
  if (g * 4u >= p.n) { return; }
  let r = philox4x32_10(vec4<u32>(g, p.stream, 0u, 0u), vec2<u32>(p.key0, p.key1));
  ${
    kind === 'bits'
      ? 'let v = r;'
      : kind === 'uniform'
        ? 'let v = vec4<f32>(p.a) + (p.b - p.a) * vec4<f32>(u32_to_unit(r.x), u32_to_unit(r.y), u32_to_unit(r.z), u32_to_unit(r.w));'
        : `let TAU = 6.283185307179586;
  let r0 = sqrt(-2.0 * log(u32_to_unit_open0(r.x)));
  let r1 = sqrt(-2.0 * log(u32_to_unit_open0(r.z)));
  let t0 = TAU * u32_to_unit(r.y);
  let t1 = TAU * u32_to_unit(r.w);
  let v = vec4<f32>(p.a) + p.b * vec4<f32>(r0 * cos(t0), r0 * sin(t0), r1 * cos(t1), r1 * sin(t1));`
  }
  for (var j = 0u; j < 4u; j++) {
    if (g * 4u + j < p.n) { out[g * 4u + j] = v[j]; }
  }
}`,
    ['write', 'uniform'],
  ),
);

export interface RandomOptions {
  /** Seed; when omitted the engine's seed sequence supplies one (deterministic per engine seed). */
  seed?: number;
  /** Independent stream under one seed (default 0). */
  stream?: number;
}

function randomTensor(engine: Engine, shape: Shape, kind: RandomKind, a: number, b: number, opt: RandomOptions): Tensor {
  const out = empty(engine, shape, kind === 'bits' ? 'u32' : 'f32');
  if (out.size === 0) return out;
  const [k0, k1] = seedKey(opt.seed ?? engine.nextSeed());
  const params = new Params().u32(out.size).u32(opt.stream ?? 0).u32(k0).u32(k1).f32(a).f32(b);
  engine.run(RANDOM(kind), [out], params, Math.ceil(out.size / 4 / 64));
  return out;
}

/** Uniform values in [low, high). */
export function randUniform(engine: Engine, shape: Shape, opt: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  return randomTensor(engine, shape, 'uniform', opt.low ?? 0, opt.high ?? 1, opt);
}

/** Normal values (Box–Muller on Philox uniforms). */
export function randNormal(engine: Engine, shape: Shape, opt: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  return randomTensor(engine, shape, 'normal', opt.mean ?? 0, opt.std ?? 1, opt);
}

/**
 * Raw Philox output as u32: element 4g + j is word j of
 * philox4x32_10((g, stream, 0, 0), seedKey(seed)). For tests and custom use.
 */
export function randBits(engine: Engine, shape: Shape, opt: RandomOptions = {}): Tensor {
  return randomTensor(engine, shape, 'bits', 0, 0, opt);
}
