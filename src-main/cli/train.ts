/**
 * `layerlab train`, `layerlab resume <run>`, `layerlab eval <run>`: training
 * from the terminal through the same run manager the app uses (a worker
 * thread with its own Dawn device, runs stored in the data directory, so a
 * CLI run shows up in the app).
 *
 * Output: a progress bar on a terminal (plain lines every few seconds
 * otherwise) and one line per epoch on stderr; the last line on stdout is a
 * JSON object with run_id, state, test_accuracy, test_error_ci95,
 * train_images_per_s, epochs, seconds, … With --json, stdout carries only
 * JSON lines (one per epoch record, then the final one). Ctrl-C pauses the
 * run after a checkpoint (`layerlab resume <run>` continues it).
 */
import { resolve } from 'node:path';
import type { Command } from './index.ts';
import { parse, UsageError } from './args.ts';
import { terminalProgress } from './progress.ts';
import { flagFor, formatDuration, modelOptions, parseJsonObject, parseNumber, resolveDataset } from './train-options.ts';
import type { EpochRecord, MetricRecord, RunResults, RunState } from '../api/calls/runs.ts';
import { EventHub } from '../api/events.ts';
import { ensureDataDir, resolveDataDir } from '../services/data-dir.ts';
import { DatasetLibrary, ensureSampleInstalled } from '../services/datasets/index.ts';
import { evaluateRun, RunConfigError, RunManager } from '../services/runs/index.ts';

const TRAIN_USAGE = `Usage: layerlab train --dataset <id|name|path> --model <family> [options]

Data and model:
  --dataset <id|path>      a dataset in the library (id or name), or files to import first
  --model <family>         mlp, lenet5, alexnet, resnet, rnn, gru, lstm, transformer, custom
  --option k=v             a model option (repeatable; JSON values: --option hidden=[128,64])
  --options <json>         all model options at once ('{"variant": "classic1998"}')
  --dev-fraction <f>       share of the training split held out as dev set (default 0.1)
  --subset <n>             train on a stratified subset of n training examples
  --augment <json>         augmentation pipeline, e.g. '[{"op":"hflip"},{"op":"randomCrop","padding":4}]'
  --init-weights <file>    start from a .safetensors weights file (fine-tune / continue an export:
                           layerlab export --format safetensors, PyTorch's state_dict); checked against
                           the model first (layerlab runs check-weights lists every mismatch)

Optimisation:
  --optimizer <type>       sgd (default), adagrad, adadelta, rmsprop, adam, adamw
  --lr <x>                 learning rate (default 0.01)
  --momentum <x>           SGD / RMSprop momentum (default 0.9 for sgd)
  --nesterov               Nesterov momentum (SGD)
  --weight-decay <x>       L2 weight decay (decoupled for adamw)
  --clip-norm <x>          clip the global gradient norm
  --optimizer-options <json>  any other optimizer field ('{"betas": [0.9, 0.98]}')
  --schedule <type|json>   constant (default), step, multistep, exponential, cosine, onecycle,
                           or a JSON object ('{"type": "cosine", "warmupEpochs": 1}')
  --label-smoothing <ε>    cross-entropy label smoothing (default 0)
  --epochs <n>             (default 1)
  --batch-size <n>         (default 64)
  --seed <n>               split, shuffles, initialisation and dropout (default 0)

Run:
  --name <text>            display name
  --log-every <steps>      metric readback / step record interval (default 20)
  --grad-norm-every <steps> per-layer gradient norms interval (default 100; 0 = off)
  --json                   JSON lines only on stdout (epoch records, then the result)
  --data-dir <dir>

The final stdout line is JSON: run_id, state, test_accuracy (fraction), test_error,
test_error_ci95 [low, high], best_dev_error, train_images_per_s (steady state: median of
the step records after the first, which includes kernel compilation), train_seconds,
epochs, seconds (wall time of the command), params.
Ctrl-C pauses the run after a checkpoint; layerlab resume <run> continues it.`;

interface WatchResult {
  state: RunState;
  message?: string;
}

function epochLine(r: EpochRecord, epochs: number): string {
  const pct = (v: number | null): string => (v === null ? '   —  ' : `${(v * 100).toFixed(2).padStart(6)}%`);
  const num = (v: number | null): string => (v === null ? '   —  ' : v.toFixed(4));
  return `epoch ${String(r.epoch).padStart(String(epochs).length)}/${epochs}  train loss ${num(r.trainLoss)} err ${pct(r.trainError)}  dev loss ${num(r.devLoss)} err ${pct(r.devError)}  lr ${r.lr.toPrecision(3)}  ${Math.round(r.imagesPerSec)} img/s  ${formatDuration(r.seconds)}`;
}

