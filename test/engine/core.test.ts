/**
 * Engine core: tensor creation and readback, Philox RNG (known answers,
 * determinism, distribution), dispatch folding arithmetic, tidy scopes and
 * memory statistics.
 */
import { describe, expect, it } from 'vitest';
import {
  fromArray,
  fromTypedArray,
  full,
  ones,
  randBits,
  randNormal,
  randUniform,
  tidy,
  zeros,
  add,
  mul,
  backward,
  sum,
  Tensor,
} from '../../src-engine/index.ts';
import { getEngine } from './helpers.ts';
import { philox4x32_10 } from './reference/philox.ts';

describe('tensor creation', () => {
  it('creates zeros, ones, full and typed-array tensors with the right values, shapes and strides', async () => {
    const e = await getEngine();
    const z = zeros(e, [2, 3]);
    expect(z.strides).toEqual([3, 1]);
    expect(Array.from(await z.read())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(await ones(e, [4]).read())).toEqual([1, 1, 1, 1]);
    expect(Array.from(await full(e, [2], -2.5).read())).toEqual([-2.5, -2.5]);
    const n = fromArray(e, [[1, 2, 3], [4, 5, 6]]);
    expect(n.shape).toEqual([2, 3]);
    expect(Array.from(await n.read())).toEqual([1, 2, 3, 4, 5, 6]);
    const i = fromTypedArray(e, Int32Array.from([-3, 7, 2147483647]));
    expect(i.dtype).toBe('i32');
    expect(Array.from(await i.readRaw())).toEqual([-3, 7, 2147483647]);
    const u = full(e, [3], 4000000000, 'u32');
    expect(Array.from(await u.readRaw())).toEqual([4000000000, 4000000000, 4000000000]);
    for (const t of [z, n, i, u]) t.dispose();
  });

  it('keeps uploads in command order when the encoder already holds work', async () => {
    const e = await getEngine();
    const a = full(e, [1000], 3); // recorded, not submitted
    const b = fromTypedArray(e, new Float32Array(1000).fill(4)); // must land after `a`'s fill in order
    const c = add(a, b);
    expect((await c.read()).every((v) => v === 7)).toBe(true);
    [a, b, c].forEach((t) => t.dispose());
  });
});

describe('Philox4x32-10 RNG', () => {
  it('CPU reference matches the Random123 known-answer vectors', () => {
    expect(philox4x32_10([0, 0, 0, 0], [0, 0]).map((v) => v.toString(16))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    expect(philox4x32_10([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]).map((v) => v.toString(16))).toEqual([
      '408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd',
    ]);
    expect(philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]).map((v) => v.toString(16))).toEqual([
      'd16cfe09', '94fdcceb', '5001e420', '24126ea1',
    ]);
  });

  it('GPU kernel reproduces the reference bit for bit (counter = (i/4, stream, 0, 0), key = seed)', async () => {
    const e = await getEngine();
    const seed = 0x12345678 + 2 ** 32 * 5;
    const t = randBits(e, [1001], { seed, stream: 3 });
    const got = await t.readRaw();
    for (const g of [0, 1, 17, 249]) {
      const ref = philox4x32_10([g, 3, 0, 0], [0x12345678, 5]);
      for (let j = 0; j < 4; j++) if (4 * g + j < 1001) expect(got[4 * g + j]).toBe(ref[j]);
    }
    t.dispose();
  });

  it('same seed gives bitwise-identical tensors; another seed or stream differs', async () => {
    const e = await getEngine();
    const a = await randNormal(e, [3, 333], { seed: 42 }).readRaw();
    const b = await randNormal(e, [3, 333], { seed: 42 }).readRaw();
    const c = await randNormal(e, [3, 333], { seed: 43 }).readRaw();
    const d = await randNormal(e, [3, 333], { seed: 42, stream: 1 }).readRaw();
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
    expect(Buffer.from(a.buffer).equals(Buffer.from(d.buffer))).toBe(false);
  });

  it('uniform and normal have the right moments (n = 200k)', async () => {
    const e = await getEngine();
    const n = 200_000;
    const u = await randUniform(e, [n], { seed: 7, low: -2, high: 6 }).read();
    const z = await randNormal(e, [n], { seed: 8, mean: 1, std: 3 }).read();
    const moments = (v: Float32Array): [number, number, number, number] => {
      let s = 0, s2 = 0, lo = Infinity, hi = -Infinity;
      for (const x of v) { s += x; s2 += x * x; lo = Math.min(lo, x); hi = Math.max(hi, x); }
      const m = s / v.length;
      return [m, s2 / v.length - m * m, lo, hi];
    };
    const [um, uv, ulo, uhi] = moments(u);
    expect(um).toBeCloseTo(2, 1); // mean of U(-2, 6) = 2, sd of mean ≈ 0.005
    expect(uv).toBeCloseTo(64 / 12, 1);
    expect(ulo).toBeGreaterThanOrEqual(-2);
    expect(uhi).toBeLessThan(6);
    const [zm, zv] = moments(z);
    expect(Math.abs(zm - 1)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(zv) - 3)).toBeLessThan(0.03);
  });

  it('engine seed sequence is deterministic across engines with the same seed', async () => {
    const e = await getEngine();
    const { Engine } = await import('../../src-engine/index.ts');
    const e1 = new Engine(e.device, { seed: 99 });
    const e2 = new Engine(e.device, { seed: 99 });
    const a = await randUniform(e1, [64]).readRaw();
    const b = await randUniform(e2, [64]).readRaw();
    expect(Array.from(a)).toEqual(Array.from(b));
    const a2 = await randUniform(e1, [64]).readRaw();
    expect(Array.from(a2)).not.toEqual(Array.from(a));
  });
});

