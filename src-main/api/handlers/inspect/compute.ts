/**
 * What the Inspect view shows, computed from a run's checkpoint on this
 * thread's own WebGPU device: first-layer filters (from the weights alone),
 * one test image's feature maps, attention maps and class probabilities (a
 * forward pass with `capture`), and the most confident test-set mistakes.
 * The last loaded (run, checkpoint) stays in memory so browsing test images
 * does not reload it.
 */
import { Engine } from '../../../../src-engine/core/engine.ts';
import { disposeAll, noGrad, tidy } from '../../../../src-engine/core/tape.ts';
import type { Tensor } from '../../../../src-engine/core/tensor.ts';
import { softmax } from '../../../../src-engine/ops/softmax.ts';
import { buildModel, type Model } from '../../../../src-engine/models/build.ts';
import type { LayerSpec, ModelGraph } from '../../../../src-engine/models/graph.ts';
import { imagesToTensor } from '../../../../src-engine/train/input.ts';
import { loadModelWeights, readTensors } from '../../../../src-engine/train/checkpoint.ts';
import { getNodeGpu } from '../../../gpu/node-gpu.ts';
import { dataDirLayout } from '../../../services/data-dir.ts';
import { DatasetLibrary } from '../../../services/datasets/index.ts';
import { RunStore } from '../../../services/runs/index.ts';
import { imagePng, tileGrid, type Grid, type Tile } from './grid.ts';

/** A mistake the user can act on (no checkpoint yet, dataset deleted): shown as is. */
export class InspectError extends Error {
  override readonly name = 'InspectError';
}

const MAX_TILES = 64;
const BATCH = 256;

interface Loaded {
  key: string;
  runId: string;
  checkpoint: string;
  engine: Engine;
  model: Model;
  graph: ModelGraph;
  classNames: string[];
  test: { images: Uint8Array; labels: ArrayLike<number>; count: number; shape: [number, number, number] };
  mistakes?: MistakesResult;
}

export interface MistakesResult {
  examined: number;
  wrong: number;
  mistakes: Array<{ index: number; label: number; predicted: number; confidence: number; imagePngBase64: string }>;
}

let loaded: Loaded | null = null;

async function load(dataDir: string, runId: string, checkpoint?: string): Promise<Loaded> {
  const layout = dataDirLayout(dataDir);
  const store = new RunStore(layout);
  const config = await store.readConfig(runId);
  const checkpoints = await store.listCheckpoints(runId);
  if (!checkpoints.length) {
    throw new InspectError(`Run "${config.name}" has no checkpoint yet: weights are saved at the end of every epoch (or when it is paused). Train it for an epoch first.`);
  }
  const results = await store.readResults(runId);
  const names = checkpoints.map((c) => c.name);
  let name: string;
  if (checkpoint) {
    if (!names.includes(checkpoint)) throw new InspectError(`Run "${config.name}" has no checkpoint ${checkpoint}; it has ${names.join(', ')}.`);
    name = checkpoint;
  } else name = results && names.includes(results.checkpoint) ? results.checkpoint : names[names.length - 1];

  const key = `${runId}/${name}`;
  if (loaded?.key === key) return loaded;
  if (loaded) {
    loaded.model.dispose();
    loaded.engine.dispose();
    loaded = null;
  }
  const graph = await store.readGraph(runId);
  const { files } = await store.readCheckpoint(runId, name);
  let test: Loaded['test'];
  try {
    const split = await new DatasetLibrary(layout).readSplit(config.datasetId, 'test');
    test = { images: split.images, labels: split.labels, count: split.count, shape: split.shape };
  } catch (e) {
    throw new InspectError(`The test images of "${config.datasetName}" cannot be read (${(e as Error).message}). Was the dataset deleted?`);
  }
  const gpu = await getNodeGpu();
  const engine = new Engine(gpu.device, { seed: config.seed });
  const model = buildModel(engine, graph, { seed: config.seed });
  loadModelWeights(engine, model, files.model);
  loaded = { key, runId, checkpoint: name, engine, model, graph, classNames: config.derived.classNames, test };
  return loaded;
}

// ---------------------------------------------------------------- filters

