/**
 * What an export says about the model besides its weights: where it came from
 * (run, dataset, training config), how good it is (test error with its
 * confidence interval) and how to feed it (class names, input convention).
 * The same facts go into the safetensors `__metadata__`, the ONNX
 * metadata_props, the generated Python files and the model card.
 */
import type { ModelGraph } from '../models/graph.ts';

export interface ExportDataset {
  id: string;
  name: string;
  /** Examples per split, when known. */
  trainCount?: number;
  testCount?: number;
  /** Where the data came from (provenance source / URL). */
  source?: string;
}

export interface ExportTestResult {
  /** Test error in [0, 1]. */
  error: number;
  /** Test examples. */
  count: number;
  /** 95% confidence interval of the error; computed (Wilson score) when absent. */
  ci95?: [number, number];
  loss?: number | null;
  /** Checkpoint the evaluated weights came from. */
  checkpoint?: string;
}

export interface ExportInfo {
  /** The LayerLab version that wrote the export (src-main/version.ts). */
  engineVersion: string;
  /** ISO date of the export. */
  date: string;
  runId?: string;
  runName?: string;
  /** Index = class id. Defaults to "0".."classes−1". */
  classNames?: string[];
  dataset?: ExportDataset;
  /** The run's training configuration (optimizer, schedule, epochs, batch size, seed, augmentation, …). */
  training?: Record<string, unknown>;
  /** Checkpoint exported (e.g. `epoch-10`) and its epoch. */
  checkpoint?: string;
  epoch?: number;
  test?: ExportTestResult;
}

/** Class names for a graph: the given ones when they fit, else "0".."n−1". */
export function classNamesOf(graph: ModelGraph, info: ExportInfo): string[] {
  const given = info.classNames;
  if (given && given.length === graph.classes) return [...given];
  return Array.from({ length: graph.classes }, (_, i) => String(i));
}

/** The input normalisation of a graph (its first layer). */
export function normalizationOf(graph: ModelGraph): { mean: number[]; std: number[] } {
  const first = graph.layers[0];
  if (first?.type !== 'normalize') return { mean: graph.input.map(() => 0), std: graph.input.map(() => 1 / 255) };
  return { mean: [...first.mean], std: [...first.std] };
}

/** 95% Wilson score interval for an error rate measured on `n` examples. */
export function wilsonInterval(error: number, n: number, z = 1.959964): [number, number] {
  if (n <= 0) return [0, 1];
  const z2 = z * z;
  const centre = (error + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((error * (1 - error)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * String-to-string metadata (safetensors `__metadata__`, ONNX metadata_props).
 * `format: pt` is the key `safetensors.torch` writes for PyTorch tensors;
 * structured values are JSON.
 */
export function exportMetadata(graph: ModelGraph, info: ExportInfo): Record<string, string> {
  const norm = normalizationOf(graph);
  const meta: Record<string, string> = {
    format: 'pt',
    producer: `LayerLab ${info.engineVersion}`,
    created: info.date,
    model_family: graph.family,
    model_graph: JSON.stringify(graph),
    class_names: JSON.stringify(classNamesOf(graph, info)),
    input: JSON.stringify({
      name: 'pixels',
      layout: 'NCHW',
      shape: ['N', ...graph.input],
      dtype: 'float32',
      range: [0, 255],
      normalization: 'inside the model: (x / 255 - mean) / std',
      mean: norm.mean,
      std: norm.std,
    }),
    output: JSON.stringify({ name: 'logits', shape: ['N', graph.classes] }),
  };
  if (info.runId) meta.run_id = info.runId;
  if (info.runName) meta.run_name = info.runName;
  if (info.dataset) meta.dataset = JSON.stringify(info.dataset);
  if (info.training) meta.training = JSON.stringify(info.training);
  if (info.checkpoint) meta.checkpoint = info.checkpoint;
  if (info.epoch !== undefined) meta.epoch = String(info.epoch);
  if (info.test) meta.test = JSON.stringify({ ...info.test, ci95: info.test.ci95 ?? wilsonInterval(info.test.error, info.test.count) });
  return meta;
}
