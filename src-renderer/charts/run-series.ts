/**
 * Turns a run's metric records into chart series: pure functions, so the
 * views stay thin and the maths is testable. Long series go through LTTB.
 */
import type { MetricRecord } from '../../src-main/api/contract.ts';
import { lttb } from './lttb.ts';

export type XAxis = 'epoch' | 'step' | 'time';
export type Point = [number, number];

type StepRec = Extract<MetricRecord, { kind: 'step' }>;
type EpochRec = Extract<MetricRecord, { kind: 'epoch' }>;

/** Points kept per drawn series: a chart a few hundred pixels wide cannot show more. */
export const MAX_POINTS = 600;

export const stepRecords = (rs: readonly MetricRecord[]): StepRec[] => rs.filter((r): r is StepRec => r.kind === 'step');
export const epochRecords = (rs: readonly MetricRecord[]): EpochRec[] => rs.filter((r): r is EpochRec => r.kind === 'epoch');

/** Optimizer steps per epoch, from the records (or the status totals). */
export function stepsPerEpoch(rs: readonly MetricRecord[], fallback = 0): number {
  const e = epochRecords(rs).find((r) => r.step > 0 && r.epoch > 0);
  if (e) return e.step / e.epoch;
  return fallback;
}

/** The x value of a record on the chosen axis (fractional epochs for step records). */
export function xOf(r: { step: number; seconds: number; epoch: number; kind: string }, axis: XAxis, spe: number): number {
  if (axis === 'step') return r.step;
  if (axis === 'time') return r.seconds;
  if (r.kind === 'epoch') return r.epoch;
  return spe > 0 ? r.step / spe : r.epoch;
}

function finite(points: Point[]): Point[] {
  return points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
}

export function down(points: Point[], max = MAX_POINTS): Point[] {
  return points.length > max ? lttb(points, max) : points;
}

export type StepField = 'loss' | 'error' | 'lr' | 'imagesPerSec';
export type EpochField = 'trainLoss' | 'trainError' | 'devLoss' | 'devError' | 'lr' | 'imagesPerSec';

/** One metric of the step records on an axis, down-sampled. */
export function stepSeries(rs: readonly MetricRecord[], field: StepField, axis: XAxis, spe = stepsPerEpoch(rs)): Point[] {
  return down(finite(stepRecords(rs).map((r) => [xOf(r, axis, spe), r[field] ?? NaN])));
}

/** One metric of the epoch records on an axis (short: never down-sampled). */
export function epochSeries(rs: readonly MetricRecord[], field: EpochField, axis: XAxis, spe = stepsPerEpoch(rs)): Point[] {
  return finite(epochRecords(rs).map((r) => [xOf(r, axis, spe), r[field] ?? NaN]));
}

/**
 * Gradient norms per layer: parameters of one layer (`layers.3.weight`,
 * `layers.3.bias`) combine as √Σ‖g‖². Layers in state_dict order.
 */
export function gradNormSeries(rs: readonly MetricRecord[], axis: XAxis, spe = stepsPerEpoch(rs)): Array<{ layer: string; points: Point[] }> {
  const byLayer = new Map<string, Point[]>();
  for (const r of stepRecords(rs)) {
    if (!r.gradNorms) continue;
    const sums = new Map<string, number>();
    for (const [name, norm] of Object.entries(r.gradNorms)) {
      if (norm === null || !Number.isFinite(norm)) continue;
      const layer = name.replace(/\.[^.]+$/, '');
      sums.set(layer, (sums.get(layer) ?? 0) + norm * norm);
    }
    const x = xOf(r, axis, spe);
    for (const [layer, s] of sums) {
      let pts = byLayer.get(layer);
      if (!pts) byLayer.set(layer, (pts = []));
      pts.push([x, Math.sqrt(s)]);
    }
  }
  return [...byLayer].map(([layer, points]) => ({ layer, points: down(points, 300) }));
}

/** The latest finite value of a step/epoch field, for text summaries next to the charts. */
export function latest(points: Point[]): number | null {
  return points.length ? points[points.length - 1][1] : null;
}

export const AXIS_NAMES: Record<XAxis, string> = { epoch: 'epoch', step: 'step', time: 'seconds' };
