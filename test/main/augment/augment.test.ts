import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import {
  AugmentConfigError,
  CounterRng,
  affineWarp,
  augmentBatch,
  augmentImage,
  padCrop,
  parsePipeline,
  previewAugment,
  type RawImage,
} from '../../../src-main/services/augment/index.ts';
import { sharpRotate } from '../../../src-main/services/augment/sharp-ops.ts';
import { colourJitter, drawColourJitter } from '../../../src-main/services/augment/colour-ops.ts';

function gradient(w: number, h: number, c: 1 | 3): RawImage {
  const data = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) data[(y * w + x) * c + k] = (x * 8 + y * 5 + k * 60) % 256;
  return { data, width: w, height: h, channels: c };
}

const FULL = parsePipeline([
  { op: 'randomCrop', padding: 4, mode: 'reflect' },
  { op: 'hflip' },
  { op: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 },
  { op: 'rotate', degrees: 15, p: 0.5 },
  { op: 'affine', degrees: 10, scale: [0.9, 1.1], translate: [0.1, 0.1], p: 0.5 },
  { op: 'gaussianBlur', sigma: [0.3, 1], p: 0.5 },
  { op: 'grayscale', p: 0.2 },
  { op: 'randomErasing', p: 0.5 },
]);

describe('augmentation determinism', () => {
  it('same (seed, epoch, index) gives identical bytes; another index, epoch or seed gives different ones', async () => {
    const img = gradient(32, 32, 3);
    const a = await augmentImage(img, FULL, { seed: 7, epoch: 3, index: 11 });
    const b = await augmentImage(img, FULL, { seed: 7, epoch: 3, index: 11 });
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    let differentIdx = 0;
    for (let i = 12; i < 20; i++) {
      const o = await augmentImage(img, FULL, { seed: 7, epoch: 3, index: i });
      if (!Buffer.from(o.data).equals(Buffer.from(a.data))) differentIdx++;
    }
    expect(differentIdx).toBe(8);
    const e = await augmentImage(img, FULL, { seed: 7, epoch: 4, index: 11 });
    const s = await augmentImage(img, FULL, { seed: 8, epoch: 3, index: 11 });
    expect(Buffer.from(e.data).equals(Buffer.from(a.data))).toBe(false);
    expect(Buffer.from(s.data).equals(Buffer.from(a.data))).toBe(false);
  });

  it('a batch augments each image by its dataset index, whatever its position in the batch', async () => {
    const img = gradient(32, 32, 3);
    const two = new Uint8Array(2 * 3072);
    two.set(img.data, 0);
    two.set(img.data, 3072);
    const ab = await augmentBatch(two, [32, 32, 3], [5, 9], FULL, 1, 0);
    const ba = await augmentBatch(two, [32, 32, 3], [9, 5], FULL, 1, 0);
    expect(Buffer.from(ab.subarray(0, 3072)).equals(Buffer.from(ba.subarray(3072)))).toBe(true);
    const alone = await augmentImage(img, FULL, { seed: 1, epoch: 0, index: 9 });
    expect(Buffer.from(ab.subarray(3072)).equals(Buffer.from(alone.data))).toBe(true);
  });

  it('the counter RNG is a pure function of its keys', () => {
    const a = new CounterRng(1, 2, 3);
    const b = new CounterRng(1, 2, 3);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xs);
    expect(new Set(xs).size).toBe(5);
    // roughly uniform: mean of 10,000 draws within 1% of 0.5
    const r = new CounterRng(42);
    let s = 0;
    for (let i = 0; i < 10_000; i++) s += r.next();
    expect(Math.abs(s / 10_000 - 0.5)).toBeLessThan(0.01);
  });
});

