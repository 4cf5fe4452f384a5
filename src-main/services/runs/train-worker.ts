/**
 * Training worker thread entry: trains one run (train-loop.ts) on this
 * thread's own Dawn device and reports to the run manager by message. The
 * manager's pause/stop requests arrive through a shared Int32Array polled
 * after every step (a step loop that never yields to the event loop would
 * not see a posted message). The thread ends with process.exit(): Dawn keeps
 * it alive otherwise.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { dataDirLayout } from '../data-dir.ts';
import { describeFailure } from './failure.ts';
import { RunStore } from './store.ts';
import { trainRun } from './train-loop.ts';
import { CONTROL_PAUSE, CONTROL_STOP, type TrainWorkerData, type TrainWorkerMessage } from './worker-protocol.ts';

const init = workerData as TrainWorkerData;
const control = new Int32Array(init.control);
const post = (m: TrainWorkerMessage): void => parentPort!.postMessage(m);
/** LAYERLAB_STEP_DELAY_MS: sleep after every step (tests that kill or pause a run mid-epoch; slow-motion demos). */
const stepDelay = Number(process.env.LAYERLAB_STEP_DELAY_MS ?? 0);

try {
  const outcome = await trainRun({
    dataDir: init.dataDir,
    runId: init.runId,
    resume: init.resume,
    command: () => {
      const c = Atomics.load(control, 0);
      return c === CONTROL_PAUSE ? 'pause' : c === CONTROL_STOP ? 'stop' : null;
    },
    callbacks: {
      progress: (progress) => post({ type: 'progress', progress }),
      metrics: (from, records) => post({ type: 'metrics', from, records }),
    },
    hooks: stepDelay > 0 ? { afterStep: () => new Promise((r) => setTimeout(r, stepDelay)) } : {},
  });
  post({ type: 'finished', outcome: outcome.kind, results: outcome.kind === 'completed' ? outcome.results : null });
} catch (e) {
  let lastCheckpoint: string | null = null;
  let batchSize = 0;
  try {
    const store = new RunStore(dataDirLayout(init.dataDir));
    lastCheckpoint = (await store.latestCheckpoint(init.runId))?.name ?? null;
    batchSize = (await store.readConfig(init.runId)).batchSize;
  } catch {
    // the failure itself may be an unreadable run folder
  }
  post({ type: 'failed', ...describeFailure(e, { batchSize, lastCheckpoint }) });
  if (process.env.LAYERLAB_DEBUG) console.error(e);
}
process.exit(0);
