/**
 * CIFAR-10 / CIFAR-100 binary version (https://www.cs.toronto.edu/~kriz/cifar.html).
 * CIFAR-10 record: 1 label byte + 3072 pixel bytes; CIFAR-100 record: coarse
 * label byte, fine label byte, 3072 pixel bytes. Pixels are channel-planar
 * (1024 R, 1024 G, 1024 B, rows of 32); we store HWC, so they are interleaved.
 *
 * Recognised from content: a file whose size is a whole number of records
 * and whose every label byte is in range. Which file is the test split is
 * not in the content: the file whose name contains "test" is the test split.
 */
import { readFile, stat } from 'node:fs/promises';
import { DatasetFormatError, shortName, throwIfCancelled } from '../errors.ts';
import { MAX_INPUT_BYTES, isGzip, gunzipChecked } from '../bytes.ts';
import type { DatasetDraft, DraftSplit } from '../draft.ts';
import type { InputFile } from '../scan.ts';
import { CIFAR10_CLASSES } from './known-datasets.ts';
import { naturalCompare, readNameLists } from './class-names-text.ts';

const PIXELS = 32 * 32 * 3;
export const CIFAR10_RECORD = 1 + PIXELS;
export const CIFAR100_RECORD = 2 + PIXELS;

type Variant = 'cifar10' | 'cifar100';

function recordsValid(buf: Uint8Array, variant: Variant): boolean {
  const rec = variant === 'cifar10' ? CIFAR10_RECORD : CIFAR100_RECORD;
  if (buf.length === 0 || buf.length % rec !== 0) return false;
  for (let o = 0; o < buf.length; o += rec) {
    if (variant === 'cifar10') {
      if (buf[o] >= 10) return false;
    } else if (buf[o] >= 20 || buf[o + 1] >= 100) return false;
  }
  return true;
}

async function variantBySize(f: InputFile): Promise<Variant | null> {
  if (f.kind !== 'binary' || f.gzip) return null;
  const size = (await stat(f.path)).size;
  if (size > 0 && size % CIFAR10_RECORD === 0) return 'cifar10';
  if (size > 0 && size % CIFAR100_RECORD === 0) return 'cifar100';
  return null;
}

export function looksLikeCifarBinary(files: InputFile[]): boolean {
  return files.some((f) => f.kind === 'binary' && !f.gzip);
}

function decode(buf: Uint8Array, variant: Variant): DraftSplit {
  const rec = variant === 'cifar10' ? CIFAR10_RECORD : CIFAR100_RECORD;
  const off = variant === 'cifar10' ? 1 : 2;
  const n = buf.length / rec;
  const images = new Uint8Array(n * PIXELS);
  const labels = new Uint8Array(n);
  const coarse = variant === 'cifar100' ? new Uint8Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const r = i * rec;
    if (coarse) {
      coarse[i] = buf[r];
      labels[i] = buf[r + 1];
    } else labels[i] = buf[r];
    const src = r + off;
    const dst = i * PIXELS;
    for (let p = 0; p < 1024; p++) {
      images[dst + p * 3] = buf[src + p];
      images[dst + p * 3 + 1] = buf[src + 1024 + p];
      images[dst + p * 3 + 2] = buf[src + 2048 + p];
    }
  }
  return coarse ? { images, labels, coarseLabels: coarse } : { images, labels };
}

function concat(parts: DraftSplit[]): DraftSplit {
  const total = (k: 'images' | 'labels'): number => parts.reduce((s, p) => s + p[k].length, 0);
  const images = new Uint8Array(total('images'));
  const labels = new Uint8Array(total('labels'));
  const hasCoarse = parts.every((p) => p.coarseLabels);
  const coarse = hasCoarse ? new Uint8Array(total('labels')) : undefined;
  let io = 0;
  let lo = 0;
  for (const p of parts) {
    images.set(p.images, io);
    labels.set(p.labels as Uint8Array, lo);
    if (coarse && p.coarseLabels) coarse.set(p.coarseLabels, lo);
    io += p.images.length;
    lo += p.labels.length;
  }
  return coarse ? { images, labels, coarseLabels: coarse } : { images, labels };
}

