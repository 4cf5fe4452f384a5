/** `layerlab runs list|show|delete`: the run store from the terminal (the same runs the app lists). */
import { resolve } from 'node:path';
import type { Command } from './index.ts';
import { parse, UsageError } from './args.ts';
import { formatDuration, modelOptions, resolveDataset } from './train-options.ts';
import { compileModel, ModelConfigError, type ModelGraph } from '../../src-engine/models/index.ts';
import { formatConfusion } from './train.ts';
import type { RunSummary } from '../api/calls/runs.ts';
import { EventHub } from '../api/events.ts';
import { ensureDataDir, resolveDataDir } from '../services/data-dir.ts';
import { DatasetLibrary } from '../services/datasets/index.ts';
import { RunManager } from '../services/runs/index.ts';
import { checkWeights, readWeightsFile } from '../services/runs/init-weights.ts';

const USAGE = `Usage: layerlab runs <action> [--json] [--data-dir <dir>]

Actions:
  list             every run: state, model, dataset, best dev error, test error ± 95% CI, time
  show <run>       config, status, checkpoints, per-epoch metrics and test results
  delete <run>     remove a run and its checkpoints
  check-weights <file.safetensors> --model <family> [--option k=v …] [--options <json>] [--dataset <id|name>]
                   check a weights file against a model (names, shapes, dtypes, BN statistics
                   included) and list every missing, unexpected, wrong-shape and wrong-dtype
                   tensor; exit code 1 on a mismatch. Input shape and classes come from --dataset,
                   else from the file's metadata (LayerLab exports carry them).`;

const pct = (v: number | null): string => (v === null ? '—' : `${(v * 100).toFixed(2)}%`);

function row(s: RunSummary): string {
  const test = s.testError === null ? '—' : `${pct(s.testError)} ± ${(((s.testErrorCi95![1] - s.testErrorCi95![0]) / 2) * 100).toFixed(2)}`;
  return [
    s.id.padEnd(34),
    s.state.padEnd(11),
    s.model.padEnd(11),
    s.dataset.id.slice(0, 26).padEnd(26),
    `${s.epochsDone}/${s.epochs}`.padStart(7),
    pct(s.bestDevError).padStart(8),
    test.padStart(15),
    formatDuration(s.seconds).padStart(8),
  ].join(' ');
}

export const runsCommand: Command = {
  name: 'runs',
  summary: 'list, show or delete training runs',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      json: { type: 'boolean' },
      'data-dir': { type: 'string' },
      model: { type: 'string' },
      option: { type: 'string', multiple: true },
      options: { type: 'string' },
      dataset: { type: 'string' },
    });
    const [action, id] = positionals;
    if (action !== 'check-weights' && (values.model || values.option || values.options || values.dataset)) {
      throw new UsageError('--model, --option(s) and --dataset belong to layerlab runs check-weights');
    }
    if (action === 'check-weights') return checkWeightsCommand(id, values);
    const dataDir = ensureDataDir(resolveDataDir(values['data-dir'])).root;
    const manager = new RunManager({ dataDir, events: new EventHub() });
    switch (action) {
      case 'list':
      case undefined: {
        const list = await manager.list();
        if (values.json) {
          for (const s of list) console.log(JSON.stringify(s));
          return 0;
        }
        if (list.length === 0) {
          console.log('No runs yet. Start one with: layerlab train --dataset fashion-mnist-sample --model lenet5');
          return 0;
        }
        console.log(['run'.padEnd(34), 'state'.padEnd(11), 'model'.padEnd(11), 'dataset'.padEnd(26), 'epochs'.padStart(7), 'dev err'.padStart(8), 'test err ± CI'.padStart(15), 'time'.padStart(8)].join(' '));
        for (const s of list) console.log(row(s));
        return 0;
      }
      case 'show': {
        if (!id) throw new UsageError('which run? layerlab runs show <run>');
        const d = await manager.get(id);
        const { records } = await manager.metrics(id);
        if (values.json) {
          console.log(JSON.stringify({ ...d, metrics: records }));
          return 0;
        }
        const c = d.config as { optimizer: Record<string, unknown>; schedule: Record<string, unknown>; batchSize: number; seed: number; augment: unknown[]; initWeights?: { file: string; sha256: string; sourceRun?: string; sourceCheckpoint?: string } };
        const s = d.summary;
        console.log(`${s.name} (${s.id})`);
        console.log(`  state:      ${s.state}${s.message ? ` — ${s.message}` : ''}`);
        console.log(`  model:      ${s.model} ${JSON.stringify(s.modelOptions)}  (${s.params.toLocaleString('en-US')} parameters)`);
        console.log(`  dataset:    ${s.dataset.name} (${s.dataset.id}): ${d.counts.train} train / ${d.counts.dev} dev / ${d.counts.test} test`);
        console.log(`  optimizer:  ${JSON.stringify(c.optimizer)}`);
        console.log(`  schedule:   ${JSON.stringify(c.schedule)}`);
        console.log(`  batch size: ${c.batchSize}, seed ${c.seed}, augmentation ${c.augment.length ? JSON.stringify(c.augment) : 'none'}`);
        console.log(`  progress:   epoch ${s.epochsDone}/${s.epochs}, step ${d.status.step}/${d.status.totalSteps}, ${formatDuration(s.seconds)} training`);
        if (c.initWeights) {
          const w = c.initWeights;
          const from = w.sourceRun ? ` (run ${w.sourceRun}${w.sourceCheckpoint ? ` @ ${w.sourceCheckpoint}` : ''})` : '';
          console.log(`  started from: ${w.file}${from}, sha256 ${w.sha256} (checkpoint epoch-0)`);
        }
        console.log(`  checkpoints: ${d.checkpoints.map((k) => k.name).join(', ') || '—'}`);
        const epochs = records.filter((r) => r.kind === 'epoch');
        if (epochs.length) {
          console.log('\n  epoch  train loss  train err  dev loss  dev err       lr   img/s');
          for (const r of epochs) {
            if (r.kind !== 'epoch') continue;
            console.log(
              `  ${String(r.epoch).padStart(5)}  ${(r.trainLoss?.toFixed(4) ?? '—').padStart(10)}  ${pct(r.trainError).padStart(9)}  ${(r.devLoss?.toFixed(4) ?? '—').padStart(8)}  ${pct(r.devError).padStart(7)}  ${r.lr.toPrecision(3).padStart(7)}  ${String(Math.round(r.imagesPerSec)).padStart(6)}`,
            );
          }
        }
        if (d.results) {
          const [lo, hi] = d.results.testErrorCi95;
          console.log(`\n  test: accuracy ${pct(d.results.testAccuracy)}, error ${pct(d.results.testError)} (95% CI ${pct(lo)}–${pct(hi)}), ${d.results.testCount} images, from ${d.results.checkpoint}\n`);
          console.log(formatConfusion(d.results));
        }
        return 0;
      }
      case 'delete': {
        if (!id) throw new UsageError('which run? layerlab runs delete <run>');
        await manager.delete(id);
        console.log(`Deleted ${id}.`);
        return 0;
      }
      default:
        throw new UsageError(`Unknown action "${action}".\n\n${USAGE}`);
    }
  },
};

