/**
 * Runs once before the unit tests: fails the whole run with a message that
 * names what to install when no WebGPU adapter exists (rather than every GPU
 * test failing on its own), and says which adapter the tests use.
 */
import { spawnSync } from 'node:child_process';

export default function setup(): void {
  const probe = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/probe-gpu.ts'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (probe.status !== 0) {
    throw new Error((probe.stderr || probe.stdout || 'WebGPU probe failed').trim());
  }
  process.stdout.write(`[layerlab] WebGPU adapter for tests: ${probe.stdout.trim()}\n`);
}
