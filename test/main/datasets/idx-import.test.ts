import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  DatasetFormatError,
  DatasetLibrary,
  DatasetWriteError,
  ImportCancelledError,
  type ImportProgress,
} from '../../../src-main/services/datasets/index.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { leftovers, makeDataDir, makeTempDir } from '../helpers/tmp-data-dir.ts';
import { idxImages, idxLabels, testLabel, testPixel, writeIdxSet } from '../helpers/idx-files.ts';

let layout: DataDirLayout;
let cleanup: () => void;
let lib: DatasetLibrary;
let src: string;

beforeEach(() => {
  ({ layout, cleanup } = makeDataDir());
  lib = new DatasetLibrary(layout);
  src = makeTempDir('layerlab-src-');
});
afterEach(() => cleanup());

async function expectNothingWritten(): Promise<void> {
  expect(await lib.list()).toEqual([]);
  expect(leftovers(layout)).toEqual({ datasets: [], tmp: [] });
}

describe('IDX import', () => {
  it('imports the four raw files of a folder with exact pixels, labels, counts and stats', async () => {
    const set = writeIdxSet(join(src, 'mnist'), 50, 20);
    const { dataset, existing } = await lib.importFiles([set.dir]);
    expect(existing).toBe(false);
    expect(dataset.name).toBe('MNIST');
    expect(dataset.kind).toBe('mnist-idx');
    expect(dataset.shape).toEqual([28, 28, 1]);
    expect(dataset.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(dataset.splits.train.count).toBe(50);
    expect(dataset.splits.test?.count).toBe(20);
    expect(dataset.splits.train.classCounts).toEqual([5, 5, 5, 5, 5, 5, 5, 5, 5, 5]);
    const train = await lib.readSplit(dataset.id, 'train');
    expect(train.images.length).toBe(50 * 784);
    expect(train.images[3 * 784 + 5 * 28 + 7]).toBe(testPixel(3, 5, 7));
    expect(Array.from(train.labels.slice(0, 5))).toEqual([0, 3, 6, 9, 2]);
    const test = await lib.readSplit(dataset.id, 'test');
    expect(test.images[19 * 784 + 27 * 28 + 27]).toBe(testPixel(1019, 27, 27));
    expect(test.labels[0]).toBe(testLabel(1));
    // mean over all train pixels, computed independently
    let s = 0;
    for (let i = 0; i < 50; i++) for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) s += testPixel(i, y, x);
    expect(dataset.mean[0]).toBeCloseTo(s / (50 * 784), 10);
    expect(dataset.sources.map((f) => f.name)).toEqual([
      'mnist/t10k-images-idx3-ubyte',
      'mnist/t10k-labels-idx1-ubyte',
      'mnist/train-images-idx3-ubyte',
      'mnist/train-labels-idx1-ubyte',
    ]);
    expect(leftovers(layout).tmp).toEqual([]);
  });

  it('detects from content: gzip files renamed to meaningless names still import, paired by count', async () => {
    const set = writeIdxSet(join(src, 'x'), 30, 10, { gzip: true });
    const renamed = set.files.map((f, i) => {
      const to = join(src, `file${i}.bin`);
      copyFileSync(f, to);
      return to;
    });
    const { dataset } = await lib.importFiles(renamed);
    expect(dataset.name).toBe('IDX dataset');
    expect(dataset.splits.train.count).toBe(30);
    expect(dataset.splits.test?.count).toBe(10);
  });

  it("reads torchvision's MNIST/raw layout (each file both .gz and extracted) once", async () => {
    const raw = join(src, 'MNIST', 'raw');
    writeIdxSet(raw, 40, 10);
    writeIdxSet(raw, 40, 10, { gzip: true });
    const { dataset } = await lib.importFiles([join(src, 'MNIST')]);
    expect(dataset.splits.train.count).toBe(40);
    expect(dataset.splits.test?.count).toBe(10);
    expect(dataset.sources).toHaveLength(8);
  });

  it('recognises a re-import of the same files by checksum, even renamed', async () => {
    const set = writeIdxSet(join(src, 'mnist'), 20, 10, { gzip: true });
    const first = await lib.importFiles(set.files, { name: 'Mine' });
    const copies = set.files.map((f, i) => {
      const to = join(src, `copy${i}`);
      copyFileSync(f, to);
      return to;
    });
    const events: ImportProgress[] = [];
    const again = await lib.importFiles(copies, { onProgress: (p) => events.push(p) });
    expect(again.existing).toBe(true);
    expect(again.dataset.id).toBe(first.dataset.id);
    expect(again.dataset.name).toBe('Mine');
    expect((await lib.list()).length).toBe(1);
    expect(events.filter((e) => e.phase === 'hash').map((e) => e.done)).toEqual([1, 2, 3, 4]);
    expect(events.at(-1)).toEqual({ phase: 'done', done: 1, total: 1 });
  });

  it('lists, renames and deletes', async () => {
    const set = writeIdxSet(join(src, 'fashion-mnist'), 20, 10);
    const { dataset } = await lib.importFiles([set.dir]);
    expect(dataset.name).toBe('Fashion-MNIST'); // folder-name hint
    expect(dataset.classNames[0]).toBe('0'); // content is not Fashion-MNIST's, so digits
    const renamed = await lib.rename(dataset.id, '  My digits ');
    expect(renamed.name).toBe('My digits');
    expect((await lib.get(dataset.id)).name).toBe('My digits');
    expect((await lib.list()).map((d) => d.name)).toEqual(['My digits']);
    await expect(lib.rename(dataset.id, '   ')).rejects.toThrow('A dataset name must be 1–200 characters.');
    await lib.delete(dataset.id);
    await expectNothingWritten();
    await expect(lib.get(dataset.id)).rejects.toThrow(`No dataset "${dataset.id}" in the library.`);
    await expect(lib.get('../etc')).rejects.toThrow('No dataset "../etc" in the library.');
  });
});

