/**
 * The implementation side of the API: one handler per call, shared by both
 * hosts. `dispatchCall` is the single place where arguments and results are
 * validated, so the Electron shell and the web host cannot drift apart.
 */
import { join } from 'node:path';
import { ApiError, type CallName, calls, isCallName, parseArgs, parseResult } from './contract.ts';
import type { z } from 'zod';
import { TaskRegistry } from './tasks.ts';
import { dataDirLayout } from '../services/data-dir.ts';
import { DatasetLibrary } from '../services/datasets/index.ts';
import type { ServiceContext, Services } from './handlers/types.ts';
import { systemHandlers } from './handlers/system.ts';
import { datasetHandlers } from './handlers/datasets.ts';
import { modelHandlers } from './handlers/models.ts';
import { runHandlers } from './handlers/runs.ts';
import { exportHandlers } from './handlers/export.ts';
import { inspectHandlers } from './handlers/inspect.ts';
import { remoteRunHandlers } from './handlers/remote-runs.ts';
import { RunManager } from '../services/runs/index.ts';

export { EventHub } from './events.ts';
export type { ServiceContext, Services } from './handlers/types.ts';

export type Handlers = {
  [N in CallName]: (args: z.output<(typeof calls)[N]['args']>) => Promise<unknown> | unknown;
};

/** The services one host works with, over one data directory. */
export function createServices(ctx: ServiceContext): Services {
  const layout = dataDirLayout(ctx.dataDir);
  return {
    ...ctx,
    layout,
    library: new DatasetLibrary(layout),
    tasks: new TaskRegistry(),
    uploadsDir: join(layout.tmp, 'uploads'),
    runs: new RunManager({ dataDir: ctx.dataDir, events: ctx.hub }),
  };
}

/** One handler per call; each area's handlers live in handlers/<area>.ts. */
export function createHandlers(ctx: ServiceContext | Services): Handlers {
  const s = 'library' in ctx ? ctx : createServices(ctx);
  return { ...systemHandlers(s), ...datasetHandlers(s), ...modelHandlers(), ...runHandlers(s), ...exportHandlers(s), ...inspectHandlers(s), ...remoteRunHandlers(s) };
}

/**
 * Validates name and arguments, runs the handler, validates the result.
 * User-caused failures come back as ApiError with a readable message; any
 * other exception becomes 'failed' with its message only (no stack).
 */
export async function dispatchCall(handlers: Handlers, name: unknown, rawArgs: unknown): Promise<unknown> {
  if (!isCallName(name)) throw new ApiError('unknown-call', `Unknown call: ${String(name).slice(0, 100)}`);
  const args = parseArgs(name, rawArgs);
  try {
    const handler = handlers[name] as (a: unknown) => unknown;
    const result = await handler(args);
    return parseResult(name, result);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError('failed', e instanceof Error ? e.message : String(e));
  }
}
