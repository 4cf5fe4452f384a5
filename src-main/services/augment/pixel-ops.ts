/**
 * Augmentations that only move or overwrite pixels, done on typed arrays:
 * at 32×32 a sharp call costs ~1 ms of fixed overhead while these take
 * microseconds (see the speed section). Each takes its random
 * numbers from the caller's rng so results depend only on (seed, epoch, index).
 */
import type { CounterRng } from './rng.ts';
import type { RawImage } from './raw-image.ts';

/** numpy-style "reflect" (edge not repeated): -1 → 1, n → n-2. */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let k = ((i % period) + period) % period;
  if (k >= n) k = period - k;
  return k;
}

/**
 * Pads by `padding` on every side (zeros or reflection) and crops back to the
 * original size at offset (ox, oy) ∈ [0, 2·padding]². Offsets are returned for tests.
 */
export function padCrop(img: RawImage, padding: number, mode: 'zero' | 'reflect', ox: number, oy: number): RawImage {
  const { width: w, height: h, channels: c, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    let sy = y + oy - padding;
    if (sy < 0 || sy >= h) {
      if (mode === 'zero') continue;
      sy = reflect(sy, h);
    }
    for (let x = 0; x < w; x++) {
      let sx = x + ox - padding;
      if (sx < 0 || sx >= w) {
        if (mode === 'zero') continue;
        sx = reflect(sx, w);
      }
      const s = (sy * w + sx) * c;
      const d = (y * w + x) * c;
      for (let k = 0; k < c; k++) out[d + k] = data[s + k];
    }
  }
  return { ...img, data: out };
}

export function randomPadCrop(img: RawImage, padding: number, mode: 'zero' | 'reflect', rng: CounterRng): RawImage {
  const ox = rng.int(2 * padding + 1);
  const oy = rng.int(2 * padding + 1);
  return padCrop(img, padding, mode, ox, oy);
}

export function hflip(img: RawImage): RawImage {
  const { width: w, height: h, channels: c, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * c;
      const d = (y * w + (w - 1 - x)) * c;
      for (let k = 0; k < c; k++) out[d + k] = data[s + k];
    }
  return { ...img, data: out };
}

export function vflip(img: RawImage): RawImage {
  const { width: w, height: h, channels: c, data } = img;
  const out = new Uint8Array(data.length);
  const row = w * c;
  for (let y = 0; y < h; y++) out.set(data.subarray(y * row, (y + 1) * row), (h - 1 - y) * row);
  return { ...img, data: out };
}

/** ITU-R 601 luma (as PIL's "L" and torchvision's rgb_to_grayscale), kept in every channel. */
export function grayscale(img: RawImage): RawImage {
  if (img.channels === 1) return img;
  const { data } = img;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += 3) {
    const l = Math.round(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]);
    out[i] = out[i + 1] = out[i + 2] = l;
  }
  return { ...img, data: out };
}

/** torchvision's RandomErasing: up to 10 tries to fit a rectangle of random area and aspect. */
export function randomErase(img: RawImage, scale: [number, number], ratio: [number, number], value: number | 'random', rng: CounterRng): RawImage {
  const { width: w, height: h, channels: c } = img;
  const area = w * h;
  const logR = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logR[0], logR[1]));
    const eh = Math.round(Math.sqrt(target * aspect));
    const ew = Math.round(Math.sqrt(target / aspect));
    if (eh < 1 || ew < 1 || eh >= h || ew >= w) continue;
    const top = rng.int(h - eh + 1);
    const left = rng.int(w - ew + 1);
    const out = new Uint8Array(img.data);
    for (let y = top; y < top + eh; y++)
      for (let x = left; x < left + ew; x++)
        for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = value === 'random' ? rng.nextU32() & 255 : value;
    return { ...img, data: out };
  }
  return img;
}

/**
 * Rotation + zoom + shift about the image centre, by inverse mapping with
 * bilinear sampling and zeros outside (torchvision's RandomAffine with fill 0).
 * Done here rather than in sharp because sharp's affine/rotate grow the canvas
 * to the transformed bounding box, which would need a second call to crop back.
 */
export function affineWarp(img: RawImage, degrees: number, scale: number, tx: number, ty: number): RawImage {
  const { width: w, height: h, channels: c, data } = img;
  const out = new Uint8Array(data.length);
  const th = (degrees * Math.PI) / 180;
  const cos = Math.cos(th) / scale;
  const sin = Math.sin(th) / scale;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x - cx - tx;
      const dy = y - cy - ty;
      // inverse rotation of the output offset, then undo the zoom
      const sx = cos * dx + sin * dy + cx;
      const sy = -sin * dx + cos * dy + cy;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const d = (y * w + x) * c;
      for (let k = 0; k < c; k++) {
        let acc = 0;
        for (let j = 0; j < 2; j++) {
          const yy = y0 + j;
          if (yy < 0 || yy >= h) continue;
          const wy = j ? fy : 1 - fy;
          for (let i = 0; i < 2; i++) {
            const xx = x0 + i;
            if (xx < 0 || xx >= w) continue;
            acc += wy * (i ? fx : 1 - fx) * data[(yy * w + xx) * c + k];
          }
        }
        out[d + k] = Math.min(255, Math.max(0, Math.round(acc)));
      }
    }
  }
  return { ...img, data: out };
}
