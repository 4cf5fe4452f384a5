import { describe, expect, it } from 'vitest';
import { MessageChannel } from 'node:worker_threads';
import { BatchProducer, batchTransferList, epochOrder, stratifiedSplit, type Batch } from '../../../src-main/services/batches/index.ts';

/** N 4×4×3 images; image i is filled with i % 256 and has label i % 7. */
function toyData(n: number): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(n * 48);
  for (let i = 0; i < n; i++) images.fill(i % 256, i * 48, (i + 1) * 48);
  return { images, labels: Uint8Array.from({ length: n }, (_, i) => i % 7) };
}

async function take(p: BatchProducer, n: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for (let k = 0; k < n; k++) out.push((await p.next())!);
  return out;
}

const AUG = [{ op: 'randomCrop', padding: 1 }, { op: 'hflip' }, { op: 'colorJitter', brightness: 0.3, p: 0.5 }];

describe('stratified dev split', () => {
  it('keeps round(n_c × fraction) of every class for dev, disjoint and complete, and is seeded', () => {
    // uneven classes: class c has 10 + 3c examples
    const labels: number[] = [];
    for (let c = 0; c < 5; c++) for (let k = 0; k < 10 + 3 * c; k++) labels.push(c);
    const s = stratifiedSplit(labels, 5, 0.2, 123);
    const devPerClass = [0, 0, 0, 0, 0];
    for (const i of s.dev) devPerClass[labels[i]]++;
    expect(devPerClass).toEqual([2, 3, 3, 4, 4]); // round(10·.2)=2, 13→2.6→3, 16→3.2→3, 19→3.8→4, 22→4.4→4
    const all = [...s.train, ...s.dev].sort((a, b) => a - b);
    expect(all).toEqual(labels.map((_, i) => i));
    expect(stratifiedSplit(labels, 5, 0.2, 123)).toEqual(s);
    expect(Array.from(stratifiedSplit(labels, 5, 0.2, 124).dev)).not.toEqual(Array.from(s.dev));
  });
});

