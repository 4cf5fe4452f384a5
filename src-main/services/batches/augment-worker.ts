/**
 * Worker thread body: augments the batches the pool sends it. Each worker
 * runs sharp with concurrency 1: the pool already keeps one worker per core
 * busy, and libvips' own thread pool only adds contention on 32×32 images.
 */
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { augmentBatch } from '../augment/augment.ts';
import { parsePipeline } from '../augment/pipeline-schema.ts';
import type { WorkerRequest, WorkerResponse } from './worker-protocol.ts';

sharp.concurrency(1);
sharp.cache(false); // every input is a fresh raw buffer; caching them only costs memory

parentPort?.on('message', (msg: WorkerRequest) => {
  void (async () => {
    try {
      const pipeline = parsePipeline(msg.pipeline);
      const images = await augmentBatch(new Uint8Array(msg.images), msg.shape, new Int32Array(msg.indices), pipeline, msg.seed, msg.epoch);
      const buf = images.buffer as ArrayBuffer;
      const res: WorkerResponse = { id: msg.id, images: buf };
      parentPort!.postMessage(res, [buf]);
    } catch (e) {
      const res: WorkerResponse = { id: msg.id, error: (e as Error).message };
      parentPort!.postMessage(res);
    }
  })();
});
