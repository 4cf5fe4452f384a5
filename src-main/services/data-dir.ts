/**
 * The one data directory shared by the app, the web host and the CLI, so a
 * run trained in the CLI shows up in the app.
 *
 * Order: explicit argument (`--data-dir`), `LAYERLAB_HOME`, then the OS's
 * per-user app-data folder (the same folder Electron's `app.getPath('userData')`
 * would give for an app named "LayerLab", computed here without Electron).
 */
import { homedir, platform } from 'node:os';
import { join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';

export function defaultDataDir(): string {
  const home = homedir();
  switch (platform()) {
    case 'win32':
      return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'LayerLab');
    case 'darwin':
      return join(home, 'Library', 'Application Support', 'LayerLab');
    default:
      return join(process.env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'layerlab');
  }
}

export function resolveDataDir(explicit?: string): string {
  const dir = resolve(explicit ?? process.env.LAYERLAB_HOME ?? defaultDataDir());
  return dir;
}

/** Layout inside the data directory. */
export interface DataDirLayout {
  root: string;
  datasets: string;
  runs: string;
  exports: string;
  tmp: string;
  settings: string;
}

export function dataDirLayout(root: string): DataDirLayout {
  return {
    root,
    datasets: join(root, 'datasets'),
    runs: join(root, 'runs'),
    exports: join(root, 'exports'),
    // Temp folders live inside the data dir so `rename` into place stays on one filesystem (atomic).
    tmp: join(root, 'tmp'),
    settings: join(root, 'settings.json'),
  };
}

export function ensureDataDir(root: string): DataDirLayout {
  const l = dataDirLayout(root);
  for (const d of [l.root, l.datasets, l.runs, l.exports, l.tmp]) mkdirSync(d, { recursive: true });
  return l;
}