describe('dispatch folding', () => {
  it('folds workgroup counts above maxComputeWorkgroupsPerDimension into a 2-D grid covering them', async () => {
    const e = await getEngine();
    const max = e.limits.maxWorkgroupsPerDimension;
    expect(e.grid(10)).toEqual([10, 1, 1]);
    for (const n of [max, max + 1, 3 * max + 7, 1_000_000]) {
      const [x, y, z] = e.grid(n);
      expect(x).toBeLessThanOrEqual(max);
      expect(y).toBeLessThanOrEqual(max);
      expect(z).toBe(1);
      expect(x * y).toBeGreaterThanOrEqual(n);
      expect(x * y - n).toBeLessThan(y); // waste under one row
    }
  });
});

describe('tidy and memory', () => {
  it('tidy disposes intermediates and keeps returned and kept tensors', async () => {
    const e = await getEngine();
    const before = e.memory().liveTensors;
    let inner: Tensor | null = null;
    let kept: Tensor | null = null;
    const out = tidy(() => {
      const a = full(e, [4], 2);
      inner = mul(a, a);
      kept = add(a, a).keep();
      return { result: add(inner, a) };
    });
    expect(inner!.isDisposed).toBe(true);
    expect(kept!.isDisposed).toBe(false);
    expect(Array.from(await out.result.read())).toEqual([6, 6, 6, 6]);
    expect(e.memory().liveTensors).toBe(before + 2);
    out.result.dispose();
    kept!.dispose();
    expect(e.memory().liveTensors).toBe(before);
  });

  it('a repeated forward + backward step does not grow live tensors or live buffers, and reuses pooled buffers', async () => {
    const e = await getEngine();
    const w = randUniform(e, [32, 16], { seed: 1 });
    w.requiresGrad = true;
    const x = randUniform(e, [8, 32, 16], { seed: 2 });
    const step = async (): Promise<number> => {
      const l = tidy(() => {
        const loss = sum(mul(add(x, w), w));
        backward(loss);
        return loss;
      });
      const v = await l.item();
      l.dispose();
      w.grad?.dispose();
      w.grad = null;
      return v;
    };
    await step();
    const m1 = e.memory();
    for (let i = 0; i < 5; i++) await step();
    const m2 = e.memory();
    expect(m2.liveTensors).toBe(m1.liveTensors);
    expect(m2.liveBuffers).toBe(m1.liveBuffers);
    expect(m2.liveBytes).toBe(m1.liveBytes);
    expect(m2.allocatedBytes).toBe(m1.allocatedBytes); // every buffer came from the pool
    w.dispose();
    x.dispose();
  });

  it('Engine.dispose frees the pool; tensors disposed afterwards destroy their buffers', async () => {
    const e = await getEngine();
    const { Engine } = await import('../../src-engine/index.ts');
    const local = new Engine(e.device);
    const a = full(local, [1000], 1);
    full(local, [1000], 2).dispose();
    await local.sync();
    expect(local.memory().pooledBuffers).toBe(1);
    local.dispose();
    expect(local.memory().pooledBytes).toBe(0);
    expect(Array.from((await a.read()).slice(0, 2))).toEqual([1, 1]);
    a.dispose();
    expect(local.memory().liveBuffers).toBe(0);
    expect(local.memory().pooledBuffers).toBe(0);
  });
});

