/**
 * Writes CIFAR files in exactly the official layouts: binary batches
 * (label byte(s) + 3072 planar pixel bytes per record), text name lists, and
 * Python-2-style protocol-2 pickles built byte by byte (as cPickle wrote
 * cifar-10-batches-py), plus .tar.gz archives of them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tar from 'tar';

/** Planar pixel value of image i at channel c, row y, column x. */
export const cifarPixel = (i: number, c: number, y: number, x: number): number => (i * 11 + c * 50 + y * 3 + x * 7) % 256;

export function planarImage(i: number): Uint8Array {
  const b = new Uint8Array(3072);
  for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) b[c * 1024 + y * 32 + x] = cifarPixel(i, c, y, x);
  return b;
}

export function cifar10Batch(first: number, n: number, label: (i: number) => number): Buffer {
  const b = Buffer.alloc(n * 3073);
  for (let k = 0; k < n; k++) {
    b[k * 3073] = label(first + k);
    b.set(planarImage(first + k), k * 3073 + 1);
  }
  return b;
}

export function cifar100Batch(first: number, n: number, fine: (i: number) => number): Buffer {
  const b = Buffer.alloc(n * 3074);
  for (let k = 0; k < n; k++) {
    b[k * 3074] = fine(first + k) % 20;
    b[k * 3074 + 1] = fine(first + k);
    b.set(planarImage(first + k), k * 3074 + 2);
  }
  return b;
}

export const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const c10Label = (i: number): number => (i * 7) % 10;

/** cifar-10-batches-bin with `nBatches` training batches of `perBatch` and a test batch of `nTest`. */
export function writeCifar10Binary(dir: string, perBatch: number, nBatches: number, nTest: number): string {
  mkdirSync(dir, { recursive: true });
  for (let b = 0; b < nBatches; b++) writeFileSync(join(dir, `data_batch_${b + 1}.bin`), cifar10Batch(b * perBatch, perBatch, c10Label));
  writeFileSync(join(dir, 'test_batch.bin'), cifar10Batch(100_000, nTest, c10Label));
  writeFileSync(join(dir, 'batches.meta.txt'), CIFAR10_NAMES.join('\n') + '\n\n');
  writeFileSync(join(dir, 'readme.html'), '<meta HTTP-EQUIV="REFRESH" content="0; URL=http://www.cs.toronto.edu/~kriz/cifar.html">\n');
  return dir;
}

export const c100Fine = (i: number): number => (i * 13) % 100;

export function writeCifar100Binary(dir: string, nTrain: number, nTest: number): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train.bin'), cifar100Batch(0, nTrain, c100Fine));
  writeFileSync(join(dir, 'test.bin'), cifar100Batch(100_000, nTest, c100Fine));
  writeFileSync(join(dir, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `coarse_${i}`).join('\n') + '\n');
  writeFileSync(join(dir, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `fine_${i}`).join('\n') + '\n');
  return dir;
}

