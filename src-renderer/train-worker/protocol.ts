/**
 * Messages between the page (client.ts, main thread: owns the API client —
 * the Electron bridge or the web host's fetch) and the training Web Worker
 * (worker.ts: owns navigator.gpu and runs the shared loop). The worker never
 * talks to the host directly: it asks the page to make `runs.remote.*` calls,
 * so the same worker works in Electron and in the browser lab.
 */
export type RemoteCallName =
  | 'runs.remote.open'
  | 'runs.remote.batches'
  | 'runs.remote.metrics'
  | 'runs.remote.upload'
  | 'runs.remote.checkpoint'
  | 'runs.remote.prune'
  | 'runs.remote.progress'
  | 'runs.remote.heartbeat'
  | 'runs.remote.finish';

export const REMOTE_CALLS: ReadonlySet<string> = new Set<RemoteCallName>([
  'runs.remote.open',
  'runs.remote.batches',
  'runs.remote.metrics',
  'runs.remote.upload',
  'runs.remote.checkpoint',
  'runs.remote.prune',
  'runs.remote.progress',
  'runs.remote.heartbeat',
  'runs.remote.finish',
]);

export type BrowserOutcome = 'completed' | 'paused' | 'stopped' | 'failed';

/** Page → worker. */
export type ToWorker =
  | { type: 'start'; runId: string; lease: string; leaseMs: number; resume: boolean }
  | { type: 'reply'; id: number; ok: true; result: unknown }
  | { type: 'reply'; id: number; ok: false; message: string };

/** Worker → page. */
export type FromWorker =
  | { type: 'call'; id: number; name: RemoteCallName; args: Record<string, unknown> }
  | { type: 'done'; outcome: BrowserOutcome; message?: string; testAccuracy?: number | null };
