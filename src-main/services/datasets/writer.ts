/**
 * Writes a validated draft into the library atomically: everything goes into
 * a fresh folder under the data dir's `tmp/`, `dataset.json` is written last,
 * then one `rename` moves the folder into `datasets/`. On any error or cancel
 * the temp folder is removed, so the library never holds a partial dataset.
 */
import { chmod, mkdir, mkdtemp, rename, rm, writeFile as fsWriteFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { DataDirLayout } from '../data-dir.ts';
import { DatasetFormatError, DatasetWriteError, throwIfCancelled } from './errors.ts';
import {
  FORMAT_VERSION,
  datasetManifestSchema,
  type DatasetManifest,
  type ProgressListener,
  type SourceFile,
  type SplitEntry,
  type SplitName,
} from './format.ts';
import type { DatasetDraft, DraftSplit } from './draft.ts';
import { channelStats, classCounts } from './stats.ts';

export type WriteFileFn = (path: string, data: Uint8Array | string) => Promise<void>;

export interface WriteOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** gzip the data files (used for the shipped sample, to keep the app small). */
  gzip?: boolean;
  /** Replaceable so tests can simulate a full disk. */
  writeFile?: WriteFileFn;
  /** Fixed creation date (reproducible sample output). */
  created?: string;
  /** Fixed id instead of name + source hash (the shipped sample). */
  id?: string;
}

export function slugify(name: string): string {
  const s = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return s || 'dataset';
}

export function datasetIdFor(name: string, sourceKey: string): string {
  return `${slugify(name)}-${sourceKey.slice(0, 8)}`;
}

function validateDraft(draft: DatasetDraft): void {
  const [h, w, c] = draft.shape;
  const per = h * w * c;
  const check = (split: SplitName, s: DraftSplit): void => {
    if (s.images.length % per !== 0) {
      throw new DatasetFormatError(`The ${split} split holds ${s.images.length} pixel bytes, not a whole number of ${h}×${w}×${c} images.`);
    }
    const n = s.images.length / per;
    if (s.labels.length !== n) {
      throw new DatasetFormatError(`The ${split} split has ${n} images but ${s.labels.length} labels; every image needs exactly one label.`);
    }
    for (let i = 0; i < s.labels.length; i++) {
      if (s.labels[i] >= draft.classNames.length) {
        throw new DatasetFormatError(
          `The ${split} split's label #${i} is ${s.labels[i]}, but the dataset has only ${draft.classNames.length} classes (0–${draft.classNames.length - 1}).`,
        );
      }
    }
    if (s.coarseLabels && s.coarseLabels.length !== n) {
      throw new DatasetFormatError(`The ${split} split has ${n} images but ${s.coarseLabels.length} coarse labels.`);
    }
  };
  if (draft.splits.train.labels.length === 0) throw new DatasetFormatError('The dataset has no training images.');
  check('train', draft.splits.train);
  if (draft.splits.test) check('test', draft.splits.test);
}

function toBytes(a: Uint8Array | Uint16Array): Uint8Array {
  if (a instanceof Uint8Array) return a;
  // Labels on disk are little-endian; copy through a DataView so big-endian hosts agree.
  const out = new Uint8Array(a.length * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setUint16(i * 2, a[i], true);
  return out;
}

/** Writes the draft; returns the manifest as stored. Throws DatasetWriteError on a full disk. */
export async function writeDataset(
  layout: DataDirLayout,
  draft: DatasetDraft,
  sources: SourceFile[],
  sourceKey: string,
  opts: WriteOptions = {},
): Promise<DatasetManifest> {
  validateDraft(draft);
  throwIfCancelled(opts.signal);
  const write: WriteFileFn = opts.writeFile ?? ((p, d) => fsWriteFile(p, d));
  const id = opts.id ?? datasetIdFor(draft.name, sourceKey);
  const labelBytes: 1 | 2 = draft.classNames.length > 256 ? 2 : 1;
  const labelsAs = (l: Uint8Array | Uint16Array): Uint8Array | Uint16Array =>
    labelBytes === 2 ? (l instanceof Uint16Array ? l : Uint16Array.from(l)) : l instanceof Uint8Array ? l : Uint8Array.from(l);

  await mkdir(layout.tmp, { recursive: true });
  const tmp = await mkdtemp(join(layout.tmp, `write-${process.pid}-${id}-`));
  try {
    await chmod(tmp, 0o755); // mkdtemp makes it private; a dataset folder is ordinary user data
    const ext = labelBytes === 2 ? 'u16' : 'u8';
    const gz = opts.gzip ? '.gz' : '';
    const splits: Partial<Record<SplitName, SplitEntry>> = {};
    const names = (['train', 'test'] as const).filter((s) => draft.splits[s]);
    let done = 0;
    for (const split of names) {
      const s = draft.splits[split]!;
      throwIfCancelled(opts.signal);
      opts.onProgress?.({ phase: 'write', done, total: names.length });
      const entry: SplitEntry = {
        count: s.labels.length,
        images: `${split}-images.u8${gz}`,
        labels: `${split}-labels.${ext}${gz}`,
        classCounts: classCounts(s.labels, draft.classNames.length),
      };
      const payload = (b: Uint8Array): Uint8Array => (opts.gzip ? gzipSync(b, { level: 9 }) : b);
      await write(join(tmp, entry.images), payload(s.images));
      await write(join(tmp, entry.labels), payload(toBytes(labelsAs(s.labels))));
      if (s.coarseLabels) {
        entry.coarseLabels = `${split}-coarse-labels.u8${gz}`;
        await write(join(tmp, entry.coarseLabels), payload(s.coarseLabels));
      }
      splits[split] = entry;
      done++;
    }
    opts.onProgress?.({ phase: 'stats', done: 0, total: 1 });
    const { mean, std } = channelStats(draft.splits.train.images, draft.shape[2]);
    const manifest: DatasetManifest = datasetManifestSchema.parse({
      formatVersion: FORMAT_VERSION,
      id,
      name: draft.name,
      kind: draft.kind,
      shape: draft.shape,
      classNames: draft.classNames,
      ...(draft.coarseClassNames ? { coarseClassNames: draft.coarseClassNames } : {}),
      labelBytes,
      splits,
      mean,
      std,
      provenance: draft.provenance,
      sources,
      sourceKey,
      created: opts.created ?? new Date().toISOString(),
    });
    // The manifest goes last: a folder without it is never listed.
    await write(join(tmp, 'dataset.json'), JSON.stringify(manifest, null, 2) + '\n');
    throwIfCancelled(opts.signal);
    await mkdir(layout.datasets, { recursive: true });
    await rename(tmp, join(layout.datasets, id));
    opts.onProgress?.({ phase: 'write', done: names.length, total: names.length });
    return manifest;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      throw new DatasetWriteError(`The disk holding ${layout.root} is full; the import was undone. Free some space and import again.`);
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new DatasetWriteError(`Cannot write to ${layout.datasets} (${code}); the import was undone. Check the data folder's permissions.`);
    }
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      throw new DatasetWriteError(`A dataset with id "${id}" already exists in the library; delete it first to import these files again.`);
    }
    throw e;
  }
}
