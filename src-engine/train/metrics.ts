/**
 * Metrics accumulated on the GPU, read back only when the host asks.
 *
 * A training step must not wait on the GPU, so its loss and accuracy are not
 * read per step: `MetricAccumulator.add` records one small dispatch that adds
 * the batch's loss sum, correct count and example count into a 3-float
 * buffer, and `read()` (every N steps, at epoch ends) copies those 12 bytes
 * back and clears them. Sums are formed in a fixed order by one workgroup, so
 * they are bitwise reproducible (resumed runs continue the same curve).
 *
 * `ConfusionAccumulator` counts (true class, predicted class) pairs with
 * atomic u32 adds (order-free, so also exact) for evaluation.
 */
import type { Engine } from '../core/engine.ts';
import { ShapeError } from '../core/errors.ts';
import { kernel, Params, WGSL_WG_LINEAR } from '../core/kernel.ts';
import { fillTensor, fromTypedArray, type Tensor, zeros } from '../core/tensor.ts';
import { WGSL_ROW_REDUCE } from '../ops/softmax.ts';

const WG = 64;

/*
 * metric_accumulate: rowLoss [rows] f32, logits [rows, C] f32, labels [rows]
 * i32, acc [3] f32 = (Σ loss, Σ correct, Σ count), updated in place.
 * One workgroup of 64: invocation lid takes rows lid, lid + 64, …; a row is
 * correct when the first maximal logit is at its label. A tree reduction
 * gives the batch sums, which invocation 0 adds to acc. Grid [1, 1, 1].
 */
const ACCUMULATE = kernel(
  'train.metric_accumulate',
  /* wgsl */ `
struct P { rows: u32, C: u32 }
@group(0) @binding(0) var<storage, read> rowLoss: array<f32>;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> acc: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${WGSL_ROW_REDUCE}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var loss = 0.0;
  var correct = 0.0;
  for (var r = lid; r < p.rows; r += ${WG}u) {
    loss += rowLoss[r];
    let base = r * p.C;
    var best = 0u;
    var m = logits[base];
    for (var j = 1u; j < p.C; j++) {
      let v = logits[base + j];
      if (v > m) { m = v; best = j; }
    }
    if (i32(best) == labels[r]) { correct += 1.0; }
  }
  loss = wg_sum(loss, lid);
  correct = wg_sum(correct, lid);
  if (lid == 0u) {
    acc[0] = acc[0] + loss;
    acc[1] = acc[1] + correct;
    acc[2] = acc[2] + f32(p.rows);
  }
}`,
  ['read', 'read', 'read', 'write', 'uniform'],
);

/*
 * confusion_accumulate: logits [rows, C] f32, labels [rows] i32, conf [C, C]
 * u32 counts (row = true class, column = predicted), atomically incremented.
 * One invocation per row (argmax, first maximum wins); 1-D dispatch, folded.
 * Labels outside [0, C) are not counted.
 */
const CONFUSION = kernel(
  'train.confusion_accumulate',
  /* wgsl */ `
struct P { rows: u32, C: u32 }
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> conf: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> p: P;
${WGSL_WG_LINEAR}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let r = wg_linear(wid, nwg) * 64u + lid;
  if (r >= p.rows) { return; }
  let t = labels[r];
  if (t < 0 || u32(t) >= p.C) { return; }
  let base = r * p.C;
  var best = 0u;
  var m = logits[base];
  for (var j = 1u; j < p.C; j++) {
    let v = logits[base + j];
    if (v > m) { m = v; best = j; }
  }
  atomicAdd(&conf[u32(t) * p.C + best], 1u);
}`,
  ['read', 'read', 'write', 'uniform'],
);

function checkBatch(op: string, logits: Tensor, labels: Tensor): [number, number] {
  if (logits.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== logits.shape[0] || labels.dtype !== 'i32') {
    throw new ShapeError(op, 'expects logits [B, C] and i32 labels [B]', [logits.shape, labels.shape]);
  }
  return [logits.shape[0], logits.shape[1]];
}

/** Host-side view of accumulated sums. */
export interface MetricSums {
  /** Σ per-example loss. */
  lossSum: number;
  /** Σ correctly classified examples. */
  correct: number;
  /** Σ examples. */
  count: number;
}

/** Mean loss and error rate from sums (null when nothing was counted). */
export function metricMeans(s: MetricSums): { loss: number | null; error: number | null } {
  if (s.count === 0) return { loss: null, error: null };
  return { loss: s.lossSum / s.count, error: 1 - s.correct / s.count };
}

/** Loss sum, correct count and example count, accumulated on the GPU. */
export class MetricAccumulator {
  readonly acc: Tensor; // [3]
  /** Readbacks done (each one is a GPU round trip: keep them out of steps). */
  reads = 0;

  constructor(readonly engine: Engine) {
    this.acc = zeros(engine, [3]).keep();
  }

  /** Records the accumulation of one batch (no readback). `rowLoss` [B], `logits` [B, C], `labels` [B] i32. */
  add(rowLoss: Tensor, logits: Tensor, labels: Tensor): void {
    const [rows, C] = checkBatch('MetricAccumulator.add', logits, labels);
    if (rowLoss.size !== rows) throw new ShapeError('MetricAccumulator.add', 'one loss per row', [rowLoss.shape, logits.shape]);
    if (rows === 0) return;
    this.engine.run(ACCUMULATE, [rowLoss, logits, labels, this.acc], new Params().u32(rows).u32(C), [1, 1, 1]);
  }

  /** Reads the sums (flushes and waits for the GPU) and, by default, clears them. */
  async read(reset = true): Promise<MetricSums> {
    this.reads++;
    const v = await this.acc.read();
    if (reset) fillTensor(this.acc, 0);
    return { lossSum: v[0], correct: v[1], count: v[2] };
  }

  /** Sets the sums (restoring a checkpoint taken between two reads). */
  load(s: MetricSums): void {
    const t = fromTypedArray(this.engine, new Float32Array([s.lossSum, s.correct, s.count]));
    this.acc.assign(t);
    t.dispose();
  }

  dispose(): void {
    this.acc.dispose();
  }
}

/** Confusion-matrix counts on the GPU (evaluation). */
export class ConfusionAccumulator {
  readonly counts: Tensor; // [C, C] u32

  constructor(
    readonly engine: Engine,
    readonly classes: number,
  ) {
    this.counts = zeros(engine, [classes, classes], 'u32').keep();
  }

  add(logits: Tensor, labels: Tensor): void {
    const [rows, C] = checkBatch('ConfusionAccumulator.add', logits, labels);
    if (C !== this.classes) throw new ShapeError('ConfusionAccumulator.add', `logits have ${C} classes, expected ${this.classes}`, [logits.shape]);
    if (rows === 0) return;
    this.engine.run(CONFUSION, [logits, labels, this.counts], new Params().u32(rows).u32(C), Math.ceil(rows / 64));
  }

  /** confusion[true][predicted] (flushes and waits). */
  async read(): Promise<number[][]> {
    const raw = await this.counts.readRaw();
    const C = this.classes;
    return Array.from({ length: C }, (_, t) => Array.from(raw.subarray(t * C, (t + 1) * C)));
  }

  dispose(): void {
    this.counts.dispose();
  }
}
