/**
 * Export handlers. The destination comes from the renderer, so it is checked:
 * absolute, no NUL, and only in the desktop app (the web host's browser
 * cannot choose a folder on this machine; there the export goes to the data
 * directory's exports/ folder).
 */
import { isAbsolute } from 'node:path';
import { ApiError } from '../contract.ts';
import type { exportCalls } from '../calls/export.ts';
import { defaultDestination, ExportError, exportRun } from '../../services/export/index.ts';
import { RunFileError, RunNotFoundError } from '../../services/runs/index.ts';
import type { HandlersFor, Services } from './types.ts';

export function exportHandlers(s: Services): HandlersFor<typeof exportCalls> {
  return {
    'export.run': async ({ taskId, runId, format, destination, overwrite, checkpoint }) => {
      if (destination !== undefined) {
        if (s.host === 'web') throw new ApiError('forbidden', 'Choosing an export folder is only possible in the desktop app; leave it empty to export into the data folder.');
        if (!isAbsolute(destination) || destination.includes('\0')) throw new ApiError('bad-request', `Not an absolute path: ${destination.slice(0, 200)}`);
      }
      let last = 0;
      const emit = (phase: string, done: number, total: number, state: 'running' | 'done' | 'failed' | 'cancelled', message?: string): void =>
        s.hub.emit('progress', { taskId, kind: 'export', phase, done, total, state, message: message?.slice(0, 2000) });
      const rep = {
        update(phase: string, done: number, total: number): void {
          const now = Date.now();
          if (now - last < 100 && done < total) return; // ~10 events a second at most
          last = now;
          emit(phase, done, total, 'running');
        },
        finish(state: 'done' | 'failed' | 'cancelled', message: string): void {
          emit(state, 1, 1, state, message);
        },
      };
      try {
        const r = await s.tasks.run(taskId, (signal) =>
          exportRun(s.layout, runId, {
            format,
            destination: destination ?? defaultDestination(s.layout, runId, format),
            overwrite,
            checkpoint,
            signal,
            onProgress: (p) => rep.update(p.phase, p.done, p.total),
          }),
        );
        rep.finish('done', `${r.files.length} files written to ${r.folder}`);
        return r;
      } catch (e) {
        if (e instanceof Error && e.name === 'AbortError') {
          rep.finish('cancelled', 'Cancelled; nothing was written.');
          throw new ApiError('failed', 'Export cancelled; nothing was written.');
        }
        rep.finish('failed', e instanceof Error ? e.message : String(e));
        if (e instanceof ExportError || e instanceof RunNotFoundError || e instanceof RunFileError) throw new ApiError('failed', e.message);
        throw e;
      }
    },
  };
}
