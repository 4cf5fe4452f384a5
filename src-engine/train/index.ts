/**
 * The trainer: host-agnostic (no Node, no DOM). Input conversion on the GPU,
 * the training step, GPU-side metric accumulators, evaluation, statistics of
 * a test error, seed-sequence tracking for checkpoints. The host (a Node
 * worker thread: src-main/services/runs/train-worker.ts) feeds batches, reads
 * metrics every N steps and writes checkpoints.
 */
export { imagesToTensor, labelsToTensor } from './input.ts';
export { MetricAccumulator, ConfusionAccumulator, metricMeans, type MetricSums } from './metrics.ts';
export { Trainer, DivergenceError, MemoryGrowthError, type TrainableModel, type ImageBatch, type TrainerOptions, type StepOptions } from './trainer.ts';
export { evaluate, type EvalResult, type EvaluateOptions } from './evaluate.ts';
export { errorCi95, perClassAccuracy, confusionError } from './stats.ts';
export { SeedTracker } from './seeds.ts';
export {
  readTensors,
  encodeModelWeights,
  loadModelWeights,
  encodeOptimizerState,
  loadOptimizerState,
  type CheckpointableModel,
} from './checkpoint.ts';
