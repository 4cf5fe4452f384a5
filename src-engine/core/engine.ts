/**
 * The Engine: one per GPUDevice. It owns
 *  - the pipeline cache (keyed by entry + WGSL source, which includes every
 *    specialisation constant baked into the source) and bind-group layouts
 *    shared by all kernels with the same binding kinds;
 *  - the buffer pool (core/pool.ts) and memory statistics;
 *  - the *current command encoder*: every op records its dispatch into it, and
 *    it is submitted only when results are needed (`read`, `sync`) or on
 *    `flush()`. One training step therefore becomes one command buffer with no
 *    mapAsync inside it;
 *  - a uniform arena: kernel parameters of one command buffer are packed into
 *    a few 64 KiB uniform buffers written just before submit (queue order makes
 *    reuse across submits safe);
 *  - error plumbing: device loss and uncaptured GPU errors become typed errors
 *    (core/errors.ts) thrown at the next sync point (read/sync) or, after a
 *    loss, by the next op.
 *
 * Autodiff mode and tidy scopes are process-wide (core/scope.ts), not per engine.
 */
import { DeviceLostError, EngineError, LimitError, OutOfMemoryError, ShaderCompileError } from './errors.ts';
import { type BindingKind, type Kernel, Params } from './kernel.ts';
import type { Capture } from './step-plan.ts';
import { BufferPool } from './pool.ts';

/** Something that can be bound as a storage buffer: a Tensor, or a raw buffer + size. */
export interface BufferSource {
  readonly buffer: GPUBuffer;
  readonly byteLength: number;
}
export type Bindable = GPUBuffer | BufferSource;

export interface EngineOptions {
  /** Base seed for random ops that are not given one (default 0). */
  seed?: number;
  /** Pooled (free) bytes kept for reuse after a flush; the rest is destroyed (default 512 MiB). */
  maxPooledBytes?: number;
}

export interface EngineLimits {
  maxWorkgroupsPerDimension: number;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxWorkgroupStorageSize: number;
  maxInvocationsPerWorkgroup: number;
  maxStorageBuffersPerStage: number;
  minUniformOffsetAlignment: number;
}

export interface MemoryStats {
  /** Tensor objects not yet disposed (views count separately). */
  liveTensors: number;
  /** GPU buffers held by live tensors (views share one). */
  liveBuffers: number;
  /** Bytes of those buffers (bucket sizes). */
  liveBytes: number;
  /** Free buffers waiting in the pool for reuse. */
  pooledBuffers: number;
  pooledBytes: number;
  /** All bytes in tensor buffers the engine holds (live + pooled). */
  allocatedBytes: number;
  /** Lookup tables kept by constantBuffer (not tensors; bounded by MAX_CONSTANTS). */
  constantBuffers: number;
  constantBytes: number;
  pipelines: number;
  dispatches: number;
  submits: number;
}

/** Objects registered in tidy scopes: tensors (core/tensor.ts) implement it. */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const UNIFORM_CHUNK = 64 * 1024;
/** Cached bind groups kept at most (the cache is cleared when full). */
const MAX_BIND_GROUPS = 4096;
/** Lookup tables kept by constantBuffer (each a few KB). */
export const MAX_CONSTANTS = 256;
/** Allocations at least this big are wrapped in an out-of-memory error scope. */
const OOM_SCOPE_BYTES = 16 * 1024 * 1024;

interface UniformChunk {
  gpu: GPUBuffer;
  cpu: Uint8Array<ArrayBuffer>;
  used: number;
}

