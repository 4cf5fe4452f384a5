/**
 * Training in the browser (the path the packaged Electron app needs): the
 * harness page claims a new tiny MLP run on the shipped sample with
 * `trainInBrowser`, a module Web Worker trains it on the page's WebGPU
 * (SwiftShader here) with the shared loop, and the host keeps the data, the
 * metrics, the checkpoints and the results — checked on disk.
 */
import { RunStore } from '../../src-main/services/runs/store.ts';
import { dataDirLayout } from '../../src-main/services/data-dir.ts';
import { test, expect } from './fixtures.ts';

test.setTimeout(600_000);

test('trainInBrowser trains a tiny MLP on the sample in a Web Worker: completed, metrics and checkpoints on disk, test accuracy > 50%', async ({ page, lab }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const url = new URL('train-worker/harness.html', lab.url);
  url.searchParams.set('token', lab.token);
  await page.goto(url.toString());
  await expect(page.locator('body[data-ready="true"]')).toBeAttached();

  const config = {
    name: 'browser mlp',
    datasetId: 'fashion-mnist-sample',
    trainSubset: 960,
    devFraction: 0.1,
    model: { family: 'mlp', options: { hidden: [32] } },
    optimizer: { type: 'adam', lr: 0.003 },
    epochs: 1,
    batchSize: 32,
    logEvery: 5,
    gradNormEvery: 0,
    seed: 1,
  };
  const out = await page.evaluate(async (cfg) => {
    const h = window.layerlabHarness!;
    const statuses: string[] = [];
    h.api().on('runs.status', (s) => statuses.push(s.state));
    const t = await h.trainInBrowser({ config: cfg });
    const r = await t.done;
    return { runId: t.runId, ...r, statuses };
  }, config);

  expect(out.message ?? '').toBe('');
  expect(out.outcome).toBe('completed');
  expect(out.testAccuracy).toBeGreaterThan(0.5);
  expect(out.statuses).toContain('running');
  expect(errors).toEqual([]);

  const store = new RunStore(dataDirLayout(lab.dataDir));
  expect((await store.readStatus(out.runId)).state).toBe('completed');
  const metrics = await store.readMetrics(out.runId);
  const steps = metrics.records.filter((r) => r.kind === 'step');
  const epochs = metrics.records.filter((r) => r.kind === 'epoch');
  expect(steps.length).toBeGreaterThanOrEqual(5);
  expect(epochs.length).toBe(1);
  expect(steps.every((r) => r.loss !== null && Number.isFinite(r.loss))).toBe(true);
  expect((await store.listCheckpoints(out.runId)).map((c) => c.name)).toEqual(['epoch-1']);
  const results = await store.readResults(out.runId);
  expect(results?.testAccuracy).toBeGreaterThan(0.5);
  expect(results?.testAccuracy).toBeCloseTo(out.testAccuracy ?? -1, 9);
  expect(results?.checkpoint).toBe('epoch-1');
});

test('a browser run paused through runs.pause resumes in a new worker and draws the same curve as an uninterrupted one', async ({ page, lab }) => {
  const url = new URL('train-worker/harness.html', lab.url);
  url.searchParams.set('token', lab.token);
  await page.goto(url.toString());
  await expect(page.locator('body[data-ready="true"]')).toBeAttached();
  const config = {
    datasetId: 'fashion-mnist-sample',
    trainSubset: 480,
    model: { family: 'mlp', options: { hidden: [16] } },
    optimizer: { type: 'sgd', lr: 0.02, momentum: 0.9 },
    augment: [{ op: 'hflip', p: 0.5 }],
    epochs: 2,
    batchSize: 32,
    logEvery: 3,
    gradNormEvery: 0,
    seed: 5,
  };
  const out = await page.evaluate(async (cfg) => {
    const h = window.layerlabHarness!;
    const whole = await h.trainInBrowser({ config: cfg });
    const a = await whole.done;
    const first = await h.trainInBrowser({ config: cfg });
    const off = h.api().on('runs.metrics', (m) => {
      if (m.runId !== first.runId) return;
      off();
      void h.api().call('runs.pause', { id: first.runId });
    });
    const b = await first.done;
    const mid = await h.api().call('runs.get', { id: first.runId });
    const resumed = await h.trainInBrowser(first.runId);
    const c = await resumed.done;
    return { whole: whole.runId, split: first.runId, outcomes: [a.outcome, b.outcome, c.outcome], midState: mid.status.state, midCheckpoints: mid.checkpoints };
  }, config);
  expect(out.outcomes).toEqual(['completed', 'paused', 'completed']);
  expect(out.midState).toBe('paused');
  expect(out.midCheckpoints.at(-1)?.midEpoch).toBe(true);

  const store = new RunStore(dataDirLayout(lab.dataDir));
  // Timing fields differ run to run; the learning curve must not.
  const strip = (records: Array<Record<string, unknown>>) => records.map(({ imagesPerSec: _i, seconds: _s, dataWaitShare: _w, ...r }) => r);
  const a = strip((await store.readMetrics(out.whole)).records);
  const b = strip((await store.readMetrics(out.split)).records);
  expect(b.length).toBe(a.length);
  for (let i = 0; i < a.length; i++) {
    for (const k of Object.keys(a[i])) {
      const x = a[i][k];
      const y = b[i][k];
      if (typeof x === 'number' && typeof y === 'number') expect(Math.abs(x - y), `record ${i}.${k}`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(x)));
      else expect(y, `record ${i}.${k}`).toEqual(x);
    }
  }
  expect((await store.readResults(out.split))?.confusion).toEqual((await store.readResults(out.whole))?.confusion);
});
