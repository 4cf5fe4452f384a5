/**
 * The one definition of LayerLab's renderer ⇄ services API.
 *
 * Every call the renderer can make and every event it can receive is named
 * here with zod schemas for its arguments, result and payload. The Electron
 * shell (ipcMain + preload) and the web host (HTTP + WebSocket) are both
 * derived from this table and validate every payload against it; the renderer
 * gets one client (src-renderer/api/client.ts) typed from it.
 *
 * This module is imported by the renderer too: it (and calls/*.ts) must import nothing but zod.
 */
import { z } from 'zod';

import { systemCalls, systemEvents } from './calls/system.ts';
import { datasetCalls, datasetEvents } from './calls/datasets.ts';
import { runCalls, runEvents } from './calls/runs.ts';
import { modelCalls } from './calls/models.ts';
import { exportCalls } from './calls/export.ts';
import { inspectCalls } from './calls/inspect.ts';
import { remoteRunCalls } from './calls/remote-runs.ts';

export { SystemInfo, Progress } from './calls/system.ts';
export { DatasetSummary } from './calls/datasets.ts';
export { RunSummary, RunDetail, RunStatus, RunResults, MetricRecord, RunConfigInput, RunState } from './calls/runs.ts';
export { LayerRow, ModelFamilyInfo } from './calls/models.ts';
export { ExportFormat, ExportResult } from './calls/export.ts';

/**
 * Calls: name → { args, result }. Names are `area.verb`; each area's table
 * lives in calls/<area>.ts and is merged here, so this stays the one list.
 */
export const calls = { ...systemCalls, ...datasetCalls, ...modelCalls, ...runCalls, ...exportCalls, ...inspectCalls, ...remoteRunCalls } as const;

/** Events: name → payload schema. Delivered to every connected renderer. */
export const events = { ...systemEvents, ...datasetEvents, ...runEvents } as const;

export type CallName = keyof typeof calls;
export type EventName = keyof typeof events;
export type CallArgs<N extends CallName> = z.input<(typeof calls)[N]['args']>;
export type CallResult<N extends CallName> = z.output<(typeof calls)[N]['result']>;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

export function isCallName(name: unknown): name is CallName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(calls, name);
}
export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name);
}

/** The error shape every host returns for a failed call: no stack traces cross the boundary. */
export const ApiErrorBody = z.object({
  error: z.object({
    code: z.enum(['bad-request', 'unknown-call', 'failed', 'unauthorized', 'forbidden']),
    message: z.string(),
  }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorBody['error']['code'],
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Turns a zod failure into one line a person can read: which field, what was wrong. */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** Validates a call's arguments; throws ApiError('bad-request') naming the bad field. */
export function parseArgs<N extends CallName>(name: N, raw: unknown): z.output<(typeof calls)[N]['args']> {
  const r = calls[name].args.safeParse(raw ?? {});
  if (!r.success) throw new ApiError('bad-request', `Invalid arguments for ${name}: ${describeZodError(r.error)}`);
  return r.data as z.output<(typeof calls)[N]['args']>;
}

export function parseResult<N extends CallName>(name: N, raw: unknown): CallResult<N> {
  const r = calls[name].result.safeParse(raw);
  if (!r.success) throw new ApiError('failed', `Service returned an invalid result for ${name}: ${describeZodError(r.error)}`);
  return r.data as CallResult<N>;
}

export function parseEvent<E extends EventName>(name: E, raw: unknown): EventPayload<E> {
  const r = events[name].safeParse(raw);
  if (!r.success) throw new ApiError('bad-request', `Invalid payload for event ${name}: ${describeZodError(r.error)}`);
  return r.data as EventPayload<E>;
}
