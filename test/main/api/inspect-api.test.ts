/**
 * inspect.* through the API dispatcher (its worker thread, its own device) on
 * fabricated runs: filters drawn from the checkpoint's weights, one image's
 * class probabilities checked against a forward pass in this process, feature
 * maps and attention maps of the right layers and shapes, and the most
 * confident mistakes checked against this process's own predictions.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers, createServices, dispatchCall, EventHub } from '../../../src-main/api/services.ts';
import type { CallResult } from '../../../src-main/api/contract.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { DatasetLibrary, SAMPLE_ID } from '../../../src-main/services/datasets/index.ts';
import { RunStore } from '../../../src-main/services/runs/index.ts';
import { noGrad, tidy } from '../../../src-engine/core/tape.ts';
import { buildModel } from '../../../src-engine/models/build.ts';
import { softmax } from '../../../src-engine/ops/softmax.ts';
import { loadModelWeights } from '../../../src-engine/train/checkpoint.ts';
import { imagesToTensor } from '../../../src-engine/train/input.ts';
import { getEngine } from '../../engine/helpers.ts';
import { makeDataDir } from '../helpers/tmp-data-dir.ts';
import { fabricateRun, type FabricatedRun } from '../export/run-fixture.ts';

let layout: DataDirLayout;
let cleanup: () => void;
let lenet: FabricatedRun;
let vit: FabricatedRun;
let call: <N extends 'inspect.overview' | 'inspect.example' | 'inspect.mistakes'>(name: N, args: Record<string, unknown>) => Promise<CallResult<N>>;

beforeAll(async () => {
  ({ layout, cleanup } = makeDataDir());
  const engine = await getEngine();
  lenet = await fabricateRun(engine, layout, { family: 'lenet5', options: {}, checkpoints: 1, results: true, name: 'lenet' });
  vit = await fabricateRun(engine, layout, { family: 'transformer', options: { patch: 7, width: 16, depth: 2, heads: 2 }, checkpoints: 1, results: false, name: 'vit' });
  const handlers = createHandlers(createServices({ dataDir: layout.root, host: 'test', hub: new EventHub() }));
  call = async (name, args) => (await dispatchCall(handlers, name, args)) as never;
});
afterAll(() => cleanup());

async function rawPixels(b64: string): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(Buffer.from(b64, 'base64')).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Reference probabilities of test images, computed in this process from the same checkpoint. */
async function referenceProbs(run: FabricatedRun, first: number, count: number): Promise<{ probs: Float32Array; labels: ArrayLike<number>; classes: number }> {
  const engine = await getEngine();
  const store = new RunStore(layout);
  const { files } = await store.readCheckpoint(run.runId, 'epoch-1');
  const model = buildModel(engine, run.graph, { seed: 1 });
  try {
    loadModelWeights(engine, model, files.model);
    const test = await new DatasetLibrary(layout).readSplit(SAMPLE_ID, 'test');
    const [H, W, C] = test.shape;
    const out = noGrad(() =>
      tidy(() => softmax(model.forward(imagesToTensor(engine, test.images.subarray(first * H * W * C, (first + count) * H * W * C), [count, H, W, C]), { training: false }), -1)),
    );
    const probs = await out.read();
    out.dispose();
    return { probs, labels: test.labels.subarray(first, first + count), classes: run.graph.classes };
  } finally {
    model.dispose();
  }
}

