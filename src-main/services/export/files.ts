/**
 * Writing an export's files: all or nothing, never over an existing file
 * unless asked. Every file is first written in full (fsynced) to a hidden
 * temp name in its destination folder, then put in place — with link(2) when
 * not overwriting, which fails instead of replacing a file that appeared
 * meanwhile, or rename(2) when overwriting. A failure removes the temp files
 * and any file this export already placed, so nothing half-written remains.
 */
import { link, lstat, mkdir, open, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A user-fixable export problem (existing file, unwritable folder, run without checkpoint, …). */
export class ExportError extends Error {
  override readonly name = 'ExportError';
}

export interface PlannedFile {
  path: string;
  data: Uint8Array | string;
}

export interface WriteProgress {
  phase: 'writing';
  done: number;
  total: number;
}

export interface WriteOptions {
  overwrite?: boolean;
  onProgress?: (p: WriteProgress) => void;
  signal?: AbortSignal;
}

/** What an errno means for someone choosing a destination. */
function reasonOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'the disk is full';
    case 'EDQUOT':
      return 'the disk quota is exhausted';
    case 'ENOTDIR':
      return 'part of the path is a file, not a folder';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    default:
      return (e as Error).message;
  }
}

async function exists(path: string): Promise<'file' | 'dir' | null> {
  try {
    return (await lstat(path)).isDirectory() ? 'dir' : 'file';
  } catch {
    return null;
  }
}

/** Creates the destination folder (and parents); a clear ExportError when it cannot. */
export async function ensureWritableFolder(dir: string): Promise<void> {
  const kind = await exists(dir);
  if (kind === 'file') throw new ExportError(`Cannot export to ${dir}: it is a file, not a folder.`);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new ExportError(`Cannot create the destination folder ${dir}: ${reasonOf(e)}. Choose another destination.`);
  }
}

const bytesOf = (d: Uint8Array | string): Uint8Array => (typeof d === 'string' ? new TextEncoder().encode(d) : d);

/** Writes `files` all-or-nothing; returns their sizes. */
export async function writeFilesAtomically(files: readonly PlannedFile[], opt: WriteOptions = {}): Promise<Array<{ path: string; bytes: number }>> {
  const overwrite = opt.overwrite ?? false;
  for (const dir of new Set(files.map((f) => dirname(f.path)))) await ensureWritableFolder(dir);

  const existing: string[] = [];
  for (const f of files) {
    const kind = await exists(f.path);
    if (kind === 'dir') throw new ExportError(`Cannot write ${f.path}: a folder of that name exists.`);
    if (kind === 'file') existing.push(f.path);
  }
  if (existing.length && !overwrite) {
    throw new ExportError(
      `${existing.length === 1 ? `${existing[0]} already exists` : `These files already exist: ${existing.join(', ')}`}. ` +
        'Nothing was written: choose another destination or allow overwriting (--overwrite).',
    );
  }

  const contents = files.map((f) => bytesOf(f.data));
  const total = contents.reduce((a, b) => a + b.length, 0);
  const temps: string[] = [];
  const placed: string[] = [];
  let done = 0;
  opt.onProgress?.({ phase: 'writing', done, total });
  try {
    for (let i = 0; i < files.length; i++) {
      opt.signal?.throwIfAborted();
      const path = files[i].path;
      const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
      temps.push(tmp);
      let fh;
      try {
        fh = await open(tmp, 'wx');
      } catch (e) {
        throw new ExportError(`Cannot write to ${dirname(path)}: ${reasonOf(e)}. Choose another destination.`);
      }
      try {
        const chunk = 1 << 22;
        const data = contents[i];
        for (let at = 0; at < data.length; at += chunk) {
          opt.signal?.throwIfAborted();
          const piece = data.subarray(at, Math.min(data.length, at + chunk));
          await fh.write(piece);
          done += piece.length;
          opt.onProgress?.({ phase: 'writing', done, total });
        }
        await fh.sync();
      } catch (e) {
        if (e instanceof ExportError || (e as Error).name === 'AbortError') throw e;
        throw new ExportError(`Cannot write ${path}: ${reasonOf(e)}. Nothing was written.`);
      } finally {
        await fh.close();
      }
    }
    opt.signal?.throwIfAborted();
    for (let i = 0; i < files.length; i++) {
      const path = files[i].path;
      if (overwrite) await rename(temps[i], path);
      else {
        try {
          await link(temps[i], path); // fails with EEXIST rather than replacing a file created meanwhile
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EEXIST') throw new ExportError(`${path} appeared while exporting; nothing was written. Try again.`);
          // File systems without hard links (FAT, some network shares): fall back to rename.
          if (await exists(path)) throw new ExportError(`${path} appeared while exporting; nothing was written. Try again.`);
          await rename(temps[i], path);
        }
        placed.push(path);
      }
    }
    return files.map((f, i) => ({ path: f.path, bytes: contents[i].length }));
  } catch (e) {
    for (const p of placed) await unlink(p).catch(() => undefined);
    throw e;
  } finally {
    for (const t of temps) await rm(t, { force: true }).catch(() => undefined);
  }
}
