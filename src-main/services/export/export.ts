/**
 * The exporter: a run (or a graph + weights) → files at a destination, with
 * a model card beside them.
 *
 *   safetensors  <dest>/model.safetensors + model.safetensors.md    (or <file>.safetensors + <file>.safetensors.md)
 *   onnx         <dest>/model.onnx + model.onnx.md                  (or <file>.onnx + <file>.onnx.md)
 *   pytorch      <dest>/model.py, train.py, weights.safetensors, README.md (the card)
 *
 * A destination ending in the format's extension names the file; anything
 * else is a folder (created if needed). Existing files are never replaced
 * unless `overwrite` is set, and a failure leaves nothing behind.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { exportMetadata } from '../../../src-engine/io/export-info.ts';
import { modelCard } from '../../../src-engine/io/model-card.ts';
import { exportOnnx } from '../../../src-engine/io/onnx/export.ts';
import { generateModelPy, generateTrainPy } from '../../../src-engine/io/pytorch/index.ts';
import { encodeSafetensors } from '../../../src-engine/io/safetensors.ts';
import { weightsToSafetensors } from '../../../src-engine/io/weights.ts';
import type { DataDirLayout } from '../data-dir.ts';
import { ExportError, type PlannedFile, writeFilesAtomically } from './files.ts';
import { type ExportSource, loadRunSource, type RunSourceOptions } from './source.ts';

export const EXPORT_FORMATS = ['safetensors', 'onnx', 'pytorch'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export type ExportPhase = 'reading' | 'converting' | 'writing' | 'done';
export interface ExportProgress {
  phase: ExportPhase;
  done: number;
  total: number;
}

export interface ExportOptions {
  format: ExportFormat;
  /** A folder, or for safetensors/onnx a file path ending in .safetensors/.onnx. */
  destination: string;
  overwrite?: boolean;
  onProgress?: (p: ExportProgress) => void;
  signal?: AbortSignal;
}

export interface ExportResult {
  format: ExportFormat;
  /** The folder the files are in. */
  folder: string;
  files: Array<{ path: string; bytes: number }>;
}

const EXT: Record<Exclude<ExportFormat, 'pytorch'>, string> = { safetensors: '.safetensors', onnx: '.onnx' };

/** The file paths an export will write (main file first, the card last). */
export function plannedPaths(format: ExportFormat, destination: string): { folder: string; main: string[]; card: string } {
  const dest = resolve(destination);
  if (format === 'pytorch') {
    if (/\.(py|safetensors|onnx|md)$/i.test(dest)) {
      throw new ExportError(`A PyTorch export is a folder (model.py, train.py, weights.safetensors, README.md); ${dest} looks like a file name.`);
    }
    return { folder: dest, main: ['model.py', 'train.py', 'weights.safetensors'].map((f) => join(dest, f)), card: join(dest, 'README.md') };
  }
  const ext = EXT[format];
  const isFile = dest.toLowerCase().endsWith(ext);
  const otherExt = Object.values(EXT).find((e) => e !== ext && dest.toLowerCase().endsWith(e));
  if (otherExt) throw new ExportError(`The destination ${dest} ends in ${otherExt}, but the format is ${format} (${ext}).`);
  const main = isFile ? dest : join(dest, `model${ext}`);
  return { folder: isFile ? dirname(dest) : dest, main: [main], card: `${main}.md` };
}

/** Export a graph + weights (+ facts) to a destination. */
export async function exportModel(source: ExportSource, opt: ExportOptions): Promise<ExportResult> {
  const { graph, weights, info } = source;
  const report = (phase: ExportPhase, done: number, total: number): void => opt.onProgress?.({ phase, done, total });
  const paths = plannedPaths(opt.format, opt.destination);
  report('converting', 0, 1);
  opt.signal?.throwIfAborted();
  const metadata = exportMetadata(graph, info);
  const safetensors = (): Uint8Array => encodeSafetensors(weightsToSafetensors(graph, weights), metadata);
  const convert = (): PlannedFile[] => {
    switch (opt.format) {
      case 'safetensors':
        return [{ path: paths.main[0], data: safetensors() }];
      case 'onnx': {
        const { format: _pt, ...onnxMeta } = metadata;
        const doc =
          `${info.runName ?? graph.family} — LayerLab ${info.engineVersion}. ` +
          `Input pixels: float32 [N, ${graph.input.join(', ')}] raw 0..255; output logits [N, ${graph.classes}].`;
        return [{ path: paths.main[0], data: exportOnnx(graph, weights, { producerVersion: info.engineVersion, docString: doc, metadata: onnxMeta }) }];
      }
      case 'pytorch':
        return [
          { path: paths.main[0], data: generateModelPy(graph, info) },
          { path: paths.main[1], data: generateTrainPy(graph, info) },
          { path: paths.main[2], data: safetensors() },
        ];
    }
  };
  let main: PlannedFile[];
  try {
    main = convert();
  } catch (e) {
    throw new ExportError(`Cannot export this model as ${opt.format}: ${(e as Error).message}`);
  }
  report('converting', 1, 1);
  const card = modelCard(graph, info, opt.format, main.map((f) => basename(f.path)));
  const files = await writeFilesAtomically([...main, { path: paths.card, data: card }], {
    overwrite: opt.overwrite,
    signal: opt.signal,
    onProgress: (p) => report('writing', p.done, p.total),
  });
  report('done', 1, 1);
  return { format: opt.format, folder: paths.folder, files };
}

/** Export a run's checkpoint (see loadRunSource for which one). */
export async function exportRun(
  layout: DataDirLayout,
  runId: string,
  opt: ExportOptions & RunSourceOptions,
): Promise<ExportResult> {
  plannedPaths(opt.format, opt.destination); // a bad destination fails before the run is read
  opt.onProgress?.({ phase: 'reading', done: 0, total: 1 });
  const source = await loadRunSource(layout, runId, { checkpoint: opt.checkpoint });
  opt.onProgress?.({ phase: 'reading', done: 1, total: 1 });
  return exportModel(source, opt);
}

/** Where exports go when no destination is given: <dataDir>/exports/<runId>/ (PyTorch: its own subfolder). */
export function defaultDestination(layout: DataDirLayout, runId: string, format: ExportFormat): string {
  return format === 'pytorch' ? join(layout.exports, runId, 'pytorch') : join(layout.exports, runId);
}
