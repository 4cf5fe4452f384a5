/**
 * The Electron shell: a window, WebGPU switches, the IPC side of the typed API.
 * Thin on purpose: every service lives in src-main/api/services.ts and is
 * shared with the web host, so nothing here is untestable logic.
 */
import { app, BrowserWindow, ipcMain, Menu, session, shell, type WebContents } from 'electron';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from '../api/contract.ts';
import { createHandlers, createServices, dispatchCall, EventHub } from '../api/services.ts';
import { prepareServices } from '../services/startup.ts';
import { ensureDataDir, resolveDataDir } from '../services/data-dir.ts';
import { CONTENT_SECURITY_POLICY } from './csp.ts';
import { loadWindowState, saveWindowState } from './window-state.ts';
import { buildMenu } from './menu.ts';
import { IPC_CALL, IPC_EVENT } from './ipc-channels.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

// WebGPU: on Linux Chromium still hides it behind flags; Vulkan is its backend there.
if (process.platform === 'linux') {
  app.commandLine.appendSwitch('enable-unsafe-webgpu');
  app.commandLine.appendSwitch('enable-features', 'Vulkan');
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  void start();
}

function isOwnPage(contents: WebContents, url: string): boolean {
  const dev = process.env.ELECTRON_RENDERER_URL;
  if (dev) return url.startsWith(dev);
  return url.startsWith('file://') && url.includes('/renderer/');
}

async function start(): Promise<void> {
  const dataDir = ensureDataDir(resolveDataDir(process.env.LAYERLAB_HOME)).root;
  const hub = new EventHub();
  const services = createServices({ dataDir, host: 'electron', hub });
  await prepareServices(services);
  const handlers = createHandlers(services);

  await app.whenReady();

  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  // The lab needs no camera, microphone, notifications...
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));

  ipcMain.handle(IPC_CALL, async (event, name: unknown, args: unknown) => {
    // Only our own top-level page may call services.
    const frameUrl = event.senderFrame?.url ?? '';
    if (!isOwnPage(event.sender, frameUrl) || event.senderFrame !== event.sender.mainFrame) {
      return { error: { code: 'forbidden', message: 'Caller is not the LayerLab window' } };
    }
    try {
      return { result: await dispatchCall(handlers, name, args) };
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError('failed', String(e));
      return { error: { code: err.code, message: err.message } };
    }
  });

  const state = loadWindowState(dataDir);
  const win = new BrowserWindow({
    width: state.width,
    height: state.height,
    x: state.x,
    y: state.y,
    minWidth: 900,
    minHeight: 600,
    title: 'LayerLab',
    show: false,
    webPreferences: {
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  if (state.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());
  win.on('close', () => saveWindowState(dataDir, win));

  const unsubscribe = hub.subscribe((name, payload) => {
    if (!win.isDestroyed()) win.webContents.send(IPC_EVENT, name, payload);
  });
  win.on('closed', unsubscribe);

  // No navigation away from the app, no new windows; external links go to the browser.
  win.webContents.on('will-navigate', (e, url) => {
    if (!isOwnPage(win.webContents, url)) e.preventDefault();
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });

  Menu.setApplicationMenu(buildMenu(win));

  if (process.env.ELECTRON_RENDERER_URL) await win.loadURL(process.env.ELECTRON_RENDERER_URL);
  else await win.loadFile(join(here, '../renderer/index.html'));

  app.on('second-instance', () => {
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.on('window-all-closed', () => app.quit());
  // Quitting while a run trains: it checkpoints at its current step and pauses
  // (resumable, nothing lost), then the app quits.
  let closingRuns = false;
  app.on('before-quit', (e) => {
    if (closingRuns || !services.runs.isBusy()) return;
    e.preventDefault();
    closingRuns = true;
    void services.runs.close().finally(() => app.quit());
  });
}
