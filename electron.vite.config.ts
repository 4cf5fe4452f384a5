import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import vue from '@vitejs/plugin-vue';

// Three builds: main (ESM), preload (CommonJS: sandboxed preloads cannot be ESM)
// and the renderer (served by Electron from file:// and by the web host).
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve('src-main/electron/main.ts'),
          // Worker-thread entries, emitted next to index.js where worker-host.ts and the batch
          // producer look for them in a bundled build (from source they run through tsx).
          'train-worker': resolve('src-main/services/runs/train-worker.ts'),
          'augment-worker': resolve('src-main/services/batches/augment-worker.ts'),
          'inspect-worker': resolve('src-main/api/handlers/inspect/worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve('src-main/electron/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src-renderer',
    base: './',
    plugins: [vue()],
    worker: { format: 'es' },
    build: {
      outDir: 'out/renderer',
      target: 'es2022',
      chunkSizeWarningLimit: 2000,
      rollupOptions: {
        input: {
          index: resolve('src-renderer/index.html'),
          // Bare page exposing trainInBrowser for the end-to-end test of browser training.
          'train-harness': resolve('src-renderer/train-worker/harness.html'),
        },
      },
    },
  },
});
