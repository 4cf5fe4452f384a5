/**
 * The small Fashion-MNIST sample shipped in `resources/sample/`, copied into
 * the library on first launch so a new user can train without importing.
 * A marker file records that it was installed once, so a user who deletes
 * the sample does not see it come back.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataDirLayout } from '../data-dir.ts';
import { datasetManifestSchema } from './format.ts';
import { readFile } from 'node:fs/promises';

export const SAMPLE_ID = 'fashion-mnist-sample';
const MARKER = '.sample-installed';

/**
 * The app's `resources/` folder. Order: `LAYERLAB_RESOURCES`; a packaged
 * Electron app's `process.resourcesPath/resources` (electron-builder
 * `extraResources`); else the first ancestor of this module (source tree or
 * the built `out/main/`) that has `resources/sample`.
 */
export function resourcesDir(): string {
  const env = process.env.LAYERLAB_RESOURCES;
  if (env) return resolve(env);
  const packaged = (process as NodeJS.Process & { resourcesPath?: string }).resourcesPath;
  if (packaged && existsSync(join(packaged, 'resources', 'sample'))) return join(packaged, 'resources');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'resources', 'sample'))) return join(dir, 'resources');
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  // Fall back to the repository layout (src-main/services/datasets → repo root).
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'resources');
}

export function sampleSourceDir(resources = resourcesDir()): string {
  return join(resources, 'sample', SAMPLE_ID);
}

/**
 * Copies the sample into the library unless it was installed before.
 * Returns true when it copied. Atomic like an import (tmp → rename).
 */
export async function ensureSampleInstalled(layout: DataDirLayout, resources = resourcesDir()): Promise<boolean> {
  const marker = join(layout.datasets, MARKER);
  const target = join(layout.datasets, SAMPLE_ID);
  if (existsSync(marker) || existsSync(target)) return false;
  const src = sampleSourceDir(resources);
  // Validate before copying: a broken build must not put a broken dataset in the library.
  datasetManifestSchema.parse(JSON.parse(await readFile(join(src, 'dataset.json'), 'utf8')));
  await mkdir(layout.tmp, { recursive: true });
  await mkdir(layout.datasets, { recursive: true });
  const tmp = await mkdtemp(join(layout.tmp, `sample-${process.pid}-`));
  try {
    await cp(src, join(tmp, SAMPLE_ID), { recursive: true });
    await rename(join(tmp, SAMPLE_ID), target);
    await writeFile(marker, new Date().toISOString() + '\n');
    return true;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
