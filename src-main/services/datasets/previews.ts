/**
 * Previews for the UI: a thumbnail sheet per class (one row per class, the
 * first N examples of that class in the split), class counts and pixel
 * statistics. Kept small: a 10-class 28×28 sheet is a few tens of KB of PNG.
 */
import sharp from 'sharp';
import type { DatasetLibrary } from './library.ts';
import type { SplitData, SplitName } from './format.ts';
import { DatasetRequestError } from './errors.ts';

export interface ClassSheetOptions {
  /** Examples per class (columns). Default 8, at most 32. */
  perClass?: number;
  /** Integer upscaling of each thumbnail (nearest neighbour). Default 2 for ≤ 32 px images, else 1. */
  scale?: number;
  /** Rows (classes) drawn at most, from class 0. Default 100. */
  maxClasses?: number;
  /** Gap between tiles in pixels (drawn in dark grey). Default 2. */
  gap?: number;
}

export interface ClassSheet {
  png: Buffer;
  width: number;
  height: number;
  /** Class id of each row, top to bottom. */
  rowClasses: number[];
  /** Dataset index of each tile, row-major (-1 where the class has fewer examples). */
  tiles: number[];
}

export interface PixelStats {
  /** Per channel, 0–255 scale. */
  mean: number[];
  std: number[];
  min: number[];
  max: number[];
  /** 16 bins of 16 levels each, per channel, as fractions of pixels. */
  histogram: number[][];
}

export interface DatasetPreview {
  id: string;
  name: string;
  split: SplitName;
  classNames: string[];
  classCounts: number[];
  stats: PixelStats;
  /** PNG of the class sheet, base64, ready for a data: URL. */
  sheetPngBase64: string;
  sheetWidth: number;
  sheetHeight: number;
  rowClasses: number[];
}

export async function renderClassSheet(data: SplitData, numClasses: number, opts: ClassSheetOptions = {}): Promise<ClassSheet> {
  const [h, w, c] = data.shape;
  const perClass = Math.max(1, Math.min(32, opts.perClass ?? 8));
  const scale = Math.max(1, Math.min(8, Math.floor(opts.scale ?? (Math.max(h, w) <= 32 ? 2 : 1))));
  const gap = Math.max(0, Math.min(8, Math.floor(opts.gap ?? 2)));
  const rows = Math.min(numClasses, opts.maxClasses ?? 100);
  const picks: number[][] = Array.from({ length: rows }, () => []);
  for (let i = 0; i < data.count; i++) {
    const l = data.labels[i];
    if (l < rows && picks[l].length < perClass) picks[l].push(i);
  }
  const th = h * scale;
  const tw = w * scale;
  const width = perClass * tw + (perClass + 1) * gap;
  const height = rows * th + (rows + 1) * gap;
  if (width * height > 40_000_000) throw new DatasetRequestError('That preview would be too large; ask for fewer classes or examples.');
  const out = Buffer.alloc(width * height * 3, 40); // dark grey gaps
  const tiles: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < perClass; k++) {
      const idx = picks[r][k] ?? -1;
      tiles.push(idx);
      if (idx < 0) continue;
      const ox = gap + k * (tw + gap);
      const oy = gap + r * (th + gap);
      const base = idx * h * w * c;
      for (let y = 0; y < th; y++) {
        const sy = Math.floor(y / scale);
        for (let x = 0; x < tw; x++) {
          const s = base + (sy * w + Math.floor(x / scale)) * c;
          const d = ((oy + y) * width + ox + x) * 3;
          if (c === 1) out[d] = out[d + 1] = out[d + 2] = data.images[s];
          else {
            out[d] = data.images[s];
            out[d + 1] = data.images[s + 1];
            out[d + 2] = data.images[s + 2];
          }
        }
      }
    }
  }
  const png = await sharp(out, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 9, palette: false }).toBuffer();
  return { png, width, height, rowClasses: Array.from({ length: rows }, (_, i) => i), tiles };
}

export function pixelStats(data: SplitData): PixelStats {
  const c = data.shape[2];
  const n = data.images.length / c;
  const hist = Array.from({ length: c }, () => new Float64Array(16));
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  const min = new Array<number>(c).fill(255);
  const max = new Array<number>(c).fill(0);
  for (let ch = 0; ch < c; ch++) {
    const hch = hist[ch];
    let s = 0;
    let q = 0;
    let lo = 255;
    let hi = 0;
    for (let i = ch; i < data.images.length; i += c) {
      const v = data.images[i];
      s += v;
      q += v * v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      hch[v >> 4]++;
    }
    sum[ch] = s;
    sq[ch] = q;
    min[ch] = n > 0 ? lo : 0;
    max[ch] = hi;
  }
  const mean = Array.from(sum, (s) => (n ? s / n : 0));
  return {
    mean,
    std: Array.from(sq, (q, ch) => (n ? Math.sqrt(Math.max(0, q / n - mean[ch] * mean[ch])) : 0)),
    min,
    max,
    histogram: hist.map((hch) => Array.from(hch, (v) => (n ? v / n : 0))),
  };
}

/** Everything the dataset page shows, in one call. */
export async function previewDataset(lib: DatasetLibrary, id: string, split: SplitName = 'train', opts: ClassSheetOptions = {}): Promise<DatasetPreview> {
  const info = await lib.get(id);
  const data = await lib.readSplit(id, split);
  const sheet = await renderClassSheet(data, info.classNames.length, opts);
  return {
    id,
    name: info.name,
    split,
    classNames: info.classNames,
    classCounts: info.splits[split]!.classCounts,
    stats: pixelStats(data),
    sheetPngBase64: sheet.png.toString('base64'),
    sheetWidth: sheet.width,
    sheetHeight: sheet.height,
    rowClasses: sheet.rowClasses,
  };
}
