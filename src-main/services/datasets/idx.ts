/**
 * MNIST's IDX format (http://yann.lecun.com/exdb/mnist/): a big-endian
 * header — magic 0x00000803 (uint8, 3 dims: images) or 0x00000801 (uint8,
 * 1 dim: labels) — then the dimension sizes, then the raw bytes.
 */
import { DatasetFormatError, shortName } from './errors.ts';
import { readU32BE } from './bytes.ts';

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

export type IdxKind = 'images' | 'labels';

/** Which IDX file this is, from its first four bytes; null if neither. */
export function idxKindOf(head: Uint8Array): IdxKind | null {
  if (head.length < 4) return null;
  const magic = readU32BE(head, 0);
  if (magic === IDX_IMAGES_MAGIC) return 'images';
  if (magic === IDX_LABELS_MAGIC) return 'labels';
  return null;
}

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
}

export function parseIdxImages(data: Uint8Array, file: string): IdxImages {
  const name = shortName(file);
  if (data.length < 16) {
    throw new DatasetFormatError(`${name}: ${data.length} bytes is too short for an IDX image header (16 bytes). The file is truncated.`, file);
  }
  const magic = readU32BE(data, 0);
  if (magic !== IDX_IMAGES_MAGIC) {
    throw new DatasetFormatError(
      `${name}: wrong magic number 0x${magic.toString(16).padStart(8, '0')}, expected 0x00000803 (IDX uint8 images). This is not an MNIST image file.`,
      file,
    );
  }
  const count = readU32BE(data, 4);
  const rows = readU32BE(data, 8);
  const cols = readU32BE(data, 12);
  if (rows === 0 || cols === 0 || rows > 4096 || cols > 4096) {
    throw new DatasetFormatError(`${name}: image size ${rows}×${cols} in the header is not plausible (expected 1–4096 per side).`, file);
  }
  // Compare the declared size with the real length before allocating anything from it.
  const expected = 16 + count * rows * cols;
  if (data.length !== expected) {
    throw new DatasetFormatError(
      `${name}: the header declares ${count} images of ${rows}×${cols} (${expected} bytes) but the file holds ${data.length} bytes. ` +
        (data.length < expected ? 'The file is truncated; download it again.' : 'It has trailing data; it is not a valid IDX file.'),
      file,
    );
  }
  return { count, rows, cols, pixels: data.subarray(16) };
}

export function parseIdxLabels(data: Uint8Array, file: string): Uint8Array {
  const name = shortName(file);
  if (data.length < 8) {
    throw new DatasetFormatError(`${name}: ${data.length} bytes is too short for an IDX label header (8 bytes). The file is truncated.`, file);
  }
  const magic = readU32BE(data, 0);
  if (magic !== IDX_LABELS_MAGIC) {
    throw new DatasetFormatError(
      `${name}: wrong magic number 0x${magic.toString(16).padStart(8, '0')}, expected 0x00000801 (IDX uint8 labels). This is not an MNIST label file.`,
      file,
    );
  }
  const count = readU32BE(data, 4);
  if (data.length !== 8 + count) {
    throw new DatasetFormatError(
      `${name}: the header declares ${count} labels (${8 + count} bytes) but the file holds ${data.length} bytes. ` +
        (data.length < 8 + count ? 'The file is truncated; download it again.' : 'It has trailing data; it is not a valid IDX file.'),
      file,
    );
  }
  return data.subarray(8);
}

/**
 * Total file size an IDX header declares (header included), from its first
 * 16 bytes; null when the head is too short to say. Lets a reader cap
 * decompression at what the file claims instead of a global limit.
 */
export function idxDeclaredBytes(head: Uint8Array): number | null {
  const kind = idxKindOf(head);
  if (kind === 'labels' && head.length >= 8) return 8 + readU32BE(head, 4);
  if (kind === 'images' && head.length >= 16) return 16 + readU32BE(head, 4) * readU32BE(head, 8) * readU32BE(head, 12);
  return null;
}