describe('constant lookup tables (Engine.constantBuffer)', () => {
  it('builds a table once per key, keeps at most MAX_CONSTANTS, and an evicted table still serves work recorded before', async () => {
    const e = await getEngine();
    const { Engine, MAX_CONSTANTS, conv2d } = await import('../../src-engine/index.ts');
    const local = new Engine(e.device);
    let builds = 0;
    const build = (): Int32Array => {
      builds++;
      return new Int32Array([1, 2, 3]);
    };
    const a = local.constantBuffer('t:a', build);
    expect(local.constantBuffer('t:a', build)).toBe(a);
    expect(builds).toBe(1);
    expect(a.size).toBe(16); // rounded up to whole vec4s
    expect(local.memory()).toMatchObject({ constantBuffers: 1, constantBytes: 16 });

    // A conv (which keeps its index table here) recorded, then enough new keys
    // to evict that table before the encoder is submitted: the result must
    // still be the convolution's (the table is destroyed only after submit).
    const x = fromArray(local, [1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const w = fromArray(local, [1, 0, 0, -1], [1, 1, 2, 2]);
    const y = conv2d(x, w);
    for (let i = 0; i < MAX_CONSTANTS + 1; i++) local.constantBuffer(`t:${i}`, build);
    expect(local.memory().constantBuffers).toBe(MAX_CONSTANTS);
    expect(local.constantBuffer('t:a', build)).not.toBe(a); // evicted, rebuilt
    expect(Array.from(await y.read())).toEqual([1 - 5, 2 - 6, 4 - 8, 5 - 9]);
    for (const t of [x, w, y]) t.dispose();
    local.dispose();
    expect(local.memory().constantBuffers).toBe(0);
  });
});

describe('bind group cache', () => {
  it('reuses a bind group for the same buffers (uniforms by dynamic offset), and work on fresh buffers after the pool destroyed the old ones is right', async () => {
    const e = await getEngine();
    const { Engine } = await import('../../src-engine/index.ts');
    const local = new Engine(e.device);
    let created = 0;
    const device = e.device as GPUDevice & { createBindGroup: GPUDevice['createBindGroup'] };
    const original = device.createBindGroup.bind(device);
    device.createBindGroup = (d) => {
      created++;
      return original(d);
    };
    try {
      const a = fromArray(local, [1, 2, 3, 4]);
      const b = fromArray(local, [10, 20, 30, 40]);
      const step = async (k: number): Promise<number[]> => {
        const m = mul(b, k); // two dispatches, other scalars (uniforms) each time
        const y = add(a, m);
        const v = Array.from(await y.read());
        m.dispose();
        y.dispose();
        return v;
      };
      // The pool hands the two intermediates' buffers back in alternating
      // order, so two steps make the bind groups a steady state needs.
      expect(await step(1)).toEqual([11, 22, 33, 44]);
      expect(await step(2)).toEqual([21, 42, 63, 84]);
      const afterFirst = created;
      expect(afterFirst).toBeGreaterThan(0);
      // Same shapes, same pooled buffers, other uniform values: no new bind groups.
      expect(await step(3)).toEqual([31, 62, 93, 124]);
      expect(await step(4)).toEqual([41, 82, 123, 164]);
      expect(created).toBe(afterFirst);
      // The pool destroys its buffers; new tensors get new buffers: cached
      // entries for the destroyed ones must never be used (a destroyed buffer
      // in a submit is a validation error, which read() would throw).
      a.dispose();
      b.dispose();
      local.releasePool();
      const c = fromArray(local, [5, 6, 7, 8]);
      const y = add(c, mul(c, 2));
      expect(Array.from(await y.read())).toEqual([15, 18, 21, 24]);
      expect(created).toBeGreaterThan(afterFirst);
      for (const t of [c, y]) t.dispose();
    } finally {
      device.createBindGroup = original;
      local.dispose();
    }
  });
});

describe('WGSL dm(): division without a hardware divide', () => {
  it('gives the exact quotient and remainder at the edges of its range (n < 2³¹, d < 2²⁴)', async () => {
    const e = await getEngine();
    const { kernel, Params, WGSL_DIVMOD } = await import('../../src-engine/core/kernel.ts');
    const ds = [1, 2, 3, 7, 10, 100, 255, 256, 1000, 65535, 65536, 1_000_003, 2 ** 23 + 1, 2 ** 24 - 1];
    const pairs: Array<[number, number]> = [];
    for (const d of ds) {
      for (const n of [0, 1, d - 1, d, d + 1, 2 * d - 1, 2 * d, 12_345_678, 2 ** 24 + 1, 2 ** 30 + 7, 2 ** 31 - 2, 2 ** 31 - 1]) pairs.push([n, d]);
      for (let k = 0; k < 20; k++) pairs.push([Math.floor(((k * 2654435761) % 2 ** 31) >>> 0) % 2 ** 31, d]);
    }
    const nd = new Uint32Array(pairs.flat());
    const k = kernel(
      'test_dm',
      `${WGSL_DIVMOD}
struct P { n: u32 }
@group(0) @binding(0) var<storage, read> nd: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.n) { return; }
  let r = dm(nd[2u * i], nd[2u * i + 1u]);
  out[2u * i] = r.x; out[2u * i + 1u] = r.y;
}`,
      ['read', 'write', 'uniform'],
    );
    const src = fromTypedArray(e, nd, [nd.length]); // u32 from the Uint32Array
    const out = zeros(e, [nd.length], 'u32');
    e.run(k, [src, out], new Params().u32(pairs.length), Math.ceil(pairs.length / 64));
    const got = await out.readRaw();
    const bad = pairs.filter(([n, d], i) => got[2 * i] !== Math.floor(n / d) || got[2 * i + 1] !== n % d);
    expect(bad).toEqual([]);
    src.dispose();
    out.dispose();
  });
});
