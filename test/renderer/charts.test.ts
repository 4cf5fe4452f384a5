// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { planUpdate } from '../../src-renderer/charts/option-diff.ts';
import { pendingChartWork, scheduleChartWork } from '../../src-renderer/charts/scheduler.ts';
import { lineChartOption } from '../../src-renderer/charts/line-options.ts';
import { palette } from '../../src-renderer/charts/setup.ts';

const p = palette('light');
const opt = (points: Array<[number, number]>, name = 'train') => lineChartOption({ xName: 'epoch', yName: 'loss', lines: [{ name, points }] }, p);

describe('chart updates', () => {
  it('sends only series data when the structure is unchanged, nothing when the data is unchanged', () => {
    const a = opt([[0, 1]]);
    const b = opt([
      [0, 1],
      [1, 0.5],
    ]);
    expect(planUpdate(null, a).kind).toBe('full');
    const u = planUpdate(a, b);
    expect(u).toEqual({ kind: 'data', option: { series: [{ data: [[0, 1], [1, 0.5]] }] } });
    expect(planUpdate(b, opt([[0, 1], [1, 0.5]])).kind).toBe('none');
  });

  it('replaces everything when series are renamed or an empty-chart title goes away', () => {
    expect(planUpdate(opt([[0, 1]]), opt([[0, 1]], 'dev')).kind).toBe('full');
    expect(planUpdate(opt([]), opt([[0, 1]])).kind).toBe('full');
  });

  it('runs queued chart work one job per task (microtasks of one job settle before the next starts)', async () => {
    const log: string[] = [];
    for (let i = 0; i < 4; i++)
      scheduleChartWork(() => {
        log.push(`job${i}`);
        void Promise.resolve().then(() => log.push(`micro${i}`));
      });
    const drop = scheduleChartWork(() => log.push('dropped'));
    drop();
    expect(log).toEqual([]);
    for (let i = 0; i < 20 && pendingChartWork(); i++) await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setTimeout(r, 0));
    expect(log).toEqual(['job0', 'micro0', 'job1', 'micro1', 'job2', 'micro2', 'job3', 'micro3']);
  });
});
