/**
 * Streams uint8 batches ahead of the trainer.
 *
 * - Order: each epoch is a seeded shuffle of the example indices (split.ts),
 *   so (seed, epoch, batchIndex) fully determines a batch: a killed run that
 *   restarts at `start: {epoch, batchIndex}` gets exactly the batches it
 *   would have had.
 * - Prefetch with back-pressure: at most `prefetch` batches are being built
 *   or waiting; the next one starts only when the trainer takes one.
 * - Augmentation runs in a worker pool (`workers` > 0) or in-process.
 * - Batches are fresh buffers (never views of the dataset), ready to be
 *   transferred to a Web Worker: see `batchTransferList`.
 * Normalisation to float is not done here: it happens on the GPU.
 */
import { augmentBatch } from '../augment/augment.ts';
import { parsePipeline, type AugmentPipeline, type AugmentStepInput } from '../augment/pipeline-schema.ts';
import { epochOrder } from './split.ts';
import { AugmentWorkerPool } from './worker-pool.ts';

export interface BatchPosition {
  epoch: number;
  /** Index of the batch within its epoch. */
  batchIndex: number;
}

export interface Batch extends BatchPosition {
  /** [B, H, W, C] uint8. */
  images: Uint8Array;
  /** [B] class ids. */
  labels: Int32Array;
  /** [B] example indices into the dataset split. */
  indices: Int32Array;
  /** True for the epoch's last batch. */
  lastInEpoch: boolean;
}

export interface BatchProducerOptions {
  /** The split's pixels, [N, H, W, C]. */
  images: Uint8Array;
  labels: ArrayLike<number>;
  shape: [number, number, 1 | 3];
  /** Which examples to draw from (e.g. the train part of a dev split); default all. */
  indices?: ArrayLike<number>;
  batchSize: number;
  seed: number;
  /** Augmentation steps (validated here); empty or absent = none. */
  augment?: unknown;
  /** Default true; dev/test streams use false. */
  shuffle?: boolean;
  /** Drop the last partial batch of each epoch (fixed-shape training steps). Default false. */
  dropLast?: boolean;
  /** Batches built ahead at most. Default 4. */
  prefetch?: number;
  /** Augmentation worker threads; 0 = in this thread. Default 0. */
  workers?: number;
  /** Resume here. Default epoch 0, batch 0. */
  start?: BatchPosition;
  /** Stop after this many epochs (the iterator ends); default: never. */
  epochs?: number;
  /** URL of the built worker script (bundled apps); default the .ts next to this file. */
  workerUrl?: URL;
}

export function batchTransferList(b: Batch): ArrayBuffer[] {
  return [b.images.buffer as ArrayBuffer, b.labels.buffer as ArrayBuffer, b.indices.buffer as ArrayBuffer];
}

export class BatchProducer {
  readonly batchSize: number;
  readonly batchesPerEpoch: number;
  private readonly pipeline: AugmentPipeline;
  private readonly pipelineInput: AugmentStepInput[];
  private readonly indices: Int32Array;
  private readonly per: number;
  private readonly prefetch: number;
  private readonly pool?: AugmentWorkerPool;
  private readonly queue: Promise<Batch>[] = [];
  /** Position of the next batch to *build*. */
  private buildPos: BatchPosition;
  /** Position of the next batch to *hand out*. */
  private outPos: BatchPosition;
  private orderEpoch = -1;
  private order: Int32Array = new Int32Array(0);
  private closed = false;
  /** Highest number of batches built or in flight at once (for tests and diagnostics). */
  maxInFlight = 0;

