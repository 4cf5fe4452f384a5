/**
 * The export service on runs in a real run store: each format's files and
 * model card, the checkpoint choice, refusal to overwrite, unwritable
 * destinations, progress, and all-or-nothing writes.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../src-engine/core/engine.ts';
import { tidy } from '../../../src-engine/core/tape.ts';
import { fromTypedArray } from '../../../src-engine/core/tensor.ts';
import { decodeSafetensors } from '../../../src-engine/io/safetensors.ts';
import { expectedWeights } from '../../../src-engine/io/weights.ts';
import { buildModel } from '../../../src-engine/models/build.ts';
import { loadModelWeights } from '../../../src-engine/train/checkpoint.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { defaultDestination, ExportError, exportModel, exportRun, type ExportProgress } from '../../../src-main/services/export/index.ts';
import { RunStore } from '../../../src-main/services/runs/index.ts';
import { APP_VERSION } from '../../../src-main/version.ts';
import { getEngine, rng } from '../../engine/helpers.ts';
import { maxAbsDiff } from '../../engine/io/export-fixtures.ts';
import { makeDataDir, makeTempDir } from '../helpers/tmp-data-dir.ts';
import { fabricateRun, type FabricatedRun } from './run-fixture.ts';

let engine: Engine;
let layout: DataDirLayout;
let cleanup: () => void;
let run: FabricatedRun;
let out: string;

beforeAll(async () => {
  engine = await getEngine();
  ({ layout, cleanup } = makeDataDir());
  run = await fabricateRun(engine, layout, {
    family: 'lenet5',
    options: { variant: 'classic1998' },
    checkpoints: 2,
    results: true,
    name: 'LeNet on the sample',
  });
  out = makeTempDir('layerlab-export-');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = dirname(createRequire(import.meta.url).resolve('onnxruntime-web')) + '/';
});

afterAll(() => cleanup());

const files = (dir: string): string[] => readdirSync(dir).sort();

describe('exporting a run', () => {
  it('safetensors: the evaluated checkpoint’s tensors under state_dict names, metadata, and a model card beside it', async () => {
    const dest = join(out, 'st');
    const r = await exportRun(layout, run.runId, { format: 'safetensors', destination: dest });
    expect(files(dest)).toEqual(['model.safetensors', 'model.safetensors.md']);
    expect(r.files.map((f) => f.path)).toEqual([join(dest, 'model.safetensors'), join(dest, 'model.safetensors.md')]);
    expect(r.files[0].bytes).toBe(statSync(join(dest, 'model.safetensors')).size);

    const file = decodeSafetensors(new Uint8Array(readFileSync(join(dest, 'model.safetensors'))));
    // The results were computed on epoch-2, so that is what is exported by default.
    const want = run.weights.get('epoch-2')!;
    expect([...file.tensors.keys()].sort()).toEqual([...expectedWeights(run.graph).keys()].sort());
    for (const [name, w] of want) {
      const t = file.tensors.get(name)!;
      if (t.dtype === 'F32') expect(Array.from(t.data as Float32Array), name).toEqual(Array.from(w.data));
    }
    const meta = file.metadata;
    expect(meta.format).toBe('pt');
    expect(meta.run_id).toBe(run.runId);
    expect(meta.checkpoint).toBe('epoch-2');
    expect(JSON.parse(meta.class_names)).toHaveLength(10);
    expect(JSON.parse(meta.class_names)[0]).toBe('T-shirt/top');
    expect(JSON.parse(meta.input)).toMatchObject({ name: 'pixels', shape: ['N', 1, 28, 28], range: [0, 255] });
    expect(JSON.parse(meta.model_graph)).toEqual(run.graph);
    expect(JSON.parse(meta.dataset)).toMatchObject({ id: 'fashion-mnist-sample', trainCount: 3000, testCount: 1000 });
    expect(JSON.parse(meta.training)).toMatchObject({ optimizer: { type: 'adam', lr: 0.002 }, batchSize: 32, seed: 5 });
    expect(JSON.parse(meta.test)).toMatchObject({ error: 0.215, count: 1000, ci95: [0.19, 0.24] });
  });

  it('the model card states architecture, parameters, dataset, training config, test error ± CI, date and engine version', async () => {
    const card = readFileSync(join(out, 'st', 'model.safetensors.md'), 'utf8');
    expect(card).toMatch(/^# LeNet on the sample\n/);
    expect(card).toContain('| Architecture | lenet5 (options `{"variant":"classic1998"');
    expect(card).toContain('| Parameters | 61,706 trainable |');
    expect(card).toContain('Fashion-MNIST sample');
    expect(card).toContain('3,000 training images, 1,000 test images');
    expect(card).toContain('**21.50%** test error (accuracy 78.50%) on 1,000 test images; 95% confidence interval 19.00% – 24.00% (±2.50 points)');
    expect(card).toContain('| optimizer | `{"type":"adam","lr":0.002');
    expect(card).toContain(`| Engine | LayerLab ${APP_VERSION} |`);
    expect(card).toMatch(/\| Date \| \d{4}-\d\d-\d\dT/);
    expect(card).toContain('(x / 255 − mean) / std');
    expect(card).toMatch(/layers\.1\s+conv2d\s+\[6, 28, 28\]\s+156\s/);
  });

  it('onnx to a file name: runs in onnxruntime and matches the engine on the checkpoint’s weights', async () => {
    const dest = join(out, 'onnx', 'lenet.onnx');
    const r = await exportRun(layout, run.runId, { format: 'onnx', destination: dest });
    expect(r.folder).toBe(join(out, 'onnx'));
    expect(files(join(out, 'onnx'))).toEqual(['lenet.onnx', 'lenet.onnx.md']);
    expect(readFileSync(join(out, 'onnx', 'lenet.onnx.md'), 'utf8')).toContain('session.run(["logits"], {"pixels": pixels})');

    const n = 2;
    const r01 = rng(3);
    const pixels = Float32Array.from({ length: n * 28 * 28 }, () => Math.floor(256 * r01()));
    const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(dest)), { executionProviders: ['wasm'] });
    const got = (await session.run({ pixels: new ort.Tensor('float32', pixels, [n, 1, 28, 28]) })).logits.data as Float32Array;
    await session.release();

    const model = buildModel(engine, run.graph, { seed: 0 });
    try {
      const { files: ck } = await new RunStore(layout).readCheckpoint(run.runId, 'epoch-2');
      loadModelWeights(engine, model, ck.model);
      const logits = tidy(() => model.forward(fromTypedArray(engine, pixels, [n, 1, 28, 28]), { training: false }).keep());
      const want = await logits.read();
      logits.dispose();
      expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-4);
    } finally {
      model.dispose();
    }
  });

  it('pytorch: a folder with model.py, train.py, weights.safetensors and README.md (the card)', async () => {
    const dest = join(out, 'pt');
    const r = await exportRun(layout, run.runId, { format: 'pytorch', destination: dest });
    expect(files(dest)).toEqual(['README.md', 'model.py', 'train.py', 'weights.safetensors']);
    expect(r.files.map((f) => f.path.slice(dest.length + 1))).toEqual(['model.py', 'train.py', 'weights.safetensors', 'README.md']);
    const modelPy = readFileSync(join(dest, 'model.py'), 'utf8');
    expect(modelPy).toContain('def load_model(weights_path, device="cpu"):');
    expect(modelPy).toContain('nn.Conv2d(1, 6, kernel_size=5, padding=2),  # layers.1: conv2d -> [6, 28, 28]');
    expect(modelPy).toContain('"T-shirt/top"');
    const trainPy = readFileSync(join(dest, 'train.py'), 'utf8');
    expect(trainPy).toContain('TRAINING = {"optimizer": {"type": "adam", "lr": 0.002');
    expect(trainPy).toContain('DistributedDataParallel(model');
    expect(readFileSync(join(dest, 'README.md'), 'utf8')).toContain('torchrun --nproc_per_node=1 train.py');
  });

  it('exports another checkpoint on request, without claiming the test error of the evaluated one', async () => {
    const dest = join(out, 'epoch1');
    await exportRun(layout, run.runId, { format: 'safetensors', destination: dest, checkpoint: 'epoch-1' });
    const file = decodeSafetensors(new Uint8Array(readFileSync(join(dest, 'model.safetensors'))));
    expect(file.metadata.checkpoint).toBe('epoch-1');
    expect(file.metadata.test).toBeUndefined();
    expect(Array.from(file.tensors.get('layers.1.weight')!.data as Float32Array)).toEqual(Array.from(run.weights.get('epoch-1')!.get('layers.1.weight')!.data));
    expect(readFileSync(join(dest, 'model.safetensors.md'), 'utf8')).toContain('| Test error | Not evaluated on a test set. |');
    await expect(exportRun(layout, run.runId, { format: 'onnx', destination: dest, checkpoint: 'epoch-9' })).rejects.toThrow(
      `Run ${run.runId} has no checkpoint "epoch-9"; it has epoch-1, epoch-2.`,
    );
  });

  it('reports progress: reading, converting, then writing byte counts up to the total, then done', async () => {
    const seen: ExportProgress[] = [];
    await exportRun(layout, run.runId, { format: 'onnx', destination: join(out, 'progress'), onProgress: (p) => seen.push(p) });
    const phases = [...new Set(seen.map((p) => p.phase))];
    expect(phases).toEqual(['reading', 'converting', 'writing', 'done']);
    const writing = seen.filter((p) => p.phase === 'writing');
    const total = readdirSync(join(out, 'progress')).reduce((a, f) => a + statSync(join(out, 'progress', f)).size, 0);
    expect(writing[0].done).toBe(0);
    expect(writing.at(-1)).toEqual({ phase: 'writing', done: total, total });
    for (let i = 1; i < writing.length; i++) expect(writing[i].done).toBeGreaterThanOrEqual(writing[i - 1].done);
  });

  it('puts exports under <data dir>/exports/<run id>/ by default (PyTorch in its own folder)', () => {
    expect(defaultDestination(layout, run.runId, 'onnx')).toBe(join(layout.exports, run.runId));
    expect(defaultDestination(layout, run.runId, 'pytorch')).toBe(join(layout.exports, run.runId, 'pytorch'));
  });
});

describe('export never damages what is there', () => {
  it('refuses to overwrite an existing file, naming it, and changes nothing; overwrite: true replaces it', async () => {
    const dest = join(out, 'twice');
    await exportRun(layout, run.runId, { format: 'safetensors', destination: dest, checkpoint: 'epoch-1' });
    const before = readFileSync(join(dest, 'model.safetensors'));
    await expect(exportRun(layout, run.runId, { format: 'safetensors', destination: dest })).rejects.toThrow(
      `These files already exist: ${join(dest, 'model.safetensors')}, ${join(dest, 'model.safetensors.md')}. ` +
        'Nothing was written: choose another destination or allow overwriting (--overwrite).',
    );
    expect(readFileSync(join(dest, 'model.safetensors')).equals(before)).toBe(true);
    expect(files(dest)).toEqual(['model.safetensors', 'model.safetensors.md']);

    await exportRun(layout, run.runId, { format: 'safetensors', destination: dest, overwrite: true });
    expect(decodeSafetensors(new Uint8Array(readFileSync(join(dest, 'model.safetensors')))).metadata.checkpoint).toBe('epoch-2');
    expect(files(dest)).toEqual(['model.safetensors', 'model.safetensors.md']);
  });

  it('refuses when only the model card exists (every file is checked before anything is written)', async () => {
    const dest = join(out, 'card-only');
    mkdirSync(dest);
    writeFileSync(join(dest, 'model.onnx.md'), 'my notes');
    await expect(exportRun(layout, run.runId, { format: 'onnx', destination: dest })).rejects.toThrow(`${join(dest, 'model.onnx.md')} already exists.`);
    expect(files(dest)).toEqual(['model.onnx.md']);
    expect(readFileSync(join(dest, 'model.onnx.md'), 'utf8')).toBe('my notes');
  });

  it('an unwritable destination gives a clear error', async () => {
    const blocker = join(out, 'a-file');
    writeFileSync(blocker, 'x');
    await expect(exportRun(layout, run.runId, { format: 'onnx', destination: blocker })).rejects.toThrow(
      `Cannot export to ${blocker}: it is a file, not a folder.`,
    );
    await expect(exportRun(layout, run.runId, { format: 'onnx', destination: join(blocker, 'sub') })).rejects.toThrow(
      `Cannot create the destination folder ${join(blocker, 'sub')}: part of the path is a file, not a folder. Choose another destination.`,
    );
    // A folder without write permission (root ignores permission bits, so use a read-only bind
    // only when they apply; the message is the same code path as ENOTDIR above otherwise).
    const locked = join(out, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    try {
      const attempt = exportRun(layout, run.runId, { format: 'onnx', destination: locked });
      if (process.getuid?.() === 0) await attempt;
      else await expect(attempt).rejects.toThrow(`Cannot write to ${locked}: permission denied. Choose another destination.`);
    } finally {
      chmodSync(locked, 0o700);
    }
  });

  it('a format / extension mismatch and a file name for a PyTorch folder are refused before anything is read', async () => {
    await expect(exportRun(layout, run.runId, { format: 'onnx', destination: join(out, 'x.safetensors') })).rejects.toThrow(
      `The destination ${join(out, 'x.safetensors')} ends in .safetensors, but the format is onnx (.onnx).`,
    );
    await expect(exportRun(layout, run.runId, { format: 'pytorch', destination: join(out, 'model.py') })).rejects.toThrow(
      'A PyTorch export is a folder (model.py, train.py, weights.safetensors, README.md)',
    );
  });

  it('cancelling while writing leaves no file and no temp file behind', async () => {
    const dest = join(out, 'cancelled');
    const ac = new AbortController();
    await expect(
      exportRun(layout, run.runId, {
        format: 'pytorch',
        destination: dest,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.phase === 'writing' && p.done > 0) ac.abort();
        },
      }),
    ).rejects.toThrow(/abort/i);
    expect(existsSync(dest) ? readdirSync(dest) : []).toEqual([]);
  });

  it('a run without checkpoints, or an unknown run, is a readable error', async () => {
    const bare = await fabricateRun(engine, layout, { family: 'mlp', options: { hidden: [8] }, checkpoints: 0, results: false });
    await expect(exportRun(layout, bare.runId, { format: 'onnx', destination: join(out, 'bare') })).rejects.toThrow(
      `Run ${bare.runId} has no checkpoint yet: weights are saved at the end of each epoch (or when the run is paused).`,
    );
    await expect(exportRun(layout, 'no-such-run', { format: 'onnx', destination: join(out, 'none') })).rejects.toThrow('No run "no-such-run"');
    expect(existsSync(join(out, 'bare'))).toBe(false);
  });

  it('exports a graph and weights given directly (no run), and says what is missing from them', async () => {
    const weights = new Map(run.weights.get('epoch-1')!);
    const info = { engineVersion: APP_VERSION, date: '2026-11-25T00:00:00.000Z' };
    const r = await exportModel({ graph: run.graph, weights, info }, { format: 'onnx', destination: join(out, 'direct') });
    expect(r.files).toHaveLength(2);
    expect(readFileSync(join(out, 'direct', 'model.onnx.md'), 'utf8')).toContain('| Dataset | not recorded |');
    weights.delete('layers.4.bias');
    await expect(exportModel({ graph: run.graph, weights, info }, { format: 'safetensors', destination: join(out, 'direct2') })).rejects.toThrow(
      ExportError,
    );
    await expect(exportModel({ graph: run.graph, weights, info }, { format: 'safetensors', destination: join(out, 'direct2') })).rejects.toThrow(
      'Cannot export this model as safetensors: The weights lack 1 tensor(s) the model needs: layers.4.bias',
    );
    expect(existsSync(join(out, 'direct2'))).toBe(false);
  });
});
