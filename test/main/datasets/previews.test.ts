import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { DatasetLibrary, SAMPLE_ID, ensureSampleInstalled, pixelStats, previewDataset, renderClassSheet, type SplitData } from '../../../src-main/services/datasets/index.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { makeDataDir } from '../helpers/tmp-data-dir.ts';

let layout: DataDirLayout;
let cleanup: () => void;
beforeEach(() => ({ layout, cleanup } = makeDataDir()));
afterEach(() => cleanup());

/** 6 RGB 2×2 images, labels 0,1,0,2,1,0; image i is filled with value 10*i on every channel. */
function tiny(): SplitData {
  const images = new Uint8Array(6 * 12);
  for (let i = 0; i < 6; i++) images.fill(10 * i, i * 12, (i + 1) * 12);
  return { images, labels: Uint8Array.from([0, 1, 0, 2, 1, 0]), count: 6, shape: [2, 2, 3] };
}

describe('previews', () => {
  it('lays out one row per class with the first examples, exact pixels, upscaled', async () => {
    const sheet = await renderClassSheet(tiny(), 3, { perClass: 2, scale: 3, gap: 1 });
    expect(sheet.width).toBe(2 * 6 + 3);
    expect(sheet.height).toBe(3 * 6 + 4);
    expect(sheet.tiles).toEqual([0, 2, 1, 4, 3, -1]);
    const { data, info } = await sharp(sheet.png).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(3);
    const px = (x: number, y: number): number => data[(y * info.width + x) * 3];
    expect(px(0, 0)).toBe(40); // gap
    expect(px(1 + 6 + 1, 1)).toBe(20); // row 0, tile 1 = image 2
    expect(px(1 + 5, 1 + 6 + 1 + 5)).toBe(10); // row 1, tile 0 = image 1, bottom-right pixel of the upscaled tile
    expect(px(1 + 6 + 1 + 2, 1 + 2 * 7 + 2)).toBe(40); // row 2 has one example: the second tile stays background
  });

  it('computes per-channel stats and a 16-bin histogram', () => {
    const s = pixelStats(tiny());
    expect(s.mean).toEqual([25, 25, 25]);
    expect(s.min).toEqual([0, 0, 0]);
    expect(s.max).toEqual([50, 50, 50]);
    expect(s.std[0]).toBeCloseTo(Math.sqrt((625 + 225 + 25 + 25 + 225 + 625) / 6), 10);
    // values 0,10 → bin 0; 20 → 1; 30 → 1; 40 → 2; 50 → 3
    expect(s.histogram[0].slice(0, 4)).toEqual([2 / 6, 2 / 6, 1 / 6, 1 / 6]);
  });

  it('previews the shipped sample quickly and small', async () => {
    await ensureSampleInstalled(layout);
    const t0 = performance.now();
    const p = await previewDataset(new DatasetLibrary(layout), SAMPLE_ID, 'train');
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(p.classCounts).toEqual(new Array(10).fill(300));
    expect(p.sheetWidth).toBe(8 * 56 + 9 * 2);
    expect(p.sheetHeight).toBe(10 * 56 + 11 * 2);
    expect(Buffer.from(p.sheetPngBase64, 'base64').length).toBeLessThan(200_000);
    expect(p.stats.mean[0]).toBeGreaterThan(60);
    expect(p.stats.mean[0]).toBeLessThan(85);
  });
});
