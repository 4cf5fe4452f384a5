/**
 * Turns what the user dropped (files, folders, archives) into a flat list of
 * files with their detected content kind. Folders are walked without
 * following symlinks; archives are extracted safely into the import's work
 * folder and their entries listed as if they had been dropped.
 */
import { lstat, readdir } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { DatasetFormatError, DatasetRequestError, throwIfCancelled } from './errors.ts';
import { detectFile, type ContentKind } from './detect.ts';
import { extractTar, extractZip } from './archives.ts';

export const MAX_SCANNED_FILES = 1_000_000;

export interface InputFile {
  /** Absolute path on disk (inside the work folder for archive entries). */
  path: string;
  /** Path as the user would name it: dropped folder or archive name, then the path inside. Used for hints and messages. */
  rel: string;
  kind: ContentKind;
  gzip: boolean;
  declaredBytes?: number;
}

async function walk(dir: string, base: string, out: { path: string; rel: string }[], signal?: AbortSignal): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  if (entries.length === 0 && dir !== base) {
    // Recorded so the image-folder importer can name an empty class folder.
    out.push({ path: dir, rel: relative(base, dir).split(sep).join('/') + '/' });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    throwIfCancelled(signal);
    if (e.name.startsWith('.') || e.name === '__MACOSX') continue; // hidden files and macOS zip litter
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, base, out, signal);
    else if (e.isFile()) {
      out.push({ path: p, rel: relative(base, p).split(sep).join('/') });
      if (out.length > MAX_SCANNED_FILES) {
        throw new DatasetRequestError(`More than ${MAX_SCANNED_FILES} files under ${base}; pick the dataset's own folder.`);
      }
    }
    // Symlinks and special files are skipped on purpose: they could point anywhere.
  }
}

/** Empty folders are listed with a trailing "/" in `rel`. */
export function isEmptyDir(f: { rel: string }): boolean {
  return f.rel.endsWith('/');
}

/** The user's own files (not archive contents): these are what gets hashed for re-import detection. */
export async function listDroppedFiles(paths: string[], signal?: AbortSignal): Promise<{ path: string; rel: string }[]> {
  if (paths.length === 0) throw new DatasetRequestError('Nothing to import: give at least one file or folder.');
  const out: { path: string; rel: string }[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await lstat(p);
    } catch {
      throw new DatasetRequestError(`${p} does not exist or cannot be read.`);
    }
    if (st.isDirectory()) await walk(p, dirname(p), out, signal);
    else if (st.isFile()) out.push({ path: p, rel: `${basename(dirname(p))}/${basename(p)}` });
    else throw new DatasetRequestError(`${p} is not a regular file or folder (symlinks are not followed).`);
  }
  if (out.every(isEmptyDir)) throw new DatasetFormatError(`No files found in ${paths.join(', ')}.`);
  return out;
}

/** Detects every file and expands archives into `workDir`. */
export async function expandInputs(
  files: { path: string; rel: string }[],
  workDir: string,
  signal?: AbortSignal,
  onProgress?: (done: number, total: number) => void,
): Promise<InputFile[]> {
  const out: InputFile[] = [];
  let n = 0;
  for (const f of files) {
    throwIfCancelled(signal);
    if (isEmptyDir(f)) {
      out.push({ ...f, kind: 'empty', gzip: false });
      continue;
    }
    const d = await detectFile(f.path);
    if (d.kind === 'tar' || d.kind === 'zip') {
      const dest = join(workDir, `archive-${n}`);
      if (d.kind === 'tar') await extractTar(f.path, dest, signal);
      else await extractZip(f.path, dest, signal);
      const inner: { path: string; rel: string }[] = [];
      await walk(dest, dest, inner, signal);
      const stem = basename(f.path).replace(/\.(tar\.gz|tgz|tar|zip)$/i, '');
      for (const e of inner) {
        if (isEmptyDir(e)) {
          out.push({ path: e.path, rel: `${stem}/${e.rel}`, kind: 'empty', gzip: false });
          continue;
        }
        const di = await detectFile(e.path);
        if (di.kind === 'tar' || di.kind === 'zip') continue; // archives inside archives are not expanded
        out.push({ path: e.path, rel: `${stem}/${e.rel}`, ...di });
      }
    } else {
      out.push({ ...f, ...d });
    }
    n++;
    onProgress?.(n, files.length);
  }
  return out;
}
