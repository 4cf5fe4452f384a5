/**
 * Preload (sandboxed, context-isolated): exposes exactly two functions to the
 * page — `invoke(name, args)` and `onEvent(listener)` — plus
 * `pathForFile(file)` for drag-and-drop. No Node API reaches the renderer.
 * Validation happens in the main process (dispatchCall), which trusts nothing.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { IPC_CALL, IPC_EVENT } from './ipc-channels.ts';

contextBridge.exposeInMainWorld('layerlab', {
  invoke: (name: string, args: unknown): Promise<unknown> => ipcRenderer.invoke(IPC_CALL, String(name), args),
  onEvent: (listener: (name: string, payload: unknown) => void): (() => void) => {
    const wrapped = (_e: unknown, name: string, payload: unknown): void => listener(name, payload);
    ipcRenderer.on(IPC_EVENT, wrapped);
    return () => ipcRenderer.off(IPC_EVENT, wrapped);
  },
  // Only real File objects (from a drop or a file input) have a path; anything else gets ''.
  pathForFile: (file: unknown): string => {
    if (!(file instanceof File)) return '';
    try {
      return webUtils.getPathForFile(file);
    } catch {
      return '';
    }
  },
});
