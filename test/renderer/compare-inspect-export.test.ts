// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeApi, type FakeApi } from './fake-api.ts';

const fake = vi.hoisted(() => ({ api: null as FakeApi | null }));
vi.mock('../../src-renderer/api/client.ts', () => ({ api: () => fake.api!.client }));

import CompareView from '../../src-renderer/views/CompareView.vue';
import InspectView from '../../src-renderer/views/InspectView.vue';
import ExportDialog from '../../src-renderer/components/export/ExportDialog.vue';
import { useExport } from '../../src-renderer/stores/export.ts';

const summary = (id: string, name: string, optimizer: string, testError: number | null, ci: [number, number] | null) => ({
  id,
  name,
  state: 'completed',
  model: 'lenet5',
  modelOptions: {},
  dataset: { id: 'fm', name: 'Fashion-MNIST' },
  optimizer,
  lr: 0.01,
  batchSize: 64,
  epochs: 10,
  epochsDone: 10,
  bestDevError: testError,
  testError,
  testErrorCi95: ci,
  params: 61706,
  seconds: 120,
  created: `2026-11-25T10:0${id.length}:00Z`,
});
const runs = [
  summary('a', 'lenet-sgd', 'sgd', 0.1, [0.0941, 0.1059]),
  summary('bb', 'lenet-adam', 'adam', 0.08, [0.0747, 0.0853]),
  summary('ccc', 'lenet-rmsprop', 'rmsprop', 0.083, [0.0776, 0.0884]),
];
const detail = (r: ReturnType<typeof summary>) => ({
  summary: r,
  config: { id: r.id, optimizer: { type: r.optimizer, lr: r.lr }, epochs: 10, model: { family: 'lenet5' } },
  graph: {},
  status: { runId: r.id, state: 'completed', epoch: 10, epochs: 10, step: 100, totalSteps: 100, imagesPerSec: 0, etaSeconds: 0 },
  results: {
    testLoss: 0.3,
    testError: r.testError,
    testAccuracy: 1 - (r.testError ?? 0),
    testCount: 10000,
    testErrorCi95: r.testErrorCi95,
    confusion: [
      [90, 10],
      [5, 95],
    ],
    perClassAccuracy: [0.9, 0.95],
    classNames: ['cat', 'dog'],
    checkpoint: 'epoch-10',
    evaluatedAt: '2026-11-25T11:00:00Z',
  },
  checkpoints: [{ name: 'epoch-10', epoch: 10, step: 100, midEpoch: false, devError: 0.1 }],
  counts: { train: 54000, dev: 6000, test: 10000 },
});

beforeEach(() => {
  setActivePinia(createPinia());
  fake.api = createFakeApi({
    'runs.list': () => runs,
    'runs.get': (a) => detail(runs.find((r) => r.id === a.id)!),
    'runs.metrics': () => ({ records: [], total: 0 }),
  });
});

describe('Compare view', () => {
  const mountView = () => mount(CompareView, { global: { stubs: { ChartBox: true } } });

  it('states which of two selected runs is significantly better', async () => {
    const w = mountView();
    await flushPromises();
    await w.get('[aria-label="Compare lenet-sgd"]').setValue(true);
    await w.get('[aria-label="Compare lenet-adam"]').setValue(true);
    await flushPromises();
    const verdicts = w.get('[data-testid=verdicts]').findAll('li');
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0].text()).toContain('lenet-adam is significantly better than lenet-sgd: test error 8.00% [7.47%, 8.53%] vs 10.00% [9.41%, 10.59%]');
    expect(w.get('[data-testid=hyper-diff]').text()).toContain('optimizer.type');
    expect(w.get('[data-testid=hyper-diff]').text()).not.toContain('created');
  });

  it('says when overlapping intervals make the difference not significant', async () => {
    const w = mountView();
    await flushPromises();
    await w.get('[aria-label="Compare lenet-adam"]').setValue(true);
    await w.get('[aria-label="Compare lenet-rmsprop"]').setValue(true);
    await flushPromises();
    expect(w.get('[data-testid=verdicts]').text()).toContain('No significant difference between lenet-adam and lenet-rmsprop');
  });

  it('sorts by a column (with aria-sort) and filters', async () => {
    const w = mountView();
    await flushPromises();
    const names = () => w.findAll('[data-testid=run-table] tbody tr td.name').map((c) => c.text());
    const header = w.findAll('th').find((t) => t.text().startsWith('Test ± 95% CI'))!;
    await header.get('button').trigger('click');
    expect(header.attributes('aria-sort')).toBe('ascending');
    expect(names()).toEqual(['lenet-adam', 'lenet-rmsprop', 'lenet-sgd']);
    await header.get('button').trigger('click');
    expect(names()).toEqual(['lenet-sgd', 'lenet-rmsprop', 'lenet-adam']);
    await w.get('#run-filter').setValue('adam');
    expect(names()).toEqual(['lenet-adam']);
  });
});

