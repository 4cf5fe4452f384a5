/** The batch producer: seeded shuffles, stratified dev split, augmentation workers, bounded prefetch, resumable position. */
export { BatchProducer, batchTransferList, type Batch, type BatchPosition, type BatchProducerOptions } from './batch-producer.ts';
export { stratifiedSplit, epochOrder, type DevSplit } from './split.ts';
export { AugmentWorkerPool, defaultWorkerUrl } from './worker-pool.ts';
export { benchData, type BenchRecord } from './bench-data.ts';
