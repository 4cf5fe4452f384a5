/** Writes IDX files (MNIST's format) exactly as the official ones are laid out. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export function idxImages(count: number, rows: number, cols: number, pixel: (i: number, y: number, x: number) => number): Buffer {
  const b = Buffer.alloc(16 + count * rows * cols);
  b.writeUInt32BE(0x00000803, 0);
  b.writeUInt32BE(count, 4);
  b.writeUInt32BE(rows, 8);
  b.writeUInt32BE(cols, 12);
  for (let i = 0; i < count; i++) for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) b[16 + i * rows * cols + y * cols + x] = pixel(i, y, x) & 255;
  return b;
}

export function idxLabels(labels: number[]): Buffer {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(0x00000801, 0);
  b.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => (b[8 + i] = l));
  return b;
}

/** Deterministic test pixel: distinct per image and position. */
export const testPixel = (i: number, y: number, x: number): number => (i * 7 + y * 3 + x * 5) % 256;
export const testLabel = (i: number): number => (i * 3) % 10;

export interface IdxSet {
  dir: string;
  files: string[];
}

/** The four MNIST files for `nTrain`/`nTest` images of 28×28 in `dir`, optionally gzip'd. */
export function writeIdxSet(dir: string, nTrain: number, nTest: number, opts: { gzip?: boolean; rows?: number; cols?: number } = {}): IdxSet {
  mkdirSync(dir, { recursive: true });
  const rows = opts.rows ?? 28;
  const cols = opts.cols ?? 28;
  const gz = (b: Buffer): Buffer => (opts.gzip ? gzipSync(b) : b);
  const ext = opts.gzip ? '.gz' : '';
  const content: [string, Buffer][] = [
    [`train-images-idx3-ubyte${ext}`, gz(idxImages(nTrain, rows, cols, testPixel))],
    [`train-labels-idx1-ubyte${ext}`, gz(idxLabels(Array.from({ length: nTrain }, (_, i) => testLabel(i))))],
    [`t10k-images-idx3-ubyte${ext}`, gz(idxImages(nTest, rows, cols, (i, y, x) => testPixel(i + 1000, y, x)))],
    [`t10k-labels-idx1-ubyte${ext}`, gz(idxLabels(Array.from({ length: nTest }, (_, i) => testLabel(i + 1))))],
  ];
  const files: string[] = [];
  for (const [name, data] of content) {
    writeFileSync(join(dir, name), data);
    files.push(join(dir, name));
  }
  return { dir, files };
}