describe('BatchProducer', () => {
  it('hands out every example exactly once per epoch, with its own label and unaugmented pixels', async () => {
    const { images, labels } = toyData(103);
    const p = new BatchProducer({ images, labels, shape: [4, 4, 3], batchSize: 10, seed: 1, epochs: 2 });
    expect(p.batchesPerEpoch).toBe(11);
    const seen = [new Array(103).fill(0), new Array(103).fill(0)];
    let batches = 0;
    for await (const b of p) {
      batches++;
      expect(b.images.length).toBe(b.indices.length * 48);
      expect(b.lastInEpoch).toBe(b.batchIndex === 10);
      b.indices.forEach((i, k) => {
        seen[b.epoch][i]++;
        expect(b.labels[k]).toBe(i % 7);
        expect(b.images[k * 48 + 47]).toBe(i % 256);
      });
    }
    expect(batches).toBe(22);
    expect(seen[0].every((n) => n === 1) && seen[1].every((n) => n === 1)).toBe(true);
  });

  it('same seed gives the same order; another seed or epoch a different one', async () => {
    const { images, labels } = toyData(50);
    const order = async (seed: number): Promise<number[]> => {
      const p = new BatchProducer({ images, labels, shape: [4, 4, 3], batchSize: 8, seed, epochs: 1 });
      const out: number[] = [];
      for await (const b of p) out.push(...b.indices);
      return out;
    };
    const a = await order(5);
    expect(await order(5)).toEqual(a);
    expect(await order(6)).not.toEqual(a);
    expect(Array.from(epochOrder(a.map((_, i) => i), 5, 0))).toEqual(a);
    expect(Array.from(epochOrder(a.map((_, i) => i), 5, 1))).not.toEqual(a);
  });

  it('draws only from the given indices (the train part of a dev split) and drops the last partial batch on request', async () => {
    const { images, labels } = toyData(70);
    const split = stratifiedSplit(labels, 7, 0.1, 9);
    const p = new BatchProducer({ images, labels, shape: [4, 4, 3], indices: split.train, batchSize: 16, seed: 2, dropLast: true, epochs: 1 });
    expect(p.batchesPerEpoch).toBe(3); // 63 train examples → 3 full batches of 16
    const got: number[] = [];
    for await (const b of p) {
      expect(b.indices.length).toBe(16);
      got.push(...b.indices);
    }
    const dev = new Set(split.dev);
    expect(got.some((i) => dev.has(i))).toBe(false);
    expect(new Set(got).size).toBe(48);
  });

  it('resuming at (epoch, k) gives exactly the remaining batches, augmented identically', async () => {
    const { images, labels } = toyData(60);
    const base = { images, labels, shape: [4, 4, 3] as [number, number, 3], batchSize: 8, seed: 77, augment: AUG };
    const full = new BatchProducer({ ...base, epochs: 3 });
    const all = await take(full, 24); // 8 batches per epoch × 3
    await full.close();
    const resumed = new BatchProducer({ ...base, start: { epoch: 1, batchIndex: 5 }, epochs: 3 });
    expect(resumed.position()).toEqual({ epoch: 1, batchIndex: 5 });
    const rest: Batch[] = [];
    for await (const b of resumed) rest.push(b);
    expect(rest).toHaveLength(24 - 13);
    rest.forEach((b, k) => {
      const ref = all[13 + k];
      expect([b.epoch, b.batchIndex]).toEqual([ref.epoch, ref.batchIndex]);
      expect(Array.from(b.indices)).toEqual(Array.from(ref.indices));
      expect(Buffer.from(b.images).equals(Buffer.from(ref.images))).toBe(true);
    });
  });

  it('prefetch is bounded: a slow trainer never has more than `prefetch` batches built ahead', async () => {
    const { images, labels } = toyData(200);
    const p = new BatchProducer({ images, labels, shape: [4, 4, 3], batchSize: 4, seed: 3, prefetch: 3, augment: AUG });
    for (let k = 0; k < 10; k++) {
      await p.next();
      await new Promise((r) => setTimeout(r, 5));
      expect(p.queued()).toBeLessThanOrEqual(3);
    }
    expect(p.maxInFlight).toBe(3);
    expect(p.position()).toEqual({ epoch: 0, batchIndex: 10 });
    await p.close();
    expect(await p.next()).toBeNull();
  });

  it('a worker pool produces byte-identical batches to in-process augmentation', async () => {
    const { images, labels } = toyData(40);
    const base = { images, labels, shape: [4, 4, 3] as [number, number, 3], batchSize: 8, seed: 11, augment: AUG, epochs: 1 };
    const inproc = await take(new BatchProducer(base), 5);
    const pooled = new BatchProducer({ ...base, workers: 2 });
    const viaPool = await take(pooled, 5);
    await pooled.close();
    viaPool.forEach((b, k) => expect(Buffer.from(b.images).equals(Buffer.from(inproc[k].images))).toBe(true));
  });

  it('batches own their buffers, so they can be transferred through a MessagePort', async () => {
    const { images, labels } = toyData(20);
    const p = new BatchProducer({ images, labels, shape: [4, 4, 3], batchSize: 5, seed: 0, epochs: 1 });
    const b = (await p.next())!;
    expect(b.images.byteLength).toBe(b.images.buffer.byteLength);
    const { port1, port2 } = new MessageChannel();
    const got = new Promise<{ images: Uint8Array; labels: Int32Array }>((r) => port2.once('message', r));
    const expected = Array.from(b.labels);
    port1.postMessage(b, batchTransferList(b));
    expect(b.images.byteLength).toBe(0); // moved, not copied
    const recv = await got;
    expect(Array.from(recv.labels)).toEqual(expected);
    port1.close();
    port2.close();
  });

  it('refuses an impossible resume position', () => {
    const { images, labels } = toyData(20);
    expect(() => new BatchProducer({ images, labels, shape: [4, 4, 3], batchSize: 5, seed: 0, start: { epoch: 0, batchIndex: 4 } })).toThrow(
      'cannot resume at epoch 0, batch 4: an epoch has 4 batches',
    );
  });
});
