/**
 * Training in the browser: `trainInBrowser` claims a run (`runs.claim`) and
 * trains it in a module Web Worker (worker.ts) on this page's WebGPU device.
 * The page relays the worker's `runs.remote.*` calls through its API client
 * (api/client.ts: the Electron bridge or the web host), so it works in both
 * hosts. The host keeps the data, metrics, checkpoints and `runs.status` /
 * `runs.metrics` events exactly as for host-side training: views need no
 * change. Pause / stop go through the usual `runs.pause` / `runs.stop`.
 *
 *   const t = await trainInBrowser(runId);            // a queued / paused / interrupted … run
 *   const t = await trainInBrowser({ config });       // create one already claimed
 *   const { outcome } = await t.done;                 // 'completed' | 'paused' | 'stopped' | 'failed'
 *   t.terminate();                                    // drop the worker (the run becomes interrupted when its lease expires)
 */
import { api as defaultApi, type ApiClient } from '../api/client.ts';
import type { CallArgs } from '../../src-main/api/contract.ts';
import { REMOTE_CALLS, type BrowserOutcome, type FromWorker, type ToWorker } from './protocol.ts';

export interface BrowserTraining {
  runId: string;
  /** Resolves when the worker ends (it has reported to the host by then). */
  done: Promise<{ outcome: BrowserOutcome; message?: string; testAccuracy?: number | null }>;
  /** Ends the worker at once (no checkpoint): prefer runs.pause. */
  terminate(): void;
}

export interface TrainInBrowserOptions {
  /** Continue from the latest checkpoint (default true); false starts over. */
  resume?: boolean;
  /** The API client (default: this page's). */
  client?: ApiClient;
  /** The worker (default: worker.ts bundled as a module worker). */
  createWorker?: () => Worker;
}

export async function trainInBrowser(target: string | { config: CallArgs<'runs.create'>['config'] }, opts: TrainInBrowserOptions = {}): Promise<BrowserTraining> {
  const client = opts.client ?? defaultApi();
  const claim = await client.call('runs.claim', typeof target === 'string' ? { id: target } : { config: target.config });
  const worker = opts.createWorker?.() ?? new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: `train ${claim.runId}` });
  const post = (m: ToWorker): void => worker.postMessage(m);
  let finish: (r: { outcome: BrowserOutcome; message?: string; testAccuracy?: number | null }) => void = () => undefined;
  const done = new Promise<{ outcome: BrowserOutcome; message?: string; testAccuracy?: number | null }>((resolve) => (finish = resolve));
  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    const m = e.data;
    if (m.type === 'done') {
      worker.terminate();
      finish({ outcome: m.outcome, ...(m.message ? { message: m.message } : {}), ...(m.testAccuracy !== undefined ? { testAccuracy: m.testAccuracy } : {}) });
      return;
    }
    if (m.type !== 'call') return;
    if (!REMOTE_CALLS.has(m.name)) {
      post({ type: 'reply', id: m.id, ok: false, message: `The training worker may not call ${String(m.name)}` });
      return;
    }
    client.call(m.name, m.args as never).then(
      (result) => post({ type: 'reply', id: m.id, ok: true, result }),
      (err: unknown) => post({ type: 'reply', id: m.id, ok: false, message: err instanceof Error ? err.message : String(err) }),
    );
  };
  worker.onerror = (e) => {
    e.preventDefault();
    worker.terminate();
    finish({ outcome: 'failed', message: `The training worker crashed: ${e.message}` });
  };
  post({ type: 'start', runId: claim.runId, lease: claim.lease, leaseMs: claim.leaseMs, resume: opts.resume ?? true });
  return { runId: claim.runId, done, terminate: () => worker.terminate() };
}
