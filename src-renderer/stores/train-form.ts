/**
 * The run form: a draft config, its validation (local schemas first, then
 * `runs.validate` for what only the services know: model shapes, dataset
 * sizes) and starting the run. Messages are keyed by field path
 * (`optimizer.lr`, `model.options.hidden`, `epochs`) so each sits next to its
 * field.
 */
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import { RunConfigInput } from '../../src-main/api/contract.ts';
import { optimizerConfigSchema, scheduleConfigSchema } from '../../src-engine/optim/config.ts';
import { api } from '../api/client.ts';
import { trainsInWindow } from '../train-worker/executor.ts';
import { trainInBrowser } from '../train-worker/client.ts';
import { validateStep } from '../augment/catalogue.ts';
import { cleanOptions, validateAll } from '../forms/json-schema.ts';
import { starterStack } from '../models/layer-catalogue.ts';
import { defaultsFor } from '../train/defaults.ts';
import { debounce, latestOnly } from '../util/debounce.ts';
import { familyFields, useModels } from './models.ts';
import { useAugment } from './augment.ts';

export interface Draft {
  name: string;
  datasetId: string;
  devFraction: number;
  trainSubset: number | undefined;
  family: string;
  options: Record<string, unknown>;
  optimizer: Record<string, unknown>;
  schedule: Record<string, unknown>;
  augment: Record<string, unknown>[];
  epochs: number;
  batchSize: number;
  seed: number;
  labelSmoothing: number;
  logEvery: number;
  gradNormEvery: number;
}

export type ValidateOk = Extract<Awaited<ReturnType<typeof validateCall>>, { ok: true }>;
const validateCall = (config: Record<string, unknown>) => api().call('runs.validate', { config });

export const VALIDATE_DEBOUNCE_MS = 400;

/** Drops undefined and empty-string values (a cleared optional field means "default"). */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '' && !(typeof v === 'number' && Number.isNaN(v))));
}

function issuesToFields(prefix: string, issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>, out: Record<string, string>): void {
  for (const i of issues) {
    const key = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
    if (!out[key]) out[key] = i.message;
  }
}

