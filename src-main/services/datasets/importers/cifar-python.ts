/**
 * CIFAR-10 / CIFAR-100 Python version (cifar-10-batches-py, cifar-100-python),
 * loose or from the official .tar.gz. Each batch is a pickled dict; which
 * file is what comes from its keys (content), not its name:
 *   CIFAR-10 batch: data (N×3072 uint8), labels, batch_label ("testing batch …" for the test split)
 *   CIFAR-10 meta:  label_names
 *   CIFAR-100 batch: data, fine_labels, coarse_labels, batch_label
 *   CIFAR-100 meta:  fine_label_names, coarse_label_names
 */
import { readFile } from 'node:fs/promises';
import { DatasetFormatError, throwIfCancelled } from '../errors.ts';
import { MAX_INPUT_BYTES, gunzipChecked, isGzip } from '../bytes.ts';
import { PyDict, readPickle, type NdArrayU8, type PyValue } from '../pickle.ts';
import type { DatasetDraft, DraftSplit } from '../draft.ts';
import type { InputFile } from '../scan.ts';
import { naturalCompare } from './class-names-text.ts';

const PIXELS = 3072;

const asText = (v: PyValue | undefined): string | undefined =>
  typeof v === 'string' ? v : v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : undefined;

function intList(v: PyValue | undefined, file: string, key: string, max: number): Uint8Array {
  if (!Array.isArray(v)) throw new DatasetFormatError(`${file}: "${key}" is not a list of class ids.`, file);
  const out = new Uint8Array(v.length);
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= max) {
      throw new DatasetFormatError(`${file}: "${key}"[${i}] is ${String(x)}, expected an integer 0–${max - 1}.`, file);
    }
    out[i] = x;
  });
  return out;
}

function nameList(v: PyValue | undefined, file: string, key: string): string[] {
  if (!Array.isArray(v)) throw new DatasetFormatError(`${file}: "${key}" is not a list of names.`, file);
  return v.map((x, i) => asText(x) ?? (() => { throw new DatasetFormatError(`${file}: "${key}"[${i}] is not a string.`, file); })());
}

/** CHW planes per image → HWC. */
function planarToHwc(src: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * PIXELS);
  for (let i = 0; i < n; i++) {
    const s = i * PIXELS;
    for (let p = 0; p < 1024; p++) {
      out[s + p * 3] = src[s + p];
      out[s + p * 3 + 1] = src[s + 1024 + p];
      out[s + p * 3 + 2] = src[s + 2048 + p];
    }
  }
  return out;
}

interface Batch {
  file: string;
  test: boolean;
  split: DraftSplit;
}

