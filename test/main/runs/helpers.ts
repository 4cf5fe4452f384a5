/** Helpers for run tests: a data dir with the shipped sample, the CLI as a child process, metric comparison. */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { expect } from 'vitest';
import type { MetricRecord } from '../../../src-main/api/calls/runs.ts';
import { EventHub } from '../../../src-main/api/events.ts';
import { ensureSampleInstalled, SAMPLE_ID } from '../../../src-main/services/datasets/index.ts';
import { RunManager } from '../../../src-main/services/runs/index.ts';
import { makeDataDir } from '../helpers/tmp-data-dir.ts';

export { SAMPLE_ID };

export const CLI = resolve(__dirname, '../../../bin/layerlab.mjs');

export async function sampleDataDir(): Promise<{ root: string; cleanup: () => void }> {
  const { layout, cleanup } = makeDataDir();
  await ensureSampleInstalled(layout);
  return { root: layout.root, cleanup };
}

export function manager(root: string): { manager: RunManager; hub: EventHub; events: Array<[string, unknown]> } {
  const hub = new EventHub();
  const events: Array<[string, unknown]> = [];
  hub.subscribe((n, p) => events.push([n, p]));
  return { manager: new RunManager({ dataDir: root, events: hub }), hub, events };
}

/** The CLI as a child process; `onStderrLine` sees stderr lines as they come. */
export function cli(args: string[], onStderrLine?: (line: string, child: ChildProcess) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    const s = d.toString();
    stderr += s;
    partial += s;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      onStderrLine?.(line, child);
    }
  });
  return new Promise((res, rej) => {
    child.on('error', rej);
    child.on('exit', (code, signal) => res({ code, signal, stdout, stderr }));
  });
}

export function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

/** The learning curve of a run: every record without its timing fields. */
export function curve(records: MetricRecord[]): unknown[] {
  return records.map((r) => {
    const { imagesPerSec: _i, seconds: _s, ...rest } = r as MetricRecord & { dataWaitShare?: number };
    delete (rest as { dataWaitShare?: number }).dataWaitShare;
    return rest;
  });
}

/** Two curves equal record by record, numbers within `tol` (absolute + relative). */
export function expectSameCurve(a: MetricRecord[], b: MetricRecord[], tol = 1e-6): void {
  const ca = curve(a);
  const cb = curve(b);
  expect(ca.length, 'number of metric records').toBe(cb.length);
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (typeof x === 'number' && typeof y === 'number') {
      if (Math.abs(x - y) > tol * (1 + Math.abs(y))) expect.fail(`${path}: ${x} vs ${y}`);
      return;
    }
    if (x && y && typeof x === 'object' && typeof y === 'object') {
      expect(Object.keys(x).sort(), path).toEqual(Object.keys(y).sort());
      for (const k of Object.keys(x)) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${path}.${k}`);
      return;
    }
    expect(x, path).toEqual(y);
  };
  ca.forEach((r, i) => walk(r, cb[i], `record ${i}`));
}