describe('Inspect view', () => {
  beforeEach(() => {
    const grid = { pngBase64: 'AAAA', width: 25, height: 13, cols: 4, count: 6, tile: 5 };
    Object.assign(fake.api!.handlers, {
      'inspect.overview': () => ({
        runId: 'bb',
        checkpoint: 'epoch-10',
        classNames: ['cat', 'dog'],
        imageShape: [28, 28, 1],
        testCount: 100,
        filters: { layer: 'layers.1', type: 'conv2d', shape: [6, 1, 5, 5], note: 'all 6 filters', grid },
        mapLayers: ['layers.1'],
        hasAttention: false,
      }),
      'inspect.example': (a: Record<string, unknown>) => ({
        index: a.index,
        label: 0,
        predicted: 1,
        probabilities: [0.3, 0.7],
        imagePngBase64: 'BBBB',
        featureMaps: [{ layer: 'layers.1', type: 'conv2d + relu', shape: [6, 28, 28], shown: 6, grid }],
        attention: [],
      }),
      'inspect.mistakes': () => ({ examined: 100, wrong: 12, mistakes: [{ index: 42, label: 1, predicted: 0, confidence: 0.97, imagePngBase64: 'CCCC' }] }),
    });
  });

  it('shows filters, the image’s probabilities and feature maps, and opens a mistake', async () => {
    const w = mount(InspectView);
    await flushPromises();
    expect(fake.api!.callsTo('inspect.overview')[0]).toEqual({ runId: 'ccc' });
    expect(w.get('[data-testid=filters]').attributes('alt')).toBe('6 first-layer filters');
    const probs = w.get('[data-testid=class-probabilities]').findAll('li');
    expect(probs.map((li) => li.text())).toEqual(['dog70.0%', 'cat (true)30.0%']);
    expect(w.text()).toContain('✘ taken for dog');
    expect(w.text()).toContain('layers.1 conv2d + relu [6, 28, 28]');
    expect(w.get('[data-testid=mistakes]').text()).toContain('cat 97%');
    await w.get('[data-testid=mistakes] button').trigger('click');
    await flushPromises();
    expect(fake.api!.callsTo('inspect.example').at(-1)).toEqual({ runId: 'ccc', index: 42 });
  });

  it('shows the services’ message when the run cannot be inspected', async () => {
    fake.api!.handlers['inspect.overview'] = () => {
      throw new Error('Run "lenet-rmsprop" has no checkpoint yet: train it for an epoch first.');
    };
    const w = mount(InspectView);
    await flushPromises();
    expect(w.get('[role=alert]').text()).toContain('has no checkpoint yet');
  });
});

describe('Export dialog', () => {
  it('exports the chosen format and lists the files relative to their folder', async () => {
    fake.api!.handlers['export.run'] = () => ({
      format: 'onnx',
      folder: '/data/exports/bb',
      files: [
        { path: '/data/exports/bb/model.onnx', bytes: 250_000 },
        { path: '/data/exports/bb/model.onnx.md', bytes: 3_000 },
      ],
    });
    const w = mount(ExportDialog, { attachTo: document.body });
    const ex = useExport();
    ex.show('bb');
    await flushPromises();
    await w.get('input[value=onnx]').setValue(true);
    expect(w.find('#export-dest').exists()).toBe(false); // the web host cannot choose folders
    await w.get('form').trigger('submit');
    await flushPromises();
    const call = fake.api!.callsTo('export.run')[0];
    expect(call).toMatchObject({ runId: 'bb', format: 'onnx', overwrite: false });
    expect(call.taskId).toMatch(/^export-/);
    expect(call).not.toHaveProperty('destination');
    const result = w.get('[data-testid=export-result]');
    expect(result.text()).toContain('/data/exports/bb');
    expect(result.findAll('li').map((li) => li.text())).toEqual(['model.onnx 244 KiB', 'model.onnx.md 2.9 KiB']);
    w.unmount();
  });

  it('in the desktop app sends the chosen destination; a failure is shown', async () => {
    fake.api = createFakeApi({ ...fake.api!.handlers, 'export.run': () => Promise.reject(new Error('model.safetensors exists; tick “Replace existing files”.')) }, 'electron');
    const w = mount(ExportDialog, { attachTo: document.body });
    const ex = useExport();
    ex.show('bb');
    await flushPromises();
    await w.get('#export-dest').setValue('/home/me/models');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(fake.api.callsTo('export.run')[0]).toMatchObject({ destination: '/home/me/models', format: 'safetensors' });
    expect(w.get('[role=alert]').text()).toContain('Replace existing files');
    w.unmount();
  });
});
