/**
 * What an op hands the engine to run a compute shader: a `Kernel` (WGSL +
 * entry point + binding kinds), uniform parameters packed by `Params`, and
 * WGSL snippets shared by many kernels (folded workgroup index).
 *
 * Binding convention: bindings are numbered 0..n-1 in group 0, in the order of
 * `bindings`; 'read' is `var<storage, read>`, 'write' is
 * `var<storage, read_write>`, 'uniform' is `var<uniform>` and receives the
 * params passed to `Engine.run`. At most one 'uniform' binding.
 */

export type BindingKind = 'read' | 'write' | 'uniform';

export interface Kernel {
  /** Human name, used in error messages and stats. */
  readonly name: string;
  readonly code: string;
  readonly entry: string;
  readonly bindings: readonly BindingKind[];
  /** Cache key: name + code; computed once. */
  readonly key: string;
}

export function kernel(name: string, code: string, bindings: readonly BindingKind[], entry = 'main'): Kernel {
  return { name, code, entry, bindings, key: entry + '\u0000' + code };
}

/**
 * Builds a kernel once per distinct specialisation (e.g. one per unary
 * expression, per activation, per tile config) and memoises it, so the WGSL
 * string is generated once and the pipeline cache hits by identity of key.
 */
export function kernelFamily<A extends string | number>(build: (spec: A) => Kernel): (spec: A) => Kernel {
  const memo = new Map<A, Kernel>();
  return (spec: A) => {
    let k = memo.get(spec);
    if (!k) {
      k = build(spec);
      memo.set(spec, k);
    }
    return k;
  };
}

/**
 * Packs a uniform struct. Scalars take 4 bytes each, in call order; `vec`
 * writes an `array<vec4<u32>, n>` (16-byte aligned, padded), which is how
 * shapes and strides are passed (up to 4·n dims). Mirror the same order in
 * the WGSL struct.
 */
export class Params {
  private readonly words: number[] = [];
  private readonly kinds: Array<'u' | 'i' | 'f'> = [];

  u32(v: number): this {
    this.words.push(v >>> 0);
    this.kinds.push('u');
    return this;
  }
  i32(v: number): this {
    this.words.push(v | 0);
    this.kinds.push('i');
    return this;
  }
  f32(v: number): this {
    this.words.push(v);
    this.kinds.push('f');
    return this;
  }
  /** Pads to 16 bytes, then writes `vec4Count` vec4<u32> from `values` (zero-filled). */
  vec(values: readonly number[], vec4Count: number): this {
    this.align16();
    for (let i = 0; i < vec4Count * 4; i++) this.u32(values[i] ?? 0);
    return this;
  }
  /** Same as `vec` but for i32 values. */
  ivec(values: readonly number[], vec4Count: number): this {
    this.align16();
    for (let i = 0; i < vec4Count * 4; i++) this.i32(values[i] ?? 0);
    return this;
  }
  /** Words (4-byte scalars, padding included) written so far. */
  get length(): number {
    return this.words.length;
  }
  align16(): this {
    while (this.words.length % 4 !== 0) this.u32(0);
    return this;
  }
  bytes(): Uint8Array {
    this.align16();
    const buf = new ArrayBuffer(Math.max(16, this.words.length * 4));
    const u = new Uint32Array(buf);
    const i = new Int32Array(buf);
    const f = new Float32Array(buf);
    this.words.forEach((w, k) => {
      const kind = this.kinds[k];
      if (kind === 'f') f[k] = w;
      else if (kind === 'i') i[k] = w;
      else u[k] = w;
    });
    return new Uint8Array(buf);
  }
}

/** Largest tensor rank the generic strided kernels handle (shapes passed as 2 vec4). */
export const MAX_RANK = 8;

/**
 * WGSL: the linear workgroup index of a 1-D dispatch that `Engine.run` may
 * have folded into a 2-D grid (x·y ≥ requested count; kernels must bounds-check).
 */
export const WGSL_WG_LINEAR = /* wgsl */ `
fn wg_linear(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
}
`;

/**
 * WGSL: the opening of a 1-D kernel's main: `size` invocations per workgroup,
 * `i` = the global invocation index (workgroups folded, see wg_linear),
 * invocations with i ≥ `count` (a uniform) return. The kernel text
 * continues with the body and the closing brace.
 */
export const wgslMain1d = (size: number, count: string): string => /* wgsl */ `${WGSL_WG_LINEAR}
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = wg_linear(wid, nwg) * ${size}u + lid;
  if (i >= ${count}) { return; }`;

/** wgslMain1d with 256 invocations per workgroup and the uniform struct's first field p.n as the count. */
export const WGSL_MAIN_1D = wgslMain1d(256, 'p.n');

/**
 * WGSL dm(n, d) = (n / d, n % d) for n < 2³¹, 1 ≤ d < 2²⁴ without an integer division
 * (written on the assumption that lavapipe's per-lane u32 division is slow):
 * a float estimate, a second one from the remainder, then a final ±1
 * correction. Measured since: no faster than plain `/ %` in pooling and
 * slower in strided copies (ops/README.md rule 10); the conv kernels keep
 * it outside their inner loops.
 */
export const WGSL_DIVMOD = /* wgsl */ `
fn dm(n: u32, d: u32) -> vec2<u32> {
  let inv = 1.0 / f32(d);
  var q = u32(f32(n) * inv);
  q = u32(i32(q) + i32(floor(f32(i32(n - q * d)) * inv)));
  let r = i32(n - q * d);
  q = select(q, q - 1u, r < 0);
  q = select(q, q + 1u, r >= i32(d));
  return vec2<u32>(q, n - q * d);
}
`;

/**
 * WGSL is_nan(v): tested on the bits. Compilers may assume no NaNs and fold
 * `v != v` to false (lavapipe does).
 */
export const WGSL_IS_NAN = /* wgsl */ `
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
`;