describe('pixel-exact operations', () => {
  it('hflip reverses every row exactly and vflip every column', async () => {
    const img = gradient(5, 4, 3);
    const h = await augmentImage(img, parsePipeline([{ op: 'hflip', p: 1 }]), { seed: 0, epoch: 0, index: 0 });
    const v = await augmentImage(img, parsePipeline([{ op: 'vflip', p: 1 }]), { seed: 0, epoch: 0, index: 0 });
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 5; x++)
        for (let k = 0; k < 3; k++) {
          expect(h.data[(y * 5 + x) * 3 + k]).toBe(img.data[(y * 5 + (4 - x)) * 3 + k]);
          expect(v.data[(y * 5 + x) * 3 + k]).toBe(img.data[((3 - y) * 5 + x) * 3 + k]);
        }
  });

  it('pad-and-crop with zero padding equals the hand-computed result', () => {
    // 3×3 grayscale 1..9, padding 1, crop at offset (0, 0): shift right and down by one, zeros enter top and left.
    const img: RawImage = { data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), width: 3, height: 3, channels: 1 };
    expect(Array.from(padCrop(img, 1, 'zero', 0, 0).data)).toEqual([0, 0, 0, 0, 1, 2, 0, 4, 5]);
    expect(Array.from(padCrop(img, 1, 'zero', 2, 1).data)).toEqual([2, 3, 0, 5, 6, 0, 8, 9, 0]);
    expect(Array.from(padCrop(img, 1, 'zero', 1, 1).data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // reflect (edge not repeated, as numpy/torch "reflect"): row −1 is row 1, column −1 is column 1
    expect(Array.from(padCrop(img, 1, 'reflect', 0, 0).data)).toEqual([5, 4, 5, 2, 1, 2, 5, 4, 5]);
  });

  it('randomCrop through the pipeline takes its offsets from (seed, epoch, index, step)', async () => {
    const img = gradient(8, 8, 1);
    const pipe = parsePipeline([{ op: 'randomCrop', padding: 2 }]);
    const got = await augmentImage(img, pipe, { seed: 3, epoch: 1, index: 4 });
    const rng = new CounterRng(3, 1, 4, 0); // p = 1 draws nothing, then ox, oy
    const ox = rng.int(5);
    const oy = rng.int(5);
    expect(Array.from(got.data)).toEqual(Array.from(padCrop(img, 2, 'zero', ox, oy).data));
  });

  it('grayscale writes ITU-R 601 luma into every channel', async () => {
    const img: RawImage = { data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]), width: 4, height: 1, channels: 3 };
    const g = await augmentImage(img, parsePipeline([{ op: 'grayscale', p: 1 }]), { seed: 0, epoch: 0, index: 0 });
    expect(Array.from(g.data)).toEqual([76, 76, 76, 150, 150, 150, 29, 29, 29, 18, 18, 18]);
  });

  it('affine: identity is exact, a 1-pixel shift moves pixels by one and fills zeros', () => {
    const img = gradient(6, 6, 1);
    expect(Array.from(affineWarp(img, 0, 1, 0, 0).data)).toEqual(Array.from(img.data));
    const sh = affineWarp(img, 0, 1, 1, 0).data;
    for (let y = 0; y < 6; y++) {
      expect(sh[y * 6]).toBe(0);
      for (let x = 1; x < 6; x++) expect(sh[y * 6 + x]).toBe(img.data[y * 6 + x - 1]);
    }
  });

  it('sharp rotation by 90° is an exact clockwise quarter turn of the same size', async () => {
    const img = gradient(4, 4, 1);
    const r = await sharpRotate(img, 90);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) expect(r.data[y * 4 + x]).toBe(img.data[(3 - x) * 4 + y]);
  });

  it('brightness jitter multiplies a flat image by the factor drawn from the step stream', async () => {
    const img: RawImage = { data: new Uint8Array(16 * 16 * 3).fill(100), width: 16, height: 16, channels: 3 };
    const out = await augmentImage(img, parsePipeline([{ op: 'colorJitter', brightness: 0.5 }]), { seed: 9, epoch: 0, index: 2 });
    const { brightness } = drawColourJitter(new CounterRng(9, 0, 2, 0), 0.5, 0, 0, 0);
    expect(brightness).toBeGreaterThanOrEqual(0.5);
    expect(brightness).toBeLessThanOrEqual(1.5);
    expect(Array.from(new Set(out.data))).toEqual([Math.round(Math.min(255, 100 * brightness))]);
  });

  it('colour jitter follows torchvision: saturation 0 = luma, contrast 0 = mean luma, hue ½ turn maps red to cyan', () => {
    const img: RawImage = { data: Uint8Array.from([255, 0, 0, 0, 0, 255]), width: 2, height: 1, channels: 3 };
    const base = { brightness: 1, contrast: 1, saturation: 1, hue: 0, order: [0, 1, 2, 3] };
    expect(Array.from(colourJitter(img, { ...base, saturation: 0 }).data)).toEqual([76, 76, 76, 29, 29, 29]);
    // mean luma = (76.245 + 29.07) / 2 = 52.66
    expect(Array.from(colourJitter(img, { ...base, contrast: 0 }).data)).toEqual([53, 53, 53, 53, 53, 53]);
    expect(Array.from(colourJitter(img, { ...base, hue: 0.5 }).data)).toEqual([0, 255, 255, 255, 255, 0]);
    expect(Array.from(colourJitter(img, { ...base, hue: 1 / 3 }).data)).toEqual([0, 255, 0, 255, 0, 0]);
    expect(Array.from(colourJitter(img, { ...base, brightness: 2 }).data)).toEqual([255, 0, 0, 0, 0, 255]);
  });

  it('random erasing fills one rectangle of the allowed area with the value', async () => {
    const img: RawImage = { data: new Uint8Array(32 * 32).fill(200), width: 32, height: 32, channels: 1 };
    const out = await augmentImage(img, parsePipeline([{ op: 'randomErasing', p: 1, scale: [0.1, 0.2], value: 7 }]), { seed: 1, epoch: 0, index: 0 });
    const erased = out.data.filter((v) => v === 7).length;
    expect(out.data.filter((v) => v !== 7 && v !== 200).length).toBe(0);
    expect(erased).toBeGreaterThanOrEqual(0.07 * 1024);
    expect(erased).toBeLessThanOrEqual(0.25 * 1024);
  });

  it('blur keeps the size and channels (grayscale stays 1 channel)', async () => {
    const img = gradient(28, 28, 1);
    const out = await augmentImage(img, parsePipeline([{ op: 'gaussianBlur', p: 1, sigma: [1, 1] }, { op: 'colorJitter', contrast: 0.5 }]), {
      seed: 0,
      epoch: 0,
      index: 0,
    });
    expect(out.data.length).toBe(784);
    expect(out.channels).toBe(1);
    expect(Buffer.from(out.data).equals(Buffer.from(img.data))).toBe(false);
  });
});

