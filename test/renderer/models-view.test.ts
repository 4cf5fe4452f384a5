// @vitest-environment happy-dom
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeApi, type FakeApi } from './fake-api.ts';

const fake = vi.hoisted(() => ({ api: null as FakeApi | null }));
vi.mock('../../src-renderer/api/client.ts', () => ({ api: () => fake.api!.client }));

import ModelsView from '../../src-renderer/views/ModelsView.vue';
import LayerStackEditor from '../../src-renderer/components/models/LayerStackEditor.vue';
import { useModels, DESCRIBE_DEBOUNCE_MS } from '../../src-renderer/stores/models.ts';
import { fieldsFromSchema, validateField } from '../../src-renderer/forms/json-schema.ts';

const mlpSchema = {
  type: 'object',
  properties: {
    hidden: { default: [256, 128], maxItems: 16, type: 'array', items: { type: 'integer', minimum: 1, maximum: 16384 } },
    activation: { default: 'relu', type: 'string', enum: ['relu', 'tanh'] },
    dropout: { default: 0, type: 'number', minimum: 0, maximum: 0.95 },
  },
  additionalProperties: false,
  optionHelp: { hidden: 'hidden layer widths', activation: 'non-linearity', dropout: 'dropout after each hidden layer' },
};
const lenetSchema = {
  type: 'object',
  properties: {
    variant: { default: 'modern', type: 'string', enum: ['modern', 'classic1998'] },
    padding: { default: 'auto', anyOf: [{ type: 'string', const: 'auto' }, { type: 'integer', minimum: 0, maximum: 4 }] },
  },
};
const families = [
  { name: 'mlp', title: 'MLP', description: 'Fully connected layers.', teaches: 'Why images need more than dense layers.', defaults: { hidden: [256, 128], activation: 'relu', dropout: 0 }, optionsSchema: mlpSchema },
  { name: 'lenet5', title: 'LeNet-5', description: 'The 1998 CNN.', teaches: 'Convolution and pooling.', defaults: { variant: 'modern', padding: 'auto' }, optionsSchema: lenetSchema },
  { name: 'custom', title: 'Custom layer stack', description: 'Your own layers.', teaches: 'Architecture design.', defaults: { layers: [] }, optionsSchema: { type: 'object', properties: { layers: { type: 'array', items: {} } } } },
];
const row = (name: string, type: string, outputShape: number[], params = 0, depth = 0) => ({ name, type, outputShape, params, flops: params * 2, depth, detail: '' });

describe('Models view', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    setActivePinia(createPinia());
    fake.api = createFakeApi({
      'models.list': () => families,
      'datasets.list': () => [],
      'models.describe': (a) => {
        if (a.family === 'custom') {
          return { ok: false, error: 'layers.3 (linear): expects features [F], got an image [16, 14, 14]; add a flatten layer before it', layer: 'layers.3' };
        }
        const hidden = (a.options as { hidden?: number[] }).hidden ?? [256, 128];
        const rows = [row('layers.0', 'normalize', [1, 28, 28]), row('layers.1', 'flatten', [784])];
        let inF = 784;
        hidden.forEach((h, i) => {
          rows.push(row(`layers.${i + 2}`, 'linear', [h], inF * h + h));
          inF = h;
        });
        rows.push(row(`layers.${rows.length}`, 'linear', [10], inF * 10 + 10));
        const total = rows.reduce((s, r) => s + r.params, 0);
        return { ok: true, rows, totalParams: total, totalFlops: total * 2, graph: { layers: [] } };
      },
    });
  });
  afterEach(() => vi.useRealTimers());

  it('lists the zoo with what each model teaches and updates the layer table as options change', async () => {
    const w = mount(ModelsView);
    await vi.runAllTimersAsync();
    await w.get('[data-testid=model-card-mlp]').trigger('click');
    await vi.advanceTimersByTimeAsync(DESCRIBE_DEBOUNCE_MS + 10);
    expect(w.text()).toContain('Why images need more than dense layers.');
    expect(w.get('[data-testid=total-params]').text()).toBe((784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10).toLocaleString('en-US'));
    const hidden = w.get('#model-opt-hidden');
    await hidden.setValue('64');
    // Debounced: several keystrokes cost one describe call.
    await hidden.setValue('32');
    const before = fake.api!.callsTo('models.describe').length;
    await vi.advanceTimersByTimeAsync(DESCRIBE_DEBOUNCE_MS + 10);
    const after = fake.api!.callsTo('models.describe');
    expect(after.length).toBe(before + 1);
    expect(after[after.length - 1].options).toMatchObject({ hidden: [32] });
    expect(w.get('[data-testid=total-params]').text()).toBe((784 * 32 + 32 + 32 * 10 + 10).toLocaleString('en-US'));
    expect(w.get('[data-testid=layer-table]').text()).toContain('[32]');
  });

  it('shows an option’s validation message next to it and does not ask the services', async () => {
    const w = mount(ModelsView);
    await vi.runAllTimersAsync();
    await w.get('[data-testid=model-card-mlp]').trigger('click');
    await vi.advanceTimersByTimeAsync(DESCRIBE_DEBOUNCE_MS + 10);
    const calls = fake.api!.callsTo('models.describe').length;
    await w.get('#model-opt-dropout').setValue('1.5');
    await vi.advanceTimersByTimeAsync(DESCRIBE_DEBOUNCE_MS + 10);
    expect(w.get('[data-testid=option-error-dropout]').text()).toBe('must be at most 0.95');
    expect(w.get('#model-opt-dropout').attributes('aria-invalid')).toBe('true');
    expect(fake.api!.callsTo('models.describe').length).toBe(calls);
  });

  it('marks the custom layer the shape error is about, with its message', async () => {
    const w = mount(ModelsView);
    await vi.runAllTimersAsync();
    await w.get('[data-testid=model-card-custom]').trigger('click');
    await vi.advanceTimersByTimeAsync(DESCRIBE_DEBOUNCE_MS + 10);
    // layers.3 in the graph = the third layer of the stack (the graph's layers.0 is the normalisation).
    const bad = w.get('[data-testid=stack-layer-2]');
    expect(bad.attributes('aria-invalid')).toBe('true');
    expect(bad.get('[data-testid=stack-error-2]').text()).toContain('add a flatten layer before it');
    expect(w.findAll('[aria-invalid=true]').filter((x) => x.attributes('data-testid')?.startsWith('stack-layer'))).toHaveLength(1);
  });
});

