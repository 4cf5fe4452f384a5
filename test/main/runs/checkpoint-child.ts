/**
 * Child process for the checkpoint-atomicity test: writes checkpoint epoch-1
 * completely, then starts checkpoint argv[4], prints `wrote <file>` after
 * each of its files and hangs after file argv[5] (the parent kills it there).
 */
import { dataDirLayout } from '../../../src-main/services/data-dir.ts';
import { RunStore } from '../../../src-main/services/runs/index.ts';
import { stateFor } from './checkpoint-state.ts';

const [root, runId, second, hangAfter] = process.argv.slice(2);

if (root) {
  const store = new RunStore(dataDirLayout(root));
  await store.writeCheckpoint(runId, stateFor('epoch-1', 10), { model: new Uint8Array([1, 2, 3]), optimizer: new Uint8Array([4, 5]) });
  process.stdout.write('first done\n');
  const big = new Uint8Array(8 * 2 ** 20).fill(7);
  await store.writeCheckpoint(runId, stateFor(second, 20), { model: big, optimizer: big }, {
    afterFile: async (file) => {
      process.stdout.write(`wrote ${file}\n`);
      if (file === hangAfter) await new Promise(() => undefined); // hang: the parent kills us here
    },
  });
}