export class Engine {
  readonly device: GPUDevice;
  readonly limits: EngineLimits;
  /**
   * True on a CPU implementation of WebGPU (Mesa lavapipe, SwiftShader), as
   * far as the device's adapter info tells: kernels whose best shape differs
   * between CPUs and GPUs (ops/conv.ts, ops/matmul.ts) choose by it.
   */
  readonly isSoftware: boolean;
  /**
   * True on Mesa's lavapipe (llvmpipe's LLVM JIT), where kernels with large
   * unrolled bodies compile in a fraction of a second. SwiftShader took
   * 150 s to compile the same by-blocks / by-rows convolution gradients
   * (ops/conv-dw-blocks.ts, conv-dx-rows.ts): those are lavapipe-only.
   */
  readonly isLavapipe: boolean;

  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly pipelineNames = new Set<string>();
  private readonly layouts = new Map<string, { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout; key: string }>();
  private readonly pool: BufferPool;
  private readonly maxPooledBytes: number;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private recorded = 0;
  private readonly uniformChunks: UniformChunk[] = [];
  private uniformChunkIndex = 0;
  private readonly afterSubmit: GPUBuffer[] = [];
  /**
   * Bind groups by (layout, buffers, ranges): a training step binds the same
   * pooled buffers step after step, and creating a bind group costs ~20 µs
   * of JavaScript-thread time in Dawn's Node binding (~1 ms per LeNet-5
   * step), time a software adapter's workers do not get. Uniforms use a
   * dynamic offset, so they do not make a bind group unique. Keys name
   * buffers by ids never reused, so an entry can only go stale (hold a
   * destroyed buffer), never be wrong; the cache is dropped when the pool
   * destroys buffers (rare: only above its byte budget) and is capped.
   */
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  /** Stand-in buffers for unused optional bindings (placeholder), by slot. */
  private readonly placeholders: GPUBuffer[] = [];
  /** Read-only lookup tables kept across calls (constantBuffer), least recently used first. */
  private readonly constants = new Map<string, GPUBuffer>();
  private pendingError: EngineError | null = null;
  /** Compile checks not yet awaited: sync points wait for them so a compile error wins. */
  private compileChecks: Array<Promise<void>> = [];
  private lostError: DeviceLostError | null = null;
  private seedCounter = 0;
  private readonly baseSeed: number;
  /** The step being recorded for a plan (core/step-plan.ts), or null. */
  private capture: Capture | null = null;
  /** The tensor storage that last took each pooled buffer (core/tensor.ts registers it). */
  private readonly storages = new WeakMap<GPUBuffer, { refs: number; retain(): void; release(): void }>();

  // memory accounting (buffers are counted once even when shared by views)
  liveTensors = 0;
  liveBuffers = 0;
  liveBytes = 0;
  private dispatches = 0;
  private submits = 0;

