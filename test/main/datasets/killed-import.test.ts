/** A process killed (SIGKILL) mid-import leaves no dataset; the next start cleans its temp folder. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { DatasetLibrary } from '../../../src-main/services/datasets/index.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { leftovers, makeDataDir } from '../helpers/tmp-data-dir.ts';
import { DEBIAN_FASHION_MNIST, requireDebianFashionMnist } from '../helpers/debian-fashion-mnist.ts';

let layout: DataDirLayout;
let cleanup: () => void;
beforeEach(() => ({ layout, cleanup } = makeDataDir()));
afterEach(() => cleanup());

function importAndKill(killAt: RegExp): Promise<{ killed: boolean; lines: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(__dirname, '../helpers/import-child.ts'), layout.root, DEBIAN_FASHION_MNIST], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let killed = false;
  return new Promise((res, rej) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (!killed && killAt.test(line)) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('error', rej);
    child.on('exit', () => res({ killed, lines }));
  });
}

describe('killed mid-import', () => {
  for (const [phase, re] of [
    ['reading', /^read 0\/1$/],
    ['writing', /^write 0\/2$/],
  ] as const) {
    it(`SIGKILL while ${phase}: nothing listed, temp folder removed at next start`, async () => {
      requireDebianFashionMnist();
      const { killed, lines } = await importAndKill(re);
      expect(killed).toBe(true);
      expect(lines).not.toContain('finished');
      const lib = new DatasetLibrary(layout);
      expect(await lib.list()).toEqual([]);
      expect(leftovers(layout).datasets).toEqual([]);
      expect(leftovers(layout).tmp.length).toBeGreaterThan(0); // the dead process's folder
      expect(await lib.cleanupStaleTemp()).toBeGreaterThan(0);
      expect(leftovers(layout)).toEqual({ datasets: [], tmp: [] });
      // and the library still imports normally afterwards
      const { dataset } = await lib.importFiles([join(DEBIAN_FASHION_MNIST)]);
      expect(dataset.splits.train.count).toBe(60000);
    });
  }
});
