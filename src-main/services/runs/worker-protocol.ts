/** Messages between the run manager and a training worker thread. */
import type { MetricRecord, RunResults } from '../../api/calls/runs.ts';
import type { TrainProgress } from './train-loop.ts';

export interface TrainWorkerData {
  dataDir: string;
  runId: string;
  resume: boolean;
  /** Int32Array over a SharedArrayBuffer: [0] = command (CONTROL_*), polled by the worker after every step. */
  control: SharedArrayBuffer;
}

export const CONTROL_NONE = 0;
export const CONTROL_PAUSE = 1;
export const CONTROL_STOP = 2;

/** Why a run failed, for the message and for what the UI offers next. */
export type FailureKind = 'diverged' | 'out-of-memory' | 'device-lost' | 'config' | 'data' | 'error';

export type TrainWorkerMessage =
  | { type: 'progress'; progress: TrainProgress }
  | { type: 'metrics'; from: number; records: MetricRecord[] }
  | { type: 'finished'; outcome: 'completed' | 'paused' | 'stopped'; results: RunResults | null }
  | { type: 'failed'; kind: FailureKind; message: string };
