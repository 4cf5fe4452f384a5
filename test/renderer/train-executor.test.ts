// @vitest-environment happy-dom
/** In Electron the window trains (Dawn cannot load there); in the web host the host does. */
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeApi, type FakeApi } from './fake-api.ts';

const fake = vi.hoisted(() => ({ api: null as FakeApi | null, browserRuns: [] as unknown[] }));
vi.mock('../../src-renderer/api/client.ts', () => ({ api: () => fake.api!.client }));
vi.mock('../../src-renderer/train-worker/client.ts', () => ({
  trainInBrowser: vi.fn(async (target: unknown) => {
    fake.browserRuns.push(target);
    return { runId: typeof target === 'string' ? target : 'run-in-window', done: new Promise(() => undefined), terminate: () => undefined };
  }),
}));

import { useRuns } from '../../src-renderer/stores/runs.ts';

const handlers = {
  'runs.resume': () => ({ state: 'queued' }),
  'runs.list': () => [],
  'runs.get': () => ({}),
};

describe('where a resumed run trains', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    fake.browserRuns = [];
  });

  it('in the web host: the host queues it (runs.resume)', async () => {
    fake.api = createFakeApi({ ...handlers }, 'web');
    await useRuns().control('run-7', 'resume');
    expect(fake.api.callsTo('runs.resume')).toEqual([{ id: 'run-7' }]);
    expect(fake.browserRuns).toEqual([]);
  });

  it('in Electron: this window trains it (claim + Web Worker), the host is not asked to', async () => {
    fake.api = createFakeApi({ ...handlers }, 'electron');
    await useRuns().control('run-7', 'resume');
    expect(fake.browserRuns).toEqual(['run-7']);
    expect(fake.api.callsTo('runs.resume')).toEqual([]);
  });
});
