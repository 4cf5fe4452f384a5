/**
 * The training step's loss head in one dispatch: per-row softmax
 * cross-entropy (label smoothing as ops/losses.ts), its gradient for the
 * batch mean, and the metric sums (Σ loss, Σ correct, count) added into the
 * trainer's accumulator (train/metrics.ts).
 *
 * Unfused, a step ran the cross-entropy forward, its backward and the
 * metric accumulation as three dispatches over 64 rows of 10 logits; on
 * lavapipe each dispatch costs ~50–100 µs whatever its size. The arithmetic
 * is the same, in the same order, as those three kernels with a seed of
 * 1/B per row: results are bit-identical to crossEntropy → backward(rowLoss,
 * 1/B) → MetricAccumulator.add.
 */
import type { Engine } from '../core/engine.ts';
import { ShapeError } from '../core/errors.ts';
import { kernel, Params } from '../core/kernel.ts';
import { empty, type Tensor } from '../core/tensor.ts';
import { WGSL_ROW_REDUCE } from '../ops/softmax.ts';

const WG = 64;

/*
 * train.loss_head: logits [rows, C], labels [rows] i32 → dx [rows, C] =
 * scale·(softmax(x) − q) (0 for out-of-range labels), acc [3] += (Σ loss,
 * Σ correct, rows). One workgroup of 64: invocation lid takes rows lid,
 * lid + 64, …; tree sums as train.metric_accumulate. Grid [1, 1, 1].
 */
const LOSS_HEAD = kernel(
  'train.loss_head',
  /* wgsl */ `
struct P { rows: u32, C: u32, eps: f32, scale: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<storage, read_write> acc: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${WGSL_ROW_REDUCE}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var lossSum = 0.0;
  var correct = 0.0;
  for (var r = lid; r < p.rows; r += ${WG}u) {
    let base = r * p.C;
    var m = -3.402823e38;
    var sx = 0.0;
    var best = 0u;
    var top = x[base];
    for (var j = 0u; j < p.C; j++) {
      let v = x[base + j];
      m = max(m, v);
      sx += v;
      if (j > 0u && v > top) { top = v; best = j; }
    }
    var s = 0.0;
    for (var j = 0u; j < p.C; j++) { s += exp(x[base + j] - m); }
    let t = labels[r];
    let valid = t >= 0 && u32(t) < p.C;
    if (valid) { lossSum += m + log(s) - (1.0 - p.eps) * x[base + u32(t)] - p.eps / f32(p.C) * sx; }
    if (i32(best) == t) { correct += 1.0; }
    let gr = select(0.0, p.scale, valid);
    let inv = 1.0 / s;
    let spread = p.eps / f32(p.C);
    for (var j = 0u; j < p.C; j++) {
      let q = select(0.0, 1.0 - p.eps, i32(j) == t) + spread;
      dx[base + j] = gr * (exp(x[base + j] - m) * inv - q);
    }
  }
  lossSum = wg_sum(lossSum, lid);
  correct = wg_sum(correct, lid);
  if (lid == 0u) {
    acc[0] = acc[0] + lossSum;
    acc[1] = acc[1] + correct;
    acc[2] = acc[2] + f32(p.rows);
  }
}`,
  ['read', 'read', 'write', 'write', 'uniform'],
);

/**
 * Records the loss head for logits [B, C] and labels [B] (i32): returns the
 * gradient of mean cross-entropy with respect to the logits ([B, C], no
 * autodiff) and adds the batch's sums into `acc` ([3]).
 */
export function lossHead(engine: Engine, logits: Tensor, labels: Tensor, acc: Tensor, labelSmoothing: number): Tensor {
  if (logits.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== logits.shape[0] || labels.dtype !== 'i32' || acc.size !== 3) {
    throw new ShapeError('lossHead', 'expects logits [B, C], i32 labels [B] and a [3] accumulator', [logits.shape, labels.shape, acc.shape]);
  }
  const [rows, C] = logits.shape;
  const dx = empty(engine, logits.shape); // [B, C]
  if (rows > 0) engine.run(LOSS_HEAD, [logits, labels, dx, acc], new Params().u32(rows).u32(C).f32(labelSmoothing).f32(1 / rows), [1, 1, 1]);
  return dx;
}
