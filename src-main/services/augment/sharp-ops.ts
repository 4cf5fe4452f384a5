/**
 * Augmentations that need real resampling or filtering, done with sharp:
 * rotation (libvips' rotate, then the centre cropped back) and Gaussian blur.
 * Each sharp call has a fixed cost (~0.4 ms at 32×32, measured), so the
 * cheap per-pixel steps are not done here (pixel-ops.ts, colour-ops.ts).
 */
import sharp, { type Sharp } from 'sharp';
import type { RawImage } from './raw-image.ts';

const BLACK = { r: 0, g: 0, b: 0, alpha: 1 };

async function toRaw(pipeline: Sharp, img: RawImage): Promise<RawImage> {
  const { data, info } = await pipeline
    .toColourspace(img.channels === 1 ? 'b-w' : 'srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== img.width || info.height !== img.height || info.channels !== img.channels) {
    throw new Error(`sharp returned ${info.width}×${info.height}×${info.channels}, expected ${img.width}×${img.height}×${img.channels}`);
  }
  return { ...img, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function input(img: RawImage): Sharp {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });
}

/** Rotates by `degrees` about the centre, zeros outside, same size out. */
export async function sharpRotate(img: RawImage, degrees: number): Promise<RawImage> {
  // libvips enlarges the canvas to the rotated bounding box, centred; crop the middle back.
  const rotated = await input(img).rotate(degrees, { background: BLACK }).raw().toBuffer({ resolveWithObject: true });
  const { width: rw, height: rh, channels: rc } = rotated.info;
  const left = Math.floor((rw - img.width) / 2);
  const top = Math.floor((rh - img.height) / 2);
  const out = new Uint8Array(img.data.length);
  const c = img.channels;
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++)
      for (let k = 0; k < c; k++) out[(y * img.width + x) * c + k] = rotated.data[((y + top) * rw + x + left) * rc + Math.min(k, rc - 1)];
  return { ...img, data: out };
}

/** Gaussian blur (libvips' separable convolution); the size and channels are kept. */
export async function sharpBlur(img: RawImage, sigma: number): Promise<RawImage> {
  return toRaw(input(img).blur(sigma), img);
}