export async function importCifarBinary(files: InputFile[], hintName: string | undefined, signal?: AbortSignal): Promise<DatasetDraft> {
  const candidates: { f: InputFile; v: Variant }[] = [];
  const rejected: string[] = [];
  for (const f of files) {
    const v = await variantBySize(f);
    if (v) candidates.push({ f, v });
    else if (f.kind === 'binary') rejected.push(f.rel);
  }
  if (candidates.length === 0) {
    throw new DatasetFormatError(
      `No CIFAR binary batch found: a CIFAR-10 batch is a whole number of ${CIFAR10_RECORD}-byte records, CIFAR-100 of ${CIFAR100_RECORD}-byte records; ` +
        `${rejected.map(shortName).join(', ')} ${rejected.length === 1 ? 'is' : 'are'} not. The files may be truncated.`,
    );
  }
  const variant = candidates[0].v;
  const mixed = candidates.find((c) => c.v !== variant);
  if (mixed) throw new DatasetFormatError(`${mixed.f.rel} is a ${mixed.v} batch but ${candidates[0].f.rel} is a ${variant} batch; import one dataset at a time.`, mixed.f.rel);
  if (rejected.length > 0) {
    throw new DatasetFormatError(
      `${rejected[0]}: ${(await stat(files.find((f) => f.rel === rejected[0])!.path)).size} bytes is not a whole number of ${variant === 'cifar10' ? CIFAR10_RECORD : CIFAR100_RECORD}-byte ${variant === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} records. The file is truncated or not a CIFAR batch; download it again.`,
      rejected[0],
    );
  }
  const train: DraftSplit[] = [];
  const test: DraftSplit[] = [];
  candidates.sort((a, b) => naturalCompare(a.f.rel, b.f.rel));
  for (const { f } of candidates) {
    throwIfCancelled(signal);
    let buf: Uint8Array = await readFile(f.path);
    if (buf.length > MAX_INPUT_BYTES) throw new DatasetFormatError(`${f.rel} is larger than any CIFAR batch.`, f.rel);
    if (isGzip(buf)) buf = await gunzipChecked(buf, f.rel);
    if (!recordsValid(buf, variant)) {
      throw new DatasetFormatError(
        `${f.rel}: a label byte is out of range (CIFAR-10 labels are 0–9; CIFAR-100 coarse 0–19, fine 0–99). This is not a CIFAR ${variant === 'cifar10' ? '10' : '100'} batch, or it is corrupt.`,
        f.rel,
      );
    }
    (/test/i.test(f.rel.split('/').pop() ?? '') ? test : train).push(decode(buf, variant));
  }
  if (train.length === 0) throw new DatasetFormatError('Only a test batch was found; add the training batches (data_batch_1..5.bin or train.bin).');

  const lists = await readNameLists(files);
  let classNames: string[];
  let coarseClassNames: string[] | undefined;
  if (variant === 'cifar10') {
    classNames = lists.find((l) => l.names.length === 10)?.names ?? CIFAR10_CLASSES;
  } else {
    classNames = lists.find((l) => l.names.length === 100)?.names ?? Array.from({ length: 100 }, (_, i) => `class ${i}`);
    coarseClassNames = lists.find((l) => l.names.length === 20)?.names ?? Array.from({ length: 20 }, (_, i) => `superclass ${i}`);
  }
  return {
    name: hintName ?? (variant === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'),
    kind: variant,
    shape: [32, 32, 3],
    classNames,
    ...(coarseClassNames ? { coarseClassNames } : {}),
    splits: { train: concat(train), ...(test.length ? { test: concat(test) } : {}) },
    provenance: {
      source: `CIFAR binary batches: ${candidates.map((c) => c.f.rel).join(', ')}`,
      url: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    },
  };
}
