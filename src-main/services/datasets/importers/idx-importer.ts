/**
 * MNIST / Fashion-MNIST (and any dataset in the same IDX layout): two image
 * files (magic 0x803) and two label files (magic 0x801), raw or gzip, loose,
 * in a folder, in torchvision's `MNIST/raw` layout or in an archive.
 *
 * Pairing is by content: an image file pairs with the label file of the same
 * count. The larger pair is `train`, the smaller `test`; when counts tie, the
 * name hint ("t10k"/"test") decides.
 *
 * Naming: the content cannot tell MNIST from Fashion-MNIST, except that we
 * know Fashion-MNIST's label checksums. Decision: if the label files match
 * Fashion-MNIST's → name "Fashion-MNIST" with Zalando's class names;
 * otherwise the name comes from folder/file hints ("fashion" → Fashion-MNIST,
 * "mnist" → MNIST, else "IDX dataset") and classes are '0'..'9' when labels
 * are 0–9 (digits, as MNIST), else "class N". The user can rename.
 */
import { DatasetFormatError, shortName, throwIfCancelled } from '../errors.ts';
import { MAX_INPUT_BYTES, readMaybeGzip, sha256 } from '../bytes.ts';
import { parseIdxImages, parseIdxLabels, type IdxImages } from '../idx.ts';
import type { DatasetDraft, DraftSplit } from '../draft.ts';
import type { InputFile } from '../scan.ts';
import { FASHION_MNIST_CLASSES, isFashionMnistLabels } from './known-datasets.ts';

interface LoadedImages extends IdxImages {
  file: InputFile;
}
interface LoadedLabels {
  file: InputFile;
  raw: Uint8Array;
  labels: Uint8Array;
}

const isTestHint = (f: InputFile): boolean => /t10k|test/i.test(f.rel.split('/').pop() ?? '');

/**
 * torchvision's `MNIST/raw` holds each file twice (the .gz and its extracted
 * copy): keep one of every pair with identical decompressed content.
 */
async function loadUnique(files: InputFile[], signal?: AbortSignal): Promise<{ file: InputFile; data: Buffer }[]> {
  const seen = new Map<string, { file: InputFile; data: Buffer }>();
  for (const f of files) {
    throwIfCancelled(signal);
    // Cap decompression at what the header declares (+1 to notice trailing data): a gzip bomb stops early.
    const cap = f.declaredBytes !== undefined ? Math.min(MAX_INPUT_BYTES, f.declaredBytes + 1) : MAX_INPUT_BYTES;
    const data = await readMaybeGzip(f.path, cap);
    const key = sha256(data);
    const prev = seen.get(key);
    // Prefer the uncompressed copy's name for messages; content is the same.
    if (!prev || (prev.file.gzip && !f.gzip)) seen.set(key, { file: f, data });
  }
  return [...seen.values()];
}

export async function importIdx(files: InputFile[], hintName: string | undefined, signal?: AbortSignal): Promise<DatasetDraft> {
  const imageLoaded = await loadUnique(files.filter((f) => f.kind === 'idx-images'), signal);
  const labelLoaded = await loadUnique(files.filter((f) => f.kind === 'idx-labels'), signal);
  const imageFiles = imageLoaded.map((l) => l.file);
  const labelFiles = labelLoaded.map((l) => l.file);
  if (imageFiles.length === 0 || labelFiles.length === 0 || imageFiles.length > 2 || labelFiles.length > 2 || imageFiles.length !== labelFiles.length) {
    throw new DatasetFormatError(
      `An MNIST-style (IDX) dataset needs one or two image files (magic 0x00000803) and as many label files (magic 0x00000801); ` +
        `found ${imageFiles.length} image file(s) [${imageFiles.map((f) => f.rel).join(', ')}] and ${labelFiles.length} label file(s) ` +
        `[${labelFiles.map((f) => f.rel).join(', ')}]. Drop the four files (train and t10k images and labels) together.`,
    );
  }
  const images: LoadedImages[] = imageLoaded.map(({ file, data }) => ({ file, ...parseIdxImages(data, file.rel) }));
  const labels: LoadedLabels[] = labelLoaded.map(({ file, data }) => ({ file, raw: data, labels: parseIdxLabels(data, file.rel) }));
  const [r0, c0] = [images[0].rows, images[0].cols];
  for (const im of images) {
    if (im.rows !== r0 || im.cols !== c0) {
      throw new DatasetFormatError(
        `${shortName(im.file.rel)}: images are ${im.rows}×${im.cols} but ${shortName(images[0].file.rel)} has ${r0}×${c0}; train and test images must have the same size.`,
        im.file.rel,
      );
    }
  }
  // Pair by count.
  const pairs: { im: LoadedImages; lb: LoadedLabels }[] = [];
  const unusedLabels = [...labels];
  for (const im of [...images].sort((a, b) => Number(isTestHint(a.file)) - Number(isTestHint(b.file)))) {
    const candidates = unusedLabels.filter((l) => l.labels.length === im.count);
    const pick = candidates.find((l) => isTestHint(l.file) === isTestHint(im.file)) ?? candidates[0];
    if (!pick) {
      throw new DatasetFormatError(
        `${shortName(im.file.rel)} holds ${im.count} images but no label file holds ${im.count} labels ` +
          `(label counts: ${labels.map((l) => `${shortName(l.file.rel)}=${l.labels.length}`).join(', ')}). The image and label counts must agree; check that the files belong together.`,
        im.file.rel,
      );
    }
    unusedLabels.splice(unusedLabels.indexOf(pick), 1);
    pairs.push({ im, lb: pick });
  }
  pairs.sort((a, b) => b.im.count - a.im.count || Number(isTestHint(a.im.file)) - Number(isTestHint(b.im.file)));

  let maxLabel = 0;
  for (const p of pairs) for (let i = 0; i < p.lb.labels.length; i++) if (p.lb.labels[i] > maxLabel) maxLabel = p.lb.labels[i];
  const fashion = pairs.every((p) => isFashionMnistLabels(p.lb.raw));
  const hints = files.map((f) => f.rel).join(' ').toLowerCase();
  const name = hintName ?? (fashion || hints.includes('fashion') ? 'Fashion-MNIST' : hints.includes('mnist') ? 'MNIST' : 'IDX dataset');
  const classNames = fashion
    ? FASHION_MNIST_CLASSES
    : maxLabel <= 9
      ? Array.from({ length: 10 }, (_, i) => String(i))
      : Array.from({ length: maxLabel + 1 }, (_, i) => `class ${i}`);

  const split = (p: { im: LoadedImages; lb: LoadedLabels }): DraftSplit => ({ images: p.im.pixels, labels: p.lb.labels });
  return {
    name,
    kind: 'mnist-idx',
    shape: [r0, c0, 1],
    classNames,
    splits: { train: split(pairs[0]), ...(pairs[1] ? { test: split(pairs[1]) } : {}) },
    provenance: {
      source: `IDX files: ${files.filter((f) => f.kind.startsWith('idx')).map((f) => f.rel).join(', ')}`,
      ...(fashion ? { licence: 'MIT (Zalando SE)', url: 'https://github.com/zalandoresearch/fashion-mnist' } : {}),
    },
  };
}
