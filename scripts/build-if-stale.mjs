// Builds the renderer when out/renderer is missing (npm run web on a fresh clone).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(join(root, 'out/renderer/index.html'))) {
  const r = spawnSync(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