/** A tiny protocol-2 pickle writer producing what Python 2's cPickle wrote for CIFAR. */
export class Py2Pickle {
  private parts: Buffer[] = [Buffer.from([0x80, 0x02])];
  private op(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  raw(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  str(s: string | Uint8Array): this {
    const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s);
    if (b.length < 256) return this.op(0x55, b.length).raw(b); // SHORT_BINSTRING
    const h = Buffer.alloc(5);
    h[0] = 0x54; // BINSTRING
    h.writeInt32LE(b.length, 1);
    return this.raw(h).raw(b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= 0 && n < 65536) return this.op(0x4d, n & 255, n >> 8);
    const h = Buffer.alloc(5);
    h[0] = 0x4a;
    h.writeInt32LE(n, 1);
    return this.raw(h);
  }
  mark(): this {
    return this.op(0x28);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  emptyList(): this {
    return this.op(0x5d);
  }
  appends(): this {
    return this.op(0x65);
  }
  setitems(): this {
    return this.op(0x75);
  }
  global(mod: string, name: string): this {
    return this.raw(Buffer.from(`c${mod}\n${name}\n`, 'latin1'));
  }
  list(values: number[] | string[]): this {
    this.emptyList().mark();
    for (const v of values) if (typeof v === 'number') this.int(v); else this.str(v);
    return this.appends();
  }
  /** numpy.core.multiarray._reconstruct(ndarray, (0,), 'b') + BUILD((1, shape, dtype('u1'), False, data)). */
  ndarrayU8(shape: number[], data: Uint8Array): this {
    this.global('numpy.core.multiarray', '_reconstruct').global('numpy', 'ndarray').int(0).op(0x85).str('b').op(0x87).op(0x52);
    this.mark().int(1).mark();
    for (const d of shape) this.int(d);
    this.op(0x74); // TUPLE
    this.global('numpy', 'dtype').str('u1').int(0).int(1).op(0x87).op(0x52);
    this.mark().int(3).str('|').op(0x4e, 0x4e, 0x4e).int(-1).int(-1).int(0).op(0x74).op(0x62); // dtype BUILD
    this.op(0x89).str(data).op(0x74).op(0x62); // NEWFALSE, data, TUPLE, BUILD
    return this;
  }
  stop(): Buffer {
    this.op(0x2e);
    return Buffer.concat(this.parts);
  }
}

/** Planar data of images first..first+n-1, as CIFAR's Python "data" array (N×3072). */
export function planarData(first: number, n: number): Uint8Array {
  const d = new Uint8Array(n * 3072);
  for (let k = 0; k < n; k++) d.set(planarImage(first + k), k * 3072);
  return d;
}

export function cifar10PyBatch(first: number, n: number, batchLabel: string): Buffer {
  const labels = Array.from({ length: n }, (_, k) => c10Label(first + k));
  const p = new Py2Pickle().emptyDict().mark();
  p.str('data').ndarrayU8([n, 3072], planarData(first, n));
  p.str('labels').list(labels);
  p.str('batch_label').str(batchLabel);
  p.str('filenames').list(labels.map((_, k) => `img_${first + k}.png`));
  return p.setitems().stop();
}

export function writeCifar10Python(dir: string, perBatch: number, nBatches: number, nTest: number): string {
  mkdirSync(dir, { recursive: true });
  for (let b = 0; b < nBatches; b++) writeFileSync(join(dir, `data_batch_${b + 1}`), cifar10PyBatch(b * perBatch, perBatch, `training batch ${b + 1} of ${nBatches}`));
  writeFileSync(join(dir, 'test_batch'), cifar10PyBatch(100_000, nTest, 'testing batch 1 of 1'));
  const meta = new Py2Pickle().emptyDict().mark().str('num_cases_per_batch').int(perBatch).str('label_names').list(CIFAR10_NAMES).str('num_vis').int(3072).setitems().stop();
  writeFileSync(join(dir, 'batches.meta'), meta);
  return dir;
}

export function writeCifar100Python(dir: string, nTrain: number, nTest: number): string {
  mkdirSync(dir, { recursive: true });
  const batch = (first: number, n: number, label: string): Buffer => {
    const fine = Array.from({ length: n }, (_, k) => c100Fine(first + k));
    return new Py2Pickle()
      .emptyDict()
      .mark()
      .str('filenames')
      .list(fine.map((_, k) => `f${k}.png`))
      .str('batch_label')
      .str(label)
      .str('fine_labels')
      .list(fine)
      .str('coarse_labels')
      .list(fine.map((f) => f % 20))
      .str('data')
      .ndarrayU8([n, 3072], planarData(first, n))
      .setitems()
      .stop();
  };
  writeFileSync(join(dir, 'train'), batch(0, nTrain, 'training batch 1 of 1'));
  writeFileSync(join(dir, 'test'), batch(100_000, nTest, 'testing batch 1 of 1'));
  writeFileSync(
    join(dir, 'meta'),
    new Py2Pickle()
      .emptyDict()
      .mark()
      .str('fine_label_names')
      .list(Array.from({ length: 100 }, (_, i) => `fine_${i}`))
      .str('coarse_label_names')
      .list(Array.from({ length: 20 }, (_, i) => `coarse_${i}`))
      .setitems()
      .stop(),
  );
  return dir;
}

/** Packs `folder` (a child of `cwd`) into a .tar.gz like the official archives. */
export async function tarGz(cwd: string, folder: string, out: string): Promise<string> {
  await tar.c({ gzip: true, file: out, cwd, portable: true }, [folder]);
  return out;
}
