/** Wires the services to a web host over one data directory (used by `layerlab web` and npm start). */
import { createHandlers, EventHub } from '../api/services.ts';
import { ensureDataDir, resolveDataDir } from '../services/data-dir.ts';
import { startWebHost, type WebHost } from './web-host.ts';

export async function startLabWebHost(opts: { port?: number; dataDir?: string; rendererDir: string; token?: string }): Promise<WebHost> {
  const dataDir = ensureDataDir(resolveDataDir(opts.dataDir)).root;
  const hub = new EventHub();
  const handlers = createHandlers({ dataDir, host: 'web', hub });
  return startWebHost({ handlers, hub, rendererDir: opts.rendererDir, port: opts.port, token: opts.token });
}