describe('IDX import: bad files are refused with a precise message and leave nothing behind', () => {
  it('wrong magic', async () => {
    const set = writeIdxSet(join(src, 'm'), 10, 5);
    const bad = idxImages(10, 28, 28, testPixel);
    bad.writeUInt32BE(0x00000804, 0); // not an IDX magic we know → the file is not recognised at all
    writeFileSync(set.files[0], bad);
    const err = await lib.importFiles([set.dir]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetFormatError);
    expect((err as Error).message).toBe(
      'An MNIST-style (IDX) dataset needs one or two image files (magic 0x00000803) and as many label files (magic 0x00000801); ' +
        'found 1 image file(s) [m/t10k-images-idx3-ubyte] and 2 label file(s) [m/t10k-labels-idx1-ubyte, m/train-labels-idx1-ubyte]. ' +
        'Drop the four files (train and t10k images and labels) together.',
    );
    await expectNothingWritten();
  });

  it('truncated image file', async () => {
    const set = writeIdxSet(join(src, 'm'), 10, 5);
    const full = readFileSync(set.files[0]);
    writeFileSync(set.files[0], full.subarray(0, full.length - 100));
    await expect(lib.importFiles([set.dir])).rejects.toThrow(
      'm/train-images-idx3-ubyte: the header declares 10 images of 28×28 (7856 bytes) but the file holds 7756 bytes. The file is truncated; download it again.',
    );
    await expectNothingWritten();
  });

  it('truncated label header', async () => {
    const set = writeIdxSet(join(src, 'm'), 10, 5);
    writeFileSync(set.files[1], idxLabels([1, 2]).subarray(0, 6));
    await expect(lib.importFiles([set.dir])).rejects.toThrow(
      'm/train-labels-idx1-ubyte: 6 bytes is too short for an IDX label header (8 bytes). The file is truncated.',
    );
    await expectNothingWritten();
  });

  it('a header that declares gigabytes is checked against the file length before anything is allocated', async () => {
    const set = writeIdxSet(join(src, 'm'), 10, 5);
    const huge = idxImages(1, 28, 28, testPixel);
    huge.writeUInt32BE(0xffffffff, 4);
    writeFileSync(set.files[0], huge);
    await expect(lib.importFiles([set.dir])).rejects.toThrow(
      'm/train-images-idx3-ubyte: the header declares 4294967295 images of 28×28 (3367254359296 bytes) but the file holds 800 bytes. The file is truncated; download it again.',
    );
    await expectNothingWritten();
  });

  it('image and label counts that do not agree', async () => {
    const set = writeIdxSet(join(src, 'm'), 10, 5);
    writeFileSync(set.files[1], idxLabels([0, 1, 2, 3, 4, 5, 6, 7, 8]));
    await expect(lib.importFiles([set.dir])).rejects.toThrow(
      'train-images-idx3-ubyte holds 10 images but no label file holds 10 labels (label counts: m/t10k-labels-idx1-ubyte=5, m/train-labels-idx1-ubyte=9). ' +
        'The image and label counts must agree; check that the files belong together.',
    );
    await expectNothingWritten();
  });

  it('train and test images of different sizes', async () => {
    const set = writeIdxSet(join(src, 'm'), 10, 5);
    writeFileSync(set.files[2], idxImages(5, 32, 32, testPixel));
    await expect(lib.importFiles([set.dir])).rejects.toThrow(/images are (32×32|28×28) but .* has (28×28|32×32); train and test images must have the same size\./);
    await expectNothingWritten();
  });

  it('corrupt gzip (damaged middle)', async () => {
    const set = writeIdxSet(join(src, 'm'), 200, 5, { gzip: true });
    const gz = Buffer.from(readFileSync(set.files[0]));
    for (let i = 40; i < gz.length - 20; i += 7) gz[i] ^= 0x5a;
    writeFileSync(set.files[0], gz);
    const err = (await lib.importFiles([set.dir]).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(DatasetFormatError);
    expect(err.message).toMatch(/^m\/train-images-idx3-ubyte\.gz: (starts like a gzip file but its data is corrupt|the gzip data is corrupt) \(.+\)\. .*download it again\.$/i);
    await expectNothingWritten();
  });

  it('truncated gzip', async () => {
    const set = writeIdxSet(join(src, 'm'), 200, 5, { gzip: true });
    const gz = readFileSync(set.files[0]);
    writeFileSync(set.files[0], gz.subarray(0, Math.floor(gz.length / 2)));
    await expect(lib.importFiles([set.dir])).rejects.toThrow(
      'm/train-images-idx3-ubyte.gz: the gzip data is corrupt (unexpected end of file). The file is probably truncated or damaged; download it again.',
    );
    await expectNothingWritten();
  });

  it('labels above the class range in one split', async () => {
    const set = writeIdxSet(join(src, 'm'), 10, 5);
    // labels 0..11 → 12 classes "class 0".."class 11": allowed; the class list follows the labels
    writeFileSync(set.files[1], idxLabels([0, 1, 2, 3, 4, 5, 6, 7, 8, 11]));
    const { dataset } = await lib.importFiles([set.dir]);
    expect(dataset.classNames).toHaveLength(12);
    expect(dataset.classNames[11]).toBe('class 11');
  });

  it('cancel during hashing leaves nothing behind', async () => {
    const set = writeIdxSet(join(src, 'm'), 100, 20, { gzip: true });
    const ac = new AbortController();
    const err = await lib
      .importFiles([set.dir], { signal: ac.signal, onProgress: (p) => p.phase === 'hash' && p.done === 2 && ac.abort() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportCancelledError);
    expect((err as Error).message).toBe('Import cancelled; nothing was added to the library.');
    await expectNothingWritten();
  });

  it('cancel during writing leaves nothing behind', async () => {
    const set = writeIdxSet(join(src, 'm'), 100, 20);
    const ac = new AbortController();
    const err = await lib
      .importFiles([set.dir], { signal: ac.signal, onProgress: (p) => p.phase === 'write' && p.done === 1 && ac.abort() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportCancelledError);
    await expectNothingWritten();
  });

  it('a full disk (simulated ENOSPC on the second data file) undoes the import', async () => {
    const set = writeIdxSet(join(src, 'm'), 100, 20);
    let writes = 0;
    const err = await lib
      .importFiles([set.dir], {
        writeFile: async (p, d) => {
          if (++writes === 2) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
          writeFileSync(p, d);
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetWriteError);
    expect((err as Error).message).toBe(`The disk holding ${layout.root} is full; the import was undone. Free some space and import again.`);
    await expectNothingWritten();
  });

  it('a process killed mid-import leaves only a temp folder that the next start removes; it is never listed', async () => {
    const set = writeIdxSet(join(src, 'm'), 10, 5);
    await lib.importFiles([set.dir]);
    // Simulate a killed writer: a half-written folder in tmp (dead pid) and a manifest-less folder in datasets.
    mkdirSync(join(layout.tmp, 'write-999999-x-abc'), { recursive: true });
    writeFileSync(join(layout.tmp, 'write-999999-x-abc', 'train-images.u8'), Buffer.alloc(10));
    mkdirSync(join(layout.datasets, 'half-done'), { recursive: true });
    writeFileSync(join(layout.datasets, 'half-done', 'train-images.u8'), gzipSync(Buffer.alloc(10)));
    expect((await lib.list()).length).toBe(1);
    expect(await lib.cleanupStaleTemp()).toBe(1);
    expect(leftovers(layout).tmp).toEqual([]);
  });

  it('a file that is no dataset at all', async () => {
    writeFileSync(join(src, 'notes.txt'), 'hello\n');
    await expect(lib.importFiles([join(src, 'notes.txt')])).rejects.toThrow(/^No dataset format recognised in 1 file\(s\)/);
    await expectNothingWritten();
  });
});
