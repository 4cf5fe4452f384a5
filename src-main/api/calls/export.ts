/**
 * Export calls: write a trained run as safetensors, ONNX or PyTorch code,
 * with a model card beside it. Long call: `taskId` names its progress events
 * (kind 'export'); `tasks.cancel` stops it and nothing is left behind.
 *
 * This module is imported by the renderer: it must import nothing but zod.
 */
import { z } from 'zod';

export const ExportFormat = z.enum(['safetensors', 'onnx', 'pytorch']);
export type ExportFormat = z.infer<typeof ExportFormat>;

export const ExportResult = z.object({
  format: ExportFormat,
  /** The folder the files are in. */
  folder: z.string(),
  files: z.array(z.object({ path: z.string(), bytes: z.number().int().min(0) })),
});
export type ExportResult = z.infer<typeof ExportResult>;

export const exportCalls = {
  /**
   * Exports a run's checkpoint (default: the one its test results came from, else the latest).
   * `destination`: a folder, or a file path ending in .safetensors/.onnx; absolute; desktop app only.
   * Default: <data dir>/exports/<runId>/ (PyTorch: …/<runId>/pytorch/). Existing files are an error
   * naming them unless `overwrite`.
   */
  'export.run': {
    args: z
      .object({
        taskId: z.string().min(1).max(200),
        runId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,99}$/, 'a run id'),
        format: ExportFormat,
        destination: z.string().min(1).max(4096).optional(),
        overwrite: z.boolean().default(false),
        checkpoint: z.string().regex(/^(epoch|step)-\d+$/, 'a checkpoint name (epoch-<n> or step-<n>)').optional(),
      })
      .strict(),
    result: ExportResult,
  },
} as const;