describe('inspect.overview', () => {
  it('draws the first convolution’s filters from the checkpoint, each scaled to its own range', async () => {
    const o = await call('inspect.overview', { runId: lenet.runId });
    expect(o.checkpoint).toBe('epoch-1');
    expect(o.testCount).toBe(1000);
    expect(o.classNames).toHaveLength(10);
    expect(o.mapLayers).toEqual(['layers.1', 'layers.4']);
    const f = o.filters!;
    expect(f.layer).toBe('layers.1');
    expect(f.shape).toEqual([6, 1, 5, 5]);
    expect(f.grid).toMatchObject({ count: 6, cols: 6, tile: 5, width: 6 * 5 + 7, height: 5 + 2 });
    const png = await rawPixels(f.grid.pngBase64);
    expect([png.width, png.height]).toEqual([37, 7]);
    const w = lenet.weights.get('epoch-1')!.get('layers.1.weight')!.data;
    for (let o2 = 0; o2 < 6; o2++) {
      const v = w.subarray(o2 * 25, o2 * 25 + 25);
      const lo = Math.min(...v);
      const hi = Math.max(...v);
      for (let i = 0; i < 25; i++) {
        const x = 1 + o2 * 6 + (i % 5);
        const y = 1 + Math.floor(i / 5);
        const got = png.data[(y * png.width + x) * png.channels];
        expect(Math.abs(got - Math.round(((v[i] - lo) / (hi - lo)) * 255)), `filter ${o2} pixel ${i}`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('says what to do for a run without a checkpoint', async () => {
    const store = new RunStore(layout);
    const engine = await getEngine();
    const bare = await fabricateRun(engine, layout, { family: 'mlp', options: { hidden: [8] }, checkpoints: 0, results: false, name: 'bare' });
    expect((await store.listCheckpoints(bare.runId)).length).toBe(0);
    await expect(call('inspect.overview', { runId: bare.runId })).rejects.toThrow(/no checkpoint yet/);
  });
});

describe('inspect.example', () => {
  it('gives the probabilities a forward pass gives, and the feature maps of both convolutions', async () => {
    const e = await call('inspect.example', { runId: lenet.runId, index: 7 });
    const ref = await referenceProbs(lenet, 7, 1);
    expect(e.label).toBe(Number(ref.labels[0]));
    e.probabilities.forEach((p, k) => expect(Math.abs(p - ref.probs[k]), `class ${k}`).toBeLessThan(1e-4));
    expect(e.predicted).toBe(e.probabilities.indexOf(Math.max(...e.probabilities)));
    expect(e.featureMaps.map((m) => [m.layer, m.type, m.shape, m.shown, m.grid.count])).toEqual([
      ['layers.1', 'conv2d + relu', [6, 28, 28], 6, 6],
      ['layers.4', 'conv2d + relu', [16, 10, 10], 16, 16],
    ]);
    const img = await rawPixels(e.imagePngBase64);
    expect([img.width, img.height]).toEqual([28, 28]);
    expect(e.attention).toEqual([]);
    await expect(call('inspect.example', { runId: lenet.runId, index: 1000 })).rejects.toThrow(/has 1000 images/);
  });

  it('draws each transformer block’s attention from the class token, one tile per head', async () => {
    const o = await call('inspect.overview', { runId: vit.runId });
    expect(o.hasAttention).toBe(true);
    expect(o.filters?.type).toBe('patchembed');
    const e = await call('inspect.example', { runId: vit.runId, index: 0 });
    expect(e.attention.map((a) => [a.layer, a.heads, a.side, a.grid.count])).toEqual([
      ['layers.4', 2, 4, 2],
      ['layers.5', 2, 4, 2],
    ]);
    const sum = e.probabilities.reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 5);
  });
});

describe('inspect.mistakes', () => {
  it('lists the test images misclassified with the highest confidence, as this process predicts them', async () => {
    const m = await call('inspect.mistakes', { runId: lenet.runId, limit: 10 });
    const ref = await referenceProbs(lenet, 0, 1000);
    const wrong: Array<{ index: number; confidence: number; predicted: number }> = [];
    for (let i = 0; i < 1000; i++) {
      const row = ref.probs.subarray(i * ref.classes, (i + 1) * ref.classes);
      const best = row.indexOf(Math.max(...row));
      if (best !== Number(ref.labels[i])) wrong.push({ index: i, confidence: row[best], predicted: best });
    }
    wrong.sort((a, b) => b.confidence - a.confidence);
    expect(m.examined).toBe(1000);
    expect(m.wrong).toBe(wrong.length);
    expect(m.mistakes).toHaveLength(Math.min(10, wrong.length));
    m.mistakes.forEach((x, i) => {
      expect(x.predicted).not.toBe(x.label);
      expect(Math.abs(x.confidence - wrong[i].confidence)).toBeLessThan(1e-4);
      if (i > 0) expect(x.confidence).toBeLessThanOrEqual(m.mistakes[i - 1].confidence);
    });
  });
});
