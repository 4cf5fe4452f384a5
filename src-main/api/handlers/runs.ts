/**
 * Run handlers: thin wrappers over the run manager (services/runs). Config
 * errors and state errors (pausing a finished run…) become bad-request
 * ApiErrors whose message names the field or the state.
 *
 * `initWeights` (starting weights, a safetensors file): the web host takes
 * only an uploaded file (`{uploadId, name}`, host/uploads.ts), never a path
 * from the browser; the desktop app and tests take an absolute path too.
 * The upload is turned into its path here, and deleted once a run was
 * created from it (its weights are then the run's epoch-0 checkpoint).
 */
import { rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { ApiError } from '../contract.ts';
import type { runCalls } from '../calls/runs.ts';
import { uploadTarget } from '../../host/uploads.ts';
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

/**
 * The config with `initWeights` as an absolute path the run service reads, and the upload folder to
 * delete after a successful create (null: none). Throws ApiError for a source this host does not take.
 */
export function resolveInitWeightsSource(s: Pick<Services, 'host' | 'uploadsDir'>, config: Record<string, unknown>): { config: Record<string, unknown>; upload: string | null } {
  const src = config.initWeights;
  if (src === undefined) return { config, upload: null };
  if (typeof src === 'string') {
    if (s.host === 'web') throw new ApiError('forbidden', 'initWeights: the web lab cannot read files by path; upload the .safetensors file instead.');
    if (!isAbsolute(src) || src.includes('\0')) throw new ApiError('bad-request', `initWeights: not an absolute path: ${src.slice(0, 200)}`);
    return { config, upload: null };
  }
  if (src && typeof src === 'object' && typeof (src as { uploadId?: unknown }).uploadId === 'string' && typeof (src as { name?: unknown }).name === 'string') {
    const { uploadId, name } = src as { uploadId: string; name: string };
    const path = uploadTarget(s.uploadsDir, uploadId, name);
    return { config: { ...config, initWeights: path }, upload: join(s.uploadsDir, uploadId) };
  }
  throw new ApiError('bad-request', 'initWeights: expected an absolute path or an upload {uploadId, name}.');
}

export function runHandlers(s: Services): HandlersFor<typeof runCalls> {
  const runs = s.runs;
  return {
    'runs.list': () => runs.list(),
    'runs.get': ({ id }) => userErrors(() => runs.get(id)),
    'runs.metrics': ({ id, since }) => userErrors(() => runs.metrics(id, since)),
    'runs.validate': ({ config }) => {
      let resolved: Record<string, unknown>;
      try {
        resolved = resolveInitWeightsSource(s, config).config;
      } catch (e) {
        if (e instanceof ApiError) return { ok: false as const, error: e.message, field: 'initWeights' };
        throw e;
      }
      return runs.validate(resolved);
    },
    'runs.create': ({ config }) =>
      userErrors(async () => {
        const src = resolveInitWeightsSource(s, config);
        const id = await runs.create(src.config);
        if (src.upload) await rm(src.upload, { recursive: true, force: true });
        return { id };
      }),
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
