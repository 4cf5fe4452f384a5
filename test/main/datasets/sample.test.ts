import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, statSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  DatasetLibrary,
  FASHION_MNIST_CLASSES,
  SAMPLE_ID,
  ensureSampleInstalled,
  resourcesDir,
  sampleSourceDir,
} from '../../../src-main/services/datasets/index.ts';
import { readMaybeGzip } from '../../../src-main/services/datasets/bytes.ts';
import { parseIdxImages } from '../../../src-main/services/datasets/idx.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { makeDataDir } from '../helpers/tmp-data-dir.ts';
import { DEBIAN_FASHION_MNIST, requireDebianFashionMnist } from '../helpers/debian-fashion-mnist.ts';

let layout: DataDirLayout;
let cleanup: () => void;
beforeEach(() => ({ layout, cleanup } = makeDataDir()));
afterEach(() => cleanup());

describe('shipped Fashion-MNIST sample', () => {
  it('resourcesDir() finds the repository resources folder from source', () => {
    expect(resourcesDir()).toBe(resolve(__dirname, '../../../resources'));
    expect(existsSync(join(sampleSourceDir(), 'dataset.json'))).toBe(true);
  });

  it('is small (< 3 MB) and carries its MIT licence', () => {
    const dir = sampleSourceDir();
    const bytes = readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
    expect(bytes).toBeLessThan(3_000_000);
    const licence = readFileSync(join(dir, 'LICENSE'), 'utf8');
    expect(licence).toContain('The MIT License (MIT)');
    expect(licence).toContain('Zalando SE');
  });

  it('appears in the library on first launch with 300/100 images per class', async () => {
    const lib = new DatasetLibrary(layout);
    expect(await ensureSampleInstalled(layout)).toBe(true);
    const [ds] = await lib.list();
    expect(ds.id).toBe(SAMPLE_ID);
    expect(ds.kind).toBe('sample');
    expect(ds.classNames).toEqual(FASHION_MNIST_CLASSES);
    expect(ds.splits.train.classCounts).toEqual(new Array(10).fill(300));
    expect(ds.splits.test?.classCounts).toEqual(new Array(10).fill(100));
    const train = await lib.readSplit(SAMPLE_ID, 'train');
    expect(train.count).toBe(3000);
    expect(train.images.length).toBe(3000 * 784);
    const test = await lib.readSplit(SAMPLE_ID, 'test');
    expect(test.count).toBe(1000);
  });

  it('is installed once: a second call does nothing, and a deleted sample stays deleted', async () => {
    const lib = new DatasetLibrary(layout);
    expect(await ensureSampleInstalled(layout)).toBe(true);
    expect(await ensureSampleInstalled(layout)).toBe(false);
    await lib.delete(SAMPLE_ID);
    expect(await ensureSampleInstalled(layout)).toBe(false);
    expect(await lib.list()).toEqual([]);
  });

  it('holds real Fashion-MNIST training images (every sample image is one of Debian’s)', async () => {
    requireDebianFashionMnist();
    const full = parseIdxImages(await readMaybeGzip(join(DEBIAN_FASHION_MNIST, 'train-images-idx3-ubyte.gz')), 'train');
    const hashes = new Set<string>();
    for (let i = 0; i < full.count; i++) hashes.add(createHash('sha1').update(full.pixels.subarray(i * 784, (i + 1) * 784)).digest('hex'));
    await ensureSampleInstalled(layout);
    const train = await new DatasetLibrary(layout).readSplit(SAMPLE_ID, 'train');
    let found = 0;
    for (let i = 0; i < train.count; i++) if (hashes.has(createHash('sha1').update(train.images.subarray(i * 784, (i + 1) * 784)).digest('hex'))) found++;
    expect(found).toBe(3000);
  });
});
