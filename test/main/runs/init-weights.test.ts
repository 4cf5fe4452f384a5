/**
 * Starting a run from a safetensors weights file (config `initWeights`,
 * `layerlab train --init-weights`, `layerlab runs check-weights`):
 *  - a trained run's weights, exported with the export service, start a new
 *    run whose first evaluation (its epoch-0 checkpoint, before any step)
 *    gives exactly the source run's test results, and training continues
 *    from there (lower first loss than the source's random start);
 *  - a wrong shape, a missing / extra tensor, a wrong dtype, a corrupt header
 *    are rejected with the exact report and leave no run folder behind;
 *  - the web host takes an upload, never a path;
 *  - a file written by PyTorch (the exported model.py's save_safetensors of a
 *    torch state_dict, int64 BN counter) loads too;
 *  - the fresh optimizer state written into epoch-0 equals what each engine
 *    optimizer writes before its first step.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../../../src-engine/io/safetensors.ts';
import { expectedWeights } from '../../../src-engine/io/weights.ts';
import { generateModelPy } from '../../../src-engine/io/pytorch/index.ts';
import { buildModel } from '../../../src-engine/models/build.ts';
import { createOptimizer, parseOptimizerConfig } from '../../../src-engine/optim/index.ts';
import { encodeOptimizerState, loadOptimizerState } from '../../../src-engine/train/checkpoint.ts';
import type { MetricRecord, RunResults, RunStatus } from '../../../src-main/api/calls/runs.ts';
import { createHandlers, createServices, dispatchCall, EventHub } from '../../../src-main/api/services.ts';
import { dataDirLayout } from '../../../src-main/services/data-dir.ts';
import { exportRun } from '../../../src-main/services/export/index.ts';
import { evaluateRun, resolveRunConfig, RunConfigError, type RunManager, RunStore } from '../../../src-main/services/runs/index.ts';
import { freshOptimizerState } from '../../../src-main/services/runs/init-weights.ts';
import { DatasetLibrary } from '../../../src-main/services/datasets/index.ts';
import { getEngine } from '../../engine/helpers.ts';
import { findPython } from '../../engine/io/export-fixtures.ts';
import { makeTempDir } from '../helpers/tmp-data-dir.ts';
import { cli, manager, sampleDataDir, SAMPLE_ID } from './helpers.ts';

// normalize(0) conv(1) batchnorm(2) relu(3) flatten(4) linear(5): 28×28 → 4×12×12 = 576 → 10.
const LAYERS = [
  { type: 'conv2d', out: 4, kernel: 5, stride: 2 },
  { type: 'batchnorm' },
  { type: 'activation', kind: 'relu' },
  { type: 'flatten' },
  { type: 'linear', out: 10 },
];
const MODEL = { family: 'custom', options: { layers: LAYERS } };
const CONFIG = {
  datasetId: SAMPLE_ID,
  trainSubset: 256,
  model: MODEL,
  optimizer: { type: 'adam', lr: 0.003 },
  epochs: 1,
  batchSize: 32,
  logEvery: 4,
  gradNormEvery: 0,
  seed: 3,
};

let root: string;
let cleanup: () => void;
let tmp: { dir: string };
let runs: RunManager;
let source: { id: string; results: RunResults; records: MetricRecord[] };
let exported: string;
let exportedBytes: Uint8Array;
/** The run started from `exported` by the first test. */
let startedId = '';
/** Every event of the manager: [name, payload]. */
let events: Array<[string, unknown]> = [];

const store = (): RunStore => new RunStore(dataDirLayout(root));
const runFolders = (): string[] => readdirSync(join(root, 'runs')).sort();

beforeAll(async () => {
  ({ root, cleanup } = await sampleDataDir());
  tmp = { dir: makeTempDir('layerlab-init-weights-') };
  ({ manager: runs, events } = manager(root));
  const id = await runs.create({ ...CONFIG, epochs: 3 });
  expect(await runs.waitFor(id)).toBe('completed');
  const results = (await store().readResults(id))!;
  expect(results.checkpoint).toBe('epoch-3');
  source = { id, results, records: (await store().readMetrics(id)).records };
  const r = await exportRun(dataDirLayout(root), id, { format: 'safetensors', destination: join(tmp.dir, 'source.safetensors') });
  exported = r.files[0].path;
  exportedBytes = new Uint8Array(readFileSync(exported));
}, 180_000);
afterAll(() => {
  if (tmp) rmSync(tmp.dir, { recursive: true, force: true });
  cleanup?.();
});

