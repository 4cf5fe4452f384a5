/**
 * The run store on disk: checkpoints are atomic under SIGKILL, metrics are
 * append-only and survive a torn last line, truncation for resume, pruning
 * keeps the newest and the best, and stale temp folders are cleaned up.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { RunStore } from '../../../src-main/services/runs/index.ts';
import { makeDataDir } from '../helpers/tmp-data-dir.ts';
import { stateFor } from './checkpoint-state.ts';

let layout: DataDirLayout;
let cleanup: () => void;
beforeEach(() => ({ layout, cleanup } = makeDataDir()));
afterEach(() => cleanup());

const RUN = '20260101-000000-mlp-abcd';

function writeAndKill(second: string, killAfter: string): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(__dirname, 'checkpoint-child.ts'), layout.root, RUN, second, killAfter], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  return new Promise((res, rej) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (line === `wrote ${killAfter}`) child.kill('SIGKILL');
      }
    });
    child.on('error', rej);
    child.on('exit', () => res(lines));
  });
}

describe('checkpoint atomicity', () => {
  for (const [second, killAfter] of [
    ['epoch-2', 'model.safetensors'],
    ['epoch-2', 'state.json'],
    ['epoch-1', 'optimizer.safetensors'], // re-writing the same checkpoint (after a resume)
  ] as const) {
    it(`SIGKILL while writing ${second} (after ${killAfter}) leaves epoch-1 intact and no partial checkpoint`, async () => {
      const lines = await writeAndKill(second, killAfter);
      expect(lines).toContain('first done');
      expect(lines.at(-1)).toBe(`wrote ${killAfter}`);
      const store = new RunStore(layout);
      const list = await store.listCheckpoints(RUN);
      expect(list.map((c) => c.name)).toEqual(['epoch-1']);
      const { state, files } = await store.readCheckpoint(RUN, 'epoch-1');
      expect(state.step).toBe(10);
      expect([...files.model]).toEqual([1, 2, 3]);
      expect([...files.optimizer]).toEqual([4, 5]);
      const dir = store.checkpointsDir(RUN);
      expect(readdirSync(dir).some((n) => n.startsWith('.tmp-'))).toBe(true); // the dead writer's folder
      await store.cleanupCheckpointTemp(RUN);
      expect(readdirSync(dir)).toEqual(['epoch-1']);
    });
  }
});

describe('metrics.jsonl', () => {
  it('appends, reads from an index, ignores a torn last line, and truncates back to a checkpoint', async () => {
    const store = new RunStore(layout);
    mkdirSync(store.dir(RUN), { recursive: true });
    appendFileSync(join(store.dir(RUN), 'config.json'), '{}'); // makes the run exist for readMetrics
    const step = (s: number) => ({ kind: 'step' as const, step: s, epoch: 1, loss: 1 / s, error: 0.5, lr: 0.1, imagesPerSec: 100, seconds: s });
    store.appendMetrics(RUN, [step(1), step(2)]);
    const mark = store.metricsBytes(RUN);
    store.appendMetrics(RUN, [step(3)]);
    appendFileSync(store.metricsFile(RUN), '{"kind":"step","st'); // a writer killed mid-line
    const all = await store.readMetrics(RUN);
    expect(all.total).toBe(3);
    expect(all.records.map((r) => r.step)).toEqual([1, 2, 3]);
    expect((await store.readMetrics(RUN, 2)).records.map((r) => r.step)).toEqual([3]);
    store.truncateMetrics(RUN, mark);
    expect((await store.readMetrics(RUN)).records.map((r) => r.step)).toEqual([1, 2]);
  });
});

describe('pruning', () => {
  it('keeps the newest epoch checkpoints, the best one and the latest mid-epoch one', async () => {
    const store = new RunStore(layout);
    const files = { model: new Uint8Array(1), optimizer: new Uint8Array(1) };
    for (let e = 1; e <= 5; e++) await store.writeCheckpoint(RUN, stateFor(`epoch-${e}`, e * 10), files);
    await store.writeCheckpoint(RUN, { ...stateFor('step-57', 57), midEpoch: true, epoch: 5 }, files);
    await store.pruneCheckpoints(RUN, 2, ['epoch-2']);
    expect((await store.listCheckpoints(RUN)).map((c) => c.name)).toEqual(['epoch-2', 'epoch-4', 'epoch-5', 'step-57']);
    await store.dropCheckpointsAfter(RUN, 40);
    expect((await store.listCheckpoints(RUN)).map((c) => c.name)).toEqual(['epoch-2', 'epoch-4']);
  });
});
