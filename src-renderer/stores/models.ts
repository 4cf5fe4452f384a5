/**
 * The model zoo: families with their option schemas, the options being edited
 * per family (kept when switching), the custom layer stack, and the layer
 * table of the current configuration (models.describe, debounced, latest
 * answer wins).
 */
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { CallResult, ModelFamilyInfo } from '../../src-main/api/contract.ts';
import { api } from '../api/client.ts';
import { cleanOptions, fieldsFromSchema, validateAll } from '../forms/json-schema.ts';
import { starterStack } from '../models/layer-catalogue.ts';
import { debounce, latestOnly } from '../util/debounce.ts';

export type Description = CallResult<'models.describe'>;
export type Shape3 = [number, number, number];

export const DESCRIBE_DEBOUNCE_MS = 200;

export function familyFields(f: ModelFamilyInfo | undefined) {
  if (!f) return [];
  const help = (f.optionsSchema.optionHelp ?? {}) as Record<string, string>;
  return fieldsFromSchema(f.optionsSchema, help);
}

export const useModels = defineStore('models', () => {
  const families = ref<ModelFamilyInfo[]>([]);
  const loadError = ref<string | null>(null);
  const family = ref('lenet5');
  const optionsByFamily = ref<Record<string, Record<string, unknown>>>({});
  const customLayers = ref<Record<string, unknown>[]>(starterStack(10));
  /** The input the table is computed for: from a chosen dataset, else 28×28 grey with 10 classes. */
  const input = ref<Shape3>([1, 28, 28]);
  const classes = ref(10);
  const description = ref<Description | null>(null);
  const describing = ref(false);
  const describeError = ref<string | null>(null);

  const current = computed(() => families.value.find((f) => f.name === family.value));
  const fields = computed(() => familyFields(current.value));
  const options = computed<Record<string, unknown>>({
    get: () => optionsByFamily.value[family.value] ?? { ...(current.value?.defaults ?? {}) },
    set: (v) => (optionsByFamily.value = { ...optionsByFamily.value, [family.value]: v }),
  });
  const localErrors = computed(() => validateAll(fields.value.filter((f) => f.key !== 'layers'), options.value));
  /** What describe / runs get: optional fields left unset are omitted; custom carries the stack. */
  const effectiveOptions = computed(() => {
    const o = cleanOptions(options.value);
    return family.value === 'custom' ? { ...o, layers: customLayers.value } : o;
  });

  async function load(): Promise<void> {
    try {
      families.value = await api().call('models.list', {});
      loadError.value = null;
      if (!families.value.some((f) => f.name === family.value)) family.value = families.value[0]?.name ?? '';
    } catch (e) {
      loadError.value = (e as Error).message;
    }
  }

  const ask = latestOnly((fam: string, opts: Record<string, unknown>, inp: Shape3, cls: number) =>
    api().call('models.describe', { family: fam, options: opts, input: inp, classes: cls }),
  );
  async function describeNow(): Promise<void> {
    if (!family.value || !families.value.length) return;
    if (Object.keys(localErrors.value).length) return;
    describing.value = true;
    try {
      const r = await ask(family.value, effectiveOptions.value, input.value, classes.value);
      if (!r.current) return;
      description.value = r.value;
      describeError.value = null;
    } catch (e) {
      describeError.value = (e as Error).message;
    } finally {
      describing.value = false;
    }
  }
  const describeSoon = debounce(() => void describeNow(), DESCRIBE_DEBOUNCE_MS);
  watch(
    () => [family.value, JSON.stringify(effectiveOptions.value), input.value.join('x'), classes.value, families.value.length],
    () => describeSoon(),
  );

  function setContext(shape: Shape3, cls: number): void {
    input.value = shape;
    classes.value = cls;
  }

  /** Starts a custom stack from the current zoo model's layers. */
  function editAsCustom(): void {
    const d = description.value;
    if (!d || !d.ok) return;
    const layers = (d.graph.layers as Record<string, unknown>[]).filter((l) => l.type !== 'normalize');
    customLayers.value = JSON.parse(JSON.stringify(layers)) as Record<string, unknown>[];
    family.value = 'custom';
  }

  return {
    families,
    loadError,
    family,
    optionsByFamily,
    customLayers,
    input,
    classes,
    description,
    describing,
    describeError,
    current,
    fields,
    options,
    localErrors,
    effectiveOptions,
    load,
    describeNow,
    setContext,
    editAsCustom,
  };
});
