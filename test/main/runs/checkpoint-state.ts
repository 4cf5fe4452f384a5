/** A CheckpointState with placeholder values, for store tests. */
import type { CheckpointState } from '../../../src-main/services/runs/index.ts';

export function stateFor(name: string, step: number): CheckpointState {
  return {
    name,
    epoch: Number(name.split('-')[1]),
    step,
    midEpoch: false,
    position: { epoch: 1, batchIndex: 0 },
    seedCount: 3,
    metricsBytes: 0,
    metricsCount: 0,
    seconds: 1,
    gpuSums: { lossSum: 0, correct: 0, count: 0 },
    epochSums: { lossSum: 0, correct: 0, count: 0 },
    lr: 0.1,
    devError: null,
    bestDevError: null,
    bestCheckpoint: null,
    created: new Date(0).toISOString(),
  };
}
