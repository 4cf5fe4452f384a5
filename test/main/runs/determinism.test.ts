/**
 * Same seed and adapter → identical curves, with dropout and with
 * augmentation running in worker threads (seeded per image and epoch);
 * another seed → another curve.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curve, expectSameCurve, manager, sampleDataDir, SAMPLE_ID } from './helpers.ts';

let root: string;
let cleanup: () => void;
beforeAll(async () => ({ root, cleanup } = await sampleDataDir()));
afterAll(() => cleanup?.());

const config = (seed: number) => ({
  datasetId: SAMPLE_ID,
  trainSubset: 384,
  model: { family: 'mlp', options: { hidden: [32], dropout: 0.3 } },
  optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true },
  schedule: { type: 'cosine', warmupEpochs: 0.5 },
  augment: [{ op: 'hflip' }, { op: 'randomCrop', padding: 2, mode: 'reflect' }],
  labelSmoothing: 0.1,
  epochs: 2,
  batchSize: 32,
  logEvery: 3,
  gradNormEvery: 6,
  seed,
});

describe('determinism', () => {
  it('two runs with the same seed draw the same curve; another seed does not', async () => {
    const { manager: m } = manager(root);
    const a = await m.create(config(21));
    const b = await m.create(config(21));
    const c = await m.create(config(22));
    for (const id of [a, b, c]) expect(await m.waitFor(id)).toBe('completed');
    const [ra, rb, rc] = await Promise.all([a, b, c].map(async (id) => (await m.metrics(id)).records));
    expectSameCurve(ra, rb, 0);
    expect(curve(rc)).not.toEqual(curve(ra));
    expect((await m.store.readResults(a))!.confusion).toEqual((await m.store.readResults(b))!.confusion);
  });
});
