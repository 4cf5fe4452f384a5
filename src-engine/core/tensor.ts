/**
 * Tensor: a contiguous row-major array on the GPU (f32, or i32/u32 for labels
 * and indices), with optional autodiff state (requiresGrad, grad, the node
 * that produced it — see core/tape.ts).
 *
 * Storage is reference-counted so reshape/flatten/detach are free views of one
 * buffer; the buffer returns to the engine's pool when the last view is
 * disposed. Every tensor is registered in the innermost open tidy() scope.
 */
import type { BufferSource, Disposable, Engine } from './engine.ts';
import { DisposedError, EngineError, ShapeError } from './errors.ts';
import { kernel, Params, WGSL_WG_LINEAR } from './kernel.ts';
import { trackInScope, untrackFromScopes } from './scope.ts';
import { checkShape, type Shape, sizeOf, stridesOf } from './shape.ts';
import type { GradNode } from './tape.ts';

export type DType = 'f32' | 'i32' | 'u32';
export type TensorData = Float32Array | Int32Array | Uint32Array;

/** One GPU buffer shared by a tensor and its views. */
class Storage {
  refs = 1;
  constructor(
    readonly engine: Engine,
    readonly buffer: GPUBuffer,
  ) {
    engine.liveBuffers++;
    engine.liveBytes += buffer.size;
    engine.registerStorage(buffer, this);
  }
  /** One more holder besides the tensors sharing it (a step plan); undone by release(). */
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs > 0) return;
    this.engine.liveBuffers--;
    this.engine.liveBytes -= this.buffer.size;
    this.engine.releaseBuffer(this.buffer);
  }
}

export class Tensor implements BufferSource, Disposable {
  readonly engine: Engine;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Whether gradients flow to (leaf) or through (non-leaf) this tensor. */
  requiresGrad = false;
  /** Accumulated gradient (leaves only), owned by this tensor. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, for backward (null for leaves). */
  node: GradNode | null = null;
  /** Which output of `node` this tensor is. */
  outputIndex = 0;
  /** Optional label shown in errors and debug output. */
  name = '';
  private storage: Storage | null;
  private kept = false;
  private owned: Tensor[] | null = null;

  /** Use the creation functions (zeros, fromTypedArray, empty, …) rather than this. */
  constructor(engine: Engine, shape: Shape, dtype: DType, share?: Tensor) {
    checkShape('tensor', shape);
    this.engine = engine;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(stridesOf(shape));
    this.dtype = dtype;
    this.size = sizeOf(shape);
    if (share) {
      const s = share.liveStorage();
      s.refs++;
      this.storage = s;
    } else {
      this.storage = new Storage(engine, engine.acquireBuffer(this.size * 4));
    }
    engine.liveTensors++;
    trackInScope(this);
  }

  get rank(): number {
    return this.shape.length;
  }
  get byteLength(): number {
    return this.size * 4;
  }
  get isDisposed(): boolean {
    return this.storage === null;
  }
  get isKept(): boolean {
    return this.kept;
  }
  /** True when a view shares this tensor's buffer (in-place writes would show through). */
  get sharesStorage(): boolean {
    return (this.storage?.refs ?? 0) > 1;
  }
  /** The GPU buffer (possibly larger than byteLength: pool buckets). */
  get buffer(): GPUBuffer {
    return this.liveStorage().buffer;
  }

  private liveStorage(): Storage {
    if (!this.storage) {
      throw new DisposedError(
        `Tensor${this.name ? " '" + this.name + "'" : ''} [${this.shape.join(', ')}] was used after dispose() ` +
          '(a tidy() scope disposes tensors it does not return; keep() the ones you need).',
      );
    }
    return this.storage;
  }

  /** A view with another shape of the same size (no copy). */
  view(shape: Shape): Tensor {
    if (sizeOf(shape) !== this.size) throw new ShapeError('reshape', 'sizes differ', [this.shape, shape]);
    return new Tensor(this.engine, shape, this.dtype, this);
  }

  /** A view that is cut off from autodiff (shares the buffer). */
  detach(): Tensor {
    return this.view(this.shape);
  }

  /**
   * Overwrites this tensor's values with `src`'s (same size and dtype), in
   * command order. In-place and outside autodiff: for optimizer updates and
   * running statistics, where parameters must keep their identity.
   */
  assign(src: Tensor): this {
    if (src.size !== this.size || src.dtype !== this.dtype) {
      throw new ShapeError('assign', 'source must have the same size and dtype', [this.shape, src.shape]);
    }
    if (src.buffer !== this.buffer) this.engine.copy(src.buffer, 0, this.buffer, 0, this.byteLength);
    return this;
  }

  /** Exempts this tensor from every enclosing tidy() scope. */
  keep(): this {
    this.kept = true;
    untrackFromScopes(this);
    return this;
  }