/** Shows a run's progress until it ends; Ctrl-C pauses it. */
async function watch(manager: RunManager, hub: EventHub, id: string, json: boolean): Promise<WatchResult> {
  const config = await manager.store.readConfig(id);
  const bar = terminalProgress('training');
  let lastLoss: number | null = null;
  const off = hub.subscribe((name, payload) => {
    if (name === 'runs.metrics') {
      const p = payload as { runId: string; records: MetricRecord[] };
      if (p.runId !== id) return;
      for (const r of p.records) {
        if (r.kind === 'step') lastLoss = r.loss;
        else {
          if (process.stderr.isTTY && !json) process.stderr.write('\r\x1b[K');
          if (json) console.log(JSON.stringify(r));
          else process.stderr.write(epochLine(r, config.epochs) + '\n');
        }
      }
    } else if (name === 'runs.status') {
      const s = payload as { runId: string; state: RunState; epoch: number; epochs: number; step: number; totalSteps: number; imagesPerSec: number; etaSeconds: number; message?: string };
      if (s.runId !== id || json || s.state !== 'running') return;
      const extra = [
        lastLoss !== null ? `loss ${lastLoss.toFixed(4)}` : '',
        s.imagesPerSec ? `${Math.round(s.imagesPerSec)} img/s` : '',
        s.etaSeconds ? `ETA ${formatDuration(s.etaSeconds)}` : '',
        s.message ?? '',
      ]
        .filter(Boolean)
        .join(' · ');
      bar.update(`epoch ${Math.max(1, s.epoch)}/${s.epochs}`, s.step, s.totalSteps, extra);
    }
  });
  let interrupted = false;
  const onInt = (): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write('\nInterrupted: pausing after a checkpoint…\n');
    void manager.pause(id).catch(() => undefined);
  };
  process.on('SIGINT', onInt);
  try {
    const state = await manager.waitFor(id);
    bar.end();
    const status = await manager.status(id);
    return { state, message: status.message };
  } finally {
    off();
    process.off('SIGINT', onInt);
  }
}

