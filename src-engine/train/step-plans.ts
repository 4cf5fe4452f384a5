/**
 * When the trainer records its steps as a plan and when it replays one
 * (core/step-plan.ts says what a plan is and why).
 *
 * The part of a step that goes into a plan is everything up to the metric
 * accumulation: input upload and unpack, forward, loss, backward. The
 * optimizer update (its uniforms change with the learning rate and step
 * count) and the optional gradient norms still run as JavaScript after it,
 * reading the gradients the plan wrote.
 *
 * Schedule, per batch size B: steps are captured until two consecutive
 * captures match, which makes the plan (normally at the second step at B);
 * from then on steps at B replay it. Steps that measure gradient norms are
 * not captured (they keep a tensor of the step alive past it). A plan's gradients stay attached to the parameters
 * (the plan writes them in place), so the trainer does not free them after
 * each step while a plan lives. A step at another B, a parameter or
 * gradient that is no longer the tensor the plan writes, an evicted
 * constant table, or any kept tensor disposed, drops the plan and runs
 * normally. Random ops in the step (dropout) turn plans off for good: a
 * replay would not advance the random-seed counter the way a normal step
 * does, and checkpoints must resume on the same curve.
 */
import type { Engine } from '../core/engine.ts';
import { type Capture, capturedBuffers, sameCapture, StepPlan } from '../core/step-plan.ts';
import type { Tensor } from '../core/tensor.ts';

/** Captures in a row that may fail to make a plan before plans are given up for this trainer. */
const MAX_FAILURES = 4;

interface Active {
  plan: StepPlan;
  B: number;
  /** Parameter, its buffer and its gradient's buffer (null: no gradient) at capture time. */
  params: Array<[Tensor, GPUBuffer, GPUBuffer | null]>;
  /** Other tensors the plan binds that the trainer keeps (metric sums, the loss seed), with their buffers. */
  kept: Array<[Tensor, GPUBuffer]>;
}

export class StepPlans {
  private active: Active | null = null;
  private B = -1;
  private stepsAtB = 0;
  private last: Capture | null = null;
  private failures = 0;
  /** Why plans are off for this trainer (null while they may be used). */
  off: string | null;
  /** Steps replayed from a plan so far. */
  replays = 0;

  constructor(
    private readonly engine: Engine,
    enabled: boolean,
  ) {
    this.off = enabled ? null : 'disabled by the trainer options';
  }

  /** Gradient tensors the live plan keeps attached to the parameters (not a leak). */
  get keptGradients(): number {
    return this.active ? this.active.params.filter(([, , g]) => g !== null).length : 0;
  }

  /**
   * The plan for a step of B images, or null (then run the step normally;
   * a plan that no longer applies has been released, its gradients left to
   * the caller's zeroGrad).
   */
  forStep(B: number): StepPlan | null {
    const a = this.active;
    if (!a) return null;
    const intact =
      a.B === B &&
      a.plan.valid &&
      a.params.every(([p, buf, g]) => !p.isDisposed && p.buffer === buf && (p.grad && !p.grad.isDisposed ? p.grad.buffer : null) === g) &&
      a.kept.every(([t, buf]) => !t.isDisposed && t.buffer === buf);
    if (intact) return a.plan;
    this.release();
    return null;
  }

  /** Whether the normal step about to run (B images, gradient norms or not) is to be captured. */
  shouldCapture(B: number, gradNorms: boolean): boolean {
    if (this.off !== null || this.failures >= MAX_FAILURES) return false;
    if (B !== this.B) {
      this.B = B;
      this.stepsAtB = 0;
      this.last = null;
    }
    this.stepsAtB++;
    return !gradNorms;
  }

  /**
   * After a captured step has ended (its temporaries back in the pool) and
   * before its gradients are freed. True: a plan was made, and the step's
   * gradients now belong to it (do not free them).
   */
  afterCapture(c: Capture, B: number, params: Iterable<Tensor>, kept: readonly Tensor[]): boolean {
    if (c.broken !== null) {
      if (c.broken.includes('random')) this.off = `the step ${c.broken}`;
      else this.failures++;
      this.last = null;
      return false;
    }
    const prev = this.last;
    this.last = c;
    if (!prev) return false;
    if (!sameCapture(prev, c)) {
      this.failures++;
      return false;
    }
    const paramList: Active['params'] = [...params].map((p) => [p, p.buffer, p.grad ? p.grad.buffer : null]);
    const keptList: Active['kept'] = kept.map((t) => [t, t.buffer]);
    const owned = new Set<GPUBuffer>([...paramList.flatMap(([, b, g]) => (g ? [b, g] : [b])), ...keptList.map(([, b]) => b)]);
    const pinned: GPUBuffer[] = [];
    const constants: GPUBuffer[] = [];
    const retained: Array<() => void> = [];
    for (const b of capturedBuffers(c)) {
      if (owned.has(b)) continue;
      if (this.engine.isPermanent(b)) constants.push(b);
      else if (this.engine.claimPooled(b)) pinned.push(b);
      else {
        const release = this.engine.retainLive(b); // another live tensor's (a model constant): keep it alive
        if (release) retained.push(release);
        else {
          for (const p of pinned) this.engine.releaseBuffer(p);
          for (const r of retained) r();
          this.failures++;
          return false;
        }
      }
    }
    this.active = { plan: new StepPlan(this.engine, c, pinned, constants, retained), B, params: paramList, kept: keptList };
    this.last = null;
    this.failures = 0;
    return true;
  }

  /** Drops the plan (its pinned buffers back to the pool). Its gradients stay on the parameters for the caller to free. */
  release(): void {
    this.active?.plan.release();
    this.active = null;
  }
}
