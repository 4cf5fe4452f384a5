import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetLibrary, DatasetFormatError, DatasetWriteError, writeDataset, resourcesDir } from '../../../src-main/services/datasets/index.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { leftovers, makeDataDir } from '../helpers/tmp-data-dir.ts';

let layout: DataDirLayout;
let cleanup: () => void;
beforeEach(() => ({ layout, cleanup } = makeDataDir()));
afterEach(() => cleanup());

const KEY = 'a'.repeat(64);

describe('dataset writer and on-disk format', () => {
  it('stores > 256 classes as little-endian uint16 labels and reads them back', async () => {
    const n = 600;
    const labels = Uint16Array.from({ length: n }, (_, i) => i % 300);
    const images = new Uint8Array(n * 4).map((_, i) => i % 251);
    const m = await writeDataset(
      layout,
      { name: 'Many classes', kind: 'image-folder', shape: [2, 2, 1], classNames: Array.from({ length: 300 }, (_, i) => `c${i}`), splits: { train: { images, labels } }, provenance: { source: 'test' } },
      [],
      KEY,
    );
    expect(m.id).toBe('many-classes-aaaaaaaa');
    expect(m.labelBytes).toBe(2);
    expect(m.splits.train.labels).toBe('train-labels.u16');
    const raw = readFileSync(join(layout.datasets, m.id, 'train-labels.u16'));
    expect(raw.length).toBe(1200);
    expect(raw.readUInt16LE(2 * 299)).toBe(299);
    const back = await new DatasetLibrary(layout).readSplit(m.id, 'train');
    expect(back.labels).toBeInstanceOf(Uint16Array);
    expect(back.labels[599]).toBe(599 % 300);
    expect(back.images[17]).toBe(17);
    expect(m.splits.train.classCounts.slice(0, 3)).toEqual([2, 2, 2]);
  });

  it('refuses a label outside the class list and a pixel count that is not whole images', async () => {
    const base = { name: 'x', kind: 'mnist-idx' as const, shape: [2, 2, 1] as [number, number, 1], classNames: ['a', 'b'], provenance: { source: 't' } };
    await expect(writeDataset(layout, { ...base, splits: { train: { images: new Uint8Array(8), labels: Uint8Array.from([0, 2]) } } }, [], KEY)).rejects.toThrow(
      "The train split's label #1 is 2, but the dataset has only 2 classes (0–1).",
    );
    await expect(writeDataset(layout, { ...base, splits: { train: { images: new Uint8Array(7), labels: Uint8Array.from([0]) } } }, [], KEY)).rejects.toThrow(DatasetFormatError);
    expect(leftovers(layout)).toEqual({ datasets: [], tmp: [] });
  });

  it('a second dataset with the same id is refused, not merged', async () => {
    const d = { name: 'x', kind: 'mnist-idx' as const, shape: [1, 1, 1] as [number, number, 1], classNames: ['a'], splits: { train: { images: new Uint8Array(1), labels: new Uint8Array(1) } }, provenance: { source: 't' } };
    await writeDataset(layout, d, [], KEY);
    await expect(writeDataset(layout, d, [], KEY)).rejects.toThrow(DatasetWriteError);
    expect(leftovers(layout)).toEqual({ datasets: ['x-aaaaaaaa'], tmp: [] });
  });

  it('a manifest edited by hand is reported with the bad field', async () => {
    const d = { name: 'x', kind: 'mnist-idx' as const, shape: [1, 1, 1] as [number, number, 1], classNames: ['a'], splits: { train: { images: new Uint8Array(1), labels: new Uint8Array(1) } }, provenance: { source: 't' } };
    const m = await writeDataset(layout, d, [], KEY);
    const file = join(layout.datasets, m.id, 'dataset.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.shape = [1, 1, 2];
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, JSON.stringify(json));
    const lib = new DatasetLibrary(layout);
    expect(await lib.list()).toEqual([]); // an invalid folder is never listed
    await expect(lib.get(m.id)).rejects.toThrow(/dataset\.json: field "shape\.2" is invalid \(.+\)\. The manifest was edited or written by a newer LayerLab; import the dataset again\.$/);
  });

  it('LAYERLAB_RESOURCES overrides the resources folder (packaged apps, tests)', () => {
    const prev = process.env.LAYERLAB_RESOURCES;
    process.env.LAYERLAB_RESOURCES = '/opt/layerlab/resources';
    try {
      expect(resourcesDir()).toBe('/opt/layerlab/resources');
    } finally {
      if (prev === undefined) delete process.env.LAYERLAB_RESOURCES;
      else process.env.LAYERLAB_RESOURCES = prev;
    }
  });
});
