/** What every host does once at launch: remove litter of killed imports, install the shipped sample. */
import type { Services } from '../api/handlers/types.ts';
import { ensureSampleInstalled } from './datasets/index.ts';

export async function prepareServices(s: Services): Promise<void> {
  await s.library.cleanupStaleTemp();
  // Runs left running by a dead process become 'interrupted'; runs it had queued are queued here.
  await s.runs.recover();
  try {
    if (await ensureSampleInstalled(s.layout)) s.hub.emit('datasets.changed', { reason: 'sample', id: 'fashion-mnist-sample' });
  } catch (e) {
    // A missing sample must not stop the lab; the Datasets view offers imports and downloads.
    s.hub.emit('log', { level: 'warn', message: `The shipped Fashion-MNIST sample could not be installed: ${(e as Error).message}` });
  }
}
