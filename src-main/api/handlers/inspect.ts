/**
 * Inspect handlers: forward each call to one worker thread per host (it owns
 * a WebGPU device and keeps the last checkpoint loaded), started on first use.
 */
import type { Worker } from 'node:worker_threads';
import { ApiError } from '../contract.ts';
import type { inspectCalls } from '../calls/inspect.ts';
import { startWorker } from '../../services/runs/index.ts';
import type { InspectRequest, InspectResponse } from './inspect/protocol.ts';
import type { HandlersFor, Services } from './types.ts';

function workerUrl(): URL {
  const self = new URL(import.meta.url);
  return self.pathname.endsWith('.ts') ? new URL('./inspect/worker.ts', self) : new URL('./inspect-worker.js', self);
}

export function inspectHandlers(s: Services): HandlersFor<typeof inspectCalls> {
  let worker: Worker | null = null;
  let nextId = 1;
  const pending = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();

  function ensureWorker(): Worker {
    if (worker) return worker;
    const w = startWorker(workerUrl(), { workerData: { dataDir: s.dataDir } });
    w.unref();
    w.on('message', (m: InspectResponse) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.ok) p.ok(m.result);
      else p.fail(m.user ? new ApiError('failed', m.message) : new Error(`Inspecting the run failed: ${m.message}`));
    });
    const end = (why: string): void => {
      worker = null;
      for (const p of pending.values()) p.fail(new Error(why));
      pending.clear();
    };
    w.on('error', (e) => end(`The inspect worker crashed: ${e.message}. Try again.`));
    w.on('exit', (code) => end(`The inspect worker stopped (exit code ${code}). Try again.`));
    worker = w;
    return w;
  }

  function ask<T>(method: InspectRequest['method'], args: Record<string, unknown>): Promise<T> {
    const w = ensureWorker();
    const id = nextId++;
    return new Promise<T>((ok, fail) => {
      pending.set(id, { ok: ok as (v: unknown) => void, fail });
      w.postMessage({ id, method, args } satisfies InspectRequest);
    });
  }

  return {
    'inspect.overview': (args) => ask('overview', args),
    'inspect.example': (args) => ask('example', args),
    'inspect.mistakes': (args) => ask('mistakes', args),
  };
}
