import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tar from 'tar';
import { DatasetFormatError, DatasetLibrary } from '../../../src-main/services/datasets/index.ts';
import { readPickle, PyDict, type NdArrayU8 } from '../../../src-main/services/datasets/pickle.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { leftovers, makeDataDir, makeTempDir } from '../helpers/tmp-data-dir.ts';
import {
  CIFAR10_NAMES,
  Py2Pickle,
  c100Fine,
  c10Label,
  cifarPixel,
  tarGz,
  writeCifar100Binary,
  writeCifar100Python,
  writeCifar10Binary,
  writeCifar10Python,
} from '../helpers/cifar-files.ts';

let layout: DataDirLayout;
let cleanup: () => void;
let lib: DatasetLibrary;
let src: string;
beforeEach(() => {
  ({ layout, cleanup } = makeDataDir());
  lib = new DatasetLibrary(layout);
  src = makeTempDir('layerlab-cifar-');
});
afterEach(() => cleanup());

async function expectNothingWritten(): Promise<void> {
  expect(await lib.list()).toEqual([]);
  expect(leftovers(layout)).toEqual({ datasets: [], tmp: [] });
}

/** Pixel (y, x, c) of stored image k must equal the planar source pixel of image `srcIndex`. */
function expectHwc(images: Uint8Array, k: number, srcIndex: number): void {
  for (const [y, x, c] of [[0, 0, 0], [31, 31, 2], [5, 17, 1], [20, 3, 0]]) {
    expect(images[k * 3072 + (y * 32 + x) * 3 + c]).toBe(cifarPixel(srcIndex, c, y, x));
  }
}

describe('CIFAR-10 binary', () => {
  it('imports loose batches: planar pixels become HWC, names from batches.meta.txt, test_batch is the test split', async () => {
    const dir = writeCifar10Binary(join(src, 'cifar-10-batches-bin'), 20, 5, 10);
    const { dataset } = await lib.importFiles([dir]);
    expect(dataset.name).toBe('CIFAR-10');
    expect(dataset.kind).toBe('cifar10');
    expect(dataset.shape).toEqual([32, 32, 3]);
    expect(dataset.classNames).toEqual(CIFAR10_NAMES);
    expect(dataset.splits.train.count).toBe(100);
    expect(dataset.splits.test?.count).toBe(10);
    expect(dataset.splits.train.classCounts).toEqual(new Array(10).fill(10));
    const train = await lib.readSplit(dataset.id, 'train');
    expectHwc(train.images, 0, 0);
    expectHwc(train.images, 47, 47); // batch 3, in natural file order
    expect(train.labels[47]).toBe(c10Label(47));
    const test = await lib.readSplit(dataset.id, 'test');
    expectHwc(test.images, 9, 100_009);
  });

  it('imports the official .tar.gz', async () => {
    writeCifar10Binary(join(src, 'cifar-10-batches-bin'), 10, 5, 10);
    const archive = await tarGz(src, 'cifar-10-batches-bin', join(src, 'cifar-10-binary.tar.gz'));
    const { dataset } = await lib.importFiles([archive]);
    expect(dataset.splits.train.count).toBe(50);
    expect(dataset.sources).toHaveLength(1);
    expect(dataset.sources[0].name.endsWith('cifar-10-binary.tar.gz')).toBe(true);
    expect(leftovers(layout).tmp).toEqual([]);
  });

  it('a truncated batch is named with its size', async () => {
    const dir = writeCifar10Binary(join(src, 'c'), 10, 2, 5);
    const b = readFileSync(join(dir, 'data_batch_2.bin'));
    writeFileSync(join(dir, 'data_batch_2.bin'), b.subarray(0, b.length - 1000));
    await expect(lib.importFiles([dir])).rejects.toThrow(
      'c/data_batch_2.bin: 29730 bytes is not a whole number of 3073-byte CIFAR-10 records. The file is truncated or not a CIFAR batch; download it again.',
    );
    await expectNothingWritten();
  });

  it('a label byte out of range is refused', async () => {
    const dir = writeCifar10Binary(join(src, 'c'), 10, 1, 5);
    const b = readFileSync(join(dir, 'data_batch_1.bin'));
    b[3073 * 4] = 12;
    writeFileSync(join(dir, 'data_batch_1.bin'), b);
    await expect(lib.importFiles([dir])).rejects.toThrow(
      'c/data_batch_1.bin: a label byte is out of range (CIFAR-10 labels are 0–9; CIFAR-100 coarse 0–19, fine 0–99). This is not a CIFAR 10 batch, or it is corrupt.',
    );
    await expectNothingWritten();
  });
});

