/** Remembers the window's size and position between launches (in the data dir). */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { BrowserWindow } from 'electron';

const WindowState = z.object({
  width: z.number().int().min(600).max(10000).default(1280),
  height: z.number().int().min(400).max(10000).default(820),
  x: z.number().int().optional(),
  y: z.number().int().optional(),
  maximized: z.boolean().default(false),
});
export type WindowState = z.infer<typeof WindowState>;

const file = (dataDir: string): string => join(dataDir, 'window-state.json');

export function loadWindowState(dataDir: string): WindowState {
  try {
    return WindowState.parse(JSON.parse(readFileSync(file(dataDir), 'utf8')));
  } catch {
    return WindowState.parse({});
  }
}

export function saveWindowState(dataDir: string, win: BrowserWindow): void {
  const b = win.getNormalBounds();
  const state: WindowState = { width: b.width, height: b.height, x: b.x, y: b.y, maximized: win.isMaximized() };
  const tmp = file(dataDir) + '.tmp';
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, file(dataDir));
}
