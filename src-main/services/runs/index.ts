/** Training runs: config validation, the run store on disk, the training loop and the run manager (queue + worker threads). */
export { RunManager, RunStateError, type RunEventSink, type RunManagerOptions } from './run-manager.ts';
export { RunStore, RunNotFoundError, RunFileError, StoredStatus, CheckpointState, processAlive, writeFileAtomic, type CheckpointFiles, type CheckpointWriteHooks } from './store.ts';
export { resolveRunConfig, splitCounts, RunConfigError, StoredRunConfig, type ResolvedRun } from './config.ts';
export { trainRun, evaluateRun, plainBatches, runIndices, resultsFrom, type TrainOutcome, type TrainProgress, type TrainRunOptions, type StopCommand } from './train-loop.ts';
export { defaultTrainWorkerUrl, startWorker } from './worker-host.ts';
