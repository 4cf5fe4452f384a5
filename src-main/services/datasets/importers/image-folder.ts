/**
 * Image folders in torchvision's ImageFolder convention:
 *   root/<class>/*.png|jpg|webp            (all train)
 *   root/train/<class>/…, root/test/<class>/…  ("val", "valid", "validation" count as test)
 * loose or zipped. Each image is decoded and resized with sharp to the
 * chosen size (default 32×32 RGB; 28×28 when grayscale is asked without a
 * size), cover-fit (centre crop after scaling, as Resize+CenterCrop), alpha
 * flattened onto black. Class names are the sorted folder names.
 */
import sharp, { type OutputInfo } from 'sharp';
import { DatasetFormatError, throwIfCancelled } from '../errors.ts';
import type { DatasetDraft, DraftSplit } from '../draft.ts';
import type { InputFile } from '../scan.ts';
import { naturalCompare } from './class-names-text.ts';

export interface ImageFolderOptions {
  /** Output side in pixels (square), 4–512. */
  size?: number;
  /** 3 = RGB (default), 1 = grayscale. */
  channels?: 1 | 3;
  /** How to fit non-square images: centre crop (default), stretch, or letterbox. */
  fit?: 'cover' | 'fill' | 'contain';
}

const TEST_NAMES = new Set(['test', 'val', 'valid', 'validation']);
/** Decodes in flight at once: enough to keep libvips' threads busy, bounded for memory. */
const DECODE_PARALLEL = 8;

interface Item {
  file: InputFile;
  split: 'train' | 'test';
  cls: string;
}

function commonDirPrefix(paths: string[][]): number {
  const n = Math.min(...paths.map((p) => p.length - 1));
  for (let i = 0; i < n; i++) {
    const v = paths[0][i];
    if (!paths.every((p) => p[i] === v)) return i;
  }
  return n;
}