  /**
   * Ties the lifetime of op-internal tensors (e.g. a saved pre-activation
   * that only backward reads) to this output: they are disposed with it.
   */
  own(...ts: Tensor[]): this {
    (this.owned ??= []).push(...ts);
    for (const t of ts) t.keep();
    return this;
  }

  /** Frees the buffer (when no view shares it), the gradient and owned tensors. Idempotent. */
  dispose(): void {
    if (!this.storage) return;
    this.storage.release();
    this.storage = null;
    this.engine.liveTensors--;
    this.node = null;
    if (this.owned) {
      for (const t of this.owned) t.dispose();
      this.owned = null;
    }
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** Copies the values to the CPU as float32 (integers converted). Flushes recorded work. */
  async read(): Promise<Float32Array> {
    const raw = await this.readRaw();
    return raw instanceof Float32Array ? raw : Float32Array.from(raw);
  }

  /** Copies the values to the CPU in the tensor's own dtype. */
  async readRaw(): Promise<TensorData> {
    const bytes = await this.engine.readBuffer(this.buffer, this.byteLength);
    if (this.dtype === 'i32') return new Int32Array(bytes);
    if (this.dtype === 'u32') return new Uint32Array(bytes);
    return new Float32Array(bytes);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeError('item', 'tensor must have exactly one element', [this.shape]);
    return (await this.readRaw())[0];
  }

  toString(): string {
    return `Tensor(${this.name || '?'}, [${this.shape.join(', ')}], ${this.dtype}${this.requiresGrad ? ', grad' : ''})`;
  }
}

// ------------------------------------------------------------------ creation

/** An uninitialised tensor: what ops allocate for their outputs. */
export function empty(engine: Engine, shape: Shape, dtype: DType = 'f32'): Tensor {
  return new Tensor(engine, shape, dtype);
}

/*
 * fill: out[i] = bits, for i < n (bits are the raw 32-bit pattern of the value).
 * One invocation writes one element; 1-D dispatch, possibly folded.
 */
const FILL = kernel(
  'fill',
  /* wgsl */ `
struct P { n: u32, bits: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> p: P;
${WGSL_WG_LINEAR}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = wg_linear(wid, nwg) * 256u + lid;
  if (i < p.n) { out[i] = p.bits; }
}`,
  ['write', 'uniform'],
);

function bitsOf(value: number, dtype: DType): number {
  if (dtype === 'f32') return new Uint32Array(new Float32Array([value]).buffer)[0];
  return dtype === 'i32' ? value | 0 : value >>> 0;
}

export function full(engine: Engine, shape: Shape, value: number, dtype: DType = 'f32'): Tensor {
  const t = new Tensor(engine, shape, dtype);
  fillTensor(t, value);
  return t;
}

/** Overwrites every element of `t` with `value` (recorded; not autodiff-tracked). */
export function fillTensor(t: Tensor, value: number): void {
  if (t.size === 0) return;
  t.engine.run(FILL, [t], new Params().u32(t.size).u32(bitsOf(value, t.dtype)), Math.ceil(t.size / 256));
}

export function zeros(engine: Engine, shape: Shape, dtype: DType = 'f32'): Tensor {
  return full(engine, shape, 0, dtype);
}

export function ones(engine: Engine, shape: Shape, dtype: DType = 'f32'): Tensor {
  return full(engine, shape, 1, dtype);
}

export function scalar(engine: Engine, value: number, dtype: DType = 'f32'): Tensor {
  return full(engine, [], value, dtype);
}

/** A tensor from a typed array (dtype follows the array type) and a shape (default: 1-D). */
export function fromTypedArray(engine: Engine, data: TensorData, shape?: Shape): Tensor {
  const s = shape ?? [data.length];
  if (sizeOf(s) !== data.length) {
    throw new ShapeError('fromTypedArray', `${data.length} values do not fill the shape`, [s]);
  }
  const dtype: DType = data instanceof Int32Array ? 'i32' : data instanceof Uint32Array ? 'u32' : 'f32';
  const t = new Tensor(engine, s, dtype);
  engine.upload(t.buffer, data);
  return t;
}

/** A tensor from plain numbers (flat or nested arrays); shape inferred when nested. */
export function fromArray(engine: Engine, data: NestedNumbers, shape?: Shape, dtype: DType = 'f32'): Tensor {
  const flat: number[] = [];
  const inferred = flatten(data, flat);
  const arr = dtype === 'f32' ? Float32Array.from(flat) : dtype === 'i32' ? Int32Array.from(flat) : Uint32Array.from(flat);
  return fromTypedArray(engine, arr, shape ?? inferred);
}

export type NestedNumbers = number | readonly NestedNumbers[];

function flatten(data: NestedNumbers, out: number[]): number[] {
  if (typeof data === 'number') {
    out.push(data);
    return [];
  }
  let inner: number[] | null = null;
  for (const d of data) {
    const s = flatten(d, out);
    if (inner && inner.join() !== s.join()) throw new EngineError('fromArray: ragged nested array');
    inner = s;
  }
  return [data.length, ...(inner ?? [])];
}
