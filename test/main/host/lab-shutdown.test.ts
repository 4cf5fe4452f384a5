/**
 * Shutting the web lab down (Ctrl+C on `layerlab web`, startLabWebHost's
 * close) while a run trains: the run checkpoints at its current step and
 * pauses — resumable, no work lost — and only then does the server stop.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLabWebHost } from '../../../src-main/host/start-lab.ts';
import { dataDirLayout } from '../../../src-main/services/data-dir.ts';
import { RunStore } from '../../../src-main/services/runs/store.ts';
import { sampleDataDir, SAMPLE_ID } from '../runs/helpers.ts';

const TOKEN = 'shutdown-test-token-0123456789';
let cleanup: (() => void) | undefined;

afterAll(() => {
  delete process.env.LAYERLAB_STEP_DELAY_MS;
  cleanup?.();
});

function call(port: number, name: string, args: unknown): Promise<{ status: number; body: { result?: unknown; error?: { message: string } } }> {
  return new Promise((ok, fail) => {
    const body = JSON.stringify(args);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `/api/${name}`,
        agent: false, // a fresh connection per call (no kept-alive socket outliving the server)
        method: 'POST',
        headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json', 'x-layerlab-token': TOKEN },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => ok({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

describe('web lab shutdown', () => {
  it('pauses a training run at a mid-epoch checkpoint before the server stops', async () => {
    const sample = await sampleDataDir();
    cleanup = sample.cleanup;
    const renderer = mkdtempSync(join(tmpdir(), 'layerlab-renderer-'));
    mkdirSync(join(renderer, 'assets'));
    writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>LayerLab</title>');
    process.env.LAYERLAB_STEP_DELAY_MS = '60'; // slow steps: the close lands mid-epoch
    const host = await startLabWebHost({ dataDir: sample.root, rendererDir: renderer, token: TOKEN });
    const created = await call(host.port, 'runs.create', {
      config: { datasetId: SAMPLE_ID, model: { family: 'mlp', options: { hidden: [16] } }, epochs: 3, batchSize: 16, logEvery: 2, seed: 3 },
    });
    expect(created.status).toBe(200);
    const id = (created.body.result as { id: string }).id;
    // Wait until it has trained a few steps.
    const t0 = Date.now();
    for (;;) {
      const got = await call(host.port, 'runs.get', { id });
      const status = (got.body.result as { status: { state: string; step?: number } }).status;
      if (status.state === 'running' && (status.step ?? 0) >= 4) break;
      if (Date.now() - t0 > 60_000) throw new Error(`run stayed ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 50));
    }

    await host.close();

    // The server is gone...
    await expect(call(host.port, 'system.ping', { message: 'x' })).rejects.toThrow(/ECONNREFUSED/);
    // ...and the run is paused (not interrupted) with a checkpoint at the step it reached.
    const store = new RunStore(dataDirLayout(sample.root));
    const status = await store.readStatus(id);
    expect(status.state).toBe('paused');
    const last = (await store.listCheckpoints(id)).at(-1)!;
    expect(last.midEpoch).toBe(true);
    expect(last.step).toBeGreaterThanOrEqual(4);
  });
});
