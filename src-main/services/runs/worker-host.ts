/**
 * Starting the training worker thread from source (tsx: tests, CLI, dev web
 * host) or from a bundle (electron-vite build).
 *
 * Source: the entry is `train-worker.ts`; a one-line bootstrap loads tsx's
 * ESM API inside the worker and imports the entry through it (the same
 * approach as the augmentation pool, batches/worker-pool.ts: `--import tsx`
 * in execArgv is not honoured for worker threads under every runner).
 * Bundled: this module's URL ends in .js/.mjs and the worker is the
 * separately built `train-worker.js` next to it — the bundler must emit it as
 * its own entry (see the note in run-manager.ts).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function defaultTrainWorkerUrl(): URL {
  const self = new URL(import.meta.url);
  return self.pathname.endsWith('.ts') ? new URL('./train-worker.ts', self) : new URL('./train-worker.js', self);
}

/** The augmentation worker for batch producers created inside the training worker (bundled: a sibling file). */
export function augmentWorkerUrl(): URL | undefined {
  const self = new URL(import.meta.url);
  return self.pathname.endsWith('.ts') ? undefined : new URL('./augment-worker.js', self);
}

export function startWorker(entry: URL, options: WorkerOptions = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => m.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)}))`;
  return new Worker(code, { ...options, eval: true });
}
