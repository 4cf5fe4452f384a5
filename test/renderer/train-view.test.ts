// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeApi, type FakeApi } from './fake-api.ts';

const fake = vi.hoisted(() => ({ api: null as FakeApi | null }));
vi.mock('../../src-renderer/api/client.ts', () => ({ api: () => fake.api!.client }));

import TrainView from '../../src-renderer/views/TrainView.vue';
import { VALIDATE_DEBOUNCE_MS } from '../../src-renderer/stores/train-form.ts';
import { explainFailure } from '../../src-renderer/train/failure.ts';

const dataset = {
  id: 'fashion-mnist-sample',
  name: 'Fashion-MNIST sample',
  kind: 'sample',
  shape: [28, 28, 1],
  classNames: Array.from({ length: 10 }, (_, i) => `c${i}`),
  counts: { train: 3000, test: 1000 },
  classCounts: { train: [], test: [] },
  mean: [72],
  std: [90],
  bytesOnDisk: 1,
  source: 'sample',
  created: '2026-11-25T10:00:00Z',
};
const families = [
  { name: 'lenet5', title: 'LeNet-5', description: '', teaches: '', defaults: { variant: 'modern' }, optionsSchema: { type: 'object', properties: { variant: { type: 'string', enum: ['modern', 'classic1998'], default: 'modern' } } } },
  { name: 'resnet', title: 'ResNet', description: '', teaches: '', defaults: { n: 3 }, optionsSchema: { type: 'object', properties: { n: { type: 'integer', minimum: 1, maximum: 50, default: 3 } } } },
];
const summary = (id: string, state: string) => ({
  id,
  name: 'lenet-sgd',
  state,
  model: 'lenet5',
  modelOptions: {},
  dataset: { id: dataset.id, name: dataset.name },
  optimizer: 'sgd',
  lr: 0.05,
  batchSize: 64,
  epochs: 1,
  epochsDone: 0,
  bestDevError: null,
  testError: null,
  testErrorCi95: null,
  params: 61706,
  seconds: 0,
  created: '2026-11-25T10:00:00Z',
});
const status = (state: string, extra: Record<string, unknown> = {}) => ({ runId: 'run-1', state, epoch: 1, epochs: 1, step: 10, totalSteps: 43, imagesPerSec: 850, etaSeconds: 12, ...extra });

function mountView() {
  return mount(TrainView, { global: { stubs: { ChartBox: true } } });
}