  constructor(device: GPUDevice, options: EngineOptions = {}) {
    this.device = device;
    const l = device.limits;
    this.limits = {
      maxWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerStage: l.maxStorageBuffersPerShaderStage,
      minUniformOffsetAlignment: l.minUniformBufferOffsetAlignment,
    };
    const info = (device as { adapterInfo?: { architecture?: string; description?: string; vendor?: string } }).adapterInfo;
    const desc = `${info?.architecture ?? ''} ${info?.description ?? ''} ${info?.vendor ?? ''}`;
    this.isSoftware = /software|llvmpipe|lavapipe|swiftshader/i.test(desc);
    this.isLavapipe = /llvmpipe|lavapipe/i.test(desc);
    this.baseSeed = (options.seed ?? 0) >>> 0;
    this.maxPooledBytes = options.maxPooledBytes ?? 512 * 2 ** 20;
    this.pool = new BufferPool((size) => this.createStorageBuffer(size));
    device.lost.then((info) => {
      this.lostError = new DeviceLostError(info.reason ?? 'unknown', info.message ?? '');
    });
    // Uncaptured errors are per device: with several engines on one device
    // (tests), each of them sees every error. The app uses one per device.
    this.onError = (ev: Event): void => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.recordError(toEngineError(err, 'GPU'));
    };
    device.addEventListener('uncapturederror', this.onError);
  }

  private readonly onError: (ev: Event) => void;

  /**
   * Submits pending work, frees pooled and internal buffers and detaches from
   * the device. Live tensors stay valid until disposed (their buffers are
   * then destroyed rather than pooled). The device itself is not destroyed.
   */
  dispose(): void {
    if (!this.lostError) this.flush();
    this.bindGroups.clear();
    this.pool.trim(0);
    for (const b of this.constants.values()) b.destroy();
    this.constants.clear();
    for (const b of this.placeholders) b?.destroy(); // sparse: slots are filled on demand
    this.placeholders.length = 0;
    for (const c of this.uniformChunks) c.gpu.destroy();
    this.uniformChunks.length = 0;
    this.device.removeEventListener('uncapturederror', this.onError);
    this.disposed = true;
  }
  private disposed = false;

  /** True once the device is lost; every later call throws DeviceLostError. */
  get isLost(): boolean {
    return this.lostError !== null;
  }

  // ---------------------------------------------------------------- pipelines

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(b, id);
    }
    return id;
  }

  private layoutFor(bindings: readonly BindingKind[]): { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout; key: string } {
    const key = bindings.map((b) => b[0]).join('');
    let entry = this.layouts.get(key);
    if (!entry) {
      const bgl = this.device.createBindGroupLayout({
        label: 'bgl:' + key,
        entries: bindings.map((kind, binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer:
            kind === 'uniform'
              ? { type: 'uniform', hasDynamicOffset: true }
              : { type: kind === 'read' ? 'read-only-storage' : 'storage' },
        })),
      });
      const pl = this.device.createPipelineLayout({ bindGroupLayouts: [bgl] });
      entry = { bgl, pl, key };
      this.layouts.set(key, entry);
    }
    return entry;
  }

  /** The compiled pipeline for a kernel (compiled on first use, then cached). */
  pipeline(k: Kernel): GPUComputePipeline {
    let p = this.pipelines.get(k.key);
    if (!p) {
      this.checkAlive();
      const { pl } = this.layoutFor(k.bindings);
      this.device.pushErrorScope('validation');
      const module = this.device.createShaderModule({ label: k.name, code: k.code });
      p = this.device.createComputePipeline({ label: k.name, layout: pl, compute: { module, entryPoint: k.entry } });
      // Shader messages (line:col) say far more than the pipeline error: fetch them.
      const info = module.getCompilationInfo().then(
        (ci) => ci.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`),
        () => [] as string[],
      );
      const check = this.device.popErrorScope().then(async (e) => {
        const msgs = await info;
        if (e || msgs.length) this.recordError(new ShaderCompileError(k.name, msgs.join('; ') || e!.message));
      });
      this.compileChecks.push(check.catch(() => undefined));
      this.pipelines.set(k.key, p);
      this.pipelineNames.add(k.name);
    }
    return p;
  }

  // ----------------------------------------------------------------- dispatch

  /**
   * Folds a 1-D workgroup count into a grid that respects
   * maxComputeWorkgroupsPerDimension. Kernels recompute the linear index with
   * `wg_linear` (core/kernel.ts) and must bounds-check: x·y may exceed n.
   */
  grid(n: number): [number, number, number] {
    const max = this.limits.maxWorkgroupsPerDimension;
    if (n <= max) return [Math.max(1, n), 1, 1];
    const y = Math.ceil(n / max);
    if (y > max) throw new LimitError('maxComputeWorkgroupsPerDimension', n, max * max, 'A dispatch');
    return [Math.ceil(n / y), y, 1];
  }

  /**
   * Records one dispatch of `k` into the current command encoder.
   * `buffers` fill the non-uniform bindings in order; `params` fills the
   * uniform binding. `workgroups` is either a linear count (folded by `grid`)
   * or an explicit [x, y, z] grid.
   */
  run(
    k: Kernel,
    buffers: readonly Bindable[],
    params: Params | Uint8Array | null,
    workgroups: number | readonly [number, number, number],
  ): void {
    this.checkAlive();
    if (this.capture) {
      const bytes = params === null ? null : (params instanceof Params ? params.bytes() : params).slice();
      const bufs = buffers.map((b): Bindable => ('mapAsync' in b ? b : { buffer: b.buffer, byteLength: b.byteLength }));
      this.capture.ops.push({ kind: 'run', kernel: k, buffers: bufs, params: bytes, workgroups });
    }
    const pipeline = this.pipeline(k);
    const { bgl, key: layoutKey } = this.layoutFor(k.bindings);
    const entries: GPUBindGroupEntry[] = [];
    const offsets: number[] = [];
    let key = layoutKey;
    let bi = 0;
    k.bindings.forEach((kind, binding) => {
      let resource: GPUBufferBinding;
      if (kind === 'uniform') {
        if (!params) throw new EngineError(`Kernel '${k.name}' needs params`);
        const u = this.uniform(params instanceof Params ? params.bytes() : params);
        offsets.push(u.offset!);
        resource = { buffer: u.buffer, offset: 0, size: u.size };
      } else {
        const b = buffers[bi++];
        if (!b) throw new EngineError(`Kernel '${k.name}' expects more buffers than the ${buffers.length} given`);
        resource = bufferBinding(b);
      }
      entries.push({ binding, resource });
      key += `|${this.bufferId(resource.buffer)}:${resource.offset ?? 0}:${resource.size ?? -1}`;
    });
    let bindGroup = this.bindGroups.get(key);
    if (!bindGroup) {
      if (this.bindGroups.size >= MAX_BIND_GROUPS) this.bindGroups.clear();
      bindGroup = this.device.createBindGroup({ layout: bgl, entries });
      this.bindGroups.set(key, bindGroup);
    }
    const [x, y, z] = typeof workgroups === 'number' ? this.grid(workgroups) : workgroups;
    const max = this.limits.maxWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new LimitError('maxComputeWorkgroupsPerDimension', Math.max(x, y, z), max, `Kernel '${k.name}'`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup, offsets);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
    this.recorded++;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.currentEncoder().beginComputePass();
    return this.pass;
  }

  private currentEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private endPass(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return this.currentEncoder();
  }

  private uniform(bytes: Uint8Array): GPUBufferBinding {
    const align = this.limits.minUniformOffsetAlignment;
    let chunk = this.uniformChunks[this.uniformChunkIndex];
    const need = Math.ceil(bytes.byteLength / align) * align;
    if (chunk && chunk.used + need > UNIFORM_CHUNK) {
      this.uniformChunkIndex++;
      chunk = this.uniformChunks[this.uniformChunkIndex];
    }
    if (!chunk) {
      chunk = {
        gpu: this.device.createBuffer({ size: UNIFORM_CHUNK, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }),
        cpu: new Uint8Array(UNIFORM_CHUNK),
        used: 0,
      };
      this.uniformChunks.push(chunk);
    }
    const offset = chunk.used;
    chunk.cpu.set(bytes, offset);
    chunk.used += need;
    return { buffer: chunk.gpu, offset, size: bytes.byteLength };
  }

  /** Records a buffer-to-buffer copy (ends the open compute pass). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.checkAlive();
    if (bytes === 0) return;
    this.capture?.ops.push({ kind: 'copy', src, srcOffset, dst, dstOffset, bytes });
    this.copyRaw(src, srcOffset, dst, dstOffset, bytes);
  }

  private copyRaw(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.recorded++;
  }

  /**
   * Writes CPU data into `dst` in command order: directly when nothing is
   * recorded yet, else through a staging buffer copied inside the encoder (a
   * plain queue.writeBuffer would land before the recorded commands run).
   */
  upload(dst: GPUBuffer, data: ArrayBufferView, dstOffset = 0): void {
    this.checkAlive();
    const bytes = data.byteLength;
    if (bytes === 0) return;
    this.capture?.ops.push({ kind: 'upload', dst, dstOffset, bytes });
    const padded = Math.ceil(bytes / 4) * 4;
    const src = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, bytes);
    if (this.recorded === 0) {
      if (padded === bytes) this.device.queue.writeBuffer(dst, dstOffset, src);
      else {
        const tmp = new Uint8Array(padded);
        tmp.set(src);
        this.device.queue.writeBuffer(dst, dstOffset, tmp);
      }
      return;
    }
    const staging = this.device.createBuffer({
      size: padded,
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.MAP_WRITE,
      mappedAtCreation: true,
    });
    new Uint8Array(staging.getMappedRange()).set(src);
    staging.unmap();
    this.copyRaw(staging, 0, dst, dstOffset, padded);
    this.afterSubmit.push(staging);
  }

  /**
   * A small storage buffer bound where a kernel's optional operand is absent
   * (no bias, no saved pre-activation, …): never read or written because a
   * uniform flag says so. Distinct slots give distinct buffers, as two
   * writable bindings of one dispatch must not alias.
   */
  placeholder(slot: number): GPUBuffer {
    this.checkAlive();
    return (this.placeholders[slot] ??= this.device.createBuffer({ label: `placeholder:${slot}`, size: 256, usage: GPUBufferUsage.STORAGE }));
  }

  /**
   * A read-only storage buffer holding `build()`'s bytes, built once per
   * `key` and kept (up to MAX_CONSTANTS, least recently used evicted after
   * the next submit): index tables that depend only on a layer's geometry.
   * Not a tensor: counted apart in memory() (constantBuffers) and never
   * disposed by callers.
   */
  constantBuffer(key: string, build: () => ArrayBufferView): GPUBuffer {
    this.checkAlive();
    let buf = this.constants.get(key);
    if (buf) {
      this.constants.delete(key);
      this.constants.set(key, buf);
      return buf;
    }
    const data = build();
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    buf = this.device.createBuffer({ label: 'const:' + key, size, usage: GPUBufferUsage.STORAGE, mappedAtCreation: true });
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buf.unmap();
    this.constants.set(key, buf);
    if (this.constants.size > MAX_CONSTANTS) {
      const [oldKey, old] = this.constants.entries().next().value as [string, GPUBuffer];
      this.constants.delete(oldKey);
      // Commands recorded but not yet submitted may still bind it.
      this.afterSubmit.push(old);
    }
    return buf;
  }

  /** Submits everything recorded so far (no wait). Cheap when nothing is recorded. */
  flush(): void {
    this.checkAlive();
    if (!this.encoder) return;
    if (this.capture) this.capture.broken ??= 'it submits work mid-step';
    const encoder = this.endPass();
    for (let i = 0; i <= this.uniformChunkIndex && i < this.uniformChunks.length; i++) {
      const c = this.uniformChunks[i];
      if (c.used > 0) this.device.queue.writeBuffer(c.gpu, 0, c.cpu, 0, c.used);
      c.used = 0;
    }
    this.uniformChunkIndex = 0;
    this.device.queue.submit([encoder.finish()]);
    this.encoder = null;
    this.recorded = 0;
    this.submits++;
    // (Staging and evicted-table buffers destroyed here may sit in cached bind
    // groups: harmless, their ids never come back; the cap bounds them.)
    for (const b of this.afterSubmit) b.destroy();
    this.afterSubmit.length = 0;
    if (this.pool.trim(this.maxPooledBytes) > 0) this.bindGroups.clear();
  }

  /** Flushes and waits for the GPU; throws any GPU error recorded since the last sync. */
  async sync(): Promise<void> {
    this.flush();
    await this.guard(this.device.queue.onSubmittedWorkDone());
    await this.settle();
  }

  /** Copies `bytes` of `src` to the CPU (flushes the encoder). */
  async readBuffer(src: GPUBuffer, bytes: number, srcOffset = 0): Promise<ArrayBuffer> {
    this.checkAlive();
    const padded = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size: padded, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    if (this.capture) this.capture.broken ??= 'it reads the GPU back';
    if (bytes > 0) this.copyRaw(src, srcOffset, staging, 0, padded);
    this.flush();
    try {
      await this.guard(staging.mapAsync(GPUMapMode.READ));
      await this.settle();
      return staging.getMappedRange().slice(0, bytes);
    } finally {
      staging.destroy();
    }
  }

  /** Turns a failed GPU promise into DeviceLostError when the device is gone. */
  private async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      // device.lost may resolve a tick after the failed promise: give it a moment.
      await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, 200))]);
      if (this.lostError) throw this.lostError;
      throw this.pendingError ?? e;
    }
  }

  // ------------------------------------------------------------------- memory

  /**
   * A pooled storage buffer of at least `bytes` (bucketed). Throws LimitError
   * for sizes the device cannot bind, OutOfMemoryError when allocation fails.
   */
  acquireBuffer(bytes: number): GPUBuffer {
    this.checkAlive();
    const max = Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
    if (bytes > max) {
      throw new LimitError('maxStorageBufferBindingSize', bytes, max, 'A tensor of this size');
    }
    return this.pool.acquire(bytes);
  }

  releaseBuffer(buf: GPUBuffer): void {
    if (this.lostError) return;
    if (this.disposed) {
      buf.destroy();
      return;
    }
    this.pool.release(buf);
  }

  private createStorageBuffer(size: number): GPUBuffer {
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    if (size < OOM_SCOPE_BYTES) return this.device.createBuffer({ size, usage });
    this.device.pushErrorScope('out-of-memory');
    let buf: GPUBuffer;
    try {
      buf = this.device.createBuffer({ size, usage });
    } catch (e) {
      this.device.popErrorScope().catch(() => undefined);
      throw new OutOfMemoryError(size, String(e));
    }
    this.device.popErrorScope().then((e) => {
      if (e) this.recordError(new OutOfMemoryError(size, e.message));
    });
    return buf;
  }

  memory(): MemoryStats {
    return {
      liveTensors: this.liveTensors,
      liveBuffers: this.liveBuffers,
      liveBytes: this.liveBytes,
      pooledBuffers: this.pool.pooledBuffers,
      pooledBytes: this.pool.pooledBytes,
      allocatedBytes: this.pool.allocatedBytes,
      constantBuffers: this.constants.size,
      constantBytes: [...this.constants.values()].reduce((n, b) => n + b.size, 0),
      pipelines: this.pipelines.size,
      dispatches: this.dispatches,
      submits: this.submits,
    };
  }

  /** Names of the kernels compiled so far (which variants a workload used). */
  compiledKernels(): string[] {
    return [...this.pipelineNames].sort();
  }

  /** Frees pooled buffers (e.g. after training, before a different model). */
  releasePool(): void {
    this.flush();
    this.bindGroups.clear();
    this.pool.trim(0);
  }

  // -------------------------------------------------------------------- seeds

  /**
   * A fresh 32-bit stream id for a random op that was not given a seed:
   * deterministic given the engine seed and the sequence of random ops.
   */
  nextSeed(): number {
    if (this.capture) this.capture.broken ??= 'it draws random seeds (dropout or other random ops)';
    this.seedCounter++;
    return (Math.imul(this.baseSeed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(this.seedCounter, 0xc2b2ae35)) >>> 0;
  }

  // ------------------------------------------------------------ step plans

  /** Starts recording every dispatch, copy and upload for a step plan (core/step-plan.ts). */
  beginCapture(): void {
    if (this.capture) throw new EngineError('Engine: a capture is already running.');
    this.capture = { ops: [], broken: null };
  }

  /** Ends the recording started by beginCapture(). */
  endCapture(): Capture {
    const c = this.capture;
    if (!c) throw new EngineError('Engine: endCapture() without beginCapture().');
    this.capture = null;
    return c;
  }

  /** Takes a buffer out of the pool's free list (true) so that no tensor is handed it until releaseBuffer(). */
  claimPooled(buf: GPUBuffer): boolean {
    return this.pool.claim(buf);
  }

  /** Called by tensor storage when it takes a buffer. */
  registerStorage(buf: GPUBuffer, storage: { refs: number; retain(): void; release(): void }): void {
    this.storages.set(buf, storage);
  }

  /**
   * If a live tensor holds `buf`, keeps its storage alive (the buffer cannot
   * go back to the pool) until the returned function is called; else null.
   */
  retainLive(buf: GPUBuffer): (() => void) | null {
    const s = this.storages.get(buf);
    if (!s || s.refs <= 0) return null;
    s.retain();
    return () => s.release();
  }

  /** Whether `buf` is one of the engine's own long-lived buffers: a placeholder or a (not evicted) constant table. */
  isPermanent(buf: GPUBuffer): boolean {
    if (this.placeholders.includes(buf)) return true;
    for (const b of this.constants.values()) if (b === buf) return true;
    return false;
  }

  // ------------------------------------------------------------------- errors

  private recordError(e: EngineError): void {
    // A compile error explains the "invalid pipeline" errors that follow it: keep it.
    if (!this.pendingError || (e instanceof ShaderCompileError && !(this.pendingError instanceof ShaderCompileError))) {
      this.pendingError = e;
    }
  }

  private async settle(): Promise<void> {
    if (this.compileChecks.length) {
      const checks = this.compileChecks;
      this.compileChecks = [];
      await Promise.all(checks);
    }
    this.throwPending();
  }

  private throwPending(): void {
    if (this.lostError) throw this.lostError;
    const e = this.pendingError;
    if (e) {
      this.pendingError = null;
      throw e;
    }
  }

  /** Throws DeviceLostError if the device is gone. Ops call this implicitly via run(). */
  checkAlive(): void {
    if (this.lostError) throw this.lostError;
  }
}

function bufferBinding(b: Bindable): GPUBufferBinding {
  if ('mapAsync' in b) return { buffer: b };
  // Bind exactly the tensor's bytes (pool buckets are larger) so arrayLength() is meaningful.
  return { buffer: b.buffer, offset: 0, size: Math.max(4, Math.ceil(b.byteLength / 4) * 4) };
}

function toEngineError(err: GPUError, where: string): EngineError {
  const name = err.constructor?.name ?? '';
  if (name.includes('OutOfMemory')) return new OutOfMemoryError(0, err.message);
  const invalid = /Invalid ComputePipeline "([^"]+)"/.exec(err.message);
  if (invalid) return new ShaderCompileError(invalid[1], err.message);
  if (/shader|wgsl|compil/i.test(err.message)) return new ShaderCompileError(where, err.message);
  return new EngineError(`${where} error: ${err.message}. This is likely an engine bug; please report it.`);
}