export const useTrainForm = defineStore('trainForm', () => {
  const models = useModels();
  const d0 = defaultsFor('lenet5');
  const draft = ref<Draft>({
    name: '',
    datasetId: '',
    devFraction: 0.1,
    trainSubset: undefined,
    family: 'lenet5',
    options: {},
    optimizer: { ...d0.optimizer },
    schedule: { ...d0.schedule },
    augment: JSON.parse(JSON.stringify(useAugment().pipeline)) as Record<string, unknown>[],
    epochs: d0.epochs,
    batchSize: d0.batchSize,
    seed: 0,
    labelSmoothing: 0,
    // Short lab runs need dense curves: log every 10 steps, gradient norms every 25.
    logEvery: 10,
    gradNormEvery: 25,
  });
  const customLayers = ref<Record<string, unknown>[]>(starterStack(10));
  const serverCheck = ref<ValidateOk | null>(null);
  const serverError = ref<{ field?: string; message: string } | null>(null);
  const checking = ref(false);
  const starting = ref(false);
  const startError = ref<string | null>(null);
  const appliedDefaults = ref<string>(d0.why);

  const family = computed(() => models.families.find((f) => f.name === draft.value.family));
  const optionFields = computed(() => familyFields(family.value).filter((f) => f.key !== 'layers'));

  function applyFamilyDefaults(name: string): void {
    const d = defaultsFor(name);
    draft.value.optimizer = { ...d.optimizer };
    draft.value.schedule = { ...d.schedule };
    draft.value.batchSize = d.batchSize;
    draft.value.epochs = d.epochs;
    appliedDefaults.value = d.why;
  }
  function setFamily(name: string): void {
    if (name === draft.value.family) return;
    draft.value.family = name;
    draft.value.options = { ...(models.families.find((f) => f.name === name)?.defaults ?? {}) };
    applyFamilyDefaults(name);
  }
  /** Another optimizer: the model's recommended settings when they use it, else torch's defaults; regularisation is kept. */
  function setOptimizerType(type: string): void {
    if (type === draft.value.optimizer.type) return;
    const keep = { weightDecay: draft.value.optimizer.weightDecay, clipNorm: draft.value.optimizer.clipNorm };
    const recommended = defaultsFor(draft.value.family).optimizer;
    if (recommended.type === type) {
      draft.value.optimizer = compact({ ...keep, ...recommended });
      return;
    }
    const parsed = optimizerConfigSchema.safeParse({ type });
    draft.value.optimizer = compact({ ...(parsed.success ? { type, lr: parsed.data.lr } : { type }), ...keep });
  }
  function setScheduleType(type: string): void {
    if (type === draft.value.schedule.type) return;
    const recommended = defaultsFor(draft.value.family).schedule;
    draft.value.schedule = recommended.type === type ? { ...recommended } : { type };
  }
  /** Takes the model (and custom stack) being looked at in the Models view. */
  function useModelFromZoo(): void {
    setFamily(models.family);
    draft.value.options = { ...models.options };
    if (models.family === 'custom') customLayers.value = JSON.parse(JSON.stringify(models.customLayers)) as Record<string, unknown>[];
  }

  const config = computed<Record<string, unknown>>(() => {
    const d = draft.value;
    const options = cleanOptions(d.options);
    return compact({
      name: d.name.trim() || undefined,
      datasetId: d.datasetId,
      devFraction: d.devFraction,
      trainSubset: d.trainSubset,
      model: { family: d.family, options: d.family === 'custom' ? { ...options, layers: customLayers.value } : options },
      optimizer: compact(d.optimizer),
      schedule: compact(d.schedule),
      augment: d.augment,
      epochs: d.epochs,
      batchSize: d.batchSize,
      seed: d.seed,
      labelSmoothing: d.labelSmoothing,
      logEvery: d.logEvery,
      gradNormEvery: d.gradNormEvery,
    });
  });

  /** Field → message from the schemas the renderer shares with the services. */
  const localErrors = computed<Record<string, string>>(() => {
    const out: Record<string, string> = {};
    const d = draft.value;
    if (!d.datasetId) out.datasetId = 'choose a dataset';
    const base = RunConfigInput.safeParse(config.value);
    if (!base.success) issuesToFields('', base.error.issues, out);
    const opt = optimizerConfigSchema.safeParse(compact(d.optimizer));
    if (!opt.success) issuesToFields('optimizer', opt.error.issues, out);
    const sch = scheduleConfigSchema.safeParse(compact(d.schedule));
    if (!sch.success) issuesToFields('schedule', sch.error.issues, out);
    const opts = validateAll(optionFields.value, d.options);
    for (const [k, m] of Object.entries(opts)) out[`model.options.${k}`] = m;
    d.augment.forEach((s, i) => {
      const e = validateStep(s);
      const first = Object.entries(e)[0];
      if (first) out.augment ??= `step ${i + 1}: ${first[0]}: ${first[1]}`;
    });
    return out;
  });

  const errors = computed<Record<string, string>>(() => {
    const out = { ...localErrors.value };
    const s = serverError.value;
    if (s && !Object.keys(localErrors.value).length) out[s.field ?? 'form'] = s.message;
    return out;
  });
  const valid = computed(() => Object.keys(errors.value).length === 0);

  const ask = latestOnly(validateCall);
  async function checkNow(): Promise<void> {
    if (Object.keys(localErrors.value).length) {
      serverCheck.value = null;
      serverError.value = null;
      return;
    }
    checking.value = true;
    try {
      const r = await ask(config.value);
      if (!r.current) return;
      if (r.value.ok) {
        serverCheck.value = r.value;
        serverError.value = null;
      } else {
        serverCheck.value = null;
        serverError.value = { field: r.value.field, message: r.value.error };
      }
    } catch (e) {
      serverError.value = { message: (e as Error).message };
    } finally {
      checking.value = false;
    }
  }
  const checkSoon = debounce(() => void checkNow(), VALIDATE_DEBOUNCE_MS);
  watch(() => JSON.stringify(config.value), () => checkSoon());

  /** Creates and queues the run; returns its id. */
  async function start(): Promise<string | null> {
    if (!valid.value) return null;
    starting.value = true;
    startError.value = null;
    try {
      if (trainsInWindow()) {
        const t = await trainInBrowser({ config: config.value as RunConfigInput });
        return t.runId;
      }
      const { id } = await api().call('runs.create', { config: config.value as RunConfigInput });
      return id;
    } catch (e) {
      startError.value = (e as Error).message;
      return null;
    } finally {
      starting.value = false;
    }
  }

  return {
    draft,
    customLayers,
    family,
    optionFields,
    config,
    localErrors,
    errors,
    valid,
    serverCheck,
    checking,
    starting,
    startError,
    appliedDefaults,
    setFamily,
    setOptimizerType,
    setScheduleType,
    applyFamilyDefaults,
    useModelFromZoo,
    checkNow,
    start,
  };
});
