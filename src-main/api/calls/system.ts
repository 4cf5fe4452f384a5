/** System calls: versions, data directory, platform; a ping that round-trips the event stream. */
import { z } from 'zod';

export const Empty = z.object({}).strict();

export const SystemInfo = z.object({
  appVersion: z.string(),
  host: z.enum(['electron', 'web', 'test']),
  platform: z.string(),
  arch: z.string(),
  versions: z.record(z.string(), z.string()),
  dataDir: z.string(),
  cpus: z.number().int().nonnegative(),
  totalMemoryBytes: z.number().nonnegative(),
});
export type SystemInfo = z.infer<typeof SystemInfo>;

export const systemCalls = {
  'system.info': { args: Empty, result: SystemInfo },
  /** Echoes a message back as an event: lets the UI and tests check the event stream end to end. */
  'system.ping': {
    args: z.object({ message: z.string().max(1000) }).strict(),
    result: z.object({ receivedAt: z.number() }),
  },
  /** Cancels a long task (import, download, export) started with this taskId. */
  'tasks.cancel': {
    args: z.object({ taskId: z.string().min(1).max(200) }).strict(),
    result: z.object({ cancelled: z.boolean() }),
  },
} as const;

/** Progress of a long task (imports, downloads, exports, training epochs). */
export const Progress = z.object({
  taskId: z.string().min(1).max(200),
  kind: z.string().min(1).max(50),
  phase: z.string().max(200),
  done: z.number().nonnegative(),
  total: z.number().nonnegative(),
  message: z.string().max(2000).optional(),
  state: z.enum(['running', 'done', 'failed', 'cancelled']),
});
export type Progress = z.infer<typeof Progress>;

export const systemEvents = {
  progress: Progress,
  'system.pong': z.object({ message: z.string(), at: z.number() }),
  log: z.object({ level: z.enum(['info', 'warn', 'error']), message: z.string().max(10_000) }),
} as const;
