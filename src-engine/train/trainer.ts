/**
 * One training step and the GPU-side bookkeeping around it.
 *
 *   step(batch, lr):  upload uint8 pixels → unpack to [B, C, H, W] f32 →
 *                     forward (training) → loss head: cross-entropy (label
 *                     smoothing optional), its gradient and the metric sums
 *                     in one dispatch → backward → (every N steps) per-parameter gradient
 *                     norms → optimizer step (clipping inside it when its
 *                     config says so) → grads freed → one submit.
 *
 * Nothing in a step reads the GPU back: losses and accuracy accumulate in a
 * 3-float buffer read every N steps by the caller (`readMetrics`), gradient
 * norms are read at the same moment. `throttle()` bounds how many submitted
 * steps may be in flight (the CPU otherwise records far ahead of a slow GPU)
 * by waiting on a step submitted `maxInFlight` steps earlier — a wait on
 * queue progress, not a readback.
 *
 * Memory: after the second step the live-tensor count is the baseline; a
 * step that ends with more live tensors is a leak and throws at once (with
 * the counts), rather than running out of memory hours later.
 */
import type { Engine } from '../core/engine.ts';
import { EngineError } from '../core/errors.ts';
import type { Capture, StepPlan } from '../core/step-plan.ts';
import { backward, noGrad, tidy, zeroGrad } from '../core/tape.ts';
import type { Tensor } from '../core/tensor.ts';
import type { PixelNormalizer } from '../nn/normalize.ts';
import type { Optimizer } from '../optim/base.ts';
import { gradNorms } from '../optim/clip.ts';
import { imagesToTensor, labelsToTensor } from './input.ts';
import { lossHead } from './loss-head.ts';
import { MetricAccumulator, metricMeans, type MetricSums } from './metrics.ts';
import { StepPlans } from './step-plans.ts';

/** What the trainer needs of a model (models/ builds these from a layer graph). */
export interface TrainableModel {
  /** x: raw pixels [N, C, H, W] f32 0..255 → logits [N, classes]. */
  forward(x: Tensor, opt: { training: boolean; normalized?: boolean }): Tensor;
  /** Trainable parameters by state_dict name. */
  parameters(): Map<string, Tensor>;
  /** Non-trainable state (BatchNorm running statistics) by state_dict name. */
  buffers(): Map<string, Tensor>;
  /** The model's input normalisation, done by the trainer's unpack kernel when given (forward then gets normalized: true). */
  inputNormalizer?(): PixelNormalizer | null;
}

/** A batch as the batch producer gives it. */
export interface ImageBatch {
  /** [B, H, W, C] uint8. */
  images: Uint8Array;
  /** [B] class ids. */
  labels: Int32Array;
}

/** The loss became NaN or ±Infinity: training cannot continue from here. */
export class DivergenceError extends EngineError {
  constructor(
    readonly step: number,
    readonly value: number,
    hint = 'Start a new run with a lower learning rate (try 10× smaller), gradient clipping (clipNorm) or a longer warm-up.',
  ) {
    super(`Training diverged: the loss became ${value} by step ${step}. ${hint}`);
  }
}

/** A step left more live tensors behind than the one before it. */
export class MemoryGrowthError extends EngineError {}

export interface TrainerOptions {
  /** Image shape [H, W, C] of every batch. */
  imageShape: readonly [number, number, number];
  /** PyTorch's label_smoothing ε (default 0). */
  labelSmoothing?: number;
  /** Submitted steps allowed in flight before `throttle()` waits (default 2). */
  maxInFlight?: number;
  /** Throw MemoryGrowthError when a step grows the live-tensor count (default true). */
  checkMemory?: boolean;
  /**
   * Replay recorded steps (train/step-plans.ts) instead of re-running the
   * model's JavaScript for every step (default true; same results bit for bit).
   */
  stepPlans?: boolean;
}

export interface StepOptions {
  /** Measure per-parameter gradient norms in this step (read with `readGradNorms`). */
  gradNorms?: boolean;
}

export class Trainer {
  readonly metrics: MetricAccumulator;
  /** Optimizer steps taken through this trainer. */
  steps = 0;
  private readonly params: Map<string, Tensor>;
  private readonly opts: Required<TrainerOptions>;
  private norms: Tensor | null = null;
  /** Recorded steps replayed instead of running the model's JavaScript again. */
  readonly plans: StepPlans;
  private inFlight: Array<Promise<unknown>> = [];
  private baselineTensors = -1;

  constructor(
    readonly engine: Engine,
    readonly model: TrainableModel,
    readonly optimizer: Optimizer,
    opts: TrainerOptions,
  ) {
    this.opts = { labelSmoothing: 0, maxInFlight: 2, checkMemory: true, stepPlans: true, ...opts };
    this.plans = new StepPlans(engine, this.opts.stepPlans);
    this.params = model.parameters();
    this.metrics = new MetricAccumulator(engine);
  }

