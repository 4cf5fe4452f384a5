/**
 * Remote (renderer-worker) training through the API, as both hosts dispatch
 * it: claiming (the manager starts no worker for a claimed run; an expired
 * lease makes it interrupted and claimable again), batches identical to the
 * host-side producer for the same seed and position, checkpoint validation
 * with the safetensors error message, and the shared loop run over these
 * calls (the worker's own I/O module) drawing the same curve as host-side
 * training of the same config.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricRecord, RunResults, RunStatus } from '../../../src-main/api/calls/runs.ts';
import { createHandlers, createServices, dispatchCall, EventHub, type Handlers, type Services } from '../../../src-main/api/services.ts';
import { remoteRunHandlers } from '../../../src-main/api/handlers/remote-runs.ts';
import { BatchProducer } from '../../../src-main/services/batches/batch-producer.ts';
import { runIndices } from '../../../src-main/services/runs/train-loop.ts';
import { getNodeGpu } from '../../../src-main/gpu/node-gpu.ts';
import { runTrainingLoop } from '../../../src-engine/train/run-loop.ts';
import { openRemoteRun } from '../../../src-renderer/train-worker/remote-io.ts';
import { bytesToBase64 } from '../../../src-renderer/train-worker/base64.ts';
import { expectSameCurve, sampleDataDir, SAMPLE_ID } from './helpers.ts';

let root: string;
let cleanup: () => void;
let services: Services;
let handlers: Handlers;
/** The same services with a 1.5 s lease (expiry test). */
let shortLease: Handlers;
const events: Array<{ name: string; payload: unknown }> = [];

beforeAll(async () => {
  ({ root, cleanup } = await sampleDataDir());
  const hub = new EventHub();
  hub.subscribe((name, payload) => events.push({ name, payload }));
  services = createServices({ dataDir: root, host: 'test', hub });
  handlers = createHandlers(services);
  shortLease = { ...handlers, ...remoteRunHandlers(services, { leaseMs: 1500 }) };
});
afterAll(async () => {
  await services?.runs.close();
  cleanup?.();
});

const call = (name: string, args: unknown): Promise<unknown> => dispatchCall(handlers, name, args);
type Claim = { runId: string; lease: string; leaseMs: number };

const CONFIG = {
  datasetId: SAMPLE_ID,
  trainSubset: 256,
  model: { family: 'mlp', options: { hidden: [16] } },
  optimizer: { type: 'adam', lr: 0.003 },
  augment: [{ op: 'hflip', p: 0.5 }],
  epochs: 2,
  batchSize: 32,
  logEvery: 3,
  gradNormEvery: 5,
  seed: 7,
};