describe('CIFAR-100 binary', () => {
  it('keeps fine labels as classes and coarse labels beside them, with both name lists', async () => {
    const dir = writeCifar100Binary(join(src, 'cifar-100-binary'), 200, 50);
    const { dataset } = await lib.importFiles([dir]);
    expect(dataset.kind).toBe('cifar100');
    expect(dataset.classNames).toHaveLength(100);
    expect(dataset.classNames[42]).toBe('fine_42');
    expect(dataset.coarseClassNames?.[19]).toBe('coarse_19');
    const train = await lib.readSplit(dataset.id, 'train');
    expect(train.count).toBe(200);
    expect(train.labels[123]).toBe(c100Fine(123));
    expect(train.coarseLabels?.[123]).toBe(c100Fine(123) % 20);
    expectHwc(train.images, 123, 123);
    expect((await lib.readSplit(dataset.id, 'test')).count).toBe(50);
  });
});

describe('archives: unsafe or corrupt', () => {
  it('refuses a tar entry that climbs out with "..", writing nothing', async () => {
    const inner = join(src, 'a', 'b');
    writeCifar10Binary(join(src, 'a', 'cifar'), 10, 1, 5);
    mkdirSync(inner, { recursive: true });
    writeFileSync(join(src, 'a', 'evil.bin'), 'x');
    const archive = join(src, 'evil.tar.gz');
    await tar.c({ gzip: true, file: archive, cwd: inner, preservePaths: true }, ['../cifar', '../evil.bin']);
    await expect(lib.importFiles([archive])).rejects.toThrow(
      /evil\.tar\.gz: refused to extract because entry "\.\.\/cifar\/?" points outside the archive's folder\. LayerLab only imports plain files from archives\./,
    );
    await expectNothingWritten();
  });

  it('refuses a symlink inside a tar', async () => {
    const dir = writeCifar10Binary(join(src, 'cifar'), 10, 1, 5);
    symlinkSync('/etc/passwd', join(dir, 'link'));
    const archive = await tarGz(src, 'cifar', join(src, 'links.tar.gz'));
    await expect(lib.importFiles([archive])).rejects.toThrow(
      'links.tar.gz: refused to extract because entry "cifar/link" is a symbolic link. LayerLab only imports plain files from archives.',
    );
    await expectNothingWritten();
  });

  it('a truncated .tar.gz is reported as corrupt', async () => {
    writeCifar10Binary(join(src, 'cifar'), 10, 2, 5);
    const archive = await tarGz(src, 'cifar', join(src, 'c.tar.gz'));
    const b = readFileSync(archive);
    writeFileSync(archive, b.subarray(0, Math.floor(b.length * 0.6)));
    const err = (await lib.importFiles([archive]).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(DatasetFormatError);
    expect(err.message).toMatch(/^[^:]*c\.tar\.gz: the tar archive is corrupt or truncated \(.+\)\. Download it again\.$/);
    await expectNothingWritten();
  });
});

describe('CIFAR Python version (strict pickle reader)', () => {
  it('imports cifar-10-batches-py: test split chosen by batch_label, names from batches.meta', async () => {
    const dir = writeCifar10Python(join(src, 'cifar-10-batches-py'), 20, 5, 10);
    const { dataset } = await lib.importFiles([dir]);
    expect(dataset.name).toBe('CIFAR-10');
    expect(dataset.classNames).toEqual(CIFAR10_NAMES);
    expect(dataset.splits.train.count).toBe(100);
    expect(dataset.splits.test?.count).toBe(10);
    const train = await lib.readSplit(dataset.id, 'train');
    expectHwc(train.images, 63, 63);
    expect(train.labels[63]).toBe(c10Label(63));
    const test = await lib.readSplit(dataset.id, 'test');
    expectHwc(test.images, 4, 100_004);
  });

  it('imports cifar-100-python from its .tar.gz with fine and coarse labels', async () => {
    writeCifar100Python(join(src, 'cifar-100-python'), 120, 30);
    const archive = await tarGz(src, 'cifar-100-python', join(src, 'cifar-100-python.tar.gz'));
    const { dataset } = await lib.importFiles([archive]);
    expect(dataset.kind).toBe('cifar100');
    expect(dataset.classNames[7]).toBe('fine_7');
    expect(dataset.coarseClassNames).toHaveLength(20);
    const train = await lib.readSplit(dataset.id, 'train');
    expect(train.count).toBe(120);
    expect(train.labels[77]).toBe(c100Fine(77));
    expect(train.coarseLabels?.[77]).toBe(c100Fine(77) % 20);
    expectHwc(train.images, 77, 77);
  });

  it('refuses a pickle that names any other global (e.g. os.system) without running anything', () => {
    const evil = new Py2Pickle().global('os', 'system').str('touch /tmp/pwned').raw(Buffer.from([0x85, 0x52])).stop();
    expect(() => readPickle(evil, 'evil')).toThrow(
      'evil: not a CIFAR pickle this reader accepts — global "os.system" is not allowed (only numpy array reconstruction is) (at byte 13). Use the official CIFAR Python files.',
    );
  });

  it('refuses opcodes CIFAR pickles do not use', () => {
    const b = Buffer.from([0x80, 0x02, 0x8c, 0x01, 0x61, 0x2e]); // SHORT_BINUNICODE (protocol 4)
    expect(() => readPickle(b, 'p4')).toThrow("p4: not a CIFAR pickle this reader accepts — opcode 0x8c ('?') is not one CIFAR's pickles use (at byte 3).");
  });

  it('a truncated pickle says how many bytes are missing', () => {
    const whole = new Py2Pickle().emptyDict().mark().str('data').ndarrayU8([2, 3072], new Uint8Array(6144)).setitems().stop();
    expect(() => readPickle(whole.subarray(0, 1000), 'cut')).toThrow(/^cut: not a CIFAR pickle this reader accepts — the file ends early: 6144 more bytes needed, \d+ left \(truncated\?\)/);
  });

  it('an array whose declared shape disagrees with its data is refused', () => {
    const bad = new Py2Pickle().ndarrayU8([3, 3072], new Uint8Array(6144)).stop();
    expect(() => readPickle(bad, 'bad')).toThrow('numpy array of shape (3, 3072) needs 9216 bytes but holds 6144');
  });

  const python = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  it.skipIf(python.status !== 0)('reads a pickle written by real Python 3 + numpy (protocol 2) — skipped when python3/numpy is absent', () => {
    const out = spawnSync(
      'python3',
      ['-c', "import pickle,sys,numpy as np; sys.stdout.buffer.write(pickle.dumps({b'data': np.arange(6144, dtype=np.uint8).reshape(2,3072)%251, b'labels':[3, 300, 70000], b'batch_label': b'testing batch 1 of 1'}, protocol=2))"],
      { maxBuffer: 1 << 24 },
    );
    expect(out.status).toBe(0);
    const v = readPickle(out.stdout, 'py3');
    expect(v).toBeInstanceOf(PyDict);
    const d = (v as PyDict).map;
    expect(d.get('labels')).toEqual([3, 300, 70000]);
    const arr = d.get('data') as NdArrayU8;
    expect(arr.shape).toEqual([2, 3072]);
    expect(arr.data[5000]).toBe((5000 % 256) % 251); // arange wraps at 256 in uint8, then % 251
  });
});