describe('pipeline validation', () => {
  it('names the step and field of a bad parameter', () => {
    expect(() => parsePipeline([{ op: 'hflip' }, { op: 'randomCrop', padding: -1 }])).toThrow(AugmentConfigError);
    expect(() => parsePipeline([{ op: 'hflip' }, { op: 'randomCrop', padding: -1 }])).toThrow(/^Invalid augmentation: pipeline\[1\]\.padding \(step "randomCrop"\): .*>=0/);
    expect(() => parsePipeline('[{"op":"colorJitter","hue":0.9}]')).toThrow(/^Invalid augmentation: pipeline\[0\]\.hue \(step "colorJitter"\): .*<=0\.5/);
    expect(() => parsePipeline([{ op: 'gaussianBlur', sigma: [2, 1] }])).toThrow(
      'Invalid augmentation: pipeline[0].sigma (step "gaussianBlur"): the first number must not exceed the second.',
    );
  });

  it('rejects unknown ops (listing the known ones), unknown fields and bad JSON', () => {
    expect(() => parsePipeline([{ op: 'solarize' }])).toThrow(/^Invalid augmentation: pipeline\[0\]\.op \(step "solarize"\): .* Known ops: randomCrop, hflip, vflip, rotate, affine, colorJitter, gaussianBlur, grayscale, randomErasing\.$/);
    expect(() => parsePipeline([{ op: 'hflip', prob: 0.5 }])).toThrow(/^Invalid augmentation: pipeline\[0\] \(step "hflip"\): .*"prob"/);
    expect(() => parsePipeline('[{op:1}]')).toThrow(/^The augmentation pipeline is not valid JSON/);
    expect(() => parsePipeline({ op: 'hflip' })).toThrow(/^Invalid augmentation: pipeline: /);
  });

  it('fills defaults', () => {
    expect(parsePipeline([{ op: 'randomCrop' }, { op: 'hflip' }])).toEqual([
      { op: 'randomCrop', padding: 4, mode: 'zero', p: 1 },
      { op: 'hflip', p: 0.5 },
    ]);
  });
});

describe('previewAugment', () => {
  it('returns n distinct PNG variants, upscaled', async () => {
    const pngs = await previewAugment(gradient(28, 28, 1), [{ op: 'randomCrop', padding: 4 }, { op: 'rotate', degrees: 20 }], 4, { scale: 3 });
    expect(pngs).toHaveLength(4);
    const metas = await Promise.all(pngs.map((p) => sharp(p).metadata()));
    expect(metas.map((m) => [m.format, m.width, m.height])).toEqual(new Array(4).fill(['png', 84, 84]));
    expect(new Set(pngs.map((p) => p.toString('base64'))).size).toBe(4);
  });
});
