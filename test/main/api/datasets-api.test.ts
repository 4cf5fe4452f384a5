/**
 * The dataset calls end to end through the web host: the shipped sample is
 * listed at launch, files uploaded and imported (with progress events), a
 * path import refused in the browser host, previews, augmentation previews,
 * rename and delete, and the exact errors for bad input.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHandlers, createServices, EventHub, type Services } from '../../../src-main/api/services.ts';
import { prepareServices } from '../../../src-main/services/startup.ts';
import { startWebHost, type WebHost } from '../../../src-main/host/web-host.ts';
import { makeDataDir, makeTempDir } from '../helpers/tmp-data-dir.ts';
import { writeCifar10Binary } from '../helpers/cifar-files.ts';

const TOKEN = 'datasets-api-token-0123456789';
let host: WebHost;
let services: Services;
let cleanup: () => void;
const events: { event: string; payload: Record<string, unknown> }[] = [];
let ws: WebSocket;

function post(path: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((ok, fail) => {
    const req = request(
      { host: '127.0.0.1', port: host.port, path, method: 'POST', headers: { host: `127.0.0.1:${host.port}`, 'x-layerlab-token': TOKEN, ...headers } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => ok({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}
const api = (name: string, args: unknown) => post(`/api/${name}`, JSON.stringify(args), { 'content-type': 'application/json' });
const upload = (id: string, rel: string, bytes: Buffer) => post(`/upload/${id}`, bytes, { 'x-layerlab-path': encodeURIComponent(rel) });

beforeAll(async () => {
  const dd = makeDataDir();
  cleanup = dd.cleanup;
  const hub = new EventHub();
  services = createServices({ dataDir: dd.layout.root, host: 'web', hub });
  await prepareServices(services);
  const renderer = makeTempDir();
  host = await startWebHost({ handlers: createHandlers(services), hub, rendererDir: renderer, token: TOKEN, uploadsDir: services.uploadsDir });
  ws = new WebSocket(`ws://127.0.0.1:${host.port}/events?token=${TOKEN}`, { headers: { host: `127.0.0.1:${host.port}` } });
  ws.on('message', (m) => events.push(JSON.parse(String(m)) as { event: string; payload: Record<string, unknown> }));
  await new Promise((ok) => ws.once('open', ok));
});
afterAll(async () => {
  ws.close();
  await host.close();
  cleanup();
});

describe('dataset calls through the web host', () => {
  it('lists the shipped Fashion-MNIST sample at first launch, with counts and size', async () => {
    const r = await api('datasets.list', {});
    expect(r.status).toBe(200);
    const list = r.json.result as { id: string; counts: { train: number; test: number }; classNames: string[]; shape: number[]; bytesOnDisk: number }[];
    const sample = list.find((d) => d.id === 'fashion-mnist-sample');
    expect(sample).toBeDefined();
    expect(sample!.shape).toEqual([28, 28, 1]);
    expect(sample!.classNames).toHaveLength(10);
    expect(sample!.counts.test).toBe(1000);
    expect(sample!.counts.train).toBeGreaterThanOrEqual(2000);
    expect(sample!.bytesOnDisk).toBeGreaterThan(100_000);
  });

  it('imports uploaded CIFAR-10 files, streams progress with the task id, then lists the dataset', async () => {
    const src = writeCifar10Binary(join(makeTempDir(), 'cifar-10-batches-bin'), 20, 5, 10);
    const uploadId = 'abcdef0123456789';
    for (const f of readdirSync(src)) {
      const r = await upload(uploadId, `cifar-10-batches-bin/${f}`, readFileSync(join(src, f)));
      expect(r.status).toBe(200);
    }
    const r = await api('datasets.import', { taskId: 'import-1', source: { kind: 'upload', uploadId }, name: 'Tiny CIFAR' });
    expect(r.status).toBe(200);
    const { dataset, existing } = r.json.result as { dataset: { id: string; name: string; counts: { train: number; test: number }; shape: number[] }; existing: boolean };
    expect(existing).toBe(false);
    expect(dataset.name).toBe('Tiny CIFAR');
    expect(dataset.counts).toEqual({ train: 100, test: 10 });
    expect(dataset.shape).toEqual([32, 32, 3]);
    // The upload folder is gone once imported.
    expect(readdirSync(services.uploadsDir)).toEqual([]);
    await new Promise((ok) => setTimeout(ok, 50));
    const mine = events.filter((e) => e.event === 'progress' && e.payload.taskId === 'import-1');
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine.at(-1)!.payload.state).toBe('done');
    expect(events.some((e) => e.event === 'datasets.changed' && e.payload.id === dataset.id)).toBe(true);
  });

  it('refuses path imports in the browser host and upload paths that climb out', async () => {
    const r = await api('datasets.import', { taskId: 'import-2', source: { kind: 'paths', paths: ['/etc'] } });
    expect(r.status).toBe(500);
    expect((r.json.error as { code: string; message: string }).message).toBe('Importing by path is only possible in the desktop app; upload the files instead.');
    const u = await upload('abcdef0123456789', '../../escape.bin', Buffer.from('x'));
    expect(u.status).toBe(400);
    expect((u.json.error as { message: string }).message).toBe('Bad upload path: ../../escape.bin');
  });

  it('says exactly what is wrong with a bad upload', async () => {
    const uploadId = '0123456789abcdef';
    await upload(uploadId, 'notes.txt', Buffer.from('not a dataset'));
    const r = await api('datasets.import', { taskId: 'import-3', source: { kind: 'upload', uploadId } });
    expect(r.status).toBe(500);
    expect((r.json.error as { message: string }).message).toMatch(/notes\.txt/);
    const last = events.filter((e) => e.payload.taskId === 'import-3').at(-1);
    expect(last?.payload.state).toBe('failed');
  });

  it('previews a dataset as a class sheet PNG with pixel statistics', async () => {
    const r = await api('datasets.preview', { id: 'fashion-mnist-sample', perClass: 4 });
    expect(r.status).toBe(200);
    const p = r.json.result as { sheetPngBase64: string; sheetWidth: number; rowClasses: number[]; stats: { mean: number[] } };
    expect(Buffer.from(p.sheetPngBase64, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(p.rowClasses).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Fashion-MNIST's mean pixel is about 72.9 of 255 (0.286).
    expect(p.stats.mean[0]).toBeGreaterThan(60);
    expect(p.stats.mean[0]).toBeLessThan(85);
  });

  it('returns N augmented variants of one image and rejects an invalid pipeline with the step named', async () => {
    const ok = await api('datasets.augmentPreview', { id: 'fashion-mnist-sample', index: 3, n: 6, pipeline: [{ op: 'hflip', p: 1 }] });
    expect(ok.status).toBe(200);
    const res = ok.json.result as { originalPngBase64: string; variantsPngBase64: string[] };
    expect(res.variantsPngBase64).toHaveLength(6);
    expect(res.variantsPngBase64[0]).not.toBe(res.originalPngBase64);
    const bad = await api('datasets.augmentPreview', { id: 'fashion-mnist-sample', index: 3, pipeline: [{ op: 'rotate', degrees: 720 }] });
    expect(bad.status).toBe(500);
    expect((bad.json.error as { message: string }).message).toMatch(/rotate|degrees/);
    const range = await api('datasets.augmentPreview', { id: 'fashion-mnist-sample', index: 999_999, pipeline: [] });
    expect((range.json.error as { message: string }).message).toMatch(/out of range/);
  });

  it('renames and deletes, and an unknown id is a clear error', async () => {
    const list = (await api('datasets.list', {})).json.result as { id: string; name: string }[];
    const tiny = list.find((d) => d.name === 'Tiny CIFAR')!;
    const renamed = await api('datasets.rename', { id: tiny.id, name: 'CIFAR mini' });
    expect((renamed.json.result as { name: string }).name).toBe('CIFAR mini');
    const del = await api('datasets.delete', { id: tiny.id });
    expect(del.json.result).toEqual({ deleted: true });
    const gone = await api('datasets.get', { id: tiny.id });
    expect(gone.status).toBe(500);
    expect((gone.json.error as { message: string }).message).toMatch(new RegExp(tiny.id));
  });
});
