/**
 * Resume = uninterrupted. A run killed with SIGKILL in the middle of an
 * epoch (a CLI child process), and a run paused mid-epoch (checkpoint at the
 * current step), both continue from their last checkpoint and write the same
 * metric records — every step and epoch loss, error, learning rate, gradient
 * norm, dev figure — and the same test results as a run that was never
 * interrupted (same seed, same adapter). The model has dropout, so the
 * engine's seed sequence must be restored too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricRecord } from '../../../src-main/api/calls/runs.ts';
import { RunStore } from '../../../src-main/services/runs/index.ts';
import { dataDirLayout } from '../../../src-main/services/data-dir.ts';
import { cli, expectSameCurve, lastJsonLine, manager, sampleDataDir, SAMPLE_ID } from './helpers.ts';

let root: string;
let cleanup: () => void;
let reference: { id: string; records: MetricRecord[] };

// 640 training examples / 32 = 20 steps per epoch, 3 epochs; records every 4 steps, norms every 8.
const CONFIG = {
  datasetId: SAMPLE_ID,
  trainSubset: 640,
  model: { family: 'mlp', options: { hidden: [32], dropout: 0.2 } },
  optimizer: { type: 'adam', lr: 0.002 },
  epochs: 3,
  batchSize: 32,
  logEvery: 4,
  gradNormEvery: 8,
  seed: 11,
};
const CLI_ARGS = ['train', '--dataset', SAMPLE_ID, '--subset', '640', '--model', 'mlp', '--option', 'hidden=[32]', '--option', 'dropout=0.2', '--optimizer', 'adam', '--lr', '0.002', '--epochs', '3', '--batch-size', '32', '--log-every', '4', '--grad-norm-every', '8', '--seed', '11', '--json'];

function storeOf(): RunStore {
  return new RunStore(dataDirLayout(root));
}

beforeAll(async () => {
  ({ root, cleanup } = await sampleDataDir());
  const r = await cli([...CLI_ARGS, '--data-dir', root]);
  expect(r.code, r.stderr).toBe(0);
  const id = lastJsonLine(r.stdout).run_id as string;
  reference = { id, records: (await storeOf().readMetrics(id)).records };
  expect(reference.records.filter((x) => x.kind === 'epoch')).toHaveLength(3);
  expect(reference.records.filter((x) => x.kind === 'step' && x.gradNorms)).toHaveLength(7); // steps 8, 16, …, 56
});
afterAll(() => cleanup?.());

describe('resume after SIGKILL mid-epoch', () => {
  it('continues from epoch-1 and writes the same curve and test results as the uninterrupted run', async () => {
    process.env.LAYERLAB_STEP_DELAY_MS = '80';
    let runId = '';
    let killedAt = -1;
    const r = await cli([...CLI_ARGS, '--data-dir', root], (line, child) => {
      const m = /^Run (\S+):/.exec(line);
      if (m) {
        runId = m[1];
        const poll = setInterval(() => {
          let text = '';
          try {
            text = readFileSync(join(root, 'runs', runId, 'metrics.jsonl'), 'utf8');
          } catch {
            return;
          }
          const steps = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as MetricRecord);
          const last = steps.at(-1);
          if (last && last.kind === 'step' && last.epoch === 2 && last.step >= 28) {
            killedAt = last.step;
            clearInterval(poll);
            child.kill('SIGKILL');
          }
        }, 10);
        child.on('exit', () => clearInterval(poll));
      }
    });
    delete process.env.LAYERLAB_STEP_DELAY_MS;
    expect(r.signal).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThanOrEqual(28);
    expect(killedAt).toBeLessThan(40); // inside epoch 2
    const store = storeOf();
    expect((await store.listCheckpoints(runId)).map((c) => c.name)).toEqual(['epoch-1']);
    const { manager: m } = manager(root);
    expect((await m.list()).find((s) => s.id === runId)?.state).toBe('interrupted');
    // records of the killed process past the checkpoint are on disk until the resume cuts them off
    expect((await store.readMetrics(runId)).records.length).toBeGreaterThan(reference.records.filter((x) => x.step <= 20).length);

    expect(await m.resume(runId)).toBe('queued');
    expect(await m.waitFor(runId)).toBe('completed');
    expectSameCurve((await store.readMetrics(runId)).records, reference.records);
    const [a, b] = [await store.readResults(runId), await store.readResults(reference.id)];
    expect(a!.testError).toBe(b!.testError);
    expect(a!.testLoss!).toBeCloseTo(b!.testLoss!, 6);
    expect(a!.confusion).toEqual(b!.confusion);
  });
});

describe('pause mid-epoch', () => {
  it('checkpoints at the current step, and resuming draws the same curve', async () => {
    process.env.LAYERLAB_STEP_DELAY_MS = '80';
    const { manager: m, hub } = manager(root);
    let paused = false;
    const id = await m.create(CONFIG);
    const off = hub.subscribe((name, p) => {
      const ev = p as { runId: string; records?: MetricRecord[] };
      if (name === 'runs.metrics' && ev.runId === id && !paused && ev.records!.some((r) => r.kind === 'step' && r.step >= 44)) {
        paused = true;
        void m.pause(id);
      }
    });
    expect(await m.waitFor(id)).toBe('paused');
    off();
    delete process.env.LAYERLAB_STEP_DELAY_MS;
    const ckpts = await storeOf().listCheckpoints(id);
    const mid = ckpts.at(-1)!;
    expect(mid.midEpoch).toBe(true);
    expect(mid.name).toBe(`step-${mid.step}`);
    expect(mid.step).toBeGreaterThan(44);
    expect(mid.step % 20).not.toBe(0);
    expect((await m.status(id)).state).toBe('paused');

    expect(await m.resume(id)).toBe('queued');
    expect(await m.waitFor(id)).toBe('completed');
    expectSameCurve((await storeOf().readMetrics(id)).records, reference.records);
    expect((await storeOf().readResults(id))!.confusion).toEqual((await storeOf().readResults(reference.id))!.confusion);
  });
});
