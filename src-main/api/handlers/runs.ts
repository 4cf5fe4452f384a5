/**
 * Run handlers: thin wrappers over the run manager (services/runs). Config
 * errors and state errors (pausing a finished run…) become bad-request
 * ApiErrors whose message names the field or the state.
 */
import { ApiError } from '../contract.ts';
import type { runCalls } from '../calls/runs.ts';
import { RunConfigError, RunNotFoundError, RunStateError } from '../../services/runs/index.ts';
import type { HandlersFor, Services } from './types.ts';

async function userErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RunConfigError || e instanceof RunNotFoundError || e instanceof RunStateError) throw new ApiError('bad-request', e.message);
    throw e;
  }
}

export function runHandlers(s: Services): HandlersFor<typeof runCalls> {
  const runs = s.runs;
  return {
    'runs.list': () => runs.list(),
    'runs.get': ({ id }) => userErrors(() => runs.get(id)),
    'runs.metrics': ({ id, since }) => userErrors(() => runs.metrics(id, since)),
    'runs.validate': ({ config }) => runs.validate(config),
    'runs.create': ({ config }) => userErrors(async () => ({ id: await runs.create(config) })),
    'runs.pause': ({ id }) => userErrors(async () => ({ state: await runs.pause(id) })),
    'runs.resume': ({ id }) => userErrors(async () => ({ state: await runs.resume(id) })),
    'runs.stop': ({ id }) => userErrors(async () => ({ state: await runs.stop(id) })),
    'runs.rename': ({ id, name }) => userErrors(() => runs.rename(id, name)),
    'runs.delete': ({ id }) => userErrors(async () => {
      await runs.delete(id);
      return { deleted: true };
    }),
  };
}
