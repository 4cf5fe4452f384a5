/**
 * Safe extraction of .tar / .tar.gz (tar package) and .zip (yauzl) into a
 * work folder inside the data dir's tmp. Entries with absolute paths, "..",
 * symlinks, hard links or devices are refused with an error naming the entry
 * (they could write outside the folder); sizes are capped.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import yauzl from 'yauzl';
import { DatasetFormatError, shortName, throwIfCancelled } from './errors.ts';
import { MAX_INPUT_BYTES } from './bytes.ts';

/** Total bytes an archive may expand to (CIFAR-100 python is ~180 MB). */
export const MAX_ARCHIVE_BYTES = 2 * MAX_INPUT_BYTES;
export const MAX_ARCHIVE_ENTRIES = 500_000;

function unsafeEntryPath(p: string): boolean {
  if (p.startsWith('/') || p.startsWith('\\') || /^[a-zA-Z]:/.test(p)) return true;
  const n = normalize(p);
  return n === '..' || n.startsWith(`..${sep}`) || n.split(/[\\/]/).includes('..');
}

export async function extractTar(archive: string, dest: string, signal?: AbortSignal): Promise<void> {
  await mkdir(dest, { recursive: true });
  let problem: string | null = null;
  let total = 0;
  let entries = 0;
  try {
    await tar.x({
      file: archive,
      cwd: dest,
      strict: true,
      preserveOwner: false,
      filter: (path, entry) => {
        const e = entry as tar.ReadEntry;
        entries++;
        if (problem) return false;
        if (signal?.aborted) {
          problem = 'cancelled';
          return false;
        }
        if (unsafeEntryPath(path)) {
          problem = `entry "${path}" points outside the archive's folder`;
          return false;
        }
        if (e.type === 'SymbolicLink' || e.type === 'Link') {
          problem = `entry "${path}" is a ${e.type === 'Link' ? 'hard link' : 'symbolic link'}`;
          return false;
        }
        if (e.type !== 'File' && e.type !== 'OldFile' && e.type !== 'ContiguousFile' && e.type !== 'Directory') {
          problem = `entry "${path}" is a ${e.type}, not a file or folder`;
          return false;
        }
        total += e.size ?? 0;
        if (total > MAX_ARCHIVE_BYTES || entries > MAX_ARCHIVE_ENTRIES) {
          problem = `it expands to more than ${MAX_ARCHIVE_BYTES} bytes or ${MAX_ARCHIVE_ENTRIES} entries`;
          return false;
        }
        return true;
      },
    });
  } catch (e) {
    throw new DatasetFormatError(
      `${shortName(archive)}: the tar archive is corrupt or truncated (${(e as Error).message}). Download it again.`,
      archive,
    );
  }
  throwIfCancelled(signal);
  if (problem) {
    throw new DatasetFormatError(`${shortName(archive)}: refused to extract because ${problem}. LayerLab only imports plain files from archives.`, archive);
  }
  if (entries === 0) {
    throw new DatasetFormatError(`${shortName(archive)}: the tar archive holds no entries (it may be truncated).`, archive);
  }
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: true, strictFileNames: false, validateEntrySizes: true }, (err, zf) => {
      if (err || !zf) reject(err ?? new Error('cannot open'));
      else resolve(zf);
    });
  });
}

export async function extractZip(archive: string, dest: string, signal?: AbortSignal): Promise<void> {
  await mkdir(dest, { recursive: true });
  const bad = (why: string): DatasetFormatError =>
    new DatasetFormatError(`${shortName(archive)}: ${why}`, archive);
  let zf: yauzl.ZipFile;
  try {
    zf = await openZip(archive);
  } catch (e) {
    throw bad(`the zip archive is corrupt or truncated (${(e as Error).message}). Create or download it again.`);
  }
  let total = 0;
  let count = 0;
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error): void => {
      zf.close();
      reject(e);
    };
    zf.on('error', (e: Error) => fail(bad(`the zip archive is corrupt (${e.message}).`)));
    zf.on('end', () => resolve());
    zf.on('entry', (entry: yauzl.Entry) => {
      if (signal?.aborted) return fail(new DatasetFormatError('cancelled'));
      const name = entry.fileName;
      count++;
      if (unsafeEntryPath(name)) return fail(bad(`refused to extract: entry "${name}" points outside the archive's folder.`));
      const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
      if (mode === 0o120000) return fail(bad(`refused to extract: entry "${name}" is a symbolic link. LayerLab only imports plain files.`));
      if (name.endsWith('/')) {
        zf.readEntry();
        return;
      }
      total += entry.uncompressedSize;
      if (total > MAX_ARCHIVE_BYTES || count > MAX_ARCHIVE_ENTRIES) return fail(bad(`it expands to more than ${MAX_ARCHIVE_BYTES} bytes; refused.`));
      const out = join(dest, name);
      zf.openReadStream(entry, (err, rs) => {
        if (err || !rs) return fail(bad(`entry "${name}" cannot be read (${err?.message}).`));
        mkdir(dirname(out), { recursive: true })
          .then(() => pipeline(rs, createWriteStream(out)))
          .then(() => zf.readEntry())
          .catch((e: Error) => fail(bad(`entry "${name}" is corrupt (${e.message}).`)));
      });
    });
    zf.readEntry();
  });
  throwIfCancelled(signal);
}
