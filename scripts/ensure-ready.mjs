// Makes a fresh clone ready to run: checks Node, installs npm dependencies when
// they are missing or older than package-lock.json. Plain Node, no dependencies
// (it runs before any are installed). The Electron binary is not fetched here
// (tests never need it); scripts/start.mjs fetches it when the app is launched.
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`LayerLab needs Node.js 20.19 or newer (this is ${process.versions.node}). Install a current Node.js LTS from your package manager or nodejs.org.`);
  process.exit(1);
}

const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
const stale = !existsSync(installed) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs + 1000);
if (stale) {
  console.log('Installing npm dependencies (first run)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const args = existsSync(lock) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'];
  const r = spawnSync(npm, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
    shell: process.platform === 'win32',
  });
  if (r.status !== 0) {
    console.error('npm could not install the dependencies (see above). Check your network access to the npm registry, then run `npm ci` yourself.');
    process.exit(1);
  }
}
