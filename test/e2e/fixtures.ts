/** A web host over a throw-away data directory, one per test file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base } from '@playwright/test';
import { startLabWebHost } from '../../src-main/host/start-lab.ts';
import type { WebHost } from '../../src-main/host/web-host.ts';

const rendererDir = fileURLToPath(new URL('../../out/renderer', import.meta.url));

export const test = base.extend<object, { lab: WebHost & { dataDir: string } }>({
  lab: [
    async ({}, use) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'layerlab-e2e-'));
      const host = await startLabWebHost({ dataDir, rendererDir });
      await use(Object.assign(host, { dataDir }));
      await host.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
    { scope: 'worker' },
  ],
});
export { expect } from '@playwright/test';
