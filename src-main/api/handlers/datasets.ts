/**
 * Dataset handlers: the library, imports, downloads and previews. Progress
 * of long tasks goes out as `progress` events (throttled to ~10 per second),
 * and their end as a final event with state done/failed/cancelled.
 */
import { stat, readdir, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { ApiError } from '../contract.ts';
import { datasetCalls, type DatasetSummary } from '../calls/datasets.ts';
import {
  type DatasetInfo,
  type ImportProgress,
  type ImportResult,
  ImportCancelledError,
  previewDataset,
  downloadAndImport,
} from '../../services/datasets/index.ts';
import { previewAugment } from '../../services/augment/preview.ts';
import { rawImage } from '../../services/augment/raw-image.ts';
import type { HandlersFor, Services } from './types.ts';

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await folderBytes(p) : (await stat(p)).size;
  }
  return total;
}

export async function summarize(d: DatasetInfo): Promise<DatasetSummary> {
  return {
    id: d.id,
    name: d.name,
    kind: d.kind,
    shape: d.shape,
    classNames: d.classNames,
    counts: { train: d.splits.train.count, test: d.splits.test?.count ?? 0 },
    classCounts: { train: d.splits.train.classCounts, test: d.splits.test?.classCounts ?? [] },
    mean: d.mean,
    std: d.std,
    bytesOnDisk: await folderBytes(d.dir),
    source: d.provenance.source,
    licence: d.provenance.licence,
    created: d.created,
  };
}

/** Emits throttled progress for one task and its final state. */
export function progressReporter(s: Services, taskId: string, kind: string) {
  let last = 0;
  return {
    update(p: ImportProgress, message?: string) {
      const now = Date.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      s.hub.emit('progress', { taskId, kind, phase: p.phase, done: p.done, total: p.total, message, state: 'running' });
    },
    finish(state: 'done' | 'failed' | 'cancelled', message?: string) {
      s.hub.emit('progress', { taskId, kind, phase: state, done: 1, total: 1, message: message?.slice(0, 2000), state });
    },
  };
}

/** Runs a long task with cancel support and a final progress event; cancellation becomes a readable error. */
async function longTask<T>(s: Services, taskId: string, kind: string, fn: (signal: AbortSignal, onProgress: (p: ImportProgress) => void) => Promise<T>): Promise<T> {
  const rep = progressReporter(s, taskId, kind);
  try {
    const r = await s.tasks.run(taskId, (signal) => fn(signal, (p) => rep.update(p)));
    rep.finish('done');
    return r;
  } catch (e) {
    if (e instanceof ImportCancelledError || (e instanceof Error && e.name === 'AbortError')) {
      rep.finish('cancelled', 'Cancelled; nothing was written.');
      throw new ApiError('failed', 'Cancelled; nothing was written.');
    }
    rep.finish('failed', e instanceof Error ? e.message : String(e));
    throw e;
  }
}

/**
 * Paths from the renderer are not trusted: they must be absolute and exist, and the importers
 * only ever read them. (They reach us only from the Electron shell's drop handler or dialog.)
 */
async function checkedPaths(paths: string[]): Promise<string[]> {
  for (const p of paths) {
    if (!isAbsolute(p) || p.includes('\0')) throw new ApiError('bad-request', `Not an absolute path: ${p.slice(0, 200)}`);
    try {
      await stat(p);
    } catch {
      throw new ApiError('bad-request', `No such file or folder: ${p.slice(0, 200)}`);
    }
  }
  return paths;
}

export function datasetHandlers(s: Services): HandlersFor<typeof datasetCalls> {
  const done = async (r: ImportResult, reason: 'imported') => {
    s.hub.emit('datasets.changed', { reason, id: r.dataset.id });
    return { dataset: await summarize(r.dataset), existing: r.existing };
  };
  return {
    'datasets.list': async () => Promise.all((await s.library.list()).map(summarize)),
    'datasets.get': async ({ id }) => summarize(await s.library.get(id)),
    'datasets.rename': async ({ id, name }) => {
      const d = await s.library.rename(id, name);
      s.hub.emit('datasets.changed', { reason: 'renamed', id });
      return summarize(d);
    },
    'datasets.delete': async ({ id }) => {
      await s.library.delete(id);
      s.hub.emit('datasets.changed', { reason: 'deleted', id });
      return { deleted: true };
    },
    'datasets.import': async ({ taskId, source, name, imageFolder }) => {
      if (source.kind === 'paths' && s.host !== 'electron' && s.host !== 'test') {
        throw new ApiError('forbidden', 'Importing by path is only possible in the desktop app; upload the files instead.');
      }
      const uploadId = source.kind === 'upload' ? source.uploadId : null;
      const uploadDir = uploadId ? join(s.uploadsDir, uploadId) : null;
      const paths = source.kind === 'paths' ? await checkedPaths(source.paths) : [uploadDir as string];
      if (uploadDir) {
        try {
          await stat(uploadDir);
        } catch {
          throw new ApiError('bad-request', `Upload ${uploadId} not found (uploads are kept until imported or the lab restarts).`);
        }
      }
      try {
        const r = await longTask(s, taskId, 'import', (signal, onProgress) =>
          s.library.importFiles(paths, {
            name,
            signal,
            onProgress,
            imageFolder,
          }),
        );
        return await done(r, 'imported');
      } finally {
        if (uploadDir) await rm(uploadDir, { recursive: true, force: true });
      }
    },
    'datasets.download': async ({ taskId, which }) => {
      const r = await longTask(s, taskId, 'download', (signal, onProgress) => downloadAndImport(s.library, which, { signal, onProgress }));
      return done(r, 'imported');
    },
    'datasets.preview': async ({ id, split, perClass, maxClasses }) => {
      const p = await previewDataset(s.library, id, split, { perClass, maxClasses });
      return {
        id: p.id,
        split: p.split,
        classNames: p.classNames,
        classCounts: p.classCounts,
        stats: p.stats,
        sheetPngBase64: p.sheetPngBase64,
        sheetWidth: p.sheetWidth,
        sheetHeight: p.sheetHeight,
        rowClasses: p.rowClasses,
      };
    },
    'datasets.augmentPreview': async ({ id, split, index, pipeline, n, seed }) => {
      const data = await s.library.readSplit(id, split);
      if (index >= data.count) throw new ApiError('bad-request', `index ${index} is out of range: the ${split} split has ${data.count} examples.`);
      const [h, w, c] = data.shape;
      const px = h * w * c;
      const img = rawImage(data.images.slice(index * px, (index + 1) * px), h, w, c as 1 | 3);
      const variants = await previewAugment(img, pipeline, n, { seed });
      const original = await previewAugment(img, [], 1);
      return { originalPngBase64: original[0].toString('base64'), variantsPngBase64: variants.map((b) => b.toString('base64')) };
    },
  };
}
