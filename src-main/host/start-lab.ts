/** Wires the services to a web host over one data directory (used by `layerlab web` and npm start). */
import { rm } from 'node:fs/promises';
import { createHandlers, createServices, EventHub } from '../api/services.ts';
import { ensureDataDir, resolveDataDir } from '../services/data-dir.ts';
import { prepareServices } from '../services/startup.ts';
import { startWebHost, type WebHost } from './web-host.ts';

export async function startLabWebHost(opts: { port?: number; dataDir?: string; rendererDir: string; token?: string }): Promise<WebHost> {
  const dataDir = ensureDataDir(resolveDataDir(opts.dataDir)).root;
  const hub = new EventHub();
  const services = createServices({ dataDir, host: 'web', hub });
  await prepareServices(services);
  // Uploads from an earlier launch cannot be finished (their page and token are gone).
  await rm(services.uploadsDir, { recursive: true, force: true });
  const handlers = createHandlers(services);
  const host = await startWebHost({ handlers, hub, rendererDir: opts.rendererDir, port: opts.port, token: opts.token, uploadsDir: services.uploadsDir });
  return {
    ...host,
    // Shutdown (Ctrl+C on `layerlab web`): the training run checkpoints at its
    // current step and pauses (resumable, nothing lost) before the server
    // stops, so its status events still reach open pages.
    async close() {
      await services.runs.close();
      await host.close();
    },
  };
}