describe('Train view', () => {
  let runsList: unknown[] = [];
  beforeEach(() => {
    vi.useFakeTimers();
    setActivePinia(createPinia());
    runsList = [];
    fake.api = createFakeApi({
      'datasets.list': () => [dataset],
      'models.list': () => families,
      'runs.list': () => runsList,
      'runs.validate': () => ({ ok: true, params: 61706, stepsPerEpoch: 43, totalSteps: 430, counts: { train: 2700, dev: 300, test: 1000 } }),
      'runs.create': () => {
        runsList = [summary('run-1', 'queued')];
        return { id: 'run-1' };
      },
      'runs.get': () => ({ summary: summary('run-1', 'running'), config: {}, graph: {}, status: status('running'), results: null, checkpoints: [], counts: { train: 2700, dev: 300, test: 1000 } }),
      'runs.metrics': () => ({ records: [], total: 0 }),
      'runs.pause': () => ({ state: 'paused' }),
    });
  });
  afterEach(() => vi.useRealTimers());

  it('fills defaults, checks the config with the services and says what the run will do', async () => {
    const w = mountView();
    await vi.runAllTimersAsync();
    expect((w.get('#rf-dataset').element as HTMLSelectElement).value).toBe('fashion-mnist-sample');
    expect((w.get('#rf-o-lr').element as HTMLInputElement).value).toBe('0.05');
    expect(w.get('[data-testid=run-plan]').text()).toContain('43 steps per epoch, 430 in all');
    const cfg = fake.api!.callsTo('runs.validate').at(-1)!.config as Record<string, unknown>;
    expect(cfg).toMatchObject({ datasetId: 'fashion-mnist-sample', model: { family: 'lenet5', options: { variant: 'modern' } }, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 }, epochs: 10, batchSize: 64 });
  });

  it('shows validation messages next to the fields and will not start an invalid run', async () => {
    const w = mountView();
    await vi.runAllTimersAsync();
    await w.get('#rf-o-lr').setValue('-1');
    await w.get('#rf-epochs').setValue('0');
    await flushPromises();
    expect(w.get('[data-testid=error-rf-o-lr]').text()).toBe('lr must be > 0');
    expect(w.get('#rf-o-lr').attributes('aria-invalid')).toBe('true');
    expect(w.get('[data-testid=error-rf-epochs]').text()).toMatch(/>=\s*1|at least 1|too small/i);
    expect(w.get('[data-testid=start-run]').attributes('disabled')).toBeDefined();
  });

  it('puts a message from the services next to the field it names', async () => {
    fake.api!.handlers['runs.validate'] = () => ({ ok: false, error: 'batchSize: 4096 images do not fit the 2,700 training images', field: 'batchSize' });
    const w = mountView();
    await w.get('#rf-batch').setValue('4096');
    await vi.advanceTimersByTimeAsync(VALIDATE_DEBOUNCE_MS + 10);
    expect(w.get('[data-testid=error-rf-batch]').text()).toContain('do not fit');
  });

  it('applies the model’s default hyper-parameters when the architecture changes', async () => {
    const w = mountView();
    await vi.runAllTimersAsync();
    await w.get('#rf-family').setValue('resnet');
    expect((w.get('#rf-o-lr').element as HTMLInputElement).value).toBe('0.1');
    expect((w.get('#rf-o-weightDecay').element as HTMLInputElement).value).toBe('0.0001');
    expect((w.get('#rf-sched').element as HTMLSelectElement).value).toBe('cosine');
    expect((w.get('#rf-batch').element as HTMLInputElement).value).toBe('128');
  });

  it('starts the run, shows its progress and controls, and explains a failure', async () => {
    const w = mountView();
    await vi.runAllTimersAsync();
    await w.get('#rf-name').setValue('lenet-sgd');
    await w.get('form').trigger('submit');
    await vi.runAllTimersAsync();
    expect(fake.api!.callsTo('runs.create')[0].config).toMatchObject({ name: 'lenet-sgd', datasetId: 'fashion-mnist-sample' });
    fake.api!.emit('runs.status', status('running'));
    await flushPromises();
    const p = w.get('[data-testid=run-progress]');
    expect(p.text()).toContain('epoch 1 of 1 · step 10 of 43 · 850 images/s · 12 s left');
    await p.findAll('button').find((b) => b.text() === 'Pause')!.trigger('click');
    expect(fake.api!.callsTo('runs.pause')).toEqual([{ id: 'run-1' }]);
    fake.api!.emit('runs.status', status('failed', { message: 'Out of memory: a buffer of 2.1 GiB does not fit. This run uses batch size 64: create a new run with batch size 32.' }));
    await flushPromises();
    const f = w.get('[data-testid=run-failure]');
    expect(f.text()).toContain('The GPU ran out of memory.');
    expect(f.text()).toContain('smaller batch size');
    expect(f.attributes('role')).toBe('alert');
  });
});

describe('failure explanations', () => {
  it('recognises divergence, lost devices and out-of-memory from the services’ messages', () => {
    expect(explainFailure('failed', 'The loss became NaN at step 120 (diverged).')?.kind).toBe('diverged');
    expect(explainFailure('failed', 'The GPU device was lost (driver reset).')?.kind).toBe('device-lost');
    expect(explainFailure('failed', 'Out of memory: the GPU could not allocate 3 GiB.')?.kind).toBe('out-of-memory');
    expect(explainFailure('interrupted')?.suggestion).toContain('Resume');
    expect(explainFailure('completed')).toBeNull();
  });
});
