/**
 * Where this window's runs train. In the Electron app: in this window's Web
 * Worker on Chromium's WebGPU (trainInBrowser), because Dawn's Node binding
 * cannot load inside Electron, so the host process cannot train there
 * (../shared/ENVIRONMENT.md). In the web host: on the host's Dawn device
 * (runs.create / runs.resume queue the run for it; README "Where training
 * runs"). Either way the host keeps data, metrics and checkpoints.
 */
import { api } from '../api/client.ts';

export function trainsInWindow(): boolean {
  return api().transport === 'electron';
}
