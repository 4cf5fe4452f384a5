// @vitest-environment happy-dom
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeApi, type FakeApi } from './fake-api.ts';

const fake = vi.hoisted(() => ({ api: null as FakeApi | null }));
vi.mock('../../src-renderer/api/client.ts', () => ({ api: () => fake.api!.client }));

import { CHART_HZ, useRuns } from '../../src-renderer/stores/runs.ts';
import { epochSeries, gradNormSeries, stepSeries, stepsPerEpoch, xOf } from '../../src-renderer/charts/run-series.ts';
import type { MetricRecord } from '../../src-main/api/contract.ts';

const step = (s: number, loss: number, extra: Partial<MetricRecord> = {}): MetricRecord =>
  ({ kind: 'step', step: s, epoch: Math.floor((s - 1) / 100) + 1, loss, error: loss / 4, lr: 0.1, imagesPerSec: 1000, seconds: s / 10, ...extra }) as MetricRecord;

describe('runs store: live metrics', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    setActivePinia(createPinia());
    fake.api = createFakeApi({
      'runs.list': () => [],
      'runs.metrics': (a) => {
        const all = [step(10, 2), step(20, 1.8), step(30, 1.7)];
        return { records: all.slice(a.since as number), total: all.length };
      },
    });
  });
  afterEach(() => vi.useRealTimers());

  it('appends event batches after the fetched records and redraws at most a few times a second', async () => {
    const runs = useRuns();
    runs.listen();
    await runs.fetchMetrics('r1');
    await vi.advanceTimersByTimeAsync(1000 / CHART_HZ + 1);
    const v0 = runs.version.r1;
    // Twenty event batches in quick succession…
    for (let i = 0; i < 20; i++) fake.api!.emit('runs.metrics', { runId: 'r1', from: 3 + i, records: [step(40 + 10 * i, 1.6 - i * 0.01)] });
    expect(runs.version.r1).toBe(v0);
    // …cost one version bump (one chart update).
    await vi.advanceTimersByTimeAsync(1000 / CHART_HZ + 1);
    expect(runs.version.r1).toBe(v0 + 1);
    const rs = runs.records('r1');
    expect(rs).toHaveLength(23);
    expect(rs.map((r) => r.step)).toEqual([10, 20, 30, ...Array.from({ length: 20 }, (_, i) => 40 + 10 * i)]);
  });

  it('ignores records it already has and refetches when a batch was missed', async () => {
    const runs = useRuns();
    runs.listen();
    await runs.fetchMetrics('r1');
    // A repeat of records 1..2 adds nothing.
    fake.api!.emit('runs.metrics', { runId: 'r1', from: 1, records: [step(20, 1.8), step(30, 1.7)] });
    expect(runs.records('r1')).toHaveLength(3);
    // A gap (records 3..4 never arrived) asks the store from where it stopped.
    fake.api!.handlers['runs.metrics'] = (a) => ({ records: [step(40, 1.6), step(50, 1.5), step(60, 1.4)].slice((a.since as number) - 3), total: 6 });
    fake.api!.emit('runs.metrics', { runId: 'r1', from: 5, records: [step(60, 1.4)] });
    await vi.runAllTimersAsync();
    expect(fake.api!.callsTo('runs.metrics').at(-1)).toEqual({ id: 'r1', since: 3 });
    expect(runs.records('r1').map((r) => r.step)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('follows status events and reloads the list when a run changes state', async () => {
    const runs = useRuns();
    runs.listen();
    const status = { runId: 'r1', state: 'running', epoch: 1, epochs: 2, step: 5, totalSteps: 10, imagesPerSec: 100, etaSeconds: 3 };
    fake.api!.emit('runs.status', status);
    fake.api!.emit('runs.status', { ...status, step: 6 });
    await vi.runAllTimersAsync();
    expect(runs.status.r1.step).toBe(6);
    expect(fake.api!.callsTo('runs.list')).toHaveLength(1);
    fake.api!.emit('runs.status', { ...status, state: 'completed' });
    await vi.runAllTimersAsync();
    expect(fake.api!.callsTo('runs.list')).toHaveLength(2);
  });
});

describe('chart series from metric records', () => {
  const records: MetricRecord[] = [
    step(50, 2.0),
    step(100, 1.5),
    { kind: 'epoch', epoch: 1, step: 100, trainLoss: 1.7, trainError: 0.4, devLoss: 1.6, devError: 0.38, lr: 0.1, imagesPerSec: 1000, seconds: 10 },
    step(150, 1.2, { gradNorms: { 'layers.1.weight': 3, 'layers.1.bias': 4, 'layers.4.weight': 0.5 } } as Partial<MetricRecord>),
    step(200, NaN),
  ];

  it('puts step records at fractional epochs so they line up with the dev points', () => {
    expect(stepsPerEpoch(records)).toBe(100);
    expect(xOf({ kind: 'step', step: 150, seconds: 15, epoch: 2 }, 'epoch', 100)).toBe(1.5);
    expect(stepSeries(records, 'loss', 'epoch')).toEqual([
      [0.5, 2],
      [1, 1.5],
      [1.5, 1.2],
    ]);
    expect(stepSeries(records, 'loss', 'step').map((p) => p[0])).toEqual([50, 100, 150]);
    expect(stepSeries(records, 'loss', 'time').map((p) => p[0])).toEqual([5, 10, 15]);
    expect(epochSeries(records, 'devError', 'epoch')).toEqual([[1, 0.38]]);
  });

  it('combines a layer’s parameter gradient norms as √Σ‖g‖²', () => {
    expect(gradNormSeries(records, 'step')).toEqual([
      { layer: 'layers.1', points: [[150, 5]] },
      { layer: 'layers.4', points: [[150, 0.5]] },
    ]);
  });

  it('down-samples long series to a bounded number of points', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => step(i + 1, Math.exp(-i / 5000)));
    const s = stepSeries(many, 'loss', 'step');
    expect(s.length).toBeLessThanOrEqual(601);
    expect(s[0]).toEqual([1, 1]);
    expect(s[s.length - 1][0]).toBe(20_000);
  });
});