/** A variant of the exported file: `edit` changes its tensors. */
function variant(name: string, edit: (t: Map<string, SafetensorsTensor>) => void): string {
  const f = decodeSafetensors(exportedBytes);
  edit(f.tensors);
  const path = join(tmp.dir, name);
  writeFileSync(path, encodeSafetensors(f.tensors, f.metadata));
  return path;
}

describe('a run started from exported weights', () => {
  it('evaluates exactly like the source run before any step, then keeps training', async () => {
    const id = await runs.create({ ...CONFIG, seed: 9, initWeights: exported });
    startedId = id;
    // Created with its starting checkpoint in place, provenance in the config.
    const config = await store().readConfig(id);
    expect(config.initWeights).toEqual({
      file: 'source.safetensors',
      sha256: createHash('sha256').update(exportedBytes).digest('hex'),
      bytes: exportedBytes.byteLength,
      tensors: 9,
      producer: expect.stringMatching(/^LayerLab /),
      sourceRun: source.id,
      sourceCheckpoint: 'epoch-3',
    });
    expect(await runs.waitFor(id)).toBe('completed');
    // Its status says it starts from the imported weights (not "resuming").
    const messages = events.filter(([n, p]) => n === 'runs.status' && (p as RunStatus).runId === id).map(([, p]) => (p as RunStatus).message);
    expect(messages).toContain('starting from the imported weights');
    expect(messages.some((m) => m?.startsWith('resuming'))).toBe(false);

    const detail = await runs.get(id);
    expect(detail.checkpoints.map((c) => c.name)).toEqual(['epoch-0', 'epoch-1']);
    expect(detail.checkpoints[0]).toMatchObject({ epoch: 0, step: 0, midEpoch: false, devError: null });
    expect(detail.summary.epochsDone).toBe(1);
    expect(detail.results?.checkpoint).toBe('epoch-1'); // the trained weights, not the imported ones

    // Metrics: one curve of this run's own steps, nothing for epoch 0.
    const records = (await runs.metrics(id)).records;
    const steps = config.derived.stepsPerEpoch;
    expect(records.filter((r) => r.kind === 'epoch').map((r) => r.epoch)).toEqual([1]);
    expect(records.filter((r) => r.kind === 'step').map((r) => r.step)).toEqual([4, 8, 12].filter((s) => s < steps).concat(steps));
    const firstLoss = (rs: MetricRecord[]): number => (rs.find((r) => r.kind === 'step') as { loss: number }).loss;
    // Continues from trained weights: its first steps' loss is far below the source's random start.
    expect(firstLoss(records)).toBeLessThan(0.8 * firstLoss(source.records));

    // The imported weights, evaluated before any step: the source run's test results exactly.
    const before = await evaluateRun(root, id, 'epoch-0');
    expect(before.testError).toBe(source.results.testError);
    expect(before.testLoss).toBe(source.results.testLoss);
    expect(before.confusion).toEqual(source.results.confusion);

    // The epoch-0 checkpoint holds the file's values (re-encoded like every checkpoint).
    const ckpt = decodeSafetensors((await store().readCheckpoint(id, 'epoch-0')).files.model);
    const file = decodeSafetensors(exportedBytes);
    expect([...ckpt.tensors.keys()]).toEqual([...file.tensors.keys()]);
    for (const [name, t] of file.tensors) expect(ckpt.tensors.get(name)!.data, name).toEqual(t.data);
  }, 180_000);
});

