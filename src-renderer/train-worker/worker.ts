/**
 * The training Web Worker (module worker): owns a WebGPU device from
 * navigator.gpu and runs the shared loop (src-engine/train/run-loop.ts) on a
 * run the page claimed. All I/O goes through the page (postMessage), which
 * makes the `runs.remote.*` calls with its API client — so the same worker
 * works in the Electron app (bridge on the page) and in the browser lab.
 */
import { runTrainingLoop } from '../../src-engine/train/run-loop.ts';
import { openRemoteRun } from './remote-io.ts';
import type { FromWorker, RemoteCallName, ToWorker } from './protocol.ts';
// Limits worth asking for: the engine splits work to fit device.limits, bigger limits mean fewer splits.
import { KEY_LIMITS } from '../gpu/adapter-info.ts';

const scope = self as unknown as { postMessage(m: FromWorker): void; onmessage: ((e: MessageEvent<ToWorker>) => void) | null };
const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
let nextId = 1;

function call(name: RemoteCallName, args: Record<string, unknown>): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    scope.postMessage({ type: 'call', id, name, args });
  });
}

async function device(): Promise<GPUDevice> {
  if (!('gpu' in navigator) || !navigator.gpu) throw new Error('This browser has no WebGPU (navigator.gpu): training in the browser needs it.');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('No WebGPU adapter is available to this page.');
  const wanted: Record<string, number> = {};
  for (const k of KEY_LIMITS) wanted[k] = Number((adapter.limits as unknown as Record<string, number>)[k]);
  return adapter.requestDevice({ requiredLimits: wanted });
}

async function train(runId: string, lease: string, leaseMs: number, resume: boolean): Promise<FromWorker> {
  let run: Awaited<ReturnType<typeof openRemoteRun>> | null = null;
  const heartbeat = setInterval(() => void run?.heartbeat().catch(() => undefined), Math.max(1000, leaseMs / 3));
  try {
    const gpu = await device();
    run = await openRemoteRun(call, runId, lease, resume);
    const r = run;
    const outcome = await runTrainingLoop({
      device: gpu,
      config: r.config,
      graph: r.graph,
      io: r.io,
      resume,
      command: () => r.command(),
      checkpointMetadata: { run: runId },
    });
    await r.flush();
    clearInterval(heartbeat);
    if (outcome.kind === 'completed') {
      await call('runs.remote.finish', { runId, lease, outcome: 'completed', results: outcome.results });
      return { type: 'done', outcome: 'completed', testAccuracy: outcome.results?.testAccuracy ?? null };
    }
    await call('runs.remote.finish', { runId, lease, outcome: outcome.kind });
    return { type: 'done', outcome: outcome.kind };
  } catch (e) {
    clearInterval(heartbeat);
    const message = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
    await call('runs.remote.finish', { runId, lease, outcome: 'failed', message: message.slice(0, 4000) }).catch(() => undefined);
    return { type: 'done', outcome: 'failed', message };
  }
}

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'reply') {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (!p) return;
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.message));
    return;
  }
  if (m.type === 'start') void train(m.runId, m.lease, m.leaseMs, m.resume).then((done) => scope.postMessage(done));
};
