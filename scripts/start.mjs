// `npm start`: install what is missing, build, launch the Electron app. Where
// Electron cannot start (no binary and no way to download it, no display), say
// so in one line and serve the same lab from the web host instead.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const node = process.execPath;
const run = (args, opts = {}) => spawnSync(node, args, { cwd: root, stdio: 'inherit', ...opts });

if (run(['scripts/ensure-ready.mjs']).status !== 0) process.exit(1);
console.log('Building the lab…');
const build = run([join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) {
  console.error('The build failed (see above).');
  process.exit(1);
}

function electronBinary() {
  const require = createRequire(join(root, 'package.json'));
  try {
    const p = require('electron'); // a path string once the binary is installed; throws otherwise
    return typeof p === 'string' && existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

function whyNoElectron() {
  let bin = electronBinary();
  if (!bin && !process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    console.log('Fetching the Electron binary (first launch)…');
    const r = run([join(root, 'node_modules/electron/install.js')], { stdio: 'ignore', timeout: 180_000 });
    bin = r.status === 0 ? electronBinary() : null;
    if (!bin) return { reason: 'the Electron binary is not installed and could not be downloaded (offline?)' };
  }
  if (!bin) return { reason: 'the Electron binary is not installed (ELECTRON_SKIP_BINARY_DOWNLOAD is set)' };
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { reason: 'there is no display (DISPLAY/WAYLAND_DISPLAY unset)' };
  }
  return { bin };
}

function serveWeb(reason) {
  console.log(`Electron cannot start here: ${reason}. Serving the same lab in your browser instead.`);
  const child = spawn(node, ['bin/layerlab.mjs', 'web', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code) => process.exit(code ?? 0));
}

const found = whyNoElectron();
if (!found.bin) {
  serveWeb(found.reason);
} else {
  const started = Date.now();
  const child = spawn(found.bin, ['.'], { cwd: root, stdio: ['ignore', 'inherit', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    process.stderr.write(d);
  });
  child.on('error', (e) => serveWeb(`Electron failed to start (${e.message})`));
  child.on('exit', (code, signal) => {
    // A crash within seconds of launch is a start failure (missing libraries, GPU
    // process failure, sandbox): fall back rather than leave the user with nothing.
    if ((code !== 0 || signal) && Date.now() - started < 10_000) {
      const line = stderr.trim().split('\n').pop() ?? '';
      serveWeb(`Electron exited at start (${signal ?? `code ${code}`}${line ? `: ${line.slice(0, 200)}` : ''})`);
    } else process.exit(code ?? 0);
  });
}