  constructor(private readonly opts: BatchProducerOptions) {
    const [h, w, c] = opts.shape;
    this.per = h * w * c;
    const n = opts.images.length / this.per;
    if (!Number.isInteger(n) || opts.labels.length !== n) {
      throw new RangeError(`images hold ${opts.images.length / this.per} examples of ${h}×${w}×${c} but there are ${opts.labels.length} labels`);
    }
    this.indices = Int32Array.from(opts.indices ?? Array.from({ length: n }, (_, i) => i));
    for (const i of this.indices) if (i < 0 || i >= n) throw new RangeError(`index ${i} is outside the split (0–${n - 1})`);
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${opts.batchSize}`);
    this.batchSize = opts.batchSize;
    const m = this.indices.length;
    this.batchesPerEpoch = opts.dropLast ? Math.floor(m / this.batchSize) : Math.ceil(m / this.batchSize);
    if (this.batchesPerEpoch === 0) throw new RangeError(`${m} examples make no full batch of ${this.batchSize}`);
    this.pipeline = opts.augment === undefined ? [] : parsePipeline(opts.augment);
    this.pipelineInput = this.pipeline as AugmentStepInput[];
    this.prefetch = Math.max(1, Math.floor(opts.prefetch ?? 4));
    const start = opts.start ?? { epoch: 0, batchIndex: 0 };
    if (start.batchIndex < 0 || start.batchIndex >= this.batchesPerEpoch || start.epoch < 0) {
      throw new RangeError(`cannot resume at epoch ${start.epoch}, batch ${start.batchIndex}: an epoch has ${this.batchesPerEpoch} batches`);
    }
    this.buildPos = { ...start };
    this.outPos = { ...start };
    if ((opts.workers ?? 0) > 0 && this.pipeline.length > 0) this.pool = new AugmentWorkerPool(opts.workers!, opts.workerUrl);
  }

  /** The position of the next batch `next()` returns: save it with a checkpoint to resume. */
  position(): BatchPosition {
    return { ...this.outPos };
  }

  private orderFor(epoch: number): Int32Array {
    if (this.orderEpoch !== epoch) {
      this.order = epochOrder(this.indices, this.opts.seed, epoch, this.opts.shuffle ?? true);
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  private finished(pos: BatchPosition): boolean {
    return this.opts.epochs !== undefined && pos.epoch >= this.opts.epochs;
  }

  private async build(pos: BatchPosition): Promise<Batch> {
    const order = this.orderFor(pos.epoch);
    const from = pos.batchIndex * this.batchSize;
    const idx = order.slice(from, Math.min(order.length, from + this.batchSize));
    const b = idx.length;
    const raw = new Uint8Array(b * this.per);
    const labels = new Int32Array(b);
    for (let k = 0; k < b; k++) {
      const i = idx[k];
      raw.set(this.opts.images.subarray(i * this.per, (i + 1) * this.per), k * this.per);
      labels[k] = this.opts.labels[i];
    }
    let images: Uint8Array = raw;
    if (this.pipeline.length > 0) {
      images = this.pool
        ? await this.pool.augment(raw, idx, this.opts.shape, this.pipelineInput, this.opts.seed, pos.epoch)
        : await augmentBatch(raw, this.opts.shape, idx, this.pipeline, this.opts.seed, pos.epoch);
    }
    return { ...pos, images, labels, indices: idx, lastInEpoch: pos.batchIndex === this.batchesPerEpoch - 1 };
  }

  private advance(pos: BatchPosition): BatchPosition {
    return pos.batchIndex + 1 < this.batchesPerEpoch ? { epoch: pos.epoch, batchIndex: pos.batchIndex + 1 } : { epoch: pos.epoch + 1, batchIndex: 0 };
  }

  /** Keeps up to `prefetch` batches in flight (the back-pressure bound). */
  private pump(): void {
    while (!this.closed && this.queue.length < this.prefetch && !this.finished(this.buildPos)) {
      const p = this.build(this.buildPos);
      p.catch(() => undefined); // surfaced when the trainer awaits it
      this.queue.push(p);
      this.maxInFlight = Math.max(this.maxInFlight, this.queue.length);
      this.buildPos = this.advance(this.buildPos);
    }
  }

  /** Number of batches built or being built, not yet taken. */
  queued(): number {
    return this.queue.length;
  }

  /** The next batch, or null after the last epoch (when `epochs` is set) or after close(). */
  async next(): Promise<Batch | null> {
    if (this.closed) return null;
    this.pump();
    const p = this.queue.shift();
    if (!p) return null;
    const batch = await p;
    this.outPos = this.advance(this.outPos);
    this.pump();
    return batch;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    for (;;) {
      const b = await this.next();
      if (!b) return;
      yield b;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    await this.pool?.close();
  }
}
