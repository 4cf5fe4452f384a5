#!/usr/bin/env node
// LayerLab's command line. The sources are TypeScript; tsx compiles them on the fly
// so the CLI needs no separate build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/cli/index.ts');
const code = await main(process.argv.slice(2));
// The WebGPU device (Dawn) keeps the process alive: exit explicitly.
process.exit(code);
