/**
 * Failure paths become typed errors and leave a usable engine: shape errors,
 * limits, shader compile errors, use after dispose, and a forced device loss
 * on a dedicated device followed by a new engine on a new device.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../src-engine/index.ts';
import { getNodeGpu } from '../helpers/gpu.ts';
import { getEngine } from './helpers.ts';

describe('typed errors', () => {
  it('ShapeError names the op and both shapes', async () => {
    const e = await getEngine();
    const err = (() => {
      try {
        E.matmul(E.zeros(e, [2, 3]), E.zeros(e, [4, 5]));
      } catch (x) {
        return x;
      }
    })();
    expect(err).toBeInstanceOf(E.ShapeError);
    expect(String((err as Error).message)).toMatch(/^matmul: inner dimensions differ \(3 vs 4\) \(shapes: \[2, 3\] and \[4, 5\]\)/);
  });

  it('an allocation beyond the device limits is a LimitError (not a crash), and the engine keeps working', async () => {
    const e = await getEngine();
    expect(() => E.zeros(e, [2 ** 30])).toThrow(E.LimitError);
    expect(() => E.zeros(e, [2 ** 30])).toThrow(/smaller batch/);
    // Just over the limit: the two sizes would print alike in MiB, so the message gives bytes.
    const max = Math.min(e.limits.maxStorageBufferBindingSize, e.limits.maxBufferSize);
    expect(() => E.zeros(e, [max / 4 + 1])).toThrow(`needs maxStorageBufferBindingSize = ${max + 4} bytes, but this GPU allows ${max} bytes`);
    expect(Array.from(await E.ones(e, [2]).read())).toEqual([1, 1]);
  });

  it('an explicit dispatch grid over 65535 is a LimitError', async () => {
    const e = await getEngine();
    const k = E.kernel('noop', '@compute @workgroup_size(1) fn main() {}', []);
    expect(() => e.run(k, [], null, [70_000, 1, 1])).toThrow(E.LimitError);
  });

  it('a kernel that fails to compile surfaces as ShaderCompileError at the next sync, with the WGSL message', async () => {
    const e = await getEngine();
    const out = E.zeros(e, [4]);
    const bad = E.kernel('broken', '@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1) fn main() { o[0] = undefined_thing; }', ['write']);
    e.run(bad, [out], null, 1);
    await expect(e.sync()).rejects.toThrow(E.ShaderCompileError);
    // The engine is still usable.
    expect(Array.from(await E.full(e, [2], 3).read())).toEqual([3, 3]);
  });

  it('using a disposed tensor is a DisposedError that mentions tidy', async () => {
    const e = await getEngine();
    const t = E.zeros(e, [3]);
    t.dispose();
    expect(() => E.add(t, t)).toThrow(/used after dispose.*tidy/);
  });
});

describe('device loss', () => {
  it('destroying a dedicated device gives DeviceLostError; a new engine on a new device works', async () => {
    const { adapter } = await getNodeGpu();
    const dedicated = await requestExtraDevice(adapter);
    const e = new E.Engine(dedicated);
    const x = E.full(e, [16], 2);
    expect(Array.from(await x.read()).every((v) => v === 2)).toBe(true);
    dedicated.destroy();
    const pending = E.full(e, [16], 3);
    await expect(pending.read()).rejects.toBeInstanceOf(E.DeviceLostError);
    expect(e.isLost).toBe(true);
    expect(() => E.zeros(e, [4])).toThrow(E.DeviceLostError);
    expect(() => E.zeros(e, [4])).toThrow(/create a new Engine/);

    const fresh = new E.Engine(await requestExtraDevice(adapter));
    const y = E.add(E.full(fresh, [3], 1), E.full(fresh, [3], 2));
    expect(Array.from(await y.read())).toEqual([3, 3, 3]);
  });
});

const keepAlive: unknown[] = [];
/** Another device: from the same adapter when allowed, else from a fresh Dawn instance (kept reachable). */
async function requestExtraDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  try {
    const d = await adapter.requestDevice();
    if (d) {
      keepAlive.push(d);
      return d;
    }
  } catch {
    // adapter already consumed: fall through
  }
  const webgpu = await import('webgpu');
  const gpu = webgpu.create([]);
  const a = await gpu.requestAdapter();
  const d = await a!.requestDevice();
  keepAlive.push(gpu, a, d);
  return d;
}