describe('a weights file that does not fit is rejected with the exact report, and no run is left', () => {
  const head = (file: string): string => `Invalid run setting initWeights: ${file} does not match the model (custom):\n`;
  const cases: Array<[string, (t: Map<string, SafetensorsTensor>) => void, string]> = [
    [
      'wrong-shape.safetensors',
      (t) => {
        const w = t.get('layers.5.weight')!;
        t.set('layers.5.weight', { ...w, shape: [576, 10] });
      },
      'Wrong shape for layers.5.weight: the model needs [10, 576], the file has [576, 10]',
    ],
    ['missing.safetensors', (t) => void t.delete('layers.2.running_var'), 'Missing from the file (1): layers.2.running_var'],
    ['extra.safetensors', (t) => void t.set('layers.9.weight', { dtype: 'F32', shape: [3], data: new Float32Array(3) }), 'Not in the model (1): layers.9.weight'],
    [
      'wrong-dtype.safetensors',
      (t) => void t.set('layers.1.bias', { dtype: 'I32', shape: [4], data: new Int32Array(4) }),
      'Wrong dtype for layers.1.bias: the model needs F32, the file has I32',
    ],
    [
      'everything.safetensors',
      (t) => {
        t.delete('layers.2.running_mean');
        t.delete('layers.2.num_batches_tracked');
        t.set('fc.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
        t.set('layers.1.weight', { dtype: 'F32', shape: [4, 3, 5, 5], data: new Float32Array(300) });
        t.set('layers.5.bias', { dtype: 'U8', shape: [10], data: new Uint8Array(10) });
      },
      [
        'Missing from the file (2): layers.2.running_mean, layers.2.num_batches_tracked',
        'Not in the model (1): fc.weight',
        'Wrong shape for layers.1.weight: the model needs [4, 1, 5, 5], the file has [4, 3, 5, 5]',
        'Wrong dtype for layers.5.bias: the model needs F32, the file has U8',
      ].join('\n'),
    ],
  ];
  for (const [file, edit, report] of cases) {
    it(file, async () => {
      const path = variant(file, edit);
      const before = runFolders();
      const err = await runs.create({ ...CONFIG, initWeights: path }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RunConfigError);
      expect((err as RunConfigError).message).toBe(head(file) + report);
      expect((err as RunConfigError).field).toBe('initWeights');
      expect(runFolders()).toEqual(before);
    });
  }

  it('a non-finite value', async () => {
    const path = variant('nan.safetensors', (t) => void ((t.get('layers.5.bias')!.data as Float32Array)[3] = Number.NaN));
    const before = runFolders();
    await expect(runs.create({ ...CONFIG, initWeights: path })).rejects.toThrow(
      'Invalid run setting initWeights: nan.safetensors: tensor layers.5.bias holds a non-finite value (NaN or ±Inf) at index 3.',
    );
    expect(runFolders()).toEqual(before);
  });

  it('a corrupt header, a missing file, a relative path', async () => {
    const corrupt = exportedBytes.slice();
    corrupt.fill(0xff, 8, 24);
    const path = join(tmp.dir, 'corrupt.safetensors');
    writeFileSync(path, corrupt);
    const before = runFolders();
    const expectError = async (initWeights: string, message: string): Promise<void> => {
      const err = await runs.create({ ...CONFIG, initWeights }).catch((e: unknown) => e);
      expect((err as Error).message).toBe(message);
      expect(runFolders()).toEqual(before);
    };
    await expectError(path, 'Invalid run setting initWeights: corrupt.safetensors is not a valid safetensors file: The header is not valid UTF-8 JSON: the file is corrupt or not a safetensors file.');
    await expectError(join(tmp.dir, 'nope.safetensors'), 'Invalid run setting initWeights: nope.safetensors: no such file.');
    await expectError('weights/source.safetensors', 'Invalid run setting initWeights: source.safetensors: the weights file path must be absolute.');
    await expectError(join(tmp.dir, 'weights.bin'), 'Invalid run setting initWeights: weights.bin is not a .safetensors file.');
    // runs.validate reports it the same way (field initWeights) without creating anything.
    expect(await runs.validate({ ...CONFIG, initWeights: path })).toEqual({
      ok: false,
      field: 'initWeights',
      error: 'Invalid run setting initWeights: corrupt.safetensors is not a valid safetensors file: The header is not valid UTF-8 JSON: the file is corrupt or not a safetensors file.',
    });
    expect(runFolders()).toEqual(before);
  });
});

describe('epoch-0 and the rest of the lab', () => {
  it('exporting a run not trained yet exports its starting weights (checkpoint epoch-0, epoch 0)', async () => {
    const layout = dataDirLayout(root);
    const lib = new DatasetLibrary(layout);
    const s = store();
    const id = s.newId('custom');
    const run = await resolveRunConfig({ ...CONFIG, initWeights: exported }, (d) => lib.get(d), { id, created: new Date().toISOString() });
    await s.create(run, { state: 'paused', epoch: 0, epochsDone: 0, step: 0, imagesPerSec: 0, etaSeconds: 0, seconds: 0, bestDevError: null, updated: new Date().toISOString() });
    expect((await s.latestCheckpoint(id))?.name).toBe('epoch-0');
    const r = await exportRun(layout, id, { format: 'safetensors', destination: join(tmp.dir, 'again.safetensors') });
    const again = decodeSafetensors(new Uint8Array(readFileSync(r.files[0].path)));
    expect(again.metadata).toMatchObject({ checkpoint: 'epoch-0', epoch: '0', run_id: id });
    expect(again.metadata.test).toBeUndefined(); // no results for these weights in this run
    const file = decodeSafetensors(exportedBytes);
    for (const [name, t] of file.tensors) expect(again.tensors.get(name), name).toEqual(t);
  });

  it('runs show names the starting weights', async () => {
    expect(startedId).not.toBe('');
    const r = await cli(['runs', 'show', startedId, '--data-dir', root]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`started from: source.safetensors (run ${source.id} @ epoch-3), sha256 ${createHash('sha256').update(exportedBytes).digest('hex')} (checkpoint epoch-0)`);
    expect(r.stdout).toContain('checkpoints: epoch-0, epoch-1');
  }, 60_000);
});

describe('the API', () => {
  it('the web host takes an upload {uploadId, name}, never a path; the upload is gone after create', async () => {
    const hub = new EventHub();
    const services = createServices({ dataDir: root, host: 'web', hub });
    const handlers = createHandlers(services);
    const call = (name: string, args: unknown): Promise<unknown> => dispatchCall(handlers, name, args);

    await expect(call('runs.create', { config: { ...CONFIG, initWeights: exported } })).rejects.toThrow(
      'initWeights: the web lab cannot read files by path; upload the .safetensors file instead.',
    );
    expect(await call('runs.validate', { config: { ...CONFIG, initWeights: exported } })).toMatchObject({ ok: false, field: 'initWeights' });

    const uploadId = 'abcdef12-3456';
    mkdirSync(join(services.uploadsDir, uploadId), { recursive: true });
    writeFileSync(join(services.uploadsDir, uploadId, 'my weights.safetensors'), exportedBytes);
    const upload = { uploadId, name: 'my weights.safetensors' };
    expect(await call('runs.validate', { config: { ...CONFIG, initWeights: upload } })).toMatchObject({ ok: true });
    await expect(call('runs.create', { config: { ...CONFIG, initWeights: { uploadId, name: '../x.safetensors' } } })).rejects.toThrow('Bad upload path');
    const { id } = (await call('runs.create', { config: { ...CONFIG, epochs: 1, initWeights: upload } })) as { id: string };
    expect(existsSync(join(services.uploadsDir, uploadId))).toBe(false);
    const config = await store().readConfig(id);
    expect(config.initWeights?.file).toBe('my weights.safetensors');
    expect(JSON.stringify(config)).not.toContain(services.uploadsDir); // no temporary path recorded
    expect(await services.runs.waitFor(id)).toBe('completed');
  }, 180_000);
});

describe('CLI', () => {
  it('runs check-weights: exit 0 on a match (shape from the export metadata), 1 with the report on a mismatch', async () => {
    const ok = await cli(['runs', 'check-weights', exported, '--model', 'custom', '--options', JSON.stringify({ layers: LAYERS }), '--data-dir', root]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('source.safetensors matches custom');
    const bad = variant('cli-missing.safetensors', (t) => void t.delete('layers.2.running_var'));
    const r = await cli(['runs', 'check-weights', bad, '--model', 'custom', '--options', JSON.stringify({ layers: LAYERS }), '--dataset', SAMPLE_ID, '--json', '--data-dir', root]);
    expect(r.code, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ ok: false, missing: ['layers.2.running_var'], unexpected: [], wrongShape: [], wrongDtype: [] });
  }, 120_000);

  it('train --init-weights names the flag and prints the report', async () => {
    const bad = variant('cli-shape.safetensors', (t) => void t.set('layers.5.bias', { dtype: 'F32', shape: [11], data: new Float32Array(11) }));
    const before = runFolders();
    const r = await cli(['train', '--dataset', SAMPLE_ID, '--subset', '256', '--model', 'custom', '--options', JSON.stringify({ layers: LAYERS }), '--init-weights', bad, '--data-dir', root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('layerlab train: Invalid run setting initWeights: cli-shape.safetensors does not match the model (custom):\nWrong shape for layers.5.bias: the model needs [10], the file has [11] (--init-weights)');
    expect(runFolders()).toEqual(before);
  }, 120_000);
});

describe('fresh optimizer state', () => {
  it('equals what every engine optimizer writes before its first step (and loads into it)', async () => {
    const engine = await getEngine();
    const lib = new DatasetLibrary(dataDirLayout(root));
    const { graph } = await resolveRunConfig(CONFIG, (d) => lib.get(d));
    const model = buildModel(engine, graph, { seed: 1 });
    try {
      for (const cfg of [
        { type: 'sgd', lr: 0.1 },
        { type: 'sgd', lr: 0.1, momentum: 0.9 },
        { type: 'adagrad', initialAccumulatorValue: 0.25 },
        { type: 'adadelta' },
        { type: 'rmsprop', momentum: 0.5, centered: true },
        { type: 'rmsprop' },
        { type: 'adam', amsgrad: true },
        { type: 'adamw' },
      ]) {
        const parsed = parseOptimizerConfig(cfg);
        const opt = createOptimizer(engine, model.parameters(), parsed);
        try {
          const mine = freshOptimizerState(graph, parsed);
          const real = decodeSafetensors(await encodeOptimizerState(engine, opt));
          const fresh = decodeSafetensors(mine);
          expect(fresh.metadata, JSON.stringify(cfg)).toEqual(real.metadata);
          expect(new Set(fresh.tensors.keys()), JSON.stringify(cfg)).toEqual(new Set(real.tensors.keys()));
          for (const [name, t] of real.tensors) expect(fresh.tensors.get(name), `${JSON.stringify(cfg)} ${name}`).toEqual(t);
          loadOptimizerState(opt, mine);
        } finally {
          opt.dispose();
        }
      }
    } finally {
      model.dispose();
    }
  });
});

const torch = findPython('torch');

describe.skipIf(!torch.python)(`a PyTorch-written file${torch.python ? '' : ` — skipped: ${torch.reason}`}`, () => {
  it('loads: the torch state_dict (int64 BN counter, trained BN statistics) becomes the run’s epoch-0 weights', async () => {
    const lib = new DatasetLibrary(dataDirLayout(root));
    const { graph } = await resolveRunConfig(CONFIG, (d) => lib.get(d));
    const dir = join(tmp.dir, 'torch');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.py'), generateModelPy(graph, { engineVersion: 'test', date: new Date(0).toISOString() }));
    const out = join(dir, 'weights.safetensors');
    const py = spawnSync(
      torch.python!,
      [
        '-c',
        [
          'import sys, torch',
          `sys.path.insert(0, ${JSON.stringify(dir)})`,
          'from model import Model, save_safetensors',
          'torch.manual_seed(0)',
          'm = Model().train()',
          'm(torch.rand(8, 1, 28, 28) * 255)  # moves the BN running statistics and its counter',
          `save_safetensors(${JSON.stringify(out)}, m.state_dict())`,
        ].join('\n'),
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(py.status, py.stderr).toBe(0);
    const file = decodeSafetensors(new Uint8Array(readFileSync(out)));
    expect(file.tensors.get('layers.2.num_batches_tracked')).toMatchObject({ dtype: 'I64', shape: [] });
    expect([...file.tensors.keys()].sort()).toEqual([...expectedWeights(graph).keys()].sort());

    const id = await runs.create({ ...CONFIG, initWeights: out });
    const ckpt = decodeSafetensors((await store().readCheckpoint(id, 'epoch-0')).files.model);
    for (const [name, t] of file.tensors) expect(ckpt.tensors.get(name)!.data, name).toEqual(t.data);
    expect(await runs.waitFor(id)).toBe('completed');
    const before = await evaluateRun(root, id, 'epoch-0');
    expect(before.testCount).toBeGreaterThan(0);
    expect(Number.isFinite(before.testLoss)).toBe(true);
  }, 180_000);
});
