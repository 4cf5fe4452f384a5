/** Child process for the killed-import test: imports argv[3..] into data dir argv[2], printing progress phases. */
import { ensureDataDir } from '../../../src-main/services/data-dir.ts';
import { DatasetLibrary } from '../../../src-main/services/datasets/index.ts';

const [root, ...paths] = process.argv.slice(2);
const lib = new DatasetLibrary(ensureDataDir(root));
await lib.importFiles(paths, { onProgress: (p) => process.stdout.write(`${p.phase} ${p.done}/${p.total}\n`) });
process.stdout.write('finished\n');
