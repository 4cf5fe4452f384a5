/**
 * Step plans: the GPU work of a training step, recorded while the step runs
 * normally and then re-issued without running the JavaScript that produced
 * it (model forward, autodiff tape, tensor bookkeeping).
 *
 * Why: on a software adapter the "GPU" is the CPU's cores, and every
 * millisecond the JavaScript thread spends recording a step is taken from
 * lavapipe's workers. Measured for LeNet-5 (batch 64, lavapipe, 2 cores):
 * re-issuing a recorded step costs ~0.3 ms of JavaScript against ~1.7–2.7 ms
 * for recording it from scratch, and a replay with that extra JavaScript
 * busy-waited in takes as long as a real step.
 *
 * A capture (Engine.beginCapture / endCapture) lists every dispatch, copy
 * and upload in order, with the exact buffers, uniform bytes and workgroup
 * counts. Two consecutive captures that match (sameCapture) mean the step's
 * GPU work does not depend on anything but its uploads (the batch); a capture
 * is unusable ("broken") when the step drew random seeds (dropout: the JS
 * RNG position must advance exactly as without plans), flushed or read back.
 * The trainer (train/trainer.ts) decides when to capture and owns the plan.
 *
 * Buffers: the step's intermediates were pooled buffers, back in the pool
 * when the step ended. A plan claims them out of the pool (nothing else can
 * be handed them while it lives) and gives them back on release(). Every
 * other buffer a plan touches is permanent (engine placeholders and
 * constant tables, checked for eviction before each replay), owned by
 * whoever keeps the plan (parameters, gradients, metric sums: checked by
 * them before each replay), or held by another live tensor (a model's
 * constants), whose storage the plan keeps alive so its buffer cannot be
 * handed to anything else.
 */
import type { Bindable, Engine } from './engine.ts';
import { EngineError } from './errors.ts';
import type { Kernel } from './kernel.ts';

export type PlanOp =
  | {
      kind: 'run';
      kernel: Kernel;
      buffers: Bindable[];
      params: Uint8Array | null;
      workgroups: number | readonly [number, number, number];
    }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number }
  | { kind: 'upload'; dst: GPUBuffer; dstOffset: number; bytes: number };

export interface Capture {
  ops: PlanOp[];
  /** Why the captured work cannot be replayed (null: it can). */
  broken: string | null;
}

const rawBuffer = (b: Bindable): GPUBuffer => ('mapAsync' in b ? b : b.buffer);

/** Numbers buffers by first appearance, so two captures compare up to which pooled buffer each tensor got. */
class Names {
  private readonly ids = new Map<GPUBuffer, number>();
  of(b: GPUBuffer): number {
    let id = this.ids.get(b);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(b, id);
    }
    return id;
  }
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameOp(a: PlanOp, b: PlanOp, na: Names, nb: Names): boolean {
  const same = (x: GPUBuffer, y: GPUBuffer): boolean => na.of(x) === nb.of(y);
  if (a.kind === 'run' && b.kind === 'run') {
    const wa = a.workgroups;
    const wb = b.workgroups;
    const sameGrid = typeof wa === 'number' || typeof wb === 'number' ? wa === wb : wa.every((v, i) => v === wb[i]);
    const sameBindable = (x: Bindable, y: Bindable): boolean =>
      'mapAsync' in x || 'mapAsync' in y ? 'mapAsync' in x && 'mapAsync' in y && same(x, y) : x.byteLength === y.byteLength && same(x.buffer, y.buffer);
    return (
      a.kernel === b.kernel &&
      sameGrid &&
      a.buffers.length === b.buffers.length &&
      a.buffers.every((x, i) => sameBindable(x, b.buffers[i])) &&
      sameBytes(a.params, b.params)
    );
  }
  if (a.kind === 'copy' && b.kind === 'copy') {
    return same(a.src, b.src) && a.srcOffset === b.srcOffset && same(a.dst, b.dst) && a.dstOffset === b.dstOffset && a.bytes === b.bytes;
  }
  if (a.kind === 'upload' && b.kind === 'upload') return same(a.dst, b.dst) && a.dstOffset === b.dstOffset && a.bytes === b.bytes;
  return false;
}

/**
 * Whether two captures recorded the same GPU work: the same kernels,
 * uniforms, sizes and order, and the same pattern of buffer use (which op
 * reads what an earlier op wrote), whichever pooled buffers held it. The
 * buffers themselves may differ: the pool's free lists rotate between steps.
 * Buffers that must be the very same ones (parameters, …) are checked by the
 * plan's owner.
 */
export function sameCapture(a: Capture, b: Capture): boolean {
  if (a.broken !== null || b.broken !== null || a.ops.length !== b.ops.length) return false;
  const na = new Names();
  const nb = new Names();
  return a.ops.every((op, i) => sameOp(op, b.ops[i], na, nb));
}

/** Every buffer a capture binds, copies or uploads into. */
export function capturedBuffers(c: Capture): Set<GPUBuffer> {
  const out = new Set<GPUBuffer>();
  for (const op of c.ops) {
    if (op.kind === 'run') for (const b of op.buffers) out.add(rawBuffer(b));
    else if (op.kind === 'copy') out.add(op.src).add(op.dst);
    else out.add(op.dst);
  }
  return out;
}

export class StepPlan {
  private released = false;

  /**
   * @param pinned the capture's pooled buffers, already claimed out of the
   *   pool (Engine.claimPooled); handed back by release().
   * @param constants the engine's constant tables it binds (Engine.isPermanent).
   * @param retained releasers of live tensors' storage it keeps alive (Engine.retainLive).
   */
  constructor(
    readonly engine: Engine,
    private readonly capture: Capture,
    private readonly pinned: readonly GPUBuffer[],
    private readonly constants: readonly GPUBuffer[],
    private readonly retained: ReadonlyArray<() => void> = [],
  ) {
    this.uploadSizes = capture.ops.flatMap((op) => (op.kind === 'upload' ? [op.bytes] : []));
  }

  /** Uploads the plan expects per replay, in order (their byte sizes). */
  readonly uploadSizes: readonly number[];

  /** Whether every constant table it binds is still the engine's (none evicted since the capture). */
  get valid(): boolean {
    return !this.released && this.constants.every((b) => this.engine.isPermanent(b));
  }

  /** Records the captured work again, with `uploads` (in capture order, same sizes) as the uploaded data. */
  replay(uploads: readonly ArrayBufferView[]): void {
    if (!this.valid) throw new EngineError('StepPlan: replay of a released or stale plan.');
    const sizes = this.uploadSizes;
    if (uploads.length !== sizes.length || uploads.some((u, i) => u.byteLength !== sizes[i])) {
      throw new EngineError(`StepPlan: expected uploads of ${sizes.join(', ')} bytes, got ${uploads.map((u) => u.byteLength).join(', ')}.`);
    }
    let next = 0;
    for (const op of this.capture.ops) {
      if (op.kind === 'run') this.engine.run(op.kernel, op.buffers, op.params, op.workgroups);
      else if (op.kind === 'copy') this.engine.copy(op.src, op.srcOffset, op.dst, op.dstOffset, op.bytes);
      else this.engine.upload(op.dst, uploads[next++], op.dstOffset);
    }
  }

  /** Gives the pinned buffers back to the pool (work already recorded with them stays valid: queue order). */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const b of this.pinned) this.engine.releaseBuffer(b);
    for (const r of this.retained) r();
  }
}
