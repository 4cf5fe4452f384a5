/**
 * `layerlab <command>`: the lab headless. Each command is a module in this
 * folder; this file only routes and prints usage. Commands return an exit code.
 */
import { APP_VERSION } from '../version.ts';
import { infoCommand } from './info.ts';
import { webCommand } from './web.ts';
import { datasetCommand } from './dataset.ts';
import { benchCommand } from './bench.ts';
import { exportCommand } from './export.ts';
import { evalCommand, resumeCommand, trainCommand } from './train.ts';
import { runsCommand } from './runs.ts';
import { modelsCommand } from './models.ts';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

export const COMMANDS: Command[] = [infoCommand, webCommand, datasetCommand, benchCommand, trainCommand, resumeCommand, evalCommand, runsCommand, modelsCommand, exportCommand];

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `LayerLab ${APP_VERSION} — an offline deep-learning lab on WebGPU`,
    '',
    'Usage: layerlab <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    '  --data-dir <dir>  data directory (default: $LAYERLAB_HOME, else the per-user app-data folder)',
    '  -h, --help        help for a command: layerlab <command> --help',
    '  --version         print the version',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    console.log(usage());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(APP_VERSION);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`Unknown command: ${name}\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    // User-facing errors: message only. LAYERLAB_DEBUG=1 shows the stack.
    const err = e as Error;
    console.error(`layerlab ${name}: ${err.message}`);
    if (process.env.LAYERLAB_DEBUG) console.error(err.stack);
    return 1;
  }
}
