/**
 * Per-layer gradient norms show vanishing gradients on real images (the
 * Fashion-MNIST sample): in a 6-layer sigmoid MLP the first layer's
 * gradient is orders of magnitude smaller than the last layer's; with ReLU
 * they are of the same order. The norms come from the run's step records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepRecord } from '../../../src-main/api/calls/runs.ts';
import { manager, sampleDataDir, SAMPLE_ID } from './helpers.ts';

let root: string;
let cleanup: () => void;
beforeAll(async () => ({ root, cleanup } = await sampleDataDir()));
afterAll(() => cleanup?.());

async function firstOverLast(activation: string): Promise<number[]> {
  const { manager: m } = manager(root);
  const id = await m.create({
    datasetId: SAMPLE_ID,
    trainSubset: 320,
    model: { family: 'mlp', options: { hidden: [64, 64, 64, 64, 64], activation } },
    optimizer: { type: 'sgd', lr: 0.01, momentum: 0.9 },
    epochs: 1,
    batchSize: 32,
    logEvery: 5,
    gradNormEvery: 5,
  });
  expect(await m.waitFor(id)).toBe('completed');
  const recs = (await m.metrics(id)).records.filter((r): r is StepRecord => r.kind === 'step' && !!r.gradNorms);
  expect(recs.map((r) => r.step)).toEqual([5, 10]);
  return recs.map((r) => r.gradNorms!['layers.2.weight']! / r.gradNorms!['layers.12.weight']!);
}

describe('gradient norms per layer', () => {
  it('vanish in the first layer of a deep sigmoid MLP, not of a ReLU one', async () => {
    const sigmoid = await firstOverLast('sigmoid');
    const relu = await firstOverLast('relu');
    for (const r of sigmoid) expect(r).toBeLessThan(1e-2);
    for (const r of relu) expect(r).toBeGreaterThan(0.1);
    expect(Math.min(...relu) / Math.max(...sigmoid)).toBeGreaterThan(100);
  });
});
