/**
 * Imports the real Fashion-MNIST from Debian's dataset-fashion-mnist. CI
 * installs it; when it is missing this test fails (it must not skip quietly).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetLibrary, FASHION_MNIST_CLASSES, type DatasetInfo } from '../../../src-main/services/datasets/index.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { leftovers, makeDataDir } from '../helpers/tmp-data-dir.ts';
import { DEBIAN_FASHION_MNIST, requireDebianFashionMnist } from '../helpers/debian-fashion-mnist.ts';

describe('real Fashion-MNIST (Debian dataset-fashion-mnist)', () => {
  let layout: DataDirLayout;
  let cleanup: () => void;
  let lib: DatasetLibrary;
  let ds: DatasetInfo;

  beforeAll(async () => {
    requireDebianFashionMnist();
    ({ layout, cleanup } = makeDataDir());
    lib = new DatasetLibrary(layout);
    ds = (await lib.importFiles([DEBIAN_FASHION_MNIST])).dataset;
  });
  afterAll(() => cleanup?.());

  it('is recognised as Fashion-MNIST by its label checksums, with Zalando class names', () => {
    expect(ds.name).toBe('Fashion-MNIST');
    expect(ds.classNames).toEqual(FASHION_MNIST_CLASSES);
    expect(ds.provenance.licence).toBe('MIT (Zalando SE)');
  });

  it('has 60,000 train and 10,000 test images of 28×28×1, balanced', () => {
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(ds.splits.train.count).toBe(60000);
    expect(ds.splits.test?.count).toBe(10000);
    expect(ds.splits.train.classCounts).toEqual(new Array(10).fill(6000));
    expect(ds.splits.test?.classCounts).toEqual(new Array(10).fill(1000));
  });

  it('has the published normalisation statistics (mean 0.2860, std 0.3530 of 255)', () => {
    expect(ds.mean[0] / 255).toBeCloseTo(0.286, 3);
    expect(ds.std[0] / 255).toBeCloseTo(0.353, 3);
  });

  it('stores the Debian files’ sha256 and reads back the first test labels (9, 2, 1, 1, 6)', async () => {
    expect(ds.sources.find((s) => s.name.endsWith('t10k-labels-idx1-ubyte.gz'))?.sha256).toBe(
      '8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05',
    );
    const test = await lib.readSplit(ds.id, 'test');
    expect(Array.from(test.labels.slice(0, 5))).toEqual([9, 2, 1, 1, 6]);
    expect(test.images.length).toBe(10000 * 784);
    expect(leftovers(layout).tmp).toEqual([]);
  });

  it('a second import of the same files returns the existing dataset', async () => {
    const again = await lib.importFiles([DEBIAN_FASHION_MNIST]);
    expect(again.existing).toBe(true);
    expect(again.dataset.id).toBe(ds.id);
  });
});
