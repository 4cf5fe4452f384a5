/**
 * One import from start to end: list what was dropped, hash it (re-import
 * detection), detect the format, run the matching importer, write the
 * dataset atomically. The work folder (archive extraction) and any temp
 * output live under the data dir's tmp and are removed whatever happens.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataDirLayout } from '../data-dir.ts';
import { sha256, sha256File } from './bytes.ts';
import { DatasetFormatError, ImportCancelledError, throwIfCancelled } from './errors.ts';
import type { DatasetManifest, ProgressListener, SourceFile } from './format.ts';
import { expandInputs, isEmptyDir, listDroppedFiles, type InputFile } from './scan.ts';
import { writeDataset, type WriteFileFn } from './writer.ts';
import type { DatasetDraft } from './draft.ts';
import { importIdx } from './importers/idx-importer.ts';
import { importCifarBinary, looksLikeCifarBinary } from './importers/cifar-binary.ts';
import { importCifarPython } from './importers/cifar-python.ts';
import { importImageFolder, type ImageFolderOptions } from './importers/image-folder.ts';

export interface ImportOptions {
  /** Display name; default comes from the content or folder names. */
  name?: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** For image folders: target size and colour (default 32×32 RGB). */
  imageFolder?: ImageFolderOptions;
  /** Replaceable for tests that simulate a full disk. */
  writeFile?: WriteFileFn;
}

export type DatasetFormatName = 'mnist-idx' | 'cifar-binary' | 'cifar-python' | 'image-folder';

/** Picks the importer from what the files contain. */
export function chooseFormat(files: InputFile[]): DatasetFormatName {
  const has = (k: InputFile['kind']): boolean => files.some((f) => f.kind === k);
  if (has('idx-images') || has('idx-labels')) return 'mnist-idx';
  if (has('pickle')) return 'cifar-python';
  if (has('image')) return 'image-folder';
  if (looksLikeCifarBinary(files)) return 'cifar-binary';
  throw new DatasetFormatError(
    `No dataset format recognised in ${files.length} file(s) (${files.slice(0, 5).map((f) => f.rel).join(', ')}${files.length > 5 ? ', …' : ''}). ` +
      'LayerLab imports MNIST/Fashion-MNIST IDX files, CIFAR-10/100 (binary or Python version) and folders of images (one sub-folder per class).',
  );
}

export async function hashSources(files: { path: string; rel: string }[], signal?: AbortSignal, onProgress?: ProgressListener): Promise<{ sources: SourceFile[]; sourceKey: string }> {
  const { stat } = await import('node:fs/promises');
  const sources: SourceFile[] = [];
  let done = 0;
  const total = files.filter((x) => !isEmptyDir(x)).length;
  for (const f of files) {
    throwIfCancelled(signal);
    if (isEmptyDir(f)) continue;
    sources.push({ name: f.rel, bytes: (await stat(f.path)).size, sha256: await sha256File(f.path, signal) });
    onProgress?.({ phase: 'hash', done: ++done, total });
  }
  sources.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // The key ignores names so renamed copies of the same files are recognised.
  const key = sha256(sources.map((s) => s.sha256).sort().join('\n'));
  return { sources, sourceKey: key };
}

export async function buildDraft(format: DatasetFormatName, files: InputFile[], opts: ImportOptions): Promise<DatasetDraft> {
  switch (format) {
    case 'mnist-idx':
      return importIdx(files, opts.name, opts.signal);
    case 'cifar-binary':
      return importCifarBinary(files, opts.name, opts.signal);
    case 'cifar-python':
      return importCifarPython(files, opts.name, opts.signal);
    case 'image-folder':
      return importImageFolder(files, opts.name, opts.imageFolder ?? {}, opts.signal, (done, total) =>
        opts.onProgress?.({ phase: 'decode', done, total }),
      );
  }
}

/**
 * Runs the import; `findExisting` lets the library short-circuit when the
 * same files were imported before.
 */
export async function runImport(
  layout: DataDirLayout,
  paths: string[],
  opts: ImportOptions,
  findExisting: (sourceKey: string) => Promise<DatasetManifest | undefined>,
): Promise<{ manifest: DatasetManifest; existing: boolean }> {
  const { signal, onProgress } = opts;
  onProgress?.({ phase: 'scan', done: 0, total: paths.length });
  const dropped = await listDroppedFiles(paths, signal);
  onProgress?.({ phase: 'scan', done: paths.length, total: paths.length });
  const { sources, sourceKey } = await hashSources(dropped, signal, onProgress);
  const existing = await findExisting(sourceKey);
  if (existing) {
    onProgress?.({ phase: 'done', done: 1, total: 1 });
    return { manifest: existing, existing: true };
  }
  await mkdir(layout.tmp, { recursive: true });
  const work = await mkdtemp(join(layout.tmp, `import-${process.pid}-`));
  let failed = true;
  try {
    const files = await expandInputs(dropped, work, signal, (done, total) => onProgress?.({ phase: 'extract', done, total }));
    throwIfCancelled(signal);
    const format = chooseFormat(files);
    onProgress?.({ phase: 'read', done: 0, total: 1 });
    const draft = await buildDraft(format, files, opts);
    onProgress?.({ phase: 'read', done: 1, total: 1 });
    throwIfCancelled(signal);
    const manifest = await writeDataset(layout, draft, sources, sourceKey, { signal, onProgress, writeFile: opts.writeFile });
    onProgress?.({ phase: 'done', done: 1, total: 1 });
    failed = false;
    return { manifest, existing: false };
  } catch (e) {
    if (signal?.aborted && !(e instanceof ImportCancelledError)) throw new ImportCancelledError();
    throw e;
  } finally {
    if (failed) await removeSettled(work);
    else await rm(work, { recursive: true, force: true });
  }
}

/**
 * Removes the work folder. tar's extractor can reject on a corrupt archive
 * while file writes it already started are still landing, which would
 * recreate paths after a single rm; so remove until the folder stays gone.
 */
async function removeSettled(dir: string): Promise<void> {
  // rm can also fail with ENOTEMPTY while a late write lands; retry then too.
  const tryRm = (): Promise<void> => rm(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 10 }).catch(() => undefined);
  await tryRm();
  for (let quiet = 0, tries = 0; quiet < 2 && tries < 40; tries++) {
    await new Promise((r) => setTimeout(r, 25));
    if (existsSync(dir)) {
      quiet = 0;
      await tryRm();
    } else quiet++;
  }
}
