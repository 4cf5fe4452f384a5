/**
 * Divergence: a run whose loss becomes NaN/Inf stops as `failed` with a
 * message that says what happened and what to do, and keeps its last good
 * checkpoint (written while the loss was finite) loadable.
 * SGD at lr 10 (the largest the config accepts; the engine-level test uses
 * 1e6) behind a 2-epoch linear warm-up: epoch 1 stays finite, epoch 2 blows up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../../src-engine/io/safetensors.ts';
import { manager, sampleDataDir, SAMPLE_ID } from './helpers.ts';

let root: string;
let cleanup: () => void;
beforeAll(async () => ({ root, cleanup } = await sampleDataDir()));
afterAll(() => cleanup?.());

describe('divergence', () => {
  it('fails the run with a clear message and keeps the last good checkpoint', async () => {
    const { manager: m } = manager(root);
    const id = await m.create({
      datasetId: SAMPLE_ID,
      trainSubset: 960,
      model: { family: 'mlp', options: { hidden: [64] } },
      optimizer: { type: 'sgd', lr: 10, momentum: 0.9 },
      schedule: { type: 'cosine', warmupEpochs: 2 },
      epochs: 3,
      batchSize: 32,
      logEvery: 5,
    });
    expect(await m.waitFor(id)).toBe('failed');
    const d = await m.get(id);
    expect(d.status.state).toBe('failed');
    expect(d.status.message).toMatch(
      /^Training diverged: the loss became (NaN|Infinity|-Infinity) by step (3[1-9]|[4-5]\d|60)\. Start a new run with a lower learning rate \(try 10× smaller\), gradient clipping \(clipNorm\) or a longer warm-up\. The last good checkpoint \(epoch-1\) is kept\.$/,
    );
    expect(d.summary.state).toBe('failed');
    expect(d.checkpoints.map((c) => c.name)).toEqual(['epoch-1']);
    const { records } = await m.metrics(id);
    const epochs = records.filter((r) => r.kind === 'epoch');
    expect(epochs).toHaveLength(1);
    expect(Number.isFinite(epochs[0].kind === 'epoch' ? epochs[0].trainLoss : NaN)).toBe(true);
    // every step record written is finite: the divergent read stopped the run before being recorded
    for (const r of records) if (r.kind === 'step') expect(Number.isFinite(r.loss)).toBe(true);
    const { files } = await m.store.readCheckpoint(id, 'epoch-1');
    const weights = decodeSafetensors(files.model);
    expect([...weights.tensors.keys()]).toEqual(['layers.2.weight', 'layers.2.bias', 'layers.4.weight', 'layers.4.bias']);
    for (const t of weights.tensors.values()) for (const v of t.data as Float32Array) expect(Number.isFinite(v)).toBe(true);
    await expect(m.resume(id)).resolves.toBe('queued'); // resumable (it will diverge again: same settings)
    expect(await m.waitFor(id)).toBe('failed');
  });
});