async function filters(l: Loaded): Promise<{ layer: string; type: string; shape: number[]; note: string; grid: Grid } | null> {
  const [C, H, W] = l.graph.input;
  const params = l.model.parameters();
  for (const [name, t] of params) {
    if (!name.endsWith('.weight')) continue;
    const layer = name.replace(/\.(proj\.)?weight$/, '');
    const spec = l.model.description.rows.find((r) => r.name === layer);
    let tiles: Tile[] = [];
    let side = 0;
    let note = '';
    if (t.shape.length === 4) {
      const [O, Ci, kH, kW] = t.shape;
      const v = (await readTensors(l.engine, new Map([[name, t]]))).get(name)!;
      side = Math.max(kH, kW);
      const n = Math.min(O, MAX_TILES);
      for (let o = 0; o < n; o++) {
        const f = v.subarray(o * Ci * kH * kW, (o + 1) * Ci * kH * kW); // [Ci, kH, kW]
        if (Ci === 3) {
          const rgb = new Float32Array(kH * kW * 3);
          for (let c = 0; c < 3; c++) for (let i = 0; i < kH * kW; i++) rgb[i * 3 + c] = f[c * kH * kW + i];
          tiles.push({ values: rgb, channels: 3 });
        } else {
          const g = new Float32Array(kH * kW);
          for (let c = 0; c < Ci; c++) for (let i = 0; i < kH * kW; i++) g[i] += f[c * kH * kW + i] / Ci;
          tiles.push({ values: g, channels: 1 });
        }
      }
      note = `${n < O ? `the first ${n} of ${O} filters` : `all ${O} filters`}, each ${kH}×${kW} scaled to its own range${Ci === 3 ? ' (RGB)' : Ci > 1 ? ' (mean over input channels)' : ''}.`;
    } else if (t.shape.length === 2 && t.shape[1] === C * H * W && H === W) {
      // A dense first layer on the flattened image: each unit's weights are an image-sized template.
      const [O] = t.shape;
      const v = (await readTensors(l.engine, new Map([[name, t]]))).get(name)!;
      side = H;
      const n = Math.min(O, MAX_TILES);
      for (let o = 0; o < n; o++) {
        const f = v.subarray(o * C * H * W, (o + 1) * C * H * W);
        if (C === 3) {
          const rgb = new Float32Array(H * W * 3);
          for (let c = 0; c < 3; c++) for (let i = 0; i < H * W; i++) rgb[i * 3 + c] = f[c * H * W + i];
          tiles.push({ values: rgb, channels: 3 });
        } else tiles.push({ values: f.slice(0, H * W), channels: 1 });
      }
      note = `the input weights of ${n < O ? `the first ${n} of ${O}` : `all ${O}`} units, drawn as ${H}×${W} templates.`;
    } else return null;
    if (!tiles.length) return null;
    const grid = await tileGrid(tiles, side, { cols: tiles.length <= 8 ? tiles.length : Math.min(16, Math.ceil(Math.sqrt(tiles.length * 2))) });
    tiles = [];
    return { layer, type: spec?.type ?? 'conv2d', shape: [...t.shape], note, grid };
  }
  return null;
}

// ---------------------------------------------------------------- one example

interface MapLayer {
  /** Name whose output is drawn. */
  capture: string;
  /** Name shown. */
  layer: string;
  type: string;
}

/** Top-level image layers worth drawing: convolutions (after their activation) and residual / concat blocks. */
function mapLayers(graph: ModelGraph): MapLayer[] {
  const out: MapLayer[] = [];
  const layers: LayerSpec[] = graph.layers;
  layers.forEach((spec, i) => {
    const next = layers[i + 1];
    if (spec.type === 'conv2d') {
      if (next?.type === 'activation') out.push({ capture: `layers.${i + 1}`, layer: `layers.${i}`, type: `conv2d + ${next.kind}` });
      else out.push({ capture: `layers.${i}`, layer: `layers.${i}`, type: 'conv2d' });
    } else if (spec.type === 'residual' || spec.type === 'concat' || spec.type === 'patchembed') {
      if (spec.type === 'patchembed') return;
      out.push({ capture: `layers.${i}`, layer: `layers.${i}`, type: spec.type });
    }
  });
  return out;
}

function checkIndex(l: Loaded, index: number): void {
  if (index >= l.test.count) throw new InspectError(`Test image ${index} does not exist: the test set has ${l.test.count} images (0–${l.test.count - 1}).`);
}

function imageBytes(l: Loaded, index: number): Uint8Array {
  const [H, W, C] = l.test.shape;
  const n = H * W * C;
  return l.test.images.subarray(index * n, (index + 1) * n);
}

