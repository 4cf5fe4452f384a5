import { describe, expect, it } from 'vitest';
import { compareRuns, pairwiseVerdicts, verdictText } from '../../src-renderer/compare/significance.ts';
import { diffConfigs, flattenConfig } from '../../src-renderer/compare/flatten-config.ts';
import { filterRuns, sortRuns } from '../../src-renderer/stores/compare.ts';
import type { RunSummary } from '../../src-main/api/contract.ts';

/** The 95% interval the services compute: e ± 1.96·√(e(1−e)/m). */
const ci = (e: number, m: number): [number, number] => {
  const h = 1.96 * Math.sqrt((e * (1 - e)) / m);
  return [Math.max(0, e - h), Math.min(1, e + h)];
};

describe('significance of a test-error difference', () => {
  it('calls a run better only when its upper bound is below the other lower bound', () => {
    // m = 10 000: 8.0% → [7.47, 8.53], 10.0% → [9.41, 10.59]: separated.
    const a = { name: 'adam', testError: 0.08, ci: ci(0.08, 10_000) };
    const b = { name: 'sgd', testError: 0.1, ci: ci(0.1, 10_000) };
    const v = compareRuns(b, a);
    expect(v.kind).toBe('better');
    if (v.kind === 'better') expect(v.winner.name).toBe('adam');
    expect(verdictText(v)).toBe(
      'adam is significantly better than sgd: test error 8.00% [7.47%, 8.53%] vs 10.00% [9.41%, 10.59%] — its 95% upper bound is below the other\'s lower bound.',
    );
  });

  it('says the difference is not significant when the intervals overlap', () => {
    // Same error rates on only m = 1 000 test images: [6.32, 9.68] and [8.14, 11.86] overlap.
    const a = { name: 'adam', testError: 0.08, ci: ci(0.08, 1_000) };
    const b = { name: 'sgd', testError: 0.1, ci: ci(0.1, 1_000) };
    const v = compareRuns(a, b);
    expect(v.kind).toBe('not-significant');
    expect(verdictText(v)).toMatch(/^No significant difference between adam and sgd: test error 8\.00% \[6\.32%, 9\.68%\] vs 10\.00% \[8\.14%, 11\.86%\]/);
  });

  it('treats touching intervals as not significant', () => {
    const v = compareRuns({ name: 'a', testError: 0.1, ci: [0.09, 0.11] }, { name: 'b', testError: 0.12, ci: [0.11, 0.13] });
    expect(v.kind).toBe('not-significant');
  });

  it('compares every pair of the selected runs', () => {
    const runs = [0.05, 0.1, 0.101].map((e, i) => ({ name: `r${i}`, testError: e, ci: ci(e, 10_000) }));
    const kinds = pairwiseVerdicts(runs).map((v) => v.kind);
    expect(kinds).toEqual(['better', 'better', 'not-significant']);
  });
});

const run = (over: Partial<RunSummary>): RunSummary => ({
  id: 'r',
  name: 'r',
  state: 'completed',
  model: 'lenet5',
  modelOptions: {},
  dataset: { id: 'd', name: 'Fashion-MNIST' },
  optimizer: 'sgd',
  lr: 0.05,
  batchSize: 64,
  epochs: 1,
  epochsDone: 1,
  bestDevError: null,
  testError: null,
  testErrorCi95: null,
  params: 61_706,
  seconds: 10,
  created: '2026-11-25T10:00:00Z',
  ...over,
});

describe('run table sorting and filtering', () => {
  const runs = [
    run({ id: 'a', name: 'lenet-sgd', testError: 0.2 }),
    run({ id: 'b', name: 'lenet-adam', optimizer: 'adam', testError: 0.15 }),
    run({ id: 'c', name: 'resnet', model: 'resnet', testError: null, state: 'running' }),
  ];
  it('sorts by test error with unevaluated runs last in both directions', () => {
    expect(sortRuns(runs, 'testError', 'asc').map((r) => r.id)).toEqual(['b', 'a', 'c']);
    expect(sortRuns(runs, 'testError', 'desc').map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });
  it('filters on every word across name, model, dataset and optimizer, and on status', () => {
    expect(filterRuns(runs, 'adam', '').map((r) => r.id)).toEqual(['b']);
    expect(filterRuns(runs, 'lenet fashion', '').map((r) => r.id)).toEqual(['a', 'b']);
    expect(filterRuns(runs, '', 'running').map((r) => r.id)).toEqual(['c']);
  });
});

describe('hyper-parameter diff', () => {
  it('flattens nested settings and lists', () => {
    expect(flattenConfig({ optimizer: { type: 'sgd', lr: 0.1 }, schedule: { milestones: [30, 80] }, augment: [{ op: 'hflip' }] })).toEqual({
      'optimizer.type': 'sgd',
      'optimizer.lr': '0.1',
      'schedule.milestones': '30, 80',
      augment: '[{"op":"hflip"}]',
    });
  });
  it('lists differing settings first and marks them', () => {
    const rows = diffConfigs([
      { name: 'a', epochs: 10, optimizer: { type: 'sgd', lr: 0.1 } },
      { name: 'b', epochs: 10, optimizer: { type: 'adam', lr: 0.001 } },
    ]);
    expect(rows.map((r) => [r.key, r.differs])).toEqual([
      ['optimizer.lr', true],
      ['optimizer.type', true],
      ['epochs', false],
    ]);
    expect(rows[1].values).toEqual(['sgd', 'adam']);
  });
});
