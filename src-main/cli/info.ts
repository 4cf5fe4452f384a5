/** `layerlab info [--json]`: the Dawn WebGPU adapter this machine gives the CLI, and its limits. */
import type { Command } from './index.ts';
import { parse } from './args.ts';
import { getNodeGpu } from '../gpu/node-gpu.ts';
import { resolveDataDir } from '../services/data-dir.ts';
import { APP_VERSION } from '../version.ts';

export const infoCommand: Command = {
  name: 'info',
  summary: 'show the WebGPU adapter (Dawn), its limits and the data directory',
  usage: 'Usage: layerlab info [--json] [--data-dir <dir>]\n\nPrints the WebGPU adapter the CLI trains on, its key limits and features.',
  async run(argv) {
    const { values } = parse(argv, { json: { type: 'boolean' }, 'data-dir': { type: 'string' } });
    const gpu = await getNodeGpu();
    const report = {
      version: APP_VERSION,
      node: process.versions.node,
      dataDir: resolveDataDir(values['data-dir']),
      adapter: gpu.info,
    };
    if (values.json) {
      console.log(JSON.stringify(report, null, 2));
      return 0;
    }
    const a = gpu.info;
    const lines = [
      `LayerLab ${APP_VERSION} (Node ${report.node})`,
      `Data directory: ${report.dataDir}`,
      '',
      `WebGPU adapter: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' · ')}`,
      `  route:    ${a.backend}${a.isSoftware ? '  (software: a CPU emulation, expect slow training)' : ''}`,
      '  limits:',
      ...Object.entries(a.limits).map(([k, v]) => `    ${k.padEnd(36)} ${v.toLocaleString('en-US')}`),
      `  features: ${a.features.join(', ') || '(none)'}`,
    ];
    console.log(lines.join('\n'));
    return 0;
  },
};