  /** One optimizer step on a batch with learning rate `lr`. Records and submits GPU work; never waits. */
  step(batch: ImageBatch, lr: number, opt: StepOptions = {}): void {
    const [H, W, C] = this.opts.imageShape;
    const B = batch.labels.length;
    const plan = this.plans.forStep(B);
    if (plan) {
      this.replayStep(plan, batch, lr, opt);
      return;
    }
    zeroGrad(this.params.values()); // a failed earlier step (or a dropped plan) may have left some
    const capturing = this.plans.shouldCapture(B, !!opt.gradNorms);
    let captured: Capture | null = null;
    tidy(() => {
      // Captured for a step plan: everything up to the metrics (see train/step-plans.ts).
      if (capturing) this.engine.beginCapture();
      try {
        // Labels first: both uploads then precede any recorded command, so both are plain
        // queue writes (an upload after a dispatch goes through a staging buffer made per call).
        const y = labelsToTensor(this.engine, batch.labels); // [B]
        // Unpacked and normalised in one dispatch when the model says how (its first layer is then skipped).
        const norm = this.model.inputNormalizer?.() ?? null;
        const x = imagesToTensor(this.engine, batch.images, [B, H, W, C], norm); // [B, C, H, W]
        const logits = this.model.forward(x, { training: true, normalized: norm !== null }); // [B, classes]
        // Cross-entropy, its gradient for the batch mean and the metric sums in one dispatch
        // (train/loss-head.ts); then p.grad for every parameter.
        const dLogits = lossHead(this.engine, logits, y, this.metrics.acc, this.opts.labelSmoothing); // [B, classes]
        backward(logits, dLogits);
      } finally {
        if (capturing) captured = this.engine.endCapture();
      }
      noGrad(() => this.update(lr, opt));
    });
    // A plan made from this step keeps its gradients (it rewrites them in place every replay).
    const planned = captured !== null && this.plans.afterCapture(captured, B, this.params.values(), [this.metrics.acc]);
    if (!planned) zeroGrad(this.params.values());
    this.endStep();
  }

  /** A step from a plan: uploads and the recorded forward/backward, then the optimizer as usual. */
  private replayStep(plan: StepPlan, batch: ImageBatch, lr: number, opt: StepOptions): void {
    tidy(() => {
      plan.replay([batch.labels, batch.images]);
      noGrad(() => this.update(lr, opt));
    });
    this.plans.replays++;
    this.endStep();
  }

  /** Gradient norms (when asked) and the optimizer step, from the parameters' gradients. */
  private update(lr: number, opt: StepOptions): void {
    if (opt.gradNorms) {
      this.norms?.dispose();
      this.norms = gradNorms(this.params).keep(); // [P], before clipping
    }
    this.optimizer.step(lr);
  }

  private endStep(): void {
    this.engine.flush();
    this.steps++;
    this.inFlight.push(this.engine.device.queue.onSubmittedWorkDone());
    this.checkMemory();
  }

  private checkMemory(): void {
    if (!this.opts.checkMemory) return;
    // Pending gradient norms and a step plan's gradients are not a leak.
    const live = this.engine.liveTensors - (this.norms ? 1 : 0) - this.plans.keptGradients;
    if (this.steps === 2) this.baselineTensors = live;
    else if (this.steps > 2 && live > this.baselineTensors) {
      throw new MemoryGrowthError(
        `A training step leaked GPU tensors: ${live} live after step ${this.steps}, ${this.baselineTensors} after step 2. ` +
          'This is a bug in a model layer or op (a tensor kept outside tidy()); please report it.',
      );
    }
  }

  /** Waits until at most `maxInFlight` submitted steps are unfinished (queue progress only, no readback). */
  async throttle(): Promise<void> {
    while (this.inFlight.length > this.opts.maxInFlight) {
      const p = this.inFlight.shift()!;
      try {
        await p;
      } catch {
        this.engine.checkAlive(); // a lost device becomes DeviceLostError
      }
    }
  }

  /** Reads and clears the accumulated metrics (a GPU round trip: every N steps, not every step). */
  async readMetrics(): Promise<MetricSums & { loss: number | null; error: number | null }> {
    const s = await this.metrics.read();
    this.inFlight = [];
    if (!Number.isFinite(s.lossSum)) throw new DivergenceError(this.steps, s.lossSum);
    return { ...s, ...metricMeans(s) };
  }

  /** Per-parameter gradient L2 norms of the last step that measured them (null if none since the last read). */
  async readGradNorms(): Promise<Map<string, number> | null> {
    if (!this.norms) return null;
    const v = await this.norms.read();
    this.norms.dispose();
    this.norms = null;
    const out = new Map<string, number>();
    [...this.params.keys()].forEach((name, i) => out.set(name, v[i]));
    return out;
  }

  dispose(): void {
    this.plans.release();
    zeroGrad(this.params.values()); // a plan's gradients
    this.norms?.dispose();
    this.norms = null;
    this.metrics.dispose();
  }
}