function median(v: number[]): number {
  if (v.length === 0) return 0;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The final JSON line of train / resume. */
async function finalReport(manager: RunManager, id: string, result: WatchResult, t0: number): Promise<Record<string, unknown>> {
  const [config, status, results, metrics] = await Promise.all([
    manager.store.readConfig(id),
    manager.store.readStatus(id),
    manager.store.readResults(id),
    manager.store.readMetrics(id),
  ]);
  const steps = metrics.records.filter((r) => r.kind === 'step');
  const steady = steps.length > 1 ? steps.slice(1) : steps;
  return {
    run_id: id,
    state: result.state,
    ...(result.message && result.state !== 'completed' ? { message: result.message } : {}),
    model: config.model.family,
    dataset: config.datasetId,
    test_accuracy: results?.testAccuracy ?? null,
    test_error: results?.testError ?? null,
    test_error_ci95: results?.testErrorCi95 ?? null,
    test_count: results?.testCount ?? null,
    best_dev_error: status.bestDevError,
    train_images_per_s: median(steady.map((r) => r.imagesPerSec)),
    train_seconds: status.seconds,
    epochs: status.epochsDone,
    seconds: (performance.now() - t0) / 1000,
    params: config.derived.params,
  };
}

function printSummary(results: RunResults | null, report: Record<string, unknown>): void {
  if (!results) return;
  const [lo, hi] = results.testErrorCi95;
  process.stderr.write(
    `test accuracy ${(results.testAccuracy * 100).toFixed(2)}%  (error ${(results.testError * 100).toFixed(2)}%, 95% CI ${(lo * 100).toFixed(2)}–${(hi * 100).toFixed(2)}%, ${results.testCount} images)  ·  ${Math.round(report.train_images_per_s as number)} img/s\n`,
  );
  const width = Math.max(...results.classNames.map((n) => n.length));
  results.classNames.forEach((n, c) => {
    const a = results.perClassAccuracy[c];
    process.stderr.write(`  ${n.padEnd(width)}  ${a === null ? '—' : (a * 100).toFixed(1) + '%'}\n`);
  });
}

function services(dataDirArg: string | undefined): { dataDir: string; hub: EventHub; manager: RunManager; lib: DatasetLibrary } {
  const layout = ensureDataDir(resolveDataDir(dataDirArg));
  const hub = new EventHub();
  return { dataDir: layout.root, hub, manager: new RunManager({ dataDir: layout.root, events: hub }), lib: new DatasetLibrary(layout) };
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a model on a dataset (progress bar, final JSON line with test accuracy and its 95% CI)',
  usage: TRAIN_USAGE,
  async run(argv) {
    const t0 = performance.now();
    const { values, positionals } = parse(argv, {
      dataset: { type: 'string' },
      model: { type: 'string' },
      option: { type: 'string', multiple: true },
      options: { type: 'string' },
      optimizer: { type: 'string' },
      lr: { type: 'string' },
      momentum: { type: 'string' },
      nesterov: { type: 'boolean' },
      'weight-decay': { type: 'string' },
      'clip-norm': { type: 'string' },
      'optimizer-options': { type: 'string' },
      schedule: { type: 'string' },
      'label-smoothing': { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      'dev-fraction': { type: 'string' },
      subset: { type: 'string' },
      augment: { type: 'string' },
      'init-weights': { type: 'string' },
      seed: { type: 'string' },
      name: { type: 'string' },
      'log-every': { type: 'string' },
      'grad-norm-every': { type: 'string' },
      json: { type: 'boolean' },
      'data-dir': { type: 'string' },
    });
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}" (see layerlab train --help)`);
    if (!values.dataset) throw new UsageError('--dataset is required (a dataset id, name or path)');
    if (!values.model) throw new UsageError('--model is required (layerlab models list shows the families)');
    const json = values.json ?? false;
    const log = (line: string): void => void process.stderr.write(line + '\n');
    const { hub, manager, lib } = services(values['data-dir']);
    await ensureSampleInstalled(lib.layout);
    const dataset = await resolveDataset(lib, values.dataset, log);

    const type = values.optimizer ?? 'sgd';
    const optimizer: Record<string, unknown> = {
      type,
      lr: parseNumber(values.lr, '--lr') ?? 0.01,
      ...(values['optimizer-options'] ? parseJsonObject(values['optimizer-options'], '--optimizer-options') : {}),
    };
    const momentum = parseNumber(values.momentum, '--momentum') ?? (type === 'sgd' ? 0.9 : undefined);
    if (momentum !== undefined) optimizer.momentum = momentum;
    if (values.nesterov) optimizer.nesterov = true;
    const wd = parseNumber(values['weight-decay'], '--weight-decay');
    if (wd !== undefined) optimizer.weightDecay = wd;
    const clip = parseNumber(values['clip-norm'], '--clip-norm');
    if (clip !== undefined) optimizer.clipNorm = clip;
    const schedule = values.schedule === undefined ? { type: 'constant' } : values.schedule.trim().startsWith('{') ? parseJsonObject(values.schedule, '--schedule') : { type: values.schedule };
    let augment: unknown = [];
    if (values.augment) {
      try {
        augment = JSON.parse(values.augment);
      } catch (e) {
        throw new UsageError(`--augment is not valid JSON: ${(e as Error).message}`);
      }
    }
    const input = {
      ...(values.name ? { name: values.name } : {}),
      datasetId: dataset.id,
      devFraction: parseNumber(values['dev-fraction'], '--dev-fraction') ?? 0.1,
      ...(values.subset ? { trainSubset: parseNumber(values.subset, '--subset') } : {}),
      model: { family: values.model, options: modelOptions(values.options, values.option) },
      optimizer,
      schedule,
      augment,
      epochs: parseNumber(values.epochs, '--epochs') ?? 1,
      batchSize: parseNumber(values['batch-size'], '--batch-size') ?? 64,
      seed: parseNumber(values.seed, '--seed') ?? 0,
      labelSmoothing: parseNumber(values['label-smoothing'], '--label-smoothing') ?? 0,
      ...(values['log-every'] ? { logEvery: parseNumber(values['log-every'], '--log-every') } : {}),
      ...(values['grad-norm-every'] ? { gradNormEvery: parseNumber(values['grad-norm-every'], '--grad-norm-every') } : {}),
      ...(values['init-weights'] ? { initWeights: resolve(values['init-weights']) } : {}),
    };
    let id: string;
    try {
      id = await manager.create(input);
    } catch (e) {
      if (e instanceof RunConfigError) throw new UsageError(`${e.message} (${flagFor(e.field)})`);
      throw e;
    }
    const config = await manager.store.readConfig(id);
    if (config.initWeights) log(`Starting from ${config.initWeights.file} (sha256 ${config.initWeights.sha256.slice(0, 12)}…, ${config.initWeights.tensors} tensors)`);
    log(
      `Run ${id}: ${config.model.family} (${config.derived.params.toLocaleString('en-US')} parameters) on ${config.datasetName}, ` +
        `${config.derived.counts.train} train / ${config.derived.counts.dev} dev / ${config.derived.counts.test} test, ` +
        `${config.epochs} epoch${config.epochs > 1 ? 's' : ''} × ${config.derived.stepsPerEpoch} steps of ${config.batchSize}`,
    );
    return finishCommand(manager, hub, id, json, t0);
  },
};

async function finishCommand(manager: RunManager, hub: EventHub, id: string, json: boolean, t0: number): Promise<number> {
  const result = await watch(manager, hub, id, json);
  const report = await finalReport(manager, id, result, t0);
  if (!json) {
    if (result.state === 'completed') printSummary(await manager.store.readResults(id), report);
    else if (result.state === 'paused') process.stderr.write(`Paused. Continue with: layerlab resume ${id}\n`);
    else if (result.message) process.stderr.write(`${result.state}: ${result.message}\n`);
  }
  console.log(JSON.stringify(report));
  return result.state === 'completed' || result.state === 'paused' ? 0 : 1;
}

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'continue a paused, stopped, failed or interrupted run from its last checkpoint',
  usage: 'Usage: layerlab resume <run> [--json] [--data-dir <dir>]\n\nContinues the run from its last checkpoint; the loss curve is the one an uninterrupted run would have drawn.',
  async run(argv) {
    const t0 = performance.now();
    const { values, positionals } = parse(argv, { json: { type: 'boolean' }, 'data-dir': { type: 'string' } });
    const [id] = positionals;
    if (!id) throw new UsageError('which run? layerlab resume <run> (layerlab runs list shows them)');
    const { hub, manager } = services(values['data-dir']);
    const ckpt = await manager.store.latestCheckpoint(id).catch(() => null);
    await manager.resume(id);
    process.stderr.write(`Resuming ${id} from ${ckpt ? ckpt.name : 'the start (no checkpoint yet)'}\n`);
    return finishCommand(manager, hub, id, values.json ?? false, t0);
  },
};

