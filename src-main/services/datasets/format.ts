/**
 * The on-disk dataset format (see FORMAT.md): `dataset.json`, validated with
 * zod on every read, next to raw uint8 pixel and label files per split.
 */
import { z } from 'zod';

export const FORMAT_VERSION = 1;

/** Dataset ids are folder names: lower-case, digits and dashes only (no path tricks). */
export const datasetIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,79}$/, 'a dataset id is 1–80 characters of a–z, 0–9 and "-"');

const fileNameSchema = z.string().regex(/^[a-z0-9-]+\.(u8|u16)(\.gz)?$/, 'a data file name like "train-images.u8"');

export const splitNameSchema = z.enum(['train', 'test']);
export type SplitName = z.infer<typeof splitNameSchema>;

export const splitEntrySchema = z.object({
  count: z.number().int().nonnegative(),
  images: fileNameSchema,
  labels: fileNameSchema,
  /** CIFAR-100's 20 super-classes, when the source has them. */
  coarseLabels: fileNameSchema.optional(),
  /** Examples per class, index = class id. */
  classCounts: z.array(z.number().int().nonnegative()),
});
export type SplitEntry = z.infer<typeof splitEntrySchema>;

export const sourceFileSchema = z.object({
  name: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type SourceFile = z.infer<typeof sourceFileSchema>;

export const datasetKindSchema = z.enum(['mnist-idx', 'cifar10', 'cifar100', 'image-folder', 'sample']);
export type DatasetKind = z.infer<typeof datasetKindSchema>;

export const datasetManifestSchema = z.object({
  formatVersion: z.literal(FORMAT_VERSION),
  id: datasetIdSchema,
  name: z.string().min(1).max(200),
  kind: datasetKindSchema,
  /** [H, W, C], C = 1 (grayscale) or 3 (RGB); pixels are stored HWC, row-major. */
  shape: z.tuple([z.number().int().min(1).max(4096), z.number().int().min(1).max(4096), z.union([z.literal(1), z.literal(3)])]),
  classNames: z.array(z.string()).min(1).max(65535),
  coarseClassNames: z.array(z.string()).optional(),
  /** 1 = labels stored as uint8, 2 = little-endian uint16 (more than 256 classes). */
  labelBytes: z.union([z.literal(1), z.literal(2)]),
  splits: z.object({ train: splitEntrySchema, test: splitEntrySchema.optional() }),
  /** Per channel, over the train split, on the 0–255 scale. */
  mean: z.array(z.number()),
  std: z.array(z.number()),
  provenance: z.object({
    source: z.string(),
    licence: z.string().optional(),
    url: z.string().optional(),
    notes: z.string().optional(),
  }),
  /** sha256 of every input file, sorted by name; `sourceKey` hashes them together. */
  sources: z.array(sourceFileSchema),
  sourceKey: z.string().regex(/^[0-9a-f]{64}$/),
  created: z.string(),
});
export type DatasetManifest = z.infer<typeof datasetManifestSchema>;

/** What `list`/`get` return: the manifest plus where it lives and whether it may be changed. */
export interface DatasetInfo extends DatasetManifest {
  dir: string;
  /** Always false today (the shipped sample is copied into the library); kept so the UI need not change if read-only datasets come. */
  readOnly: boolean;
}

export interface SplitData {
  /** [count, H, W, C] uint8, row-major. */
  images: Uint8Array;
  /** [count] class ids. */
  labels: Uint8Array | Uint16Array;
  coarseLabels?: Uint8Array;
  count: number;
  shape: [number, number, 1 | 3];
}

export type ImportPhase = 'download' | 'scan' | 'hash' | 'extract' | 'read' | 'decode' | 'stats' | 'write' | 'done';
export interface ImportProgress {
  phase: ImportPhase;
  done: number;
  total: number;
}
export type ProgressListener = (p: ImportProgress) => void;
