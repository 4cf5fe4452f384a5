/**
 * Image grids for the Inspect view: many small float maps (filters, feature
 * maps, attention) normalised and tiled into one RGB PNG with 1 px gaps.
 */
import sharp from 'sharp';

export interface Tile {
  /** [h, w] grey values or [h, w, 3] RGB values, any range. */
  values: Float32Array;
  channels: 1 | 3;
}

export interface Grid {
  pngBase64: string;
  width: number;
  height: number;
  cols: number;
  count: number;
  tile: number;
}

const GAP = 1;
const GAP_RGB = [40, 44, 52];

/** Scales a tile's values to 0..255 by its own min and max (a flat tile is mid-grey). */
export function normaliseTile(v: Float32Array): Uint8Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    if (!Number.isFinite(x)) continue;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const out = new Uint8Array(v.length);
  const span = hi - lo;
  for (let i = 0; i < v.length; i++) out[i] = span > 0 && Number.isFinite(v[i]) ? Math.round(((v[i] - lo) / span) * 255) : 128;
  return out;
}

/** Lays out square tiles of side `side` (each upscaled by `scale`, nearest) in `cols` columns. */
export async function tileGrid(tiles: Tile[], side: number, opts: { cols?: number; scale?: number } = {}): Promise<Grid> {
  const scale = Math.max(1, Math.floor(opts.scale ?? 1));
  const tile = side * scale;
  const count = tiles.length;
  const cols = Math.max(1, Math.min(count || 1, opts.cols ?? Math.ceil(Math.sqrt(count || 1))));
  const rows = Math.max(1, Math.ceil(count / cols));
  const width = cols * tile + (cols + 1) * GAP;
  const height = rows * tile + (rows + 1) * GAP;
  const px = new Uint8Array(width * height * 3);
  for (let i = 0; i < px.length; i += 3) px.set(GAP_RGB, i);
  tiles.forEach((t, k) => {
    const bytes = normaliseTile(t.values);
    const x0 = GAP + (k % cols) * (tile + GAP);
    const y0 = GAP + Math.floor(k / cols) * (tile + GAP);
    for (let y = 0; y < tile; y++) {
      const sy = Math.floor(y / scale);
      for (let x = 0; x < tile; x++) {
        const sx = Math.floor(x / scale);
        const o = ((y0 + y) * width + x0 + x) * 3;
        if (t.channels === 3) {
          const s = (sy * side + sx) * 3;
          px[o] = bytes[s];
          px[o + 1] = bytes[s + 1];
          px[o + 2] = bytes[s + 2];
        } else {
          const g = bytes[sy * side + sx];
          px[o] = px[o + 1] = px[o + 2] = g;
        }
      }
    }
  });
  const png = await sharp(px, { raw: { width, height, channels: 3 } }).png().toBuffer();
  return { pngBase64: png.toString('base64'), width, height, cols, count, tile };
}

/** A dataset image ([H, W, C] uint8) as PNG. */
export async function imagePng(bytes: Uint8Array, h: number, w: number, c: number): Promise<string> {
  const png = await sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { raw: { width: w, height: h, channels: c as 1 | 3 } })
    .png()
    .toBuffer();
  return png.toString('base64');
}
