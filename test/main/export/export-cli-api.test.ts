/**
 * `layerlab export` through the CLI router and `export.run` through the API
 * dispatcher (argument and result validation, progress events, the web
 * host's refusal of client-chosen folders), on a run in a temp data dir.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../../src-main/api/contract.ts';
import { createHandlers, createServices, dispatchCall, EventHub } from '../../../src-main/api/services.ts';
import { main } from '../../../src-main/cli/index.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { decodeSafetensors } from '../../../src-engine/io/safetensors.ts';
import { getEngine } from '../../engine/helpers.ts';
import { makeDataDir, makeTempDir } from '../helpers/tmp-data-dir.ts';
import { fabricateRun, type FabricatedRun } from './run-fixture.ts';

let layout: DataDirLayout;
let cleanup: () => void;
let run: FabricatedRun;
let out: string;

beforeAll(async () => {
  ({ layout, cleanup } = makeDataDir());
  run = await fabricateRun(await getEngine(), layout, { family: 'mlp', options: { hidden: [16] }, checkpoints: 1, results: true });
  out = makeTempDir('layerlab-export-cli-');
});
afterAll(() => cleanup());

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const o: string[] = [];
  const e: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void o.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void e.push(a.join(' ')));
  try {
    const code = await main([...argv, '--data-dir', layout.root]);
    return { code, out: o.join('\n'), err: e.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('layerlab export', () => {
  it('writes each format where --out says and lists the files', async () => {
    const st = await cli('export', run.runId, '--format', 'safetensors', '--out', join(out, 'w.safetensors'));
    expect(st.err).toBe('');
    expect(st.code).toBe(0);
    expect(st.out).toContain(`Exported run ${run.runId} as safetensors:`);
    expect(st.out).toContain(join(out, 'w.safetensors'));
    expect(readdirSync(out).sort()).toEqual(['w.safetensors', 'w.safetensors.md']);
    expect(decodeSafetensors(new Uint8Array(readFileSync(join(out, 'w.safetensors')))).metadata.run_id).toBe(run.runId);

    const onnx = await cli('export', run.runId, '--format', 'onnx', '--out', join(out, 'onnx'), '--json');
    expect(onnx.code).toBe(0);
    const r = JSON.parse(onnx.out) as { format: string; files: Array<{ path: string }> };
    expect(r.format).toBe('onnx');
    expect(r.files.map((f) => f.path)).toEqual([join(out, 'onnx', 'model.onnx'), join(out, 'onnx', 'model.onnx.md')]);

    const pt = await cli('export', run.runId, '-f', 'pytorch', '-o', join(out, 'pt'));
    expect(pt.code).toBe(0);
    expect(readdirSync(join(out, 'pt')).sort()).toEqual(['README.md', 'model.py', 'train.py', 'weights.safetensors']);
  });

  it('refuses to overwrite without --overwrite, naming the file, and replaces with it', async () => {
    const again = await cli('export', run.runId, '--format', 'safetensors', '--out', join(out, 'w.safetensors'));
    expect(again.code).toBe(1);
    expect(again.err).toBe(
      `layerlab export: These files already exist: ${join(out, 'w.safetensors')}, ${join(out, 'w.safetensors.md')}. ` +
        'Nothing was written: choose another destination or allow overwriting (--overwrite).',
    );
    const forced = await cli('export', run.runId, '--format', 'safetensors', '--out', join(out, 'w.safetensors'), '--overwrite');
    expect(forced.code).toBe(0);
  });

  it('defaults --out to <data dir>/exports/<run id>/', async () => {
    const r = await cli('export', run.runId, '--format', 'onnx');
    expect(r.code).toBe(0);
    expect(readdirSync(join(layout.exports, run.runId)).sort()).toEqual(['model.onnx', 'model.onnx.md']);
  });

  it('explains usage mistakes', async () => {
    expect((await cli('export', '--format', 'onnx')).err).toContain('layerlab export: Which run? layerlab export <run id> --format <safetensors|onnx|pytorch>');
    expect((await cli('export', run.runId, '--format', 'tflite')).err).toBe('layerlab export: --format must be one of safetensors, onnx, pytorch');
    expect((await cli('export', 'missing-run', '--format', 'onnx', '--out', join(out, 'm'))).err).toContain('No run "missing-run"');
    expect(existsSync(join(out, 'm'))).toBe(false);
  });
});

describe('export.run (API)', () => {
  it('exports with progress events under the task id and returns the files', async () => {
    const hub = new EventHub();
    const events: Array<[string, Record<string, unknown>]> = [];
    hub.subscribe((name, payload) => events.push([name, payload as Record<string, unknown>]));
    const handlers = createHandlers(createServices({ dataDir: layout.root, host: 'test', hub }));
    const dest = join(out, 'api');
    const r = (await dispatchCall(handlers, 'export.run', { taskId: 't1', runId: run.runId, format: 'onnx', destination: dest })) as {
      folder: string;
      files: Array<{ path: string; bytes: number }>;
    };
    expect(r.folder).toBe(dest);
    expect(r.files.map((f) => f.path)).toEqual([join(dest, 'model.onnx'), join(dest, 'model.onnx.md')]);
    const progress = events.filter(([n, p]) => n === 'progress' && p.taskId === 't1').map(([, p]) => p);
    expect(progress.every((p) => p.kind === 'export')).toBe(true);
    expect(progress.some((p) => p.phase === 'writing' && p.state === 'running')).toBe(true);
    expect(progress.at(-1)).toMatchObject({ state: 'done', message: `2 files written to ${dest}` });

    // Default destination; a second export there is refused with the file named.
    await dispatchCall(handlers, 'export.run', { taskId: 't2', runId: run.runId, format: 'pytorch' });
    expect(readdirSync(join(layout.exports, run.runId, 'pytorch')).sort()).toEqual(['README.md', 'model.py', 'train.py', 'weights.safetensors']);
    await expect(dispatchCall(handlers, 'export.run', { taskId: 't3', runId: run.runId, format: 'pytorch' })).rejects.toThrow(
      `These files already exist: ${join(layout.exports, run.runId, 'pytorch', 'model.py')}`,
    );
    expect(events.filter(([n, p]) => n === 'progress' && p.taskId === 't3').at(-1)?.[1]).toMatchObject({ state: 'failed' });
  });

  it('validates arguments, and the web host may not choose a folder on this machine', async () => {
    const hub = new EventHub();
    const test = createHandlers(createServices({ dataDir: layout.root, host: 'test', hub }));
    await expect(dispatchCall(test, 'export.run', { taskId: 'a', runId: run.runId, format: 'keras' })).rejects.toThrow(/Invalid arguments for export.run: format/);
    await expect(dispatchCall(test, 'export.run', { taskId: 'a', runId: run.runId, format: 'onnx', destination: 'relative/dir' })).rejects.toThrow(
      'Not an absolute path: relative/dir',
    );
    const web = createHandlers(createServices({ dataDir: layout.root, host: 'web', hub }));
    const refused = dispatchCall(web, 'export.run', { taskId: 'b', runId: run.runId, format: 'onnx', destination: join(out, 'web') });
    await expect(refused).rejects.toThrow(ApiError);
    await expect(dispatchCall(web, 'export.run', { taskId: 'b', runId: run.runId, format: 'onnx', destination: join(out, 'web') })).rejects.toThrow(
      'Choosing an export folder is only possible in the desktop app',
    );
    expect(existsSync(join(out, 'web'))).toBe(false);
  });
});
