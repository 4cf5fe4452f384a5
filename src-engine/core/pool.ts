/**
 * Size-bucketed GPU buffer pool. Buffers are never destroyed when a tensor is
 * disposed: they go back to their bucket and are handed to the next tensor of
 * a similar size, so a training step that repeats the same shapes allocates
 * nothing after its first run.
 *
 * Buckets: sizes round up to a multiple of 1/4 of the enclosing power of two
 * (so at most 25 % waste), minimum 256 bytes.
 */

export function bucketSize(bytes: number): number {
  if (bytes <= 256) return 256;
  const p = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = Math.max(256, p / 4);
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  pooledBytes = 0;
  pooledBuffers = 0;
  /** Bytes in buffers this pool created and has not destroyed (live + pooled). */
  allocatedBytes = 0;

  constructor(
    private readonly create: (size: number) => GPUBuffer,
  ) {}

  acquire(bytes: number): GPUBuffer {
    const size = bucketSize(bytes);
    const list = this.free.get(size);
    const buf = list?.pop();
    if (buf) {
      this.pooledBytes -= size;
      this.pooledBuffers--;
      return buf;
    }
    const fresh = this.create(size);
    this.allocatedBytes += size;
    return fresh;
  }

  release(buf: GPUBuffer): void {
    const size = buf.size;
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(buf);
    this.pooledBytes += size;
    this.pooledBuffers++;
  }

  /** Removes `buf` from the free lists (true) or says it is not pooled (false). */
  claim(buf: GPUBuffer): boolean {
    const list = this.free.get(buf.size);
    const at = list ? list.indexOf(buf) : -1;
    if (at < 0) return false;
    list!.splice(at, 1);
    this.pooledBytes -= buf.size;
    this.pooledBuffers--;
    return true;
  }

  /**
   * Destroys pooled buffers (largest first) until at most `maxBytes` stay
   * pooled. Only call right after a submit: destroy() is deferred by WebGPU
   * until submitted work using the buffer is done, but a buffer destroyed
   * before submit would invalidate the open command encoder. Returns how
   * many buffers it destroyed.
   */
  trim(maxBytes: number): number {
    if (this.pooledBytes <= maxBytes) return 0;
    let destroyed = 0;
    const sizes = [...this.free.keys()].sort((a, b) => b - a);
    for (const size of sizes) {
      const list = this.free.get(size)!;
      while (list.length && this.pooledBytes > maxBytes) {
        list.pop()!.destroy();
        destroyed++;
        this.pooledBytes -= size;
        this.pooledBuffers--;
        this.allocatedBytes -= size;
      }
    }
    return destroyed;
  }

  destroyAll(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.allocatedBytes -= this.pooledBytes;
    this.pooledBytes = 0;
    this.pooledBuffers = 0;
  }
}
