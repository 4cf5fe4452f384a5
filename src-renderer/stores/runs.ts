/**
 * Training runs as the renderer sees them: the run list, live status per run
 * (`runs.status` events) and metric records (`runs.metrics`, fetched from the
 * store once, then appended from events).
 *
 * Responsiveness: records are kept in plain arrays outside Vue's reactivity
 * (a long run has tens of thousands) and a per-run `version` counter is
 * bumped at most CHART_HZ times a second; charts recompute from it, so a
 * burst of metric events costs one redraw.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { MetricRecord, RunDetail, RunStatus, RunSummary } from '../../src-main/api/contract.ts';
import { api } from '../api/client.ts';
import { trainsInWindow } from '../train-worker/executor.ts';
import { trainInBrowser } from '../train-worker/client.ts';
import { debounce } from '../util/debounce.ts';

export const CHART_HZ = 2;

interface Series {
  records: MetricRecord[];
  /** Index of the next record to ask for. */
  total: number;
  fetching: Promise<void> | null;
}

export const ACTIVE_STATES = new Set(['queued', 'running', 'paused']);

export const useRuns = defineStore('runs', () => {
  const list = ref<RunSummary[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const status = ref<Record<string, RunStatus>>({});
  const details = ref<Record<string, RunDetail>>({});
  const version = ref<Record<string, number>>({});
  /** The run the Train view shows. */
  const watching = ref<string | null>(null);
  const series = new Map<string, Series>();
  const dirty = new Set<string>();
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  let listening = false;

  function markDirty(id: string): void {
    dirty.add(id);
    if (flushTimer) return;
    flushTimer = setTimeout(() => {
      flushTimer = null;
      const next = { ...version.value };
      for (const d of dirty) next[d] = (next[d] ?? 0) + 1;
      dirty.clear();
      version.value = next;
    }, 1000 / CHART_HZ);
  }

  const refreshSoon = debounce(() => void refresh(), 300);

  function listen(): void {
    if (listening) return;
    listening = true;
    const client = api();
    client.on('runs.status', (s) => {
      const prev = status.value[s.runId];
      status.value = { ...status.value, [s.runId]: s };
      if (!prev || prev.state !== s.state) {
        refreshSoon();
        if (details.value[s.runId] && !ACTIVE_STATES.has(s.state)) void loadDetail(s.runId, true);
      }
    });
    client.on('runs.metrics', ({ runId, from, records }) => {
      const s = series.get(runId);
      if (!s) return; // nobody is looking at this run yet; its records are fetched when shown
      if (s.fetching || from > s.total) {
        void fetchMetrics(runId);
        return;
      }
      append(s, from, records);
      markDirty(runId);
    });
    client.on('runs.changed', () => refreshSoon());
  }

  function append(s: Series, from: number, records: MetricRecord[]): void {
    const skip = s.total - from;
    if (skip < 0 || skip >= records.length) return;
    for (let i = skip; i < records.length; i++) s.records.push(records[i]);
    s.total = from + records.length;
  }

  async function refresh(): Promise<void> {
    try {
      list.value = await api().call('runs.list', {});
      error.value = null;
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loaded.value = true;
    }
  }

  async function loadDetail(id: string, force = false): Promise<RunDetail | null> {
    if (details.value[id] && !force) return details.value[id];
    try {
      const d = await api().call('runs.get', { id });
      details.value = { ...details.value, [id]: d };
      if (!status.value[id] || !ACTIVE_STATES.has(d.status.state)) status.value = { ...status.value, [id]: d.status };
      return d;
    } catch (e) {
      error.value = (e as Error).message;
      return null;
    }
  }

  /** Loads (or catches up) a run's metric records; safe to call repeatedly. */
  function fetchMetrics(id: string): Promise<void> {
    let s = series.get(id);
    if (!s) series.set(id, (s = { records: [], total: 0, fetching: null }));
    if (s.fetching) return s.fetching;
    const ser = s;
    ser.fetching = (async () => {
      try {
        const since = ser.total;
        const r = await api().call('runs.metrics', { id, since });
        append(ser, since, r.records);
        ser.total = Math.max(ser.total, r.total);
        markDirty(id);
      } catch (e) {
        error.value = (e as Error).message;
      } finally {
        ser.fetching = null;
      }
    })();
    return ser.fetching;
  }

  /** The records of a run (not reactive: read it inside something that depends on `version[id]`). */
  function records(id: string): readonly MetricRecord[] {
    return series.get(id)?.records ?? [];
  }

  async function control(id: string, action: 'pause' | 'resume' | 'stop'): Promise<void> {
    try {
      if (action === 'resume' && trainsInWindow()) {
        await trainInBrowser(id);
        refreshSoon();
        return;
      }
      const r = await api().call(`runs.${action}`, { id });
      const cur = status.value[id];
      if (cur) status.value = { ...status.value, [id]: { ...cur, state: r.state } };
      refreshSoon();
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  async function remove(id: string): Promise<void> {
    await api().call('runs.delete', { id });
    series.delete(id);
    const { [id]: _d, ...rest } = details.value;
    details.value = rest;
    await refresh();
  }

  const active = computed(() => list.value.filter((r) => ACTIVE_STATES.has(status.value[r.id]?.state ?? r.state)));
  const stateOf = (r: RunSummary): RunSummary['state'] => status.value[r.id]?.state ?? r.state;

  return { list, loaded, error, status, details, version, watching, active, listen, refresh, loadDetail, fetchMetrics, records, control, remove, stateOf };
});
