/**
 * The training CLI end to end on the shipped Fashion-MNIST sample (2,700
 * train / 300 dev / 1,000 test images): an MLP trained for one epoch beats
 * 70% test accuracy, the final JSON line carries the agreed fields with a
 * correct 95% interval, and runs / eval / models show what was trained.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cli, lastJsonLine, sampleDataDir, SAMPLE_ID } from './helpers.ts';
import { writeIdxSet } from '../helpers/idx-files.ts';
import { makeTempDir } from '../helpers/tmp-data-dir.ts';

let root: string;
let cleanup: () => void;
let runId: string;
let report: Record<string, unknown>;
beforeAll(async () => ({ root, cleanup } = await sampleDataDir()));
afterAll(() => cleanup?.());

describe('layerlab train', () => {
  it('trains an MLP on the sample for 1 epoch to > 70% test accuracy and prints the final JSON line', async () => {
    const r = await cli(['train', '--dataset', SAMPLE_ID, '--model', 'mlp', '--option', 'hidden=[128]', '--optimizer', 'adam', '--lr', '0.002', '--batch-size', '32', '--epochs', '1', '--json', '--data-dir', root]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ kind: 'epoch', epoch: 1 }); // --json: epoch records, then the result
    // the share of training time spent waiting for batches is measured and is a fraction
    const wait = (lines[0] as { dataWaitShare?: number }).dataWaitShare;
    expect(wait).toBeGreaterThanOrEqual(0);
    expect(wait).toBeLessThanOrEqual(1);
    report = lastJsonLine(r.stdout);
    runId = report.run_id as string;
    expect(report).toMatchObject({ state: 'completed', model: 'mlp', dataset: SAMPLE_ID, epochs: 1, test_count: 1000 });
    const acc = report.test_accuracy as number;
    expect(acc).toBeGreaterThan(0.7);
    const e = 1 - acc;
    const half = 1.96 * Math.sqrt((e * (1 - e)) / 1000);
    const [lo, hi] = report.test_error_ci95 as [number, number];
    expect(lo).toBeCloseTo(e - half, 10);
    expect(hi).toBeCloseTo(e + half, 10);
    expect(report.train_images_per_s as number).toBeGreaterThan(0);
    expect(report.seconds as number).toBeGreaterThan(0);
    expect(report.params).toBe(784 * 128 + 128 + 1280 + 10);
  });

  it('shows the run in runs list / show, and eval reproduces its test results', async () => {
    const list = await cli(['runs', 'list', '--json', '--data-dir', root]);
    const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; state: string; testError: number });
    expect(rows.find((x) => x.id === runId)).toMatchObject({ state: 'completed', testError: report.test_error });
    const show = await cli(['runs', 'show', runId, '--data-dir', root]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/epoch +train loss +train err +dev loss +dev err/);
    expect(show.stdout).toMatch(/confusion \(rows: true class, columns: predicted\)/);
    const ev = await cli(['eval', runId, '--json', '--data-dir', root]);
    expect(ev.code, ev.stderr).toBe(0);
    const res = lastJsonLine(ev.stdout);
    expect(res).toMatchObject({ run_id: runId, checkpoint: 'epoch-1', test_accuracy: report.test_accuracy, test_count: 1000 });
  });

  it('names the flag of a bad setting and exits 1', async () => {
    const bad = await cli(['train', '--dataset', SAMPLE_ID, '--model', 'mlp', '--lr', '100', '--data-dir', root]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/optimizer\.lr: lr must be ≤ 10.*\(--lr\)/);
    const opt = await cli(['train', '--dataset', SAMPLE_ID, '--model', 'lenet5', '--option', 'variant=ancient', '--data-dir', root]);
    expect(opt.code).toBe(1);
    expect(opt.stderr).toMatch(/lenet5: option 'variant'.*\(--option variant=…\)/);
    const nan = await cli(['train', '--dataset', SAMPLE_ID, '--model', 'mlp', '--epochs', 'two', '--data-dir', root]);
    expect(nan.stderr).toMatch(/--epochs must be a number, got "two"/);
  });

  it('imports a dataset given as a path first', async () => {
    const dir = makeTempDir();
    writeIdxSet(join(dir, 'digits'), 320, 80, { gzip: true });
    const r = await cli(['train', '--dataset', join(dir, 'digits'), '--model', 'mlp', '--option', 'hidden=[16]', '--epochs', '1', '--batch-size', '32', '--data-dir', root]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Importing .*digits/);
    expect(r.stderr).toMatch(/epoch 1\/1 +train loss/);
    const out = lastJsonLine(r.stdout);
    expect(out.test_count).toBe(80);
  });
});

describe('layerlab models', () => {
  it('lists the families and prints LeNet-5’s layer table', async () => {
    const list = await cli(['models', 'list']);
    for (const f of ['mlp', 'lenet5', 'alexnet', 'resnet', 'rnn', 'gru', 'lstm', 'transformer', 'custom']) expect(list.stdout).toMatch(new RegExp(`^${f} `, 'm'));
    const show = await cli(['models', 'show', 'lenet5', '--input', '1x28x28']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/conv2d +\[6, 28, 28\] +156/);
    expect(show.stdout).toMatch(/61,706 parameters/);
  });
});