export async function importImageFolder(
  files: InputFile[],
  hintName: string | undefined,
  opts: ImageFolderOptions,
  signal?: AbortSignal,
  onProgress?: (done: number, total: number) => void,
): Promise<DatasetDraft> {
  const channels = opts.channels ?? 3;
  const size = opts.size ?? (channels === 1 ? 28 : 32);
  if (!Number.isInteger(size) || size < 4 || size > 512) throw new DatasetFormatError(`Image size ${size} is not allowed; pick a whole number of pixels from 4 to 512.`);
  const images = files.filter((f) => f.kind === 'image');
  if (images.length === 0) throw new DatasetFormatError('No images (PNG, JPEG, WebP) found in the folder.');
  const parts = images.map((f) => f.rel.split('/'));
  // Keep at least two levels (class/file) below the common prefix.
  let root = commonDirPrefix(parts);
  root = Math.min(root, Math.min(...parts.map((p) => p.length)) - 2);
  if (root < 0) {
    throw new DatasetFormatError(`Images must sit in one folder per class (root/<class>/image.png); ${images.find((f) => f.rel.split('/').length < 2)?.rel} is not in a class folder.`);
  }
  const depth = new Set(parts.map((p) => p.length - root));
  if (depth.size !== 1) {
    throw new DatasetFormatError(
      'The folder mixes images at different depths; use either root/<class>/image or root/train|test/<class>/image, not both. ' +
        `For example ${images[0].rel} and ${images.find((_, i) => parts[i].length !== parts[0].length)?.rel}.`,
    );
  }
  const d = [...depth][0];
  const rootPrefix = parts[0].slice(0, root).join('/');
  const items: Item[] = [];
  for (let i = 0; i < images.length; i++) {
    const p = parts[i].slice(root);
    if (d === 2) items.push({ file: images[i], split: 'train', cls: p[0] });
    else if (d === 3) {
      const s = p[0].toLowerCase();
      if (s !== 'train' && !TEST_NAMES.has(s)) {
        throw new DatasetFormatError(`"${p[0]}" in ${images[i].rel} is not a split folder; with three levels the first must be "train" or "test" (or "val").`, images[i].rel);
      }
      items.push({ file: images[i], split: s === 'train' ? 'train' : 'test', cls: p[1] });
    } else {
      throw new DatasetFormatError(`${images[i].rel} is nested too deep; use root/<class>/image or root/train|test/<class>/image.`, images[i].rel);
    }
  }
  // Anything that is not an image inside the class folders is a mistake the user should see by name.
  const stray = files.filter((f) => f.kind !== 'image' && f.kind !== 'empty' && rootPrefix !== '' && f.rel.startsWith(rootPrefix + '/') && f.rel.split('/').length > root + 1);
  if (stray.length) {
    throw new DatasetFormatError(
      `Not images: ${stray.slice(0, 5).map((f) => f.rel).join(', ')}${stray.length > 5 ? ` and ${stray.length - 5} more` : ''}. Only PNG, JPEG and WebP files may sit in class folders; remove the others.`,
      stray[0].rel,
    );
  }
  const emptyDirs = files.filter((f) => f.kind === 'empty' && f.rel.endsWith('/'));
  if (emptyDirs.length) throw new DatasetFormatError(`Class folder ${emptyDirs[0].rel} is empty; every class needs images. Remove it or add images.`, emptyDirs[0].rel);

  const classNames = [...new Set(items.filter((it) => it.split === 'train').map((it) => it.cls))].sort(naturalCompare);
  const classIndex = new Map(classNames.map((c, i) => [c, i]));
  const testOnly = items.find((it) => it.split === 'test' && !classIndex.has(it.cls));
  if (testOnly) throw new DatasetFormatError(`Class "${testOnly.cls}" has test images but no training images (${testOnly.file.rel}); every class needs training images.`, testOnly.file.rel);
  if (classNames.length < 2) throw new DatasetFormatError(`Only one class ("${classNames[0]}") found; a classification dataset needs at least two class folders.`);

  items.sort((a, b) => (a.split === b.split ? 0 : a.split === 'train' ? -1 : 1) || classIndex.get(a.cls)! - classIndex.get(b.cls)! || naturalCompare(a.file.rel, b.file.rel));
  const per = size * size * channels;
  const bySplit = { train: items.filter((i) => i.split === 'train'), test: items.filter((i) => i.split === 'test') };
  const out: Partial<Record<'train' | 'test', DraftSplit>> = {};
  let done = 0;
  for (const split of ['train', 'test'] as const) {
    const list = bySplit[split];
    if (list.length === 0) continue;
    const pix = new Uint8Array(list.length * per);
    const labels = new Uint8Array(list.length);
    const decodeOne = async (k: number): Promise<void> => {
      const it = list[k];
      let img = sharp(it.file.path, { failOn: 'error', limitInputPixels: 100_000_000 })
        .rotate() // honour EXIF orientation, as viewers do
        .flatten({ background: '#000000' })
        .resize(size, size, { fit: opts.fit ?? 'cover', background: '#000000' });
      img = channels === 1 ? img.grayscale() : img.toColourspace('srgb');
      let data: Buffer;
      let info: OutputInfo;
      try {
        ({ data, info } = await img.raw().toBuffer({ resolveWithObject: true }));
      } catch (e) {
        throw new DatasetFormatError(`${it.file.rel}: cannot decode this image (${(e as Error).message}). Remove or replace the file.`, it.file.rel);
      }
      if (info.channels !== channels || data.length !== per) {
        throw new DatasetFormatError(`${it.file.rel}: decoded to ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×${channels}.`, it.file.rel);
      }
      pix.set(data, k * per);
      labels[k] = classIndex.get(it.cls)!;
    };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < list.length) {
        throwIfCancelled(signal);
        const k = next++;
        await decodeOne(k);
        onProgress?.(++done, items.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(DECODE_PARALLEL, list.length) }, worker));
    out[split] = { images: pix, labels };
  }
  if (classNames.length > 256) {
    out.train!.labels = Uint16Array.from(bySplit.train.map((it) => classIndex.get(it.cls)!));
    if (out.test) out.test.labels = Uint16Array.from(bySplit.test.map((it) => classIndex.get(it.cls)!));
  }
  const rootName = rootPrefix.split('/').pop() || 'Image folder';
  return {
    name: hintName ?? rootName,
    kind: 'image-folder',
    shape: [size, size, channels],
    classNames,
    splits: { train: out.train!, ...(out.test ? { test: out.test } : {}) },
    provenance: { source: `Image folder "${rootPrefix || '.'}": ${items.length} images, resized to ${size}×${size} ${channels === 1 ? 'grayscale' : 'RGB'} (${opts.fit ?? 'cover'})` },
  };
}
