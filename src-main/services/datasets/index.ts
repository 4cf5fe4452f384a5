/** Dataset library, importers, previews, downloader and the shipped sample. */
export { DatasetLibrary, type ImportResult } from './library.ts';
export { type ImportOptions, type DatasetFormatName, chooseFormat } from './import-files.ts';
export {
  FORMAT_VERSION,
  datasetManifestSchema,
  type DatasetManifest,
  type DatasetInfo,
  type DatasetKind,
  type SplitData,
  type SplitName,
  type SplitEntry,
  type SourceFile,
  type ImportPhase,
  type ImportProgress,
  type ProgressListener,
} from './format.ts';
export {
  DatasetFormatError,
  DatasetNotFoundError,
  DatasetRequestError,
  DatasetWriteError,
  ImportCancelledError,
} from './errors.ts';
export { writeDataset, datasetIdFor, slugify, type WriteOptions } from './writer.ts';
export type { DatasetDraft, DraftSplit } from './draft.ts';
export { ensureSampleInstalled, resourcesDir, sampleSourceDir, SAMPLE_ID } from './sample.ts';
export { FASHION_MNIST_CLASSES, CIFAR10_CLASSES } from './importers/known-datasets.ts';
export type { ImageFolderOptions } from './importers/image-folder.ts';
export {
  previewDataset,
  renderClassSheet,
  pixelStats,
  type ClassSheet,
  type ClassSheetOptions,
  type DatasetPreview,
  type PixelStats,
} from './previews.ts';
export { downloadAndImport, downloadFiles, downloadDir, DownloadError, type DownloadOptions } from './downloader.ts';
export { KNOWN_DOWNLOADS, type DownloadSource, type DownloadFile, type KnownDownloadId } from './download-sources.ts';
