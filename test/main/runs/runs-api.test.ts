/**
 * The runs API through dispatchCall (what both hosts call): validation that
 * names the field, create → queue → train → results, batched events, list /
 * get / metrics / rename / pause / delete, and the results' statistics
 * (95% CI formula, confusion matrix ↔ per-class accuracy ↔ test error).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { MetricRecord, RunDetail, RunStatus, RunSummary } from '../../../src-main/api/calls/runs.ts';
import { createHandlers, createServices, dispatchCall, EventHub, type Handlers, type Services } from '../../../src-main/api/services.ts';
import { sampleDataDir, SAMPLE_ID } from './helpers.ts';

let root: string;
let cleanup: () => void;
let hub: EventHub;
let services: Services;
let handlers: Handlers;
const events: Array<{ name: string; payload: unknown; at: number }> = [];

beforeAll(async () => {
  ({ root, cleanup } = await sampleDataDir());
  hub = new EventHub();
  hub.subscribe((name, payload) => events.push({ name, payload, at: Date.now() }));
  services = createServices({ dataDir: root, host: 'test', hub });
  handlers = createHandlers(services);
});
afterAll(() => cleanup?.());

const call = (name: string, args: unknown): Promise<unknown> => dispatchCall(handlers, name, args);

const GOOD = {
  datasetId: SAMPLE_ID,
  trainSubset: 512,
  model: { family: 'mlp', options: { hidden: [24] } },
  optimizer: { type: 'adam', lr: 0.003 },
  epochs: 2,
  batchSize: 32,
  logEvery: 4,
  gradNormEvery: 8,
  seed: 3,
};

describe('runs.validate / runs.create reject bad configs, naming the field', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp, string]> = [
    ['absurd learning rate', { optimizer: { type: 'sgd', lr: 1e6 } }, /lr must be ≤ 10/, 'optimizer.lr'],
    ['negative momentum', { optimizer: { type: 'sgd', lr: 0.1, momentum: -1 } }, /momentum/, 'optimizer.momentum'],
    ['unknown optimizer', { optimizer: { type: 'lbfgs' } }, /type must be one of sgd/, 'optimizer.type'],
    ['zero batch size', { batchSize: 0 }, /batchSize/, 'batchSize'],
    ['batch larger than the training set', { batchSize: 4000 }, /batchSize: 4000 is more than the 510 training examples/, 'batchSize'],
    ['a million epochs', { epochs: 1_000_000 }, /epochs/, 'epochs'],
    ['dev fraction 0.9', { devFraction: 0.9 }, /devFraction/, 'devFraction'],
    ['unknown model', { model: { family: 'gpt5', options: {} } }, /Unknown model 'gpt5'/, 'model.family'],
    ['bad model option', { model: { family: 'mlp', options: { hidden: [-3] } } }, /option 'hidden/, 'model.options.hidden.0'],
    ['unknown model option', { model: { family: 'lenet5', options: { depth: 3 } } }, /unknown option 'depth'/, 'model.options'],
    ['bad augmentation', { augment: [{ op: 'hflip', p: 2 }] }, /Invalid augmentation: pipeline\[0\]/, 'augment.0.p'],
    ['bad schedule', { schedule: { type: 'step', gamma: 5 } }, /gamma/, 'schedule.gamma'],
    ['missing dataset', { datasetId: 'no-such-dataset' }, /no dataset "no-such-dataset"/, 'datasetId'],
    ['unknown setting', { learningRate: 0.1 }, /learningRate/, 'config'],
  ];
  for (const [what, patch, message, field] of cases) {
    it(what, async () => {
      const config = { ...GOOD, ...patch };
      const v = (await call('runs.validate', { config })) as { ok: boolean; error: string; field: string };
      expect(v.ok).toBe(false);
      expect(v.error).toMatch(message);
      expect(v.field).toBe(field);
      await expect(call('runs.create', { config })).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(message) });
    });
  }

  it('accepts a good config and reports its size', async () => {
    const v = await call('runs.validate', { config: GOOD });
    // 784·24 + 24 + 24·10 + 10 parameters; a stratified subset of round(270 · 512/2700) = 51 per class, 300 dev, 1000 test
    expect(v).toEqual({ ok: true, params: 19090, stepsPerEpoch: 16, totalSteps: 32, counts: { train: 510, dev: 300, test: 1000 } });
  });
});

describe('a run through the API', () => {
  let id: string;

  it('is created, queued, trained and evaluated; events are batched and complete', async () => {
    const t0 = Date.now();
    id = ((await call('runs.create', { config: { ...GOOD, name: 'api run' } })) as { id: string }).id;
    expect(await services.runs.waitFor(id)).toBe('completed');
    const mine = events.filter((e) => (e.payload as { runId?: string; id?: string }).runId === id || (e.payload as { id?: string }).id === id);
    expect(mine[0]).toMatchObject({ name: 'runs.changed', payload: { reason: 'created', id } });
    const states = mine.filter((e) => e.name === 'runs.status').map((e) => (e.payload as RunStatus).state);
    expect(states[0]).toBe('queued');
    expect(states).toContain('running');
    expect(states.at(-1)).toBe('completed');
    // metrics events: contiguous indices, every record once, at most ~4 per second
    const metricEvents = mine.filter((e) => e.name === 'runs.metrics').map((e) => e.payload as { from: number; records: MetricRecord[] });
    let next = 0;
    for (const ev of metricEvents) {
      expect(ev.from).toBe(next);
      next += ev.records.length;
    }
    const all = (await call('runs.metrics', { id })) as { records: MetricRecord[]; total: number };
    expect(next).toBe(all.total);
    expect(all.records.filter((r) => r.kind === 'step').map((r) => r.step)).toEqual([4, 8, 12, 16, 20, 24, 28, 32]);
    expect(all.records.filter((r) => r.kind === 'epoch').map((r) => r.epoch)).toEqual([1, 2]);
    const seconds = Math.max(1, (Date.now() - t0) / 1000);
    expect(metricEvents.length).toBeLessThanOrEqual(Math.ceil(seconds * 4) + 2);
    const withNorms = all.records.filter((r) => r.kind === 'step' && r.gradNorms) as Array<Extract<MetricRecord, { kind: 'step' }>>;
    expect(withNorms.map((r) => r.step)).toEqual([8, 16, 24, 32]);
    expect(Object.keys(withNorms[0].gradNorms!)).toEqual(['layers.2.weight', 'layers.2.bias', 'layers.4.weight', 'layers.4.bias']);
    const since = (await call('runs.metrics', { id, since: 5 })) as { records: MetricRecord[]; total: number };
    expect(since.records).toEqual(all.records.slice(5));
  });

  it('lists and gets it with results whose statistics agree', async () => {
    const list = (await call('runs.list', {})) as RunSummary[];
    const row = list.find((r) => r.id === id)!;
    expect(row).toMatchObject({ name: 'api run', state: 'completed', model: 'mlp', dataset: { id: SAMPLE_ID }, optimizer: 'adam', epochs: 2, epochsDone: 2, params: 19090 });
    const d = (await call('runs.get', { id })) as RunDetail;
    const r = d.results!;
    expect(row.testError).toBe(r.testError);
    expect(r.testCount).toBe(1000);
    const total = r.confusion.flat().reduce((a, b) => a + b, 0);
    const right = r.confusion.reduce((a, rowC, c) => a + rowC[c], 0);
    expect(total).toBe(1000);
    expect(r.testError).toBeCloseTo(1 - right / 1000, 12);
    expect(r.testAccuracy).toBeCloseTo(1 - r.testError, 12);
    const half = 1.96 * Math.sqrt((r.testError * (1 - r.testError)) / 1000);
    expect(r.testErrorCi95[0]).toBeCloseTo(r.testError - half, 12);
    expect(r.testErrorCi95[1]).toBeCloseTo(r.testError + half, 12);
    r.perClassAccuracy.forEach((a, c) => expect(a).toBeCloseTo(r.confusion[c][c] / r.confusion[c].reduce((x, y) => x + y, 0), 12));
    expect(r.testAccuracy).toBeGreaterThan(0.5); // 10 classes: chance is 0.1
    expect(d.checkpoints.map((c) => c.name)).toEqual(['epoch-1', 'epoch-2']);
    expect(d.status).toMatchObject({ runId: id, state: 'completed', epoch: 2, epochs: 2, step: 32, totalSteps: 32 });
    expect(d.counts).toEqual({ train: 510, dev: 300, test: 1000 });
    expect((d.graph as { family: string }).family).toBe('mlp');
  });

  it('renames, refuses to pause a finished run (naming its state), resumes nothing, and deletes', async () => {
    expect(((await call('runs.rename', { id, name: 'renamed' })) as RunSummary).name).toBe('renamed');
    await expect(call('runs.pause', { id })).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/is completed: only a queued or running run can be paused/) });
    await expect(call('runs.resume', { id })).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/completed: there is nothing to resume/) });
    await expect(call('runs.get', { id: 'nope-1' })).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/No run "nope-1"/) });
    expect(await call('runs.delete', { id })).toEqual({ deleted: true });
    expect(existsSync(`${root}/runs/${id}`)).toBe(false);
    expect(((await call('runs.list', {})) as RunSummary[]).some((r) => r.id === id)).toBe(false);
  });

  it('queues several runs and trains one at a time; a queued run can be paused off the queue', async () => {
    const a = ((await call('runs.create', { config: { ...GOOD, epochs: 1 } })) as { id: string }).id;
    const b = ((await call('runs.create', { config: { ...GOOD, epochs: 1, seed: 4 } })) as { id: string }).id;
    const c = ((await call('runs.create', { config: { ...GOOD, epochs: 1, seed: 5 } })) as { id: string }).id;
    expect(((await call('runs.get', { id: b })) as RunDetail).status.state).toBe('queued');
    expect(await call('runs.pause', { id: c })).toEqual({ state: 'paused' });
    expect(await services.runs.waitFor(b)).toBe('completed');
    const startedB = events.findIndex((e) => e.name === 'runs.status' && (e.payload as RunStatus).runId === b && (e.payload as RunStatus).state === 'running');
    const doneA = events.findIndex((e) => e.name === 'runs.status' && (e.payload as RunStatus).runId === a && (e.payload as RunStatus).state === 'completed');
    expect(doneA).toBeGreaterThan(-1);
    expect(startedB).toBeGreaterThan(doneA); // one at a time
    expect(((await call('runs.get', { id: c })) as RunDetail).status.state).toBe('paused');
  });
});
