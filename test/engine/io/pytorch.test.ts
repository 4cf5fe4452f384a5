/**
 * PyTorch export parity: the generated model.py, given the exported
 * safetensors weights, builds a module whose state_dict keys are our
 * parameter names (same order) and whose logits equal the engine's to 1e-4
 * for every model family; train.py runs one DistributedDataParallel step
 * under torchrun on a tiny dataset folder and writes weights LayerLab reads
 * back. Needs a python3 with torch (CI installs Debian's python3-torch);
 * without one the tests are skipped with the reason in their title.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../src-engine/core/engine.ts';
import { exportMetadata, type ExportInfo } from '../../../src-engine/io/export-info.ts';
import { generateModelPy, generateTrainPy } from '../../../src-engine/io/pytorch/index.ts';
import { decodeSafetensors, encodeSafetensors } from '../../../src-engine/io/safetensors.ts';
import { expectedWeights, weightsFromSafetensors, weightsToSafetensors } from '../../../src-engine/io/weights.ts';
import { getEngine } from '../helpers.ts';
import { buildCase, engineLogits, FAMILY_CASES, findPython, maxAbsDiff, randomPixels } from './export-fixtures.ts';

const torch = findPython('torch');
const TOL = 1e-4;
const N = 3;
const INFO: ExportInfo = { engineVersion: '0.0.0-test', date: '2026-11-25T12:00:00.000Z', runId: 'test-run', classNames: undefined };

let engine: Engine;
let dir: string;
const parity: Array<{ name: string; maxAbs: number }> = [];

beforeAll(async () => {
  engine = await getEngine();
  dir = mkdtempSync(join(tmpdir(), 'layerlab-pytorch-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const p of parity) process.stdout.write(`[pytorch parity] ${p.name}: max |Δ| = ${p.maxAbs.toExponential(2)}\n`);
});

/** Runs every case's model.py in one Python process (torch imports once); returns its JSON report. */
const RUN_CASES = String.raw`
import importlib.util, json, sys
import numpy as np, torch
report = {}
for case_dir in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("model_" + str(len(report)), case_dir + "/model.py")
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, case_dir)
    spec.loader.exec_module(mod)
    sys.path.pop(0)
    model = mod.load_model(case_dir + "/weights.safetensors")
    pixels = torch.from_numpy(np.fromfile(case_dir + "/pixels.f32", dtype=np.float32).reshape(-1, *mod.INPUT_SHAPE))
    with torch.no_grad():
        logits = model(pixels)
    logits.numpy().astype(np.float32).tofile(case_dir + "/logits.f32")
    report[case_dir] = {"keys": list(model.state_dict().keys()), "training": model.training, "shape": list(logits.shape)}
print(json.dumps(report))
`;

interface CaseReport {
  keys: string[];
  training: boolean;
  shape: number[];
}

