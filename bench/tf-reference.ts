/**
 * The reference side of every benchmark: TensorFlow.js's WebGPU backend on a
 * device of the SAME adapter our engine uses, in the same process, so a ratio
 * compares kernels, not hardware. One place for the set-up the engine, train
 * and recurrent benches share.
 */
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/**
 * Makes TF.js's 'webgpu' backend run on its own device of `adapter` (it
 * installs its own error handlers and queues), falling back to `device`.
 */
export async function useTfWebGpu(adapter: GPUAdapter, device: GPUDevice, opts: { gradients?: boolean } = {}): Promise<void> {
  let refDevice = device;
  try {
    refDevice = await adapter.requestDevice({
      requiredLimits: {
        maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
  } catch {
    refDevice = device;
  }
  // TF.js refuses to construct unless navigator.gpu exists (Node 20 has no
  // navigator); it only checks presence, the device is what it uses.
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu) Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: {} }, configurable: true });
  // Kernels are registered under the name 'webgpu': replace its factory with one using our adapter.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(refDevice, adapter.info));
  await tf.setBackend('webgpu');
  await tf.ready();
  if (opts.gradients) await registerTfGradients();
}

/**
 * TF.js's Node bundle carries no gradient definitions; its ESM sources do
 * (register_all_gradients), but with directory imports Node cannot resolve.
 * esbuild bundles them into one file, which registers them in TF.js's global
 * registry (shared by every copy of tfjs-core). Once per process.
 */
async function registerTfGradients(): Promise<void> {
  if (tf.getGradient('Conv2D')) return;
  const require = createRequire(import.meta.url);
  const entry = join(require.resolve('@tensorflow/tfjs-core/package.json'), '..', 'dist', 'register_all_gradients.js');
  const { build } = await import('esbuild');
  const out = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent' });
  const dir = mkdtempSync(join(tmpdir(), 'layerlab-tfgrads-'));
  try {
    const file = join(dir, 'grads.mjs');
    writeFileSync(file, out.outputFiles[0].text);
    await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