async function example(l: Loaded, index: number) {
  checkIndex(l, index);
  const [H, W, C] = l.test.shape;
  const wanted = mapLayers(l.graph);
  const wantedNames = new Set(wanted.map((m) => m.capture));
  const captured = noGrad(() =>
    tidy(() => {
      const maps = new Map<string, Tensor>();
      const attn = new Map<string, Tensor>();
      const x = imagesToTensor(l.engine, imageBytes(l, index), [1, H, W, C]); // [1, C, H, W]
      const logits = l.model.forward(x, {
        training: false,
        capture: (name, t) => {
          if (wantedNames.has(name)) maps.set(name, t);
          else if (name.endsWith('.attn')) attn.set(name, t);
        },
      }); // [1, classes]
      return { probs: softmax(logits, -1), maps, attn };
    }),
  );
  try {
    const all = new Map<string, Tensor>([['probs', captured.probs], ...captured.maps, ...[...captured.attn].map(([k, v]) => [`attn:${k}`, v] as [string, Tensor])]);
    const values = await readTensors(l.engine, all);
    const probabilities = [...values.get('probs')!];
    const predicted = probabilities.indexOf(Math.max(...probabilities));

    const featureMaps = [];
    for (const m of wanted) {
      const t = captured.maps.get(m.capture);
      if (!t || t.shape.length !== 4) continue;
      const [, ch, h, w] = t.shape; // [1, C, H, W]
      if (h < 2 || w < 2) continue;
      const v = values.get(m.capture)!;
      const shown = Math.min(ch, MAX_TILES);
      const tiles: Tile[] = [];
      for (let c = 0; c < shown; c++) {
        if (h === w) tiles.push({ values: v.slice(c * h * w, (c + 1) * h * w), channels: 1 });
      }
      if (!tiles.length) continue;
      featureMaps.push({ layer: m.layer, type: m.type, shape: [ch, h, w], shown, grid: await tileGrid(tiles, h, { cols: Math.min(16, Math.ceil(Math.sqrt(shown * 2))) }) });
    }

    const hasCls = l.graph.layers.some((s) => s.type === 'clstoken');
    const attention = [];
    for (const [name, t] of captured.attn) {
      const [, heads, T] = t.shape; // [1, heads, T, T]
      const v = values.get(`attn:${name}`)!;
      const P = hasCls ? T - 1 : T;
      const side = Math.round(Math.sqrt(P));
      if (side * side !== P) continue;
      const tiles: Tile[] = [];
      for (let hd = 0; hd < heads; hd++) {
        const row = new Float32Array(P);
        const base = hd * T * T;
        if (hasCls) for (let k = 0; k < P; k++) row[k] = v[base + 0 * T + k + 1];
        else for (let q = 0; q < T; q++) for (let k = 0; k < P; k++) row[k] += v[base + q * T + k] / T;
        tiles.push({ values: row, channels: 1 });
      }
      const scale = Math.max(1, Math.floor(Math.max(H, 28) / side));
      attention.push({ layer: name.replace(/\.attn$/, ''), heads, side, grid: await tileGrid(tiles, side, { cols: Math.min(8, heads), scale }) });
    }

    return {
      index,
      label: Number(l.test.labels[index]),
      predicted,
      probabilities,
      imagePngBase64: await imagePng(imageBytes(l, index), H, W, C),
      featureMaps,
      attention,
    };
  } finally {
    disposeAll(captured);
  }
}

// ---------------------------------------------------------------- mistakes

async function mistakes(l: Loaded, limit: number): Promise<MistakesResult> {
  if (l.mistakes && l.mistakes.mistakes.length >= Math.min(limit, l.mistakes.wrong)) {
    return { ...l.mistakes, mistakes: l.mistakes.mistakes.slice(0, limit) };
  }
  const [H, W, C] = l.test.shape;
  const n = H * W * C;
  const classes = l.graph.classes;
  const wrong: Array<{ index: number; label: number; predicted: number; confidence: number }> = [];
  for (let start = 0; start < l.test.count; start += BATCH) {
    const B = Math.min(BATCH, l.test.count - start);
    const probs = noGrad(() =>
      tidy(() => {
        const x = imagesToTensor(l.engine, l.test.images.subarray(start * n, (start + B) * n), [B, H, W, C]); // [B, C, H, W]
        return softmax(l.model.forward(x, { training: false }), -1); // [B, classes]
      }),
    );
    let p: Float32Array;
    try {
      p = await probs.read();
    } finally {
      probs.dispose();
    }
    for (let b = 0; b < B; b++) {
      let best = 0;
      for (let k = 1; k < classes; k++) if (p[b * classes + k] > p[b * classes + best]) best = k;
      const label = Number(l.test.labels[start + b]);
      if (best !== label) wrong.push({ index: start + b, label, predicted: best, confidence: p[b * classes + best] });
    }
  }
  wrong.sort((a, b) => b.confidence - a.confidence);
  const top = await Promise.all(wrong.slice(0, Math.max(limit, 24)).map(async (m) => ({ ...m, imagePngBase64: await imagePng(imageBytes(l, m.index), H, W, C) })));
  l.mistakes = { examined: l.test.count, wrong: wrong.length, mistakes: top };
  return { ...l.mistakes, mistakes: top.slice(0, limit) };
}

// ---------------------------------------------------------------- entry points

export async function inspectOverview(dataDir: string, args: { runId: string; checkpoint?: string }) {
  const l = await load(dataDir, args.runId, args.checkpoint);
  return {
    runId: l.runId,
    checkpoint: l.checkpoint,
    classNames: l.classNames,
    imageShape: l.test.shape,
    testCount: l.test.count,
    filters: await filters(l),
    mapLayers: mapLayers(l.graph).map((m) => m.layer),
    hasAttention: l.graph.layers.some((s) => s.type === 'transformerblock'),
  };
}

export async function inspectExample(dataDir: string, args: { runId: string; checkpoint?: string; index: number }) {
  return example(await load(dataDir, args.runId, args.checkpoint), args.index);
}

export async function inspectMistakes(dataDir: string, args: { runId: string; checkpoint?: string; limit: number }) {
  return mistakes(await load(dataDir, args.runId, args.checkpoint), args.limit);
}
