// Lint: typescript-eslint's recommended rules, plus the engine boundary:
// src-engine is handed a GPUDevice and must run unchanged in a Worker, in Node
// and in tests, so it may import nothing from Node, the DOM or Electron.
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises',
  'http', 'https', 'http2', 'module', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream',
  'tls', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib',
];

export const engineBoundary = {
  files: ['src-engine/**/*.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          { group: ['node:*'], message: 'src-engine must not import Node built-ins: it runs in Workers and browsers.' },
          { group: ['electron', 'electron/*'], message: 'src-engine must not import Electron.' },
          { group: ['webgpu'], message: 'src-engine is handed a GPUDevice; it must not create one (no Dawn import).' },
          { group: ['vue', 'pinia', 'echarts', 'vue-echarts'], message: 'src-engine must not import UI libraries.' },
          { group: ['**/src-main/**', '**/src-renderer/**', '../src-main/*', '../src-renderer/*'], message: 'src-engine must not import the main process or renderer.' },
        ],
        paths: NODE_BUILTINS.map((name) => ({ name, message: 'src-engine must not import Node built-ins.' })),
      },
    ],
    'no-restricted-globals': [
      'error',
      ...['window', 'document', 'process', 'require', 'Buffer', '__dirname', 'localStorage'].map((name) => ({
        name,
        message: `src-engine must not use ${name}: it runs in Workers, Node and browsers alike.`,
      })),
    ],
  },
};

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', '**/*.vue', 'resources/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-empty-pattern': 'off',
    },
  },
  engineBoundary,
);