/** `layerlab runs check-weights`: the mismatch report of a weights file for a model. */
async function checkWeightsCommand(
  file: string | undefined,
  values: { json?: boolean; 'data-dir'?: string; model?: string; option?: string[]; options?: string; dataset?: string },
): Promise<number> {
  if (!file) throw new UsageError('which file? layerlab runs check-weights <file.safetensors> --model <family>');
  if (!values.model) throw new UsageError('--model is required (layerlab models list shows the families)');
  const read = await readWeightsFile(resolve(file));
  const options = modelOptions(values.options, values.option);
  let input: [number, number, number];
  let classes: number;
  let norm: { mean: number[]; std: number[] } | undefined;
  if (values.dataset) {
    const lib = new DatasetLibrary(ensureDataDir(resolveDataDir(values['data-dir'])));
    const d = await resolveDataset(lib, values.dataset, (line) => void process.stderr.write(line + '\n'));
    const [H, W, C] = d.shape;
    input = [C, H, W];
    classes = d.classNames.length;
    norm = { mean: d.mean.map((v) => v / 255), std: d.std.map((v) => (v > 0 ? v / 255 : 1)) };
  } else {
    const meta = read.file.metadata;
    let shape: unknown;
    let names: unknown;
    try {
      shape = meta.input ? (JSON.parse(meta.input) as { shape?: unknown }).shape : undefined;
      names = meta.class_names ? JSON.parse(meta.class_names) : undefined;
    } catch {
      shape = undefined;
    }
    const dims = Array.isArray(shape) ? shape.slice(1) : [];
    if (dims.length !== 3 || !dims.every((v) => Number.isInteger(v) && (v as number) > 0) || !Array.isArray(names) || names.length < 1) {
      throw new UsageError(`${read.info.file} does not say its input shape and classes (not a LayerLab export): give --dataset <id|name>`);
    }
    input = dims as [number, number, number];
    classes = names.length;
  }
  let graph: ModelGraph;
  try {
    graph = compileModel(values.model, options, input, classes, norm);
  } catch (e) {
    if (e instanceof ModelConfigError) throw new UsageError(`Invalid model: ${e.message}`);
    throw e;
  }
  const check = checkWeights(graph, read.file);
  const what = `${values.model} ${JSON.stringify(graph.options)}, input [${input.join(', ')}], ${classes} classes`;
  if (values.json) {
    console.log(JSON.stringify({ file: read.info.file, sha256: read.info.sha256, model: what, ok: check.ok, missing: check.missing, unexpected: check.unexpected, wrongShape: check.wrongShape, wrongDtype: check.wrongDtype }));
  } else if (check.ok) {
    console.log(`${read.info.file} matches ${what}: all ${read.file.tensors.size} tensors (names, shapes, dtypes).`);
  } else {
    console.log(`${read.info.file} does not match ${what}:\n${check.message}`);
  }
  return check.ok ? 0 : 1;
}
