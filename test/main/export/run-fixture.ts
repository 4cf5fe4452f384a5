/**
 * A finished run without training: the run store gets a real config (the
 * shipped sample dataset, validated by resolveRunConfig), checkpoints whose
 * weights come from buildModel (BN statistics randomised so they matter) and,
 * optionally, test results — so export tests run in a second, not a minute.
 */
import type { Engine } from '../../../src-engine/core/engine.ts';
import { tidy } from '../../../src-engine/core/tape.ts';
import { fromTypedArray } from '../../../src-engine/core/tensor.ts';
import { encodeSafetensors } from '../../../src-engine/io/safetensors.ts';
import type { WeightTensor } from '../../../src-engine/io/weights.ts';
import { buildModel } from '../../../src-engine/models/build.ts';
import type { ModelGraph } from '../../../src-engine/models/graph.ts';
import { encodeModelWeights } from '../../../src-engine/train/checkpoint.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { DatasetLibrary, ensureSampleInstalled, SAMPLE_ID } from '../../../src-main/services/datasets/index.ts';
import { resolveRunConfig, RunStore, type CheckpointState } from '../../../src-main/services/runs/index.ts';

export interface FabricatedRun {
  runId: string;
  graph: ModelGraph;
  /** Weights of each checkpoint, by checkpoint name. */
  weights: Map<string, Map<string, WeightTensor>>;
}

function checkpointState(name: string, epoch: number): CheckpointState {
  const zero = { lossSum: 0, correct: 0, count: 0 };
  return {
    name,
    epoch,
    step: epoch * 10,
    midEpoch: false,
    position: { epoch, batchIndex: 0 },
    seedCount: 0,
    metricsBytes: 0,
    metricsCount: 0,
    seconds: epoch,
    gpuSums: zero,
    epochSums: zero,
    lr: 0.01,
    devError: 0.3,
    bestDevError: 0.3,
    bestCheckpoint: name,
    created: new Date().toISOString(),
  };
}

export async function fabricateRun(
  engine: Engine,
  layout: DataDirLayout,
  opt: { family: string; options: Record<string, unknown>; checkpoints: number; results: boolean; name?: string },
): Promise<FabricatedRun> {
  await ensureSampleInstalled(layout);
  const library = new DatasetLibrary(layout);
  const store = new RunStore(layout);
  const runId = store.newId(opt.family);
  const run = await resolveRunConfig(
    {
      name: opt.name,
      datasetId: SAMPLE_ID,
      model: { family: opt.family, options: opt.options },
      optimizer: { type: 'adam', lr: 0.002 },
      epochs: Math.max(1, opt.checkpoints),
      batchSize: 32,
      seed: 5,
    },
    (id) => library.get(id),
    { id: runId, created: new Date().toISOString() },
  );
  await store.create(run, {
    state: 'completed',
    epoch: opt.checkpoints,
    epochsDone: opt.checkpoints,
    step: 10 * opt.checkpoints,
    imagesPerSec: 0,
    etaSeconds: 0,
    seconds: 1,
    bestDevError: 0.3,
    updated: new Date().toISOString(),
  });
  const weights = new Map<string, Map<string, WeightTensor>>();
  for (let e = 1; e <= opt.checkpoints; e++) {
    const model = buildModel(engine, run.graph, { seed: 100 + e });
    try {
      for (const [name, t] of model.buffers()) {
        const n = t.shape.reduce((a, b) => a * b, 1);
        const v = name.endsWith('running_var') ? 1.5 : name.endsWith('running_mean') ? 0.1 * e : 10 * e;
        tidy(() => t.assign(fromTypedArray(engine, new Float32Array(n).fill(v), t.shape)));
      }
      const map = new Map<string, WeightTensor>();
      for (const [name, t] of [...model.parameters(), ...model.buffers()]) map.set(name, { shape: [...t.shape], data: await t.read() });
      weights.set(`epoch-${e}`, map);
      await store.writeCheckpoint(runId, checkpointState(`epoch-${e}`, e), {
        model: await encodeModelWeights(engine, model),
        optimizer: encodeSafetensors(new Map(), {}),
      });
    } finally {
      model.dispose();
    }
  }
  if (opt.results) {
    const classNames = run.config.derived.classNames;
    await store.writeResults(runId, {
      testLoss: 0.61,
      testError: 0.215,
      testAccuracy: 0.785,
      testCount: 1000,
      testErrorCi95: [0.19, 0.24],
      confusion: classNames.map(() => classNames.map(() => 0)),
      perClassAccuracy: classNames.map(() => 0.785),
      classNames,
      checkpoint: `epoch-${opt.checkpoints}`,
      evaluatedAt: new Date().toISOString(),
    });
  }
  return { runId, graph: run.graph, weights };
}
