import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetFormatError, DatasetLibrary } from '../../../src-main/services/datasets/index.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { leftovers, makeDataDir, makeTempDir } from '../helpers/tmp-data-dir.ts';
import { solidJpeg, solidPng, solidWebp } from '../helpers/images.ts';
import { makeZip } from '../helpers/zip-writer.ts';

let layout: DataDirLayout;
let cleanup: () => void;
let lib: DatasetLibrary;
let src: string;
beforeEach(() => {
  ({ layout, cleanup } = makeDataDir());
  lib = new DatasetLibrary(layout);
  src = makeTempDir('layerlab-img-');
});
afterEach(() => cleanup());

async function expectNothingWritten(): Promise<void> {
  expect(await lib.list()).toEqual([]);
  expect(leftovers(layout)).toEqual({ datasets: [], tmp: [] });
}

const RED: [number, number, number] = [255, 0, 0];
const BLUE: [number, number, number] = [0, 0, 255];

async function writeClassFolder(root: string, cls: string, n: number, rgb: [number, number, number]): Promise<void> {
  mkdirSync(join(root, cls), { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(root, cls, `img${i}.png`), await solidPng(40 + i, 30, rgb));
}

describe('image folder import', () => {
  it('decodes and resizes root/<class>/*.png to 32×32 RGB with exact solid colours; classes are sorted folder names', async () => {
    const root = join(src, 'shapes');
    await writeClassFolder(root, 'red', 3, RED);
    await writeClassFolder(root, 'blue', 2, BLUE);
    writeFileSync(join(root, 'blue', 'x.webp'), await solidWebp(20, 20, BLUE));
    const { dataset } = await lib.importFiles([root]);
    expect(dataset.name).toBe('shapes');
    expect(dataset.kind).toBe('image-folder');
    expect(dataset.shape).toEqual([32, 32, 3]);
    expect(dataset.classNames).toEqual(['blue', 'red']);
    expect(dataset.splits.train.classCounts).toEqual([3, 3]);
    expect(dataset.splits.test).toBeUndefined();
    const train = await lib.readSplit(dataset.id, 'train');
    // blue images first (class 0), then red
    expect(Array.from(train.labels)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(Array.from(train.images.subarray(0, 3))).toEqual(BLUE);
    expect(Array.from(train.images.subarray(5 * 3072 + 31 * 96 + 93, 5 * 3072 + 31 * 96 + 96))).toEqual(RED);
    expect(dataset.mean.map((m) => Math.round(m))).toEqual([128, 0, 128]); // 3 red + 3 blue images
  });

  it('honours train/ and test/ folders and a 28×28 grayscale target', async () => {
    const root = join(src, 'ds');
    await writeClassFolder(join(root, 'train'), 'a', 2, [100, 100, 100]);
    await writeClassFolder(join(root, 'train'), 'b', 2, [200, 200, 200]);
    await writeClassFolder(join(root, 'test'), 'b', 1, [200, 200, 200]);
    const { dataset } = await lib.importFiles([root], { imageFolder: { channels: 1 } });
    expect(dataset.shape).toEqual([28, 28, 1]);
    expect(dataset.splits.train.count).toBe(4);
    expect(dataset.splits.test?.count).toBe(1);
    expect(dataset.splits.test?.classCounts).toEqual([0, 1]);
    const test = await lib.readSplit(dataset.id, 'test');
    expect(test.images[0]).toBe(200);
    expect(test.images[783]).toBe(200);
  });

  it('imports a zipped folder', async () => {
    const zip = makeZip([
      { name: 'pets/cat/1.png', data: await solidPng(8, 8, RED) },
      { name: 'pets/cat/2.jpg', data: await solidJpeg(8, 8, RED) },
      { name: 'pets/dog/1.png', data: await solidPng(8, 8, BLUE) },
    ]);
    writeFileSync(join(src, 'pets.zip'), zip);
    const { dataset } = await lib.importFiles([join(src, 'pets.zip')], { imageFolder: { size: 16 } });
    expect(dataset.classNames).toEqual(['cat', 'dog']);
    expect(dataset.shape).toEqual([16, 16, 3]);
    expect(dataset.splits.train.count).toBe(3);
    expect(leftovers(layout).tmp).toEqual([]);
  });

  it('names a corrupt image', async () => {
    const root = join(src, 'ds');
    await writeClassFolder(root, 'a', 2, RED);
    await writeClassFolder(root, 'b', 2, BLUE);
    const png = await solidPng(64, 64, RED);
    writeFileSync(join(root, 'b', 'broken.png'), png.subarray(0, 60));
    const err = (await lib.importFiles([root]).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(DatasetFormatError);
    expect(err.message).toMatch(/^ds\/b\/broken\.png: cannot decode this image \(.+\)\. Remove or replace the file\.$/);
    await expectNothingWritten();
  });

  it('reports non-image files in class folders by name', async () => {
    const root = join(src, 'ds');
    await writeClassFolder(root, 'a', 2, RED);
    await writeClassFolder(root, 'b', 2, BLUE);
    writeFileSync(join(root, 'a', 'notes.txt'), 'hello');
    writeFileSync(join(root, 'README.md'), 'top-level files are fine');
    await expect(lib.importFiles([root])).rejects.toThrow('Not images: ds/a/notes.txt. Only PNG, JPEG and WebP files may sit in class folders; remove the others.');
    await expectNothingWritten();
  });

  it('reports an empty class folder', async () => {
    const root = join(src, 'ds');
    await writeClassFolder(root, 'a', 2, RED);
    await writeClassFolder(root, 'b', 2, BLUE);
    mkdirSync(join(root, 'c'));
    await expect(lib.importFiles([root])).rejects.toThrow('Class folder ds/c/ is empty; every class needs images. Remove it or add images.');
    await expectNothingWritten();
  });

  it('refuses zip entries with ".." and symlinks, and corrupt zips', async () => {
    const png = await solidPng(8, 8, RED);
    writeFileSync(join(src, 'evil.zip'), makeZip([{ name: 'a/1.png', data: png }, { name: '../../escape.png', data: png }]));
    const e1 = (await lib.importFiles([join(src, 'evil.zip')]).catch((e: unknown) => e)) as Error;
    expect(e1).toBeInstanceOf(DatasetFormatError);
    expect(e1.message).toMatch(/evil\.zip: (refused to extract: entry "\.\.\/\.\.\/escape\.png" points outside the archive's folder\.|the zip archive is corrupt \(invalid relative path: \.\.\/\.\.\/escape\.png\)\.)/);
    writeFileSync(join(src, 'link.zip'), makeZip([{ name: 'a/1.png', data: png }, { name: 'a/2.png', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]));
    await expect(lib.importFiles([join(src, 'link.zip')])).rejects.toThrow('link.zip: refused to extract: entry "a/2.png" is a symbolic link. LayerLab only imports plain files.');
    const good = makeZip([{ name: 'a/1.png', data: png }, { name: 'b/1.png', data: png }]);
    writeFileSync(join(src, 'cut.zip'), good.subarray(0, good.length - 30));
    await expect(lib.importFiles([join(src, 'cut.zip')])).rejects.toThrow(/cut\.zip: the zip archive is corrupt or truncated \(.+\)\. Create or download it again\./);
    await expectNothingWritten();
  });
});
