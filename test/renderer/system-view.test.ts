// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import SystemView from '../../src-renderer/views/SystemView.vue';
import { inspectAdapter } from '../../src-renderer/gpu/adapter-info.ts';

const info = {
  appVersion: '0.1.0',
  host: 'web' as const,
  platform: 'linux',
  arch: 'x64',
  versions: { node: '20.20.2' },
  dataDir: '/data/lab',
  cpus: 2,
  totalMemoryBytes: 8 * 2 ** 30,
};

vi.mock('../../src-renderer/api/client.ts', () => ({
  api: () => ({ transport: 'web', call: vi.fn(async () => info), on: vi.fn() }),
}));

function fakeGpu(adapter: unknown): GPU {
  return { requestAdapter: async () => adapter } as unknown as GPU;
}
const adapter = {
  info: { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader Device' },
  limits: { maxComputeWorkgroupStorageSize: 32768, maxStorageBufferBindingSize: 134217728 },
  features: new Set(['timestamp-query', 'shader-f16']),
};

describe('inspectAdapter', () => {
  it('reports vendor, software flag, limits and sorted features', async () => {
    const r = await inspectAdapter(fakeGpu(adapter));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.vendor).toBe('google');
    expect(r.isSoftware).toBe(true);
    expect(r.limits.maxComputeWorkgroupStorageSize).toBe(32768);
    expect(r.features).toEqual(['shader-f16', 'timestamp-query']);
  });
  it('explains a missing navigator.gpu and a missing adapter', async () => {
    const none = await inspectAdapter(undefined);
    expect(none).toMatchObject({ ok: false, reason: 'no-navigator-gpu' });
    const noAdapter = await inspectAdapter(fakeGpu(null));
    expect(noAdapter).toMatchObject({ ok: false, reason: 'no-adapter' });
    if (!noAdapter.ok) expect(noAdapter.message).toMatch(/driver/);
  });
});

describe('SystemView', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('shows the adapter and the host facts', async () => {
    Object.defineProperty(navigator, 'gpu', { value: fakeGpu(adapter), configurable: true });
    const w = mount(SystemView);
    await flushPromises();
    expect(w.get('[data-testid=adapter-vendor]').text()).toBe('google');
    expect(w.get('[data-testid=adapter-kind]').text()).toMatch(/software adapter/);
    expect(w.get('[data-testid=data-dir]').text()).toBe('/data/lab');
    expect(w.text()).toContain('134,217,728 (128 MiB)');
  });

  it('shows why WebGPU is unavailable', async () => {
    Object.defineProperty(navigator, 'gpu', { value: undefined, configurable: true });
    const w = mount(SystemView);
    await flushPromises();
    expect(w.get('[data-testid=adapter-missing]').text()).toMatch(/navigator\.gpu is missing/);
  });
});
