/**
 * Starts a worker on a .ts entry: a one-line bootstrap loads tsx's ESM API in
 * the worker and imports the entry through it (execArgv `--import tsx` is not
 * honoured for worker threads on Node 20 under every runner).
 */
function startTsWorker(entry: URL): Worker {
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => m.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)}))`;
  return new Worker(code, { eval: true });
}

/**
 * A small pool of worker threads that augment batches off the main thread.
 * In the source tree (tests, CLI through tsx) the worker is the .ts file,
 * loaded with tsx; a built app passes the bundled worker's URL.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AugmentStepInput } from '../augment/pipeline-schema.ts';
import type { WorkerRequest, WorkerResponse } from './worker-protocol.ts';

export function defaultWorkerUrl(): URL {
  return new URL('./augment-worker.ts', import.meta.url);
}

export class AugmentWorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private rr = 0;
  private closed = false;

  constructor(size: number, workerUrl: URL = defaultWorkerUrl()) {
    const isTs = workerUrl.pathname.endsWith('.ts');
    for (let i = 0; i < size; i++) {
      const w = isTs ? startTsWorker(workerUrl) : new Worker(workerUrl);
      w.on('message', (m: WorkerResponse) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        this.updateRefs();
        if ('error' in m) p.reject(new Error(`augmentation worker: ${m.error}`));
        else p.resolve(new Uint8Array(m.images));
      });
      w.on('error', (e) => this.failAll(e));
      w.unref();
      this.workers.push(w);
    }
  }

  /** Workers keep the process alive only while they owe us a batch; idle pools never block exit. */
  private updateRefs(): void {
    for (const w of this.workers) {
      if (this.pending.size > 0) w.ref();
      else w.unref();
    }
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Augments a packed batch; `images` is transferred (unusable afterwards). */
  augment(images: Uint8Array, indices: Int32Array, shape: [number, number, 1 | 3], pipeline: AugmentStepInput[], seed: number, epoch: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error('the augmentation pool is closed'));
    const id = this.nextId++;
    const w = this.workers[this.rr++ % this.workers.length];
    const imgBuf = images.buffer.byteLength === images.byteLength ? (images.buffer as ArrayBuffer) : (images.slice().buffer as ArrayBuffer);
    const idxBuf = indices.slice().buffer as ArrayBuffer;
    const msg: WorkerRequest = { id, images: imgBuf, indices: idxBuf, shape, pipeline, seed, epoch };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.updateRefs();
      w.postMessage(msg, [imgBuf, idxBuf]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new Error('the augmentation pool was closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