export async function importCifarPython(files: InputFile[], hintName: string | undefined, signal?: AbortSignal): Promise<DatasetDraft> {
  const batches: Batch[] = [];
  let variant: 'cifar10' | 'cifar100' | null = null;
  let classNames: string[] | undefined;
  let coarseClassNames: string[] | undefined;
  const pickles = files.filter((f) => f.kind === 'pickle').sort((a, b) => naturalCompare(a.rel, b.rel));
  for (const f of pickles) {
    throwIfCancelled(signal);
    let buf: Uint8Array = await readFile(f.path);
    if (buf.length > MAX_INPUT_BYTES) throw new DatasetFormatError(`${f.rel} is larger than any CIFAR batch.`, f.rel);
    if (isGzip(buf)) buf = await gunzipChecked(buf, f.rel);
    const v = readPickle(buf, f.rel);
    if (!(v instanceof PyDict)) throw new DatasetFormatError(`${f.rel}: the pickle holds no dict; a CIFAR batch is a dict with "data" and labels.`, f.rel);
    const d = v.map;
    if (d.has('label_names')) {
      classNames = nameList(d.get('label_names'), f.rel, 'label_names');
      variant ??= 'cifar10';
      continue;
    }
    if (d.has('fine_label_names')) {
      classNames = nameList(d.get('fine_label_names'), f.rel, 'fine_label_names');
      coarseClassNames = nameList(d.get('coarse_label_names'), f.rel, 'coarse_label_names');
      variant ??= 'cifar100';
      continue;
    }
    const data = d.get('data') as NdArrayU8 | undefined;
    if (!data || typeof data !== 'object' || !('kind' in data) || data.kind !== 'ndarray') {
      throw new DatasetFormatError(`${f.rel}: no "data" array; keys are ${[...d.keys()].join(', ')}. This is not a CIFAR batch.`, f.rel);
    }
    if (data.shape.length !== 2 || data.shape[1] !== PIXELS) {
      throw new DatasetFormatError(`${f.rel}: "data" has shape (${data.shape.join(', ')}), expected (N, 3072).`, f.rel);
    }
    const n = data.shape[0];
    const isC100 = d.has('fine_labels');
    const thisVariant = isC100 ? 'cifar100' : 'cifar10';
    if (variant && variant !== thisVariant) throw new DatasetFormatError(`${f.rel} is a ${thisVariant} batch among ${variant} files; import one dataset at a time.`, f.rel);
    variant = thisVariant;
    const labels = isC100 ? intList(d.get('fine_labels'), f.rel, 'fine_labels', 100) : intList(d.get('labels'), f.rel, 'labels', 10);
    if (labels.length !== n) throw new DatasetFormatError(`${f.rel}: "data" holds ${n} images but there are ${labels.length} labels; they must agree.`, f.rel);
    const split: DraftSplit = { images: planarToHwc(data.data, n), labels };
    if (isC100) {
      split.coarseLabels = intList(d.get('coarse_labels'), f.rel, 'coarse_labels', 20);
      if (split.coarseLabels.length !== n) throw new DatasetFormatError(`${f.rel}: ${n} images but ${split.coarseLabels.length} coarse labels.`, f.rel);
    }
    const batchLabel = asText(d.get('batch_label')) ?? '';
    batches.push({ file: f.rel, test: /test/i.test(batchLabel), split });
  }
  if (batches.length === 0) throw new DatasetFormatError(`No CIFAR data batch among ${pickles.map((p) => p.rel).join(', ')}; add data_batch_1..5 and test_batch (or train and test).`);
  const train = batches.filter((b) => !b.test).map((b) => b.split);
  const test = batches.filter((b) => b.test).map((b) => b.split);
  if (train.length === 0) throw new DatasetFormatError('Only a test batch was found; add the training batches.');
  const c100 = variant === 'cifar100';
  classNames ??= c100 ? Array.from({ length: 100 }, (_, i) => `class ${i}`) : ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
  if (c100) coarseClassNames ??= Array.from({ length: 20 }, (_, i) => `superclass ${i}`);
  return {
    name: hintName ?? (c100 ? 'CIFAR-100' : 'CIFAR-10'),
    kind: c100 ? 'cifar100' : 'cifar10',
    shape: [32, 32, 3],
    classNames,
    ...(coarseClassNames ? { coarseClassNames } : {}),
    splits: { train: concat(train), ...(test.length ? { test: concat(test) } : {}) },
    provenance: { source: `CIFAR Python batches: ${batches.map((b) => b.file).join(', ')}`, url: 'https://www.cs.toronto.edu/~kriz/cifar.html' },
  };
}

function concat(parts: DraftSplit[]): DraftSplit {
  if (parts.length === 1) return parts[0];
  const n = parts.reduce((s, p) => s + p.labels.length, 0);
  const images = new Uint8Array(n * PIXELS);
  const labels = new Uint8Array(n);
  const coarse = parts.every((p) => p.coarseLabels) ? new Uint8Array(n) : undefined;
  let o = 0;
  for (const p of parts) {
    images.set(p.images, o * PIXELS);
    labels.set(p.labels as Uint8Array, o);
    if (coarse && p.coarseLabels) coarse.set(p.coarseLabels, o);
    o += p.labels.length;
  }
  return coarse ? { images, labels, coarseLabels: coarse } : { images, labels };
}
