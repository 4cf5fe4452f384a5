/**
 * The Inspect view: the run and checkpoint looked at, its overview (filters),
 * the chosen test image's pass through the network and the most confident
 * mistakes. Each answer is cached per (run, checkpoint[, image]).
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { CallResult } from '../../src-main/api/contract.ts';
import { api } from '../api/client.ts';
import { latestOnly } from '../util/debounce.ts';

export type Overview = CallResult<'inspect.overview'>;
export type Example = CallResult<'inspect.example'>;
export type Mistakes = CallResult<'inspect.mistakes'>;

export const useInspect = defineStore('inspect', () => {
  const runId = ref<string | null>(null);
  const checkpoint = ref('');
  const index = ref(0);
  const overview = ref<Overview | null>(null);
  const example = ref<Example | null>(null);
  const mistakes = ref<Mistakes | null>(null);
  const loading = ref<{ overview: boolean; example: boolean; mistakes: boolean }>({ overview: false, example: false, mistakes: false });
  const error = ref<string | null>(null);

  const ck = (): { checkpoint?: string } => (checkpoint.value ? { checkpoint: checkpoint.value } : {});
  const askOverview = latestOnly((id: string, c: { checkpoint?: string }) => api().call('inspect.overview', { runId: id, ...c }));
  const askExample = latestOnly((id: string, c: { checkpoint?: string }, i: number) => api().call('inspect.example', { runId: id, ...c, index: i }));
  const askMistakes = latestOnly((id: string, c: { checkpoint?: string }) => api().call('inspect.mistakes', { runId: id, ...c, limit: 24 }));

  async function guarded<T>(what: keyof typeof loading.value, fn: () => Promise<{ current: boolean; value: T }>, set: (v: T) => void): Promise<void> {
    loading.value = { ...loading.value, [what]: true };
    try {
      const r = await fn();
      if (r.current) set(r.value);
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loading.value = { ...loading.value, [what]: false };
    }
  }

  /** Loads everything for the current run and checkpoint. */
  async function load(): Promise<void> {
    const id = runId.value;
    if (!id) return;
    error.value = null;
    overview.value = null;
    example.value = null;
    mistakes.value = null;
    await guarded('overview', () => askOverview(id, ck()), (v) => (overview.value = v));
    const ov = overview.value as Overview | null; // set inside the callback: TS cannot see it
    if (!ov) return;
    if (index.value >= ov.testCount) index.value = 0;
    await Promise.all([loadExample(), loadMistakes()]);
  }
  async function loadExample(): Promise<void> {
    const id = runId.value;
    if (!id) return;
    await guarded('example', () => askExample(id, ck(), index.value), (v) => (example.value = v));
  }
  async function loadMistakes(): Promise<void> {
    const id = runId.value;
    if (!id) return;
    await guarded('mistakes', () => askMistakes(id, ck()), (v) => (mistakes.value = v));
  }
  function pick(i: number): void {
    index.value = i;
    void loadExample();
  }

  return { runId, checkpoint, index, overview, example, mistakes, loading, error, load, loadExample, loadMistakes, pick };
});
