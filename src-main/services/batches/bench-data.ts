/**
 * `npm run bench -- data` figures (the CLI prints each record as a JSON line):
 *  - import time of the 70,000 Fashion-MNIST images (Debian's files);
 *  - augmented 32×32 RGB images/s for pad-crop + flip + colour jitter through
 *    the BatchProducer, against the naive one-sharp-pipeline-per-image
 *    reference measured in the same run.
 */
import { availableParallelism } from 'node:os';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ensureDataDir } from '../data-dir.ts';
import { DatasetLibrary } from '../datasets/library.ts';
import { CounterRng } from '../augment/rng.ts';
import { BatchProducer } from './batch-producer.ts';

export interface BenchRecord {
  name: string;
  unit: string;
  ours: number;
  reference: number | null;
  ratio: number | null;
}

const PIPELINE = [
  { op: 'randomCrop', padding: 4, mode: 'reflect' },
  { op: 'hflip', p: 0.5 },
  { op: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 1 },
];

/** The naive design the issue measured: one sharp pipeline per image. */
async function naiveSharp(images: Uint8Array, n: number): Promise<void> {
  const rng = new CounterRng(1);
  for (let i = 0; i < n; i++) {
    const img = images.subarray(i * 3072, (i + 1) * 3072);
    // pad 4 + random 32×32 crop, as one pipeline: crop the kept part, then extend the exposed sides
    const ox = rng.int(9) - 4;
    const oy = rng.int(9) - 4;
    let p = sharp(img, { raw: { width: 32, height: 32, channels: 3 } })
      .extract({ left: Math.max(0, ox), top: Math.max(0, oy), width: 32 - Math.abs(ox), height: 32 - Math.abs(oy) })
      .extend({ left: Math.max(0, -ox), right: Math.max(0, ox), top: Math.max(0, -oy), bottom: Math.max(0, oy), extendWith: 'mirror' });
    if (rng.chance(0.5)) p = p.flop();
    await p
      .modulate({ brightness: rng.uniform(0.6, 1.4), saturation: rng.uniform(0.6, 1.4), hue: Math.round(rng.uniform(-36, 36)) })
      .linear(rng.uniform(0.6, 1.4), 0)
      .raw()
      .toBuffer();
  }
}

export async function benchData(opts: { fashionMnistDir?: string; images?: number; workers?: number } = {}): Promise<BenchRecord[]> {
  const out: BenchRecord[] = [];
  const src = opts.fashionMnistDir ?? '/usr/share/datasets/fashion-mnist';
  if (existsSync(join(src, 'train-images-idx3-ubyte.gz'))) {
    const root = mkdtempSync(join(tmpdir(), 'layerlab-bench-'));
    try {
      const lib = new DatasetLibrary(ensureDataDir(root));
      const t0 = performance.now();
      await lib.importFiles([src]);
      out.push({ name: 'import Fashion-MNIST (70,000 images)', unit: 's', ours: (performance.now() - t0) / 1000, reference: null, ratio: null });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  const n = opts.images ?? 8192;
  const images = new Uint8Array(n * 3072);
  const r = new CounterRng(5);
  for (let i = 0; i < images.length; i++) images[i] = r.nextU32() & 255;
  const labels = new Uint8Array(n);

  const refN = Math.min(n, 1000);
  const t1 = performance.now();
  await naiveSharp(images, refN);
  const reference = refN / ((performance.now() - t1) / 1000);

  const workers = opts.workers ?? availableParallelism();
  const producer = new BatchProducer({ images, labels, shape: [32, 32, 3], batchSize: 128, seed: 1, augment: PIPELINE, workers, prefetch: 2 * workers, epochs: 1 });
  await producer.next(); // start-up (workers loading) is not throughput
  const t2 = performance.now();
  let count = 0;
  for (;;) {
    const b = await producer.next();
    if (!b) break;
    count += b.indices.length;
  }
  const ours = count / ((performance.now() - t2) / 1000);
  await producer.close();
  out.push({ name: `augmented 32×32 RGB images/s (pad-crop + flip + colour jitter, ${workers} workers)`, unit: 'images/s', ours, reference, ratio: ours / reference });
  return out;
}