describe('custom layer-stack editor', () => {
  beforeEach(() => setActivePinia(createPinia()));
  const stack = [{ type: 'conv2d', out: 8, kernel: 3 }, { type: 'activation', kind: 'relu' }, { type: 'linear', out: 10 }];

  it('adds, removes and reorders layers', async () => {
    const w = mount(LayerStackEditor, { props: { modelValue: stack } });
    await w.get('#stack-add').setValue('flatten');
    await w.get('.add button').trigger('click');
    expect((w.emitted('update:modelValue')![0][0] as unknown[]).map((l) => (l as { type: string }).type)).toEqual(['conv2d', 'activation', 'linear', 'flatten']);
    await w.get('[aria-label="Move layer 3 up"]').trigger('click');
    expect((w.emitted('update:modelValue')![1][0] as unknown[]).map((l) => (l as { type: string }).type)).toEqual(['conv2d', 'linear', 'activation']);
    await w.get('[aria-label="Remove layer 1 (Conv 2D)"]').trigger('click');
    expect((w.emitted('update:modelValue')![2][0] as unknown[]).map((l) => (l as { type: string }).type)).toEqual(['activation', 'linear']);
  });

  it('edits a field and shows each layer’s output shape from the table', async () => {
    const rows = [row('layers.0', 'normalize', [1, 28, 28]), row('layers.1', 'conv2d', [8, 26, 26], 80), row('layers.2', 'activation', [8, 26, 26])];
    const w = mount(LayerStackEditor, { props: { modelValue: stack, rows } });
    expect(w.get('[data-testid=stack-layer-0]').text()).toContain('[8, 26, 26]');
    await w.get('#stack-0-out').setValue('16');
    expect((w.emitted('update:modelValue')![0][0] as Array<Record<string, unknown>>)[0]).toEqual({ type: 'conv2d', out: 16, kernel: 3 });
  });
});

describe('options form from JSON Schema', () => {
  it('turns a schema into typed fields with help and checks values', () => {
    const f = fieldsFromSchema(lenetSchema, { padding: 'conv1 padding' });
    expect(f.map((x) => [x.key, x.kind, x.label])).toEqual([
      ['variant', 'enum', 'Variant'],
      ['padding', 'autoOrInt', 'Padding'],
    ]);
    expect(validateField(f[1], 'auto')).toBeNull();
    expect(validateField(f[1], 7)).toBe('must be at most 4');
    const mlp = fieldsFromSchema(mlpSchema);
    expect(validateField(mlp[0], [64, 0])).toBe('each must be at least 1');
    expect(validateField(mlp[0], 'a, b')).toBe('must be whole numbers separated by commas');
    expect(validateField(mlp[2], 0.5)).toBeNull();
  });

  it('keeps options per family when switching back and forth', async () => {
    vi.useFakeTimers();
    setActivePinia(createPinia());
    const m = useModels();
    await m.load();
    m.family = 'mlp';
    m.options = { ...m.options, dropout: 0.3 };
    m.family = 'lenet5';
    m.family = 'mlp';
    expect(m.options.dropout).toBe(0.3);
    vi.useRealTimers();
  });
});