describe.skipIf(!torch.python)(`PyTorch export${torch.python ? '' : ` — skipped: ${torch.reason}`}`, () => {
  const expected = new Map<string, { engine: Float32Array; engineError: Error | null; keys: string[] }>();
  let report: Record<string, CaseReport> = {};

  beforeAll(async () => {
    const dirs: string[] = [];
    for (const [i, c] of FAMILY_CASES.entries()) {
      const { graph, model, weights } = await buildCase(engine, c);
      try {
        const caseDir = join(dir, `case-${i}`);
        mkdirSync(caseDir);
        writeFileSync(join(caseDir, 'model.py'), generateModelPy(graph, INFO));
        writeFileSync(join(caseDir, 'weights.safetensors'), encodeSafetensors(weightsToSafetensors(graph, weights), exportMetadata(graph, INFO)));
        const pixels = randomPixels(c.input, N, 31 + i);
        writeFileSync(join(caseDir, 'pixels.f32'), pixels);
        let logits: Float32Array = new Float32Array(0);
        let engineError: Error | null = null;
        try {
          logits = await engineLogits(engine, model, pixels, N);
        } catch (e) {
          engineError = e as Error; // that case's test reports it
        }
        expected.set(caseDir, { engine: logits, engineError, keys: [...expectedWeights(graph).keys()] });
        dirs.push(caseDir);
      } finally {
        model.dispose();
      }
    }
    const r = spawnSync(torch.python!, ['-c', RUN_CASES, ...dirs], { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`model.py failed:\n${r.stderr}`);
    report = JSON.parse(r.stdout) as Record<string, CaseReport>;
  });

  for (const [i, c] of FAMILY_CASES.entries()) {
    it(`model.py reproduces the engine's logits: ${c.name}`, () => {
      const caseDir = join(dir, `case-${i}`);
      const want = expected.get(caseDir)!;
      const got = report[caseDir];
      // state_dict keys = our names, in our (PyTorch) order; eval mode.
      expect(got.keys).toEqual(want.keys);
      expect(got.training).toBe(false);
      expect(got.shape).toEqual([N, c.classes]);
      if (want.engineError) throw want.engineError;
      expect(want.engine.length).toBe(N * c.classes);
      const raw = readFileSync(join(caseDir, 'logits.f32'));
      const logits = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      const diff = maxAbsDiff(logits, want.engine);
      parity.push({ name: c.name, maxAbs: diff });
      expect(diff, `max |pytorch − engine| for ${c.name}`).toBeLessThanOrEqual(TOL);
    });
  }
});

/** A LayerLab dataset folder (FORMAT.md) of random images: `n` train (raw files), 4 test (gzip'd). */
function writeTinyDataset(root: string, shape: [number, number, number], classes: number, n: number): void {
  const [c, h, w] = shape;
  mkdirSync(root, { recursive: true });
  const img = (count: number, seed: number): Uint8Array => Uint8Array.from({ length: count * h * w * c }, (_, i) => (i * 37 + seed * 101) % 256);
  const labels = (count: number): Uint8Array => Uint8Array.from({ length: count }, (_, i) => i % classes);
  const counts = (count: number): number[] => Array.from({ length: classes }, (_, k) => labels(count).filter((l) => l === k).length);
  writeFileSync(join(root, 'train-images.u8'), img(n, 1));
  writeFileSync(join(root, 'train-labels.u8'), labels(n));
  writeFileSync(join(root, 'test-images.u8.gz'), gzipSync(img(4, 2)));
  writeFileSync(join(root, 'test-labels.u8.gz'), gzipSync(labels(4)));
  const manifest = {
    formatVersion: 1,
    id: 'tiny-00000000',
    name: 'tiny',
    kind: 'image-folder',
    shape: [h, w, c],
    classNames: Array.from({ length: classes }, (_, k) => `class ${k}`),
    labelBytes: 1,
    splits: {
      train: { count: n, images: 'train-images.u8', labels: 'train-labels.u8', classCounts: counts(n) },
      test: { count: 4, images: 'test-images.u8.gz', labels: 'test-labels.u8.gz', classCounts: counts(4) },
    },
    mean: new Array(c).fill(127),
    std: new Array(c).fill(70),
    provenance: { source: 'test' },
    sources: [],
    sourceKey: '0'.repeat(64),
    created: '2026-11-25T00:00:00.000Z',
  };
  writeFileSync(join(root, 'dataset.json'), JSON.stringify(manifest));
}

/** torchrun beside the interpreter that has torch, else `python -m torch.distributed.run` (the same entry point). */
function torchrunCommand(python: string): string[] {
  const exe = spawnSync(python, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  const beside = join(dirname(exe), 'torchrun');
  return existsSync(beside) ? [beside] : [python, '-m', 'torch.distributed.run'];
}

describe.skipIf(!torch.python)(`PyTorch train.py${torch.python ? '' : ` — skipped: ${torch.reason}`}`, () => {
  it('runs one DistributedDataParallel step under torchrun and writes weights LayerLab reads back', async () => {
    const c = FAMILY_CASES.find((f) => f.name === 'resnet cifar (shortcut B)')!;
    const { graph, model, weights } = await buildCase(engine, c);
    model.dispose();
    const work = join(dir, 'train');
    mkdirSync(work);
    const info: ExportInfo = { ...INFO, training: { optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 }, batchSize: 8, labelSmoothing: 0.1, seed: 3 } };
    writeFileSync(join(work, 'model.py'), generateModelPy(graph, info));
    writeFileSync(join(work, 'train.py'), generateTrainPy(graph, info));
    writeFileSync(join(work, 'weights.safetensors'), encodeSafetensors(weightsToSafetensors(graph, weights), exportMetadata(graph, info)));
    writeTinyDataset(join(work, 'data'), c.input, c.classes, 8);

    const torchrun = torchrunCommand(torch.python!);
    const args = ['--standalone', '--nproc_per_node=1'];
    const script = ['train.py', '--data', 'data', '--weights', 'weights.safetensors', '--epochs', '1', '--out', 'continued.safetensors'];
    const run = (extra: string[]) =>
      spawnSync(torchrun[0], [...torchrun.slice(1), ...args, ...extra, ...script], { cwd: work, encoding: 'utf8', timeout: 600_000 });
    let r = run([]);
    if (r.status !== 0 && /'NoneType' object has no attribute 'get'/.test(r.stderr)) {
      // torch < 2 under Python ≥ 3.11 (Debian 12's python3-torch 1.13): torchrun's default
      // --redirects/--tee "0" parse to None (enum.Flag iteration changed); any non-zero value works.
      r = run(['--redirects', '1', '--tee', '1', '--log_dir', join(work, 'logs')]);
    }
    expect(r.status, `torchrun failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/epoch 1: train loss \d+\.\d+, error \d\.\d+ \(8 images/);
    expect(r.stdout).toMatch(/test error \d\.\d+/);
    expect(r.stdout).toContain('wrote continued.safetensors after 1 steps');

    const file = decodeSafetensors(new Uint8Array(readFileSync(join(work, 'continued.safetensors'))));
    const continued = weightsFromSafetensors(graph, file); // names, shapes, dtypes checked
    expect(file.metadata.continued_from).toBe('weights.safetensors');
    expect(file.metadata.continued_steps).toBe('1');
    expect(file.metadata.model_family).toBe('resnet');
    // One optimizer step moved the weights; BN counted exactly one more batch (17 → 18).
    const first = weights.get('layers.1.weight')!.data;
    expect(maxAbsDiff(continued.get('layers.1.weight')!.data, first)).toBeGreaterThan(1e-6);
    expect(file.tensors.get('layers.2.num_batches_tracked')!.dtype).toBe('I64');
    expect(Array.from(continued.get('layers.2.num_batches_tracked')!.data)).toEqual([18]);
    // Running statistics moved towards the batch statistics (momentum 0.1).
    expect(maxAbsDiff(continued.get('layers.2.running_mean')!.data, weights.get('layers.2.running_mean')!.data)).toBeGreaterThan(1e-4);
  });
});
