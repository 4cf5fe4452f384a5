/**
 * Colour jitter on typed arrays, with torchvision's ColorJitter semantics:
 * the four adjustments in a random order, each a blend clamped to [0, 255]:
 *   brightness b: x·b                       (blend with black)
 *   contrast c:   c·x + (1−c)·mean(luma)     (blend with the image's mean grey)
 *   saturation s: s·x + (1−s)·luma(pixel)    (blend with the pixel's grey)
 *   hue h:        rotate HSV hue by h turns
 * Why not sharp: each sharp call costs ~0.4–1 ms of fixed overhead at 32×32
 * (measured: linear+modulate ≈ 1 ms/image, ~1,000 images/s per thread), and a
 * batch mosaic cannot carry a different random factor per image. This runs
 * at tens of thousands of 32×32 images per second.
 */
import type { CounterRng } from './rng.ts';
import type { RawImage } from './raw-image.ts';

export interface ColourJitterParams {
  brightness: number;
  contrast: number;
  saturation: number;
  /** In turns, [-0.5, 0.5]. */
  hue: number;
  /** Application order of [brightness, contrast, saturation, hue] (indices 0–3). */
  order: number[];
}

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

export function drawColourJitter(rng: CounterRng, b: number, c: number, s: number, h: number): ColourJitterParams {
  const order = [0, 1, 2, 3];
  for (let i = 3; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const factor = (x: number): number => (x > 0 ? rng.uniform(Math.max(0, 1 - x), 1 + x) : 1);
  return { brightness: factor(b), contrast: factor(c), saturation: factor(s), hue: h > 0 ? rng.uniform(-h, h) : 0, order };
}

function hueShift(f: Float32Array, shift: number): void {
  for (let i = 0; i < f.length; i += 3) {
    const r = f[i] / 255;
    const g = f[i + 1] / 255;
    const b = f[i + 2] / 255;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const d = max - min;
    if (d === 0) continue; // grey: hue undefined, unchanged
    let hh = max === r ? (g - b) / d : max === g ? 2 + (b - r) / d : 4 + (r - g) / d;
    hh = hh / 6 + shift;
    hh -= Math.floor(hh);
    const sat = d / max;
    const v = max;
    const h6 = hh * 6;
    const k = Math.floor(h6);
    const fr = h6 - k;
    const p = v * (1 - sat);
    const q = v * (1 - sat * fr);
    const t = v * (1 - sat * (1 - fr));
    let rr: number, gg: number, bb: number;
    switch (k % 6) {
      case 0: [rr, gg, bb] = [v, t, p]; break;
      case 1: [rr, gg, bb] = [q, v, p]; break;
      case 2: [rr, gg, bb] = [p, v, t]; break;
      case 3: [rr, gg, bb] = [p, q, v]; break;
      case 4: [rr, gg, bb] = [t, p, v]; break;
      default: [rr, gg, bb] = [v, p, q];
    }
    f[i] = rr * 255;
    f[i + 1] = gg * 255;
    f[i + 2] = bb * 255;
  }
}

export function colourJitter(img: RawImage, p: ColourJitterParams): RawImage {
  const c = img.channels;
  const f = Float32Array.from(img.data);
  const luma = (i: number): number => (c === 1 ? f[i] : 0.299 * f[i] + 0.587 * f[i + 1] + 0.114 * f[i + 2]);
  for (const op of p.order) {
    if (op === 0 && p.brightness !== 1) for (let i = 0; i < f.length; i++) f[i] = clamp(f[i] * p.brightness);
    else if (op === 1 && p.contrast !== 1) {
      let m = 0;
      for (let i = 0; i < f.length; i += c) m += luma(i);
      m /= f.length / c;
      const off = (1 - p.contrast) * m;
      for (let i = 0; i < f.length; i++) f[i] = clamp(p.contrast * f[i] + off);
    } else if (op === 2 && p.saturation !== 1 && c === 3) {
      for (let i = 0; i < f.length; i += 3) {
        const g = (1 - p.saturation) * luma(i);
        f[i] = clamp(p.saturation * f[i] + g);
        f[i + 1] = clamp(p.saturation * f[i + 1] + g);
        f[i + 2] = clamp(p.saturation * f[i + 2] + g);
      }
    } else if (op === 3 && p.hue !== 0 && c === 3) hueShift(f, p.hue);
  }
  const out = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = Math.round(f[i]);
  return { ...img, data: out };
}
