// @vitest-environment happy-dom
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeApi, type FakeApi } from './fake-api.ts';

const fake = vi.hoisted(() => ({ api: null as FakeApi | null }));
vi.mock('../../src-renderer/api/client.ts', () => ({ api: () => fake.api!.client }));

import AugmentEditor from '../../src-renderer/components/datasets/AugmentEditor.vue';
import AugmentPreview from '../../src-renderer/components/datasets/AugmentPreview.vue';
import { defaultStep, describeStep, validateStep } from '../../src-renderer/augment/catalogue.ts';

type Steps = Array<Record<string, unknown>>;
const last = (w: ReturnType<typeof mount>): Steps => (w.emitted('update:modelValue')!.at(-1)![0] as Steps);

describe('augmentation editor', () => {
  it('adds a step with the schema’s defaults and its probability', async () => {
    const w = mount(AugmentEditor, { props: { modelValue: [] } });
    expect(w.text()).toContain('No augmentation');
    await w.get('select').setValue('rotate');
    await w.get('.add button').trigger('click');
    expect(last(w)).toEqual([{ op: 'rotate', degrees: 15, p: 1 }]);
  });

  it('edits parameters and probability, reorders and removes steps', async () => {
    const steps: Steps = [defaultStep('hflip'), { ...defaultStep('randomCrop'), padding: 2 }];
    const w = mount(AugmentEditor, { props: { modelValue: steps, idPrefix: 't' } });
    await w.get('#t-1-padding').setValue('6');
    expect(last(w)[1]).toMatchObject({ op: 'randomCrop', padding: 6 });
    await w.get('#t-0-p').setValue('0.25');
    expect(last(w)[0]).toEqual({ op: 'hflip', p: 0.25 });
    await w.get('[aria-label="Move step 2 up"]').trigger('click');
    expect(last(w).map((s) => s.op)).toEqual(['randomCrop', 'hflip']);
    await w.get('[aria-label="Remove step 1 (Horizontal flip)"]').trigger('click');
    expect(last(w).map((s) => s.op)).toEqual(['randomCrop']);
  });

  it('shows the schema’s message next to an out-of-range parameter', () => {
    const w = mount(AugmentEditor, { props: { modelValue: [{ op: 'rotate', degrees: 200, p: 1 }], idPrefix: 't' } });
    expect(w.get('#t-0-degrees').attributes('aria-invalid')).toBe('true');
    expect(w.get('[role=alert]').text()).toMatch(/180/);
    expect(validateStep({ op: 'gaussianBlur', sigma: [2, 1], p: 0.5 })).toEqual({ sigma: 'the first number must not exceed the second' });
    expect(describeStep({ op: 'rotate', degrees: 10, p: 1 })).toBe('Rotate, degrees 10, p 1');
  });
});

describe('augmentation preview', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    setActivePinia(createPinia());
    fake.api = createFakeApi({
      'datasets.augmentPreview': (a) => ({ originalPngBase64: 'orig', variantsPngBase64: Array.from({ length: a.n as number }, (_, i) => `v${i}`) }),
    });
  });
  afterEach(() => vi.useRealTimers());

  it('asks for new variants after edits settle, and never for an invalid pipeline', async () => {
    const w = mount(AugmentPreview, { props: { datasetId: 'fashion-mnist-sample', trainCount: 3000, pipeline: [defaultStep('hflip')] } });
    await vi.advanceTimersByTimeAsync(300);
    expect(fake.api!.callsTo('datasets.augmentPreview')).toEqual([{ id: 'fashion-mnist-sample', split: 'train', index: 0, pipeline: [{ op: 'hflip', p: 0.5 }], n: 15, seed: 1 }]);
    expect(w.findAll('[data-testid=augment-grid] img')).toHaveLength(16);
    await w.setProps({ pipeline: [{ op: 'rotate', degrees: 20, p: 1 }] });
    await w.setProps({ pipeline: [{ op: 'rotate', degrees: 30, p: 1 }] });
    await vi.advanceTimersByTimeAsync(300);
    expect(fake.api!.callsTo('datasets.augmentPreview')).toHaveLength(2);
    expect(fake.api!.callsTo('datasets.augmentPreview')[1].pipeline).toEqual([{ op: 'rotate', degrees: 30, p: 1 }]);
    await w.setProps({ pipeline: [{ op: 'rotate', degrees: 999, p: 1 }] });
    await vi.advanceTimersByTimeAsync(300);
    expect(fake.api!.callsTo('datasets.augmentPreview')).toHaveLength(2);
    await w.get('button:nth-of-type(2)').trigger('click'); // Re-roll
    await vi.advanceTimersByTimeAsync(300);
    expect(fake.api!.callsTo('datasets.augmentPreview')).toHaveLength(2); // still invalid
  });
});