const waitState = async (id: string, states: string[], ms = 60_000): Promise<RunStatus> => {
  const t0 = Date.now();
  for (;;) {
    const d = (await call('runs.get', { id })) as { status: RunStatus };
    if (states.includes(d.status.state)) return d.status;
    if (Date.now() - t0 > ms) throw new Error(`run ${id} stayed ${d.status.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('runs.claim', () => {
  it('takes a queued run off the host queue: the manager never starts a worker for it', async () => {
    const a = (await call('runs.create', { config: { ...CONFIG, augment: [], epochs: 1 } })) as { id: string };
    await waitState(a.id, ['running', 'completed']); // the host trains a: b waits in the queue
    const b = (await call('runs.create', { config: { ...CONFIG, augment: [], epochs: 1 } })) as { id: string };
    const claim = (await call('runs.claim', { id: b.id })) as Claim;
    expect(claim.runId).toBe(b.id);
    expect(claim.lease).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
    await expect(call('runs.claim', { id: b.id })).rejects.toThrow(`Run ${b.id} is already being trained in a browser worker.`);
    await waitState(a.id, ['completed']);
    await new Promise((r) => setTimeout(r, 300));
    expect(services.runs.isBusy()).toBe(false);
    const detail = (await call('runs.get', { id: b.id })) as { status: RunStatus; checkpoints: unknown[] };
    expect(detail.status.state).toBe('running');
    expect(detail.checkpoints).toEqual([]);
    expect(((await call('runs.metrics', { id: b.id })) as { total: number }).total).toBe(0);
    // a claimed run is paused through the usual call: the command reaches the worker with its next progress report
    expect(await call('runs.pause', { id: b.id })).toEqual({ state: 'running' });
    await call('runs.remote.open', { runId: b.id, lease: claim.lease });
    expect(await call('runs.remote.heartbeat', { runId: b.id, lease: claim.lease })).toEqual({ command: 'pause' });
    const progress = { epoch: 1, epochsDone: 0, step: 0, totalSteps: 8, imagesPerSec: 0, etaSeconds: 0, seconds: 0, bestDevError: null };
    expect(await call('runs.remote.progress', { runId: b.id, lease: claim.lease, progress })).toEqual({ command: 'pause' });
    expect(await call('runs.remote.finish', { runId: b.id, lease: claim.lease, outcome: 'paused' })).toEqual({ state: 'paused' });
    await expect(call('runs.remote.progress', { runId: b.id, lease: claim.lease, progress })).rejects.toThrow(/is not claimed with this lease/);
  }, 120_000);

  it('a claim whose client disappears expires: the run becomes interrupted and can be claimed again', async () => {
    const claim = (await dispatchCall(shortLease, 'runs.claim', { config: CONFIG })) as Claim;
    expect(claim.leaseMs).toBe(1500);
    expect((await waitState(claim.runId, ['running'])).message).toBe('training in a browser worker');
    const st = await waitState(claim.runId, ['interrupted'], 10_000);
    expect(st.message).toMatch(/stopped answering/);
    await expect(dispatchCall(shortLease, 'runs.remote.open', { runId: claim.runId, lease: claim.lease })).rejects.toThrow(/not claimed with this lease/);
    const again = (await call('runs.claim', { id: claim.runId })) as Claim;
    expect(again.lease).not.toBe(claim.lease);
    await call('runs.remote.finish', { runId: again.runId, lease: again.lease, outcome: 'stopped' });
  });

  it('rejects a bad lease and a completed run', async () => {
    const claim = (await call('runs.claim', { config: CONFIG })) as Claim;
    await expect(call('runs.remote.open', { runId: claim.runId, lease: 'x'.repeat(24) })).rejects.toThrow(`Run ${claim.runId} is not claimed with this lease (it expired, was released or deleted): claim it again.`);
    await expect(call('runs.remote.open', { runId: claim.runId, lease: 'short' })).rejects.toThrow(/lease: a lease token/);
    await call('runs.remote.finish', { runId: claim.runId, lease: claim.lease, outcome: 'stopped' });
  });
});

describe('runs.remote.batches', () => {
  it('hands out the batches the host-side producer gives for the same seed and position', async () => {
    const claim = (await call('runs.claim', { config: CONFIG })) as Claim;
    const base = { runId: claim.runId, lease: claim.lease };
    const opened = (await call('runs.remote.open', base)) as { config: { derived: { imageShape: [number, number, number] } }; devCount: number };
    const config = await services.runs.store.readConfig(claim.runId);
    const data = await services.library.readSplit(SAMPLE_ID, 'train');
    const idx = runIndices(config, data.labels);
    expect(opened.devCount).toBe(idx.dev.length);
    const host = (start: { epoch: number; batchIndex: number }) =>
      new BatchProducer({ images: data.images, labels: data.labels, shape: [28, 28, 1], indices: idx.train, batchSize: 32, seed: 7, augment: CONFIG.augment, shuffle: true, start, epochs: 2 });
    type Wire = { epoch: number; batchIndex: number; lastInEpoch: boolean; images: string; labels: string };
    const fetch = async (start: { epoch: number; batchIndex: number }, count: number): Promise<Wire[]> =>
      ((await call('runs.remote.batches', { ...base, split: 'train', start, count })) as { batches: Wire[] }).batches;
    for (const start of [{ epoch: 0, batchIndex: 0 }, { epoch: 1, batchIndex: 3 }]) {
      const p = host(start);
      const got = await fetch(start, 3);
      expect(got.length).toBe(3);
      for (const g of got) {
        const b = (await p.next())!;
        expect([g.epoch, g.batchIndex, g.lastInEpoch]).toEqual([b.epoch, b.batchIndex, b.lastInEpoch]);
        expect(Buffer.from(g.images, 'base64').equals(Buffer.from(b.images))).toBe(true);
        expect(Array.from(new Int32Array(new Uint8Array(Buffer.from(g.labels, 'base64')).buffer))).toEqual(Array.from(b.labels));
      }
      await p.close();
    }
    // the epoch's end is flagged and the stream ends after the last epoch
    const spe = config.derived.stepsPerEpoch;
    const tail = await fetch({ epoch: 1, batchIndex: spe - 2 }, 8);
    expect(tail.map((b) => [b.batchIndex, b.lastInEpoch])).toEqual([[spe - 2, false], [spe - 1, true]]);
    const end = (await call('runs.remote.batches', { ...base, split: 'train', start: { epoch: 2, batchIndex: 0 }, count: 1 })) as { batches: Wire[]; end: boolean };
    expect(end).toEqual({ batches: [], end: true });
    // dev batches: the dev examples in order, unaugmented
    const dev = (await call('runs.remote.batches', { ...base, split: 'dev', from: 0, count: 64 })) as { batches: Wire[]; end: boolean };
    const devImages = Buffer.concat(dev.batches.map((b) => Buffer.from(b.images, 'base64')));
    const per = 28 * 28;
    expect(devImages.length).toBe(idx.dev.length * per);
    expect(devImages.subarray(per, 2 * per).equals(Buffer.from(data.images.subarray(idx.dev[1] * per, (idx.dev[1] + 1) * per)))).toBe(true);
    await call('runs.remote.finish', { ...base, outcome: 'stopped' });
  });
});

describe('runs.remote.checkpoint', () => {
  it('rejects a malformed model file with the safetensors message, and out-of-order uploads', async () => {
    const claim = (await call('runs.claim', { config: CONFIG })) as Claim;
    const base = { runId: claim.runId, lease: claim.lease };
    await call('runs.remote.open', base);
    const bad = new Uint8Array(16);
    new DataView(bad.buffer).setBigUint64(0, 1000n, true);
    await call('runs.remote.upload', { ...base, file: 'model', offset: 0, data: bytesToBase64(bad) });
    await call('runs.remote.upload', { ...base, file: 'optimizer', offset: 0, data: bytesToBase64(bad) });
    await expect(call('runs.remote.upload', { ...base, file: 'model', offset: 99, data: '' })).rejects.toThrow('Upload of model.safetensors out of order: chunk at byte 99, 16 bytes received.');
    const state = {
      name: 'epoch-1', epoch: 1, step: 8, midEpoch: false, position: { epoch: 1, batchIndex: 0 }, seedCount: 0, metricsCount: 0, seconds: 1,
      gpuSums: { lossSum: 0, correct: 0, count: 0 }, epochSums: { lossSum: 0, correct: 0, count: 0 }, lr: 0.003, devError: null, bestDevError: null, bestCheckpoint: null,
    };
    await expect(call('runs.remote.checkpoint', { ...base, state, modelBytes: 16, optimizerBytes: 16 })).rejects.toThrow(
      'Checkpoint epoch-1: model.safetensors is not valid: The header length (1000 bytes) goes beyond the end of the file (16 bytes): the file is truncated or not a safetensors file.',
    );
    await expect(call('runs.remote.checkpoint', { ...base, state: { ...state, name: '../x' }, modelBytes: 16, optimizerBytes: 16 })).rejects.toThrow(/state.name: epoch-N or step-N/);
    expect(((await call('runs.get', { id: claim.runId })) as { checkpoints: unknown[] }).checkpoints).toEqual([]);
    await call('runs.remote.finish', { ...base, outcome: 'stopped' });
  });
});

describe('the shared loop over runs.remote.* (the browser worker\'s I/O)', () => {
  it('draws the same curve and test results as host-side training, and the run completes with checkpoints', async () => {
    const cfg = { ...CONFIG, trainSubset: 192, epochs: 2 };
    const host = (await call('runs.create', { config: cfg })) as { id: string };
    await waitState(host.id, ['completed'], 120_000);
    const claim = (await call('runs.claim', { config: cfg })) as Claim;
    const run = await openRemoteRun((name, args) => call(name, args), claim.runId, claim.lease, true);
    const gpu = await getNodeGpu();
    const out = await runTrainingLoop({ device: gpu.device, config: run.config, graph: run.graph, io: run.io, resume: true, command: () => run.command(), checkpointMetadata: { run: claim.runId } });
    await run.flush();
    expect(out.kind).toBe('completed');
    const results = out.kind === 'completed' ? out.results : null;
    expect(await call('runs.remote.finish', { runId: claim.runId, lease: claim.lease, outcome: 'completed', results })).toEqual({ state: 'completed' });
    const a = (await call('runs.metrics', { id: host.id })) as { records: MetricRecord[] };
    const b = (await call('runs.metrics', { id: claim.runId })) as { records: MetricRecord[] };
    expect(b.records.length).toBeGreaterThan(4);
    expectSameCurve(b.records, a.records);
    const ra = ((await call('runs.get', { id: host.id })) as { results: RunResults }).results;
    const rb = ((await call('runs.get', { id: claim.runId })) as { results: RunResults; checkpoints: Array<{ name: string }>; status: RunStatus });
    expect(rb.status.state).toBe('completed');
    expect(rb.checkpoints.map((c) => c.name)).toEqual(['epoch-1', 'epoch-2']);
    expect(rb.results.confusion).toEqual(ra.confusion);
    expect(Math.abs(rb.results.testError - ra.testError)).toBeLessThan(1e-9);
    expect(rb.results.checkpoint).toBe('epoch-2');
    expect(events.some((e) => e.name === 'runs.metrics' && (e.payload as { runId: string }).runId === claim.runId)).toBe(true);

    // paused mid-epoch through runs.pause, then claimed again and resumed: the same curve as uninterrupted
    const c1 = (await call('runs.claim', { config: cfg })) as Claim;
    const r1 = await openRemoteRun((name, args) => call(name, args), c1.runId, c1.lease, true);
    const paused = await runTrainingLoop({
      device: gpu.device, config: r1.config, graph: r1.graph, io: r1.io, resume: true, command: () => r1.command(),
      // the pause request reaches the loop with the next metrics / progress reply
      afterStep: async (step) => {
        if (step === 4) await call('runs.pause', { id: c1.runId });
      },
    });
    await r1.flush();
    expect(paused.kind).toBe('paused');
    await call('runs.remote.finish', { runId: c1.runId, lease: c1.lease, outcome: 'paused' });
    const mid = (await call('runs.get', { id: c1.runId })) as { status: RunStatus; checkpoints: Array<{ name: string; midEpoch: boolean }> };
    expect(mid.status.state).toBe('paused');
    expect(mid.checkpoints.at(-1)?.midEpoch).toBe(true);
    const c2 = (await call('runs.claim', { id: c1.runId })) as Claim;
    const r2 = await openRemoteRun((name, args) => call(name, args), c2.runId, c2.lease, true);
    const resumed = await runTrainingLoop({ device: gpu.device, config: r2.config, graph: r2.graph, io: r2.io, resume: true, command: () => r2.command() });
    await r2.flush();
    expect(resumed.kind).toBe('completed');
    await call('runs.remote.finish', { runId: c2.runId, lease: c2.lease, outcome: 'completed', results: resumed.kind === 'completed' ? resumed.results : null });
    expectSameCurve(((await call('runs.metrics', { id: c1.runId })) as { records: MetricRecord[] }).records, a.records);
    expect(((await call('runs.get', { id: c1.runId })) as { results: RunResults }).results.confusion).toEqual(ra.confusion);
  }, 180_000);
});

describe('runs.claim in the web host', () => {
  it('refuses a config that names a file on disk as starting weights, like runs.create does', async () => {
    const web = createHandlers({ ...services, host: 'web' });
    const before = ((await dispatchCall(web, 'runs.list', {})) as unknown[]).length;
    await expect(dispatchCall(web, 'runs.claim', { config: { ...CONFIG, initWeights: '/etc/passwd' } })).rejects.toThrow(
      'initWeights: the web lab cannot read files by path; upload the .safetensors file instead.',
    );
    expect(((await dispatchCall(web, 'runs.list', {})) as unknown[]).length).toBe(before);
  });
});
