/**
 * Learning-rate schedules: pure functions of the step, no GPU.
 *
 * `step` is the 0-based index of the optimizer step about to be taken;
 * epoch = ⌊step / stepsPerEpoch⌋. Epoch-based schedules (step, multistep,
 * exponential) change at epoch boundaries, like PyTorch schedulers stepped
 * once per epoch; cosine and one-cycle move every step.
 *
 *  constant     baseLr
 *  step         baseLr · gamma^⌊epoch / stepSize⌋
 *  multistep    baseLr · gamma^(number of milestones ≤ epoch)
 *  exponential  baseLr · gamma^epoch
 *  cosine       warm-up W steps (warmupSteps, or warmupEpochs · stepsPerEpoch rounded):
 *                 step < W: baseLr · (step + 1) / W   (reaches baseLr on the last warm-up step)
 *                 then minLr + (baseLr − minLr) · ½(1 + cos(π · (step − W) / (totalSteps − W)))
 *  onecycle     torch.optim.lr_scheduler.OneCycleLR (two phases, cosine annealing,
 *               step = its last_epoch): from maxLr/divFactor up to maxLr at step
 *               pctStart·totalSteps − 1, then down to maxLr/divFactor/finalDivFactor
 *               at step totalSteps − 1. maxLr defaults to baseLr.
 *               (Momentum cycling is not done.)
 */
import { EngineError } from '../core/errors.ts';
import type { ScheduleConfig } from './config.ts';

export interface ScheduleProgress {
  /** 0-based index of the step about to be taken. */
  step: number;
  /** Steps in the whole run (≥ 1). */
  totalSteps: number;
  /** Steps per epoch (≥ 1). */
  stepsPerEpoch: number;
}

/**
 * The learning rate for step `step` (argument order as in notes/interfaces.md:
 * totalSteps before stepsPerEpoch; `learningRateAt` takes them by name).
 */
export function learningRate(
  schedule: ScheduleConfig,
  baseLr: number,
  step: number,
  totalSteps: number,
  stepsPerEpoch: number,
): number {
  return learningRateAt(schedule, baseLr, { step, totalSteps, stepsPerEpoch });
}

/** learningRate with named progress fields (no positional mix-ups). */
export function learningRateAt(schedule: ScheduleConfig, baseLr: number, progress: ScheduleProgress): number {
  const { step, totalSteps, stepsPerEpoch } = progress;
  if (!Number.isInteger(step) || step < 0) throw new EngineError(`learningRate: step must be an integer ≥ 0, got ${step}.`);
  if (!Number.isInteger(stepsPerEpoch) || stepsPerEpoch < 1) {
    throw new EngineError(`learningRate: stepsPerEpoch must be an integer ≥ 1, got ${stepsPerEpoch}.`);
  }
  if (!Number.isInteger(totalSteps) || totalSteps < 1) {
    throw new EngineError(`learningRate: totalSteps must be an integer ≥ 1, got ${totalSteps}.`);
  }
  const epoch = Math.floor(step / stepsPerEpoch);
  switch (schedule.type) {
    case 'constant':
      return baseLr;
    case 'step':
      return baseLr * schedule.gamma ** Math.floor(epoch / schedule.stepSize);
    case 'multistep':
      return baseLr * schedule.gamma ** schedule.milestones.filter((m) => m <= epoch).length;
    case 'exponential':
      return baseLr * schedule.gamma ** epoch;
    case 'cosine': {
      const warm = warmupSteps(schedule, stepsPerEpoch);
      if (step < warm) return (baseLr * (step + 1)) / warm;
      const span = Math.max(1, totalSteps - warm);
      const t = Math.min(1, (step - warm) / span);
      return schedule.minLr + (baseLr - schedule.minLr) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
    case 'onecycle':
      return oneCycle(schedule, baseLr, step, totalSteps);
  }
}

/** Warm-up length in steps of a cosine schedule. */
export function warmupSteps(schedule: Extract<ScheduleConfig, { type: 'cosine' }>, stepsPerEpoch: number): number {
  if (schedule.warmupSteps !== undefined) return schedule.warmupSteps;
  return Math.round((schedule.warmupEpochs ?? 0) * stepsPerEpoch);
}

function oneCycle(s: Extract<ScheduleConfig, { type: 'onecycle' }>, baseLr: number, step: number, totalSteps: number): number {
  const maxLr = s.maxLr ?? baseLr;
  const initial = maxLr / s.divFactor;
  const min = initial / s.finalDivFactor;
  // PyTorch's phases: end steps pct·T − 1 (float) and T − 1. Past the end (PyTorch raises) it stays at min.
  const phases = [
    { end: s.pctStart * totalSteps - 1, from: initial, to: maxLr },
    { end: totalSteps - 1, from: maxLr, to: min },
  ];
  let start = 0;
  for (let i = 0; i < phases.length; i++) {
    const ph = phases[i];
    if (step <= ph.end || i === phases.length - 1) {
      const pct = ph.end <= start ? 1 : Math.min(1, (step - start) / (ph.end - start));
      return ph.to + ((ph.from - ph.to) / 2) * (Math.cos(Math.PI * pct) + 1);
    }
    start = ph.end;
  }
  return min;
}
