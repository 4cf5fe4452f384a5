/**
 * Dataset calls: the library (list, get, rename, delete), imports from paths
 * (Electron, after validation in the main process) or uploads (web host),
 * downloads of the known datasets, previews and the augmentation preview.
 * Long calls take a client-chosen `taskId`: progress events carry it and
 * `tasks.cancel` stops the task.
 */
import { z } from 'zod';

const DatasetId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,79}$/, 'a dataset id');
const TaskId = z.string().min(1).max(200);
const Split = z.enum(['train', 'test']);

export const DatasetSummary = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.string(),
  /** [H, W, C] */
  shape: z.tuple([z.number(), z.number(), z.number()]),
  classNames: z.array(z.string()),
  counts: z.object({ train: z.number(), test: z.number() }),
  classCounts: z.object({ train: z.array(z.number()), test: z.array(z.number()) }),
  mean: z.array(z.number()),
  std: z.array(z.number()),
  bytesOnDisk: z.number(),
  source: z.string(),
  licence: z.string().optional(),
  created: z.string(),
});
export type DatasetSummary = z.infer<typeof DatasetSummary>;

export const ImageFolderChoice = z
  .object({
    /** Square side in pixels. */
    size: z.number().int().min(4).max(512),
    channels: z.union([z.literal(1), z.literal(3)]),
    fit: z.enum(['cover', 'fill', 'contain']).default('cover'),
  })
  .strict();

export const PixelStatsSchema = z.object({
  mean: z.array(z.number()),
  std: z.array(z.number()),
  min: z.array(z.number()),
  max: z.array(z.number()),
  histogram: z.array(z.array(z.number())),
});

export const datasetCalls = {
  'datasets.list': { args: z.object({}).strict(), result: z.array(DatasetSummary) },
  'datasets.get': { args: z.object({ id: DatasetId }).strict(), result: DatasetSummary },
  'datasets.rename': {
    args: z.object({ id: DatasetId, name: z.string().trim().min(1).max(200) }).strict(),
    result: DatasetSummary,
  },
  'datasets.delete': { args: z.object({ id: DatasetId }).strict(), result: z.object({ deleted: z.boolean() }) },
  /**
   * Imports files. `paths` only from the Electron shell (dropped or chosen in a dialog; the main
   * process checks they are absolute and exist, and only reads them); `uploadId` from the web host's
   * upload endpoint.
   */
  'datasets.import': {
    args: z
      .object({
        taskId: TaskId,
        source: z.discriminatedUnion('kind', [
          z.object({ kind: z.literal('paths'), paths: z.array(z.string().min(1).max(4096)).min(1).max(10_000) }).strict(),
          z.object({ kind: z.literal('upload'), uploadId: z.string().regex(/^[a-f0-9-]{8,64}$/) }).strict(),
        ]),
        name: z.string().trim().min(1).max(200).optional(),
        imageFolder: ImageFolderChoice.optional(),
      })
      .strict(),
    result: z.object({ dataset: DatasetSummary, existing: z.boolean() }),
  },
  'datasets.download': {
    args: z.object({ taskId: TaskId, which: z.enum(['mnist', 'fashion-mnist', 'cifar10', 'cifar100']) }).strict(),
    result: z.object({ dataset: DatasetSummary, existing: z.boolean() }),
  },
  'datasets.preview': {
    args: z
      .object({
        id: DatasetId,
        split: Split.default('train'),
        perClass: z.number().int().min(1).max(32).default(8),
        maxClasses: z.number().int().min(1).max(100).default(20),
      })
      .strict(),
    result: z.object({
      id: z.string(),
      split: Split,
      classNames: z.array(z.string()),
      classCounts: z.array(z.number()),
      stats: PixelStatsSchema,
      sheetPngBase64: z.string(),
      sheetWidth: z.number(),
      sheetHeight: z.number(),
      rowClasses: z.array(z.number()),
    }),
  },
  /** N augmented variants of one example (the augmentation editor's live grid). */
  'datasets.augmentPreview': {
    args: z
      .object({
        id: DatasetId,
        split: Split.default('train'),
        index: z.number().int().min(0),
        /** Validated by the augmentation pipeline schema on the service side (its messages name the step). */
        pipeline: z.array(z.record(z.string(), z.unknown())).max(32),
        n: z.number().int().min(1).max(64).default(16),
        seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
      })
      .strict(),
    result: z.object({ originalPngBase64: z.string(), variantsPngBase64: z.array(z.string()) }),
  },
} as const;

export const datasetEvents = {
  'datasets.changed': z.object({ reason: z.enum(['imported', 'renamed', 'deleted', 'sample']), id: z.string() }),
} as const;
