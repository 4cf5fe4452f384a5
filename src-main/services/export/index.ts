/** Exporting trained models: safetensors, ONNX, PyTorch (model.py + train.py), each with a model card. */
export {
  exportModel,
  exportRun,
  defaultDestination,
  plannedPaths,
  EXPORT_FORMATS,
  type ExportFormat,
  type ExportOptions,
  type ExportProgress,
  type ExportPhase,
  type ExportResult,
} from './export.ts';
export { loadRunSource, type ExportSource, type RunSourceOptions } from './source.ts';
export { ExportError, writeFilesAtomically, ensureWritableFolder, type PlannedFile } from './files.ts';
