/**
 * Inspect worker thread: owns a Dawn device (kept off the host's main
 * thread, as training is) and answers requests one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { inspectExample, inspectMistakes, inspectOverview, InspectError } from './compute.ts';
import type { InspectRequest, InspectResponse } from './protocol.ts';

const { dataDir } = workerData as { dataDir: string };
let queue: Promise<void> = Promise.resolve();

parentPort!.on('message', (req: InspectRequest) => {
  queue = queue.then(async () => {
    let res: InspectResponse;
    try {
      const result =
        req.method === 'overview'
          ? await inspectOverview(dataDir, req.args as Parameters<typeof inspectOverview>[1])
          : req.method === 'example'
            ? await inspectExample(dataDir, req.args as Parameters<typeof inspectExample>[1])
            : await inspectMistakes(dataDir, req.args as Parameters<typeof inspectMistakes>[1]);
      res = { id: req.id, ok: true, result };
    } catch (e) {
      res = { id: req.id, ok: false, user: e instanceof InspectError || (e as Error).name === 'RunNotFoundError', message: e instanceof Error ? e.message : String(e) };
      if (process.env.LAYERLAB_DEBUG) console.error(e);
    }
    parentPort!.postMessage(res);
  });
});
