/** A fresh data dir per test under the OS temp folder, removed afterwards. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDataDir, type DataDirLayout } from '../../../src-main/services/data-dir.ts';

export function makeTempDir(prefix = 'layerlab-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function makeDataDir(): { layout: DataDirLayout; cleanup: () => void } {
  const root = makeTempDir();
  return { layout: ensureDataDir(root), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** What is left in datasets/ and tmp/ (hidden marker files excluded). */
export function leftovers(layout: DataDirLayout): { datasets: string[]; tmp: string[] } {
  const ls = (d: string): string[] => readdirSync(d).filter((n) => !n.startsWith('.'));
  return { datasets: ls(layout.datasets), tmp: ls(layout.tmp) };
}
