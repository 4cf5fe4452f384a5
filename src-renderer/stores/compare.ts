/**
 * The Compare view's choices: which runs are selected, how the table is
 * sorted and filtered, which metric and x axis the overlay shows.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { RunSummary } from '../../src-main/api/contract.ts';
import type { XAxis } from '../charts/run-series.ts';
import { useRuns } from './runs.ts';

export type SortKey = 'name' | 'state' | 'model' | 'dataset' | 'optimizer' | 'bestDevError' | 'testError' | 'params' | 'seconds' | 'created';
export type CurveMetric = 'devError' | 'trainError' | 'devLoss' | 'trainLoss' | 'lr';

export const CURVE_METRICS: Record<CurveMetric, string> = {
  devError: 'Dev error',
  trainError: 'Training error',
  devLoss: 'Dev loss',
  trainLoss: 'Training loss',
  lr: 'Learning rate',
};

function sortValue(r: RunSummary, key: SortKey): string | number | null {
  switch (key) {
    case 'dataset':
      return r.dataset.name.toLowerCase();
    case 'name':
    case 'model':
    case 'optimizer':
    case 'state':
      return String(r[key]).toLowerCase();
    case 'created':
      return r.created;
    default:
      return r[key];
  }
}

/** Sorts runs; missing values (no test error yet) always go last. */
export function sortRuns(runs: readonly RunSummary[], key: SortKey, dir: 'asc' | 'desc'): RunSummary[] {
  const sign = dir === 'asc' ? 1 : -1;
  return [...runs].sort((a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    if (va === null && vb === null) return 0;
    if (va === null) return 1;
    if (vb === null) return -1;
    return (va < vb ? -1 : va > vb ? 1 : 0) * sign;
  });
}

/** Case-insensitive match on name, model, dataset and optimizer; every word must match. */
export function filterRuns(runs: readonly RunSummary[], text: string, state: string): RunSummary[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  return runs.filter((r) => {
    if (state && r.state !== state) return false;
    const hay = `${r.name} ${r.model} ${r.dataset.name} ${r.optimizer}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

export const useCompare = defineStore('compare', () => {
  const runs = useRuns();
  const selected = ref<string[]>([]);
  const sortKey = ref<SortKey>('created');
  const sortDir = ref<'asc' | 'desc'>('desc');
  const filter = ref('');
  const stateFilter = ref('');
  const metric = ref<CurveMetric>('devError');
  const xAxis = ref<XAxis>('epoch');

  const rows = computed(() => sortRuns(filterRuns(runs.list, filter.value, stateFilter.value), sortKey.value, sortDir.value));
  const selectedRuns = computed(() => selected.value.map((id) => runs.list.find((r) => r.id === id)).filter((r): r is RunSummary => !!r));

  function sortBy(key: SortKey): void {
    if (sortKey.value === key) sortDir.value = sortDir.value === 'asc' ? 'desc' : 'asc';
    else {
      sortKey.value = key;
      sortDir.value = key === 'name' || key === 'model' || key === 'dataset' || key === 'optimizer' || key === 'state' ? 'asc' : key === 'created' ? 'desc' : 'asc';
    }
  }
  function toggle(id: string): void {
    selected.value = selected.value.includes(id) ? selected.value.filter((x) => x !== id) : [...selected.value, id];
  }

  return { selected, sortKey, sortDir, filter, stateFilter, metric, xAxis, rows, selectedRuns, sortBy, toggle };
});
