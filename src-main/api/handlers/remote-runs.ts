/**
 * Remote-run handlers (calls/remote-runs.ts): a renderer Web Worker trains a
 * claimed run; these wrap services/runs/remote-runs.ts. Caller mistakes
 * (bad lease, out-of-order records, malformed checkpoint files, a run in the
 * wrong state) become bad-request ApiErrors with the service's message.
 */
import { ApiError } from '../contract.ts';
import type { remoteRunCalls } from '../calls/remote-runs.ts';
import { RunConfigError, RunNotFoundError, RunStateError } from '../../services/runs/index.ts';
import { RemoteRunError, RemoteRuns, type RemoteRunOptions } from '../../services/runs/remote-runs.ts';
import type { HandlersFor, Services } from './types.ts';
import { resolveInitWeightsSource } from './runs.ts';
import { rm } from 'node:fs/promises';

async function userErrors<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RemoteRunError || e instanceof RunConfigError || e instanceof RunNotFoundError || e instanceof RunStateError) throw new ApiError('bad-request', e.message);
    throw e;
  }
}

export function remoteRunHandlers(s: Services, opts: RemoteRunOptions & { service?: RemoteRuns } = {}): HandlersFor<typeof remoteRunCalls> {
  const remote = opts.service ?? new RemoteRuns(s.runs, s.hub, opts);
  return {
    'runs.claim': (args) =>
      userErrors(async () => {
        if (!('config' in args)) return remote.claim(args);
        // Same rule as runs.create: the web host never reads a path named by the page.
        const src = resolveInitWeightsSource(s, args.config);
        const claimed = await remote.claim({ config: src.config as typeof args.config });
        if (src.upload) await rm(src.upload, { recursive: true, force: true });
        return claimed;
      }),
    'runs.remote.open': ({ runId, lease, resume }) => userErrors(() => remote.open(runId, lease, resume)),
    'runs.remote.batches': (args) => userErrors(() => remote.batches(args)),
    'runs.remote.metrics': ({ runId, lease, from, records }) => userErrors(() => remote.metrics(runId, lease, from, records)),
    'runs.remote.upload': ({ runId, lease, file, offset, data }) => userErrors(() => remote.upload(runId, lease, file, offset, data)),
    'runs.remote.checkpoint': ({ runId, lease, state, modelBytes, optimizerBytes }) => userErrors(() => remote.checkpoint(runId, lease, state, { modelBytes, optimizerBytes })),
    'runs.remote.prune': ({ runId, lease, keep, protect }) =>
      userErrors(async () => {
        await remote.prune(runId, lease, keep, protect);
        return { ok: true as const };
      }),
    'runs.remote.progress': ({ runId, lease, progress }) => userErrors(() => remote.progress(runId, lease, progress)),
    'runs.remote.heartbeat': ({ runId, lease }) => userErrors(() => remote.heartbeat(runId, lease)),
    'runs.remote.finish': (args) => userErrors(() => remote.finish(args)),
  };
}
