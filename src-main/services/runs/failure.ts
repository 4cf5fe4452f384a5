/**
 * Turns what stopped a run into a message for the person running it: what
 * happened and what to do next. Used by the training worker.
 */
import { DeviceLostError, EngineError, LimitError, OutOfMemoryError } from '../../../src-engine/core/errors.ts';
import { ModelConfigError } from '../../../src-engine/models/index.ts';
import { DivergenceError } from '../../../src-engine/train/index.ts';
import type { FailureKind } from './worker-protocol.ts';

export interface FailureContext {
  batchSize: number;
  /** Latest checkpoint left on disk (null when none). */
  lastCheckpoint: string | null;
}

export function describeFailure(e: unknown, ctx: FailureContext): { kind: FailureKind; message: string } {
  const kept = ctx.lastCheckpoint ? `The last good checkpoint (${ctx.lastCheckpoint}) is kept.` : 'No checkpoint was written yet.';
  if (e instanceof DivergenceError) return { kind: 'diverged', message: `${e.message} ${kept}` };
  if (e instanceof OutOfMemoryError || e instanceof LimitError) {
    const smaller = Math.max(1, Math.floor(ctx.batchSize / 2));
    return {
      kind: 'out-of-memory',
      message: `${e.message} This run uses batch size ${ctx.batchSize}: create a new run with batch size ${smaller} (or a smaller model). ${kept}`,
    };
  }
  if (e instanceof DeviceLostError) {
    return { kind: 'device-lost', message: `${e.message} ${ctx.lastCheckpoint ? `Resume the run to continue from ${ctx.lastCheckpoint}.` : 'Resume the run to start it again.'}` };
  }
  if (e instanceof ModelConfigError) return { kind: 'config', message: `Invalid model: ${e.message}` };
  if (e instanceof EngineError) return { kind: 'error', message: `${e.message} ${kept}` };
  const err = e as Error;
  if (err && /dataset|split|manifest/i.test(err.message ?? '')) return { kind: 'data', message: err.message };
  return { kind: 'error', message: `Training stopped with an error: ${err?.message ?? String(e)}. ${kept}` };
}
