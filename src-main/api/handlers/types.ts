/** Handler types derived from a call table, and the context every handler gets. */
import type { z } from 'zod';
import type { DataDirLayout } from '../../services/data-dir.ts';
import type { DatasetLibrary } from '../../services/datasets/index.ts';
import type { RunManager } from '../../services/runs/index.ts';
import type { EventHub } from '../events.ts';
import type { TaskRegistry } from '../tasks.ts';

type CallTable = Record<string, { args: z.ZodType; result: z.ZodType }>;

export type HandlersFor<T extends CallTable> = {
  [N in keyof T]: (args: z.output<T[N]['args']>) => Promise<z.input<T[N]['result']>> | z.input<T[N]['result']>;
};

export interface ServiceContext {
  dataDir: string;
  host: 'electron' | 'web' | 'test';
  hub: EventHub;
}

/** The services behind the handlers, made once per host. */
export interface Services extends ServiceContext {
  layout: DataDirLayout;
  library: DatasetLibrary;
  tasks: TaskRegistry;
  /** Where the web host stores uploaded files until `datasets.import` consumes them. */
  uploadsDir: string;
  /** Training runs: queue, worker threads, run store. */
  runs: RunManager;
}