export const evalCommand: Command = {
  name: 'eval',
  summary: "evaluate a run's latest (or a given) checkpoint on the test set",
  usage: 'Usage: layerlab eval <run> [--checkpoint epoch-<n>|step-<n>] [--json] [--data-dir <dir>]\n\nWrites results.json of the run (test error, 95% CI, confusion matrix, per-class accuracy).',
  async run(argv) {
    const { values, positionals } = parse(argv, { checkpoint: { type: 'string' }, json: { type: 'boolean' }, 'data-dir': { type: 'string' } });
    const [id] = positionals;
    if (!id) throw new UsageError('which run? layerlab eval <run>');
    const dataDir = ensureDataDir(resolveDataDir(values['data-dir'])).root;
    const r = await evaluateRun(dataDir, id, values.checkpoint);
    if (values.json) {
      console.log(JSON.stringify({ run_id: id, checkpoint: r.checkpoint, test_accuracy: r.testAccuracy, test_error: r.testError, test_error_ci95: r.testErrorCi95, test_loss: r.testLoss, test_count: r.testCount, confusion: r.confusion, per_class_accuracy: r.perClassAccuracy, class_names: r.classNames }));
      return 0;
    }
    const [lo, hi] = r.testErrorCi95;
    console.log(`${id} @ ${r.checkpoint}: test accuracy ${(r.testAccuracy * 100).toFixed(2)}%, error ${(r.testError * 100).toFixed(2)}% (95% CI ${(lo * 100).toFixed(2)}–${(hi * 100).toFixed(2)}%), loss ${r.testLoss?.toFixed(4) ?? '—'}, ${r.testCount} images`);
    console.log(formatConfusion(r));
    return 0;
  },
};

/** Confusion matrix as an aligned table (rows: true class, columns: predicted). */
export function formatConfusion(r: Pick<RunResults, 'confusion' | 'classNames' | 'perClassAccuracy'>): string {
  const names = r.classNames.map((n) => n.slice(0, 12));
  const w = Math.max(5, ...r.confusion.flat().map((v) => String(v).length));
  const nw = Math.max(...names.map((n) => n.length));
  const head = ' '.repeat(nw + 2) + r.classNames.map((_, c) => String(c).padStart(w)).join(' ') + '   acc';
  const rows = r.confusion.map((row, c) => `${names[c].padEnd(nw)}  ${row.map((v) => String(v).padStart(w)).join(' ')}  ${r.perClassAccuracy[c] === null ? '  —' : ((r.perClassAccuracy[c] as number) * 100).toFixed(1).padStart(5) + '%'}`);
  return ['confusion (rows: true class, columns: predicted)', head, ...rows].join('\n');
}
