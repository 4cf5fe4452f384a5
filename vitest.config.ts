import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

// Unit tests: engine (Node + Dawn), main-process services, renderer components.
// GPU tests share one device per worker (test/helpers/gpu.ts); forks keep a
// Dawn crash from taking the whole run down.
export default defineConfig({
  plugins: [vue()],
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
