/** `layerlab web`: serve the lab on 127.0.0.1 for any Chromium-based browser. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from './index.ts';
import { parse, UsageError } from './args.ts';
import { startLabWebHost } from '../host/start-lab.ts';

export const rendererDir = fileURLToPath(new URL('../../out/renderer', import.meta.url));

export const webCommand: Command = {
  name: 'web',
  summary: 'serve the lab in your browser at http://127.0.0.1 (needs a built renderer)',
  usage: [
    'Usage: layerlab web [--port <n>] [--data-dir <dir>]',
    '',
    'Serves the lab on 127.0.0.1 only. The printed URL carries a one-launch access',
    'token; open it in Chrome/Chromium/Edge (WebGPU). Ctrl+C stops the server.',
  ].join('\n'),
  async run(argv) {
    const { values } = parse(argv, { port: { type: 'string' }, 'data-dir': { type: 'string' } });
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0–65535, got ${values.port}`);
    if (!existsSync(rendererDir)) throw new Error('The renderer is not built: run `npm run build` first (npm start does it).');
    const host = await startLabWebHost({ port, dataDir: values['data-dir'], rendererDir });
    console.log(`LayerLab is running at ${host.launchUrl}`);
    console.log('Open it in Chrome, Chromium or Edge (WebGPU). Press Ctrl+C to stop.');
    await new Promise<void>((resolveStop) => {
      const stop = (): void => resolveStop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await host.close();
    return 0;
  },
};
