/**
 * The renderer's one API client. Uses the Electron bridge (`window.layerlab`,
 * from the preload) when present, else the web host (HTTP for calls, a
 * WebSocket for events). Results are validated against the same contract the
 * services use, so a bad payload fails loudly here rather than in a view.
 */
import {
  type CallArgs,
  type CallName,
  type CallResult,
  type EventName,
  type EventPayload,
  calls,
  events,
  isEventName,
  describeZodError,
} from '../../src-main/api/contract.ts';

interface Bridge {
  invoke(name: string, args: unknown): Promise<unknown>;
  onEvent(listener: (name: string, payload: unknown) => void): () => void;
  pathForFile(file: File): string;
}

declare global {
  interface Window {
    layerlab?: Bridge;
  }
}

export class ApiCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

type Listener = (name: EventName, payload: unknown) => void;

export interface ApiClient {
  readonly transport: 'electron' | 'web';
  call<N extends CallName>(name: N, args: CallArgs<N>): Promise<CallResult<N>>;
  on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void;
  /** Electron only: the real path of a dropped file. */
  pathForFile?(file: File): string;
  /**
   * Web host only: stores one file under an upload folder (`relPath` keeps a
   * dropped folder's structure); `datasets.import {source: {kind: 'upload'}}`
   * then imports the folder. Reports bytes sent; rejects with an AbortError when
   * `signal` fires.
   */
  upload?(uploadId: string, relPath: string, file: Blob, opts?: { onProgress?: (sent: number) => void; signal?: AbortSignal }): Promise<void>;
}

function unwrap(name: CallName, body: unknown): unknown {
  const b = body as { result?: unknown; error?: { code: string; message: string } };
  if (b && b.error) throw new ApiCallError(b.error.code, b.error.message);
  const r = calls[name].result.safeParse(b?.result);
  if (!r.success) throw new ApiCallError('failed', `Bad result for ${name}: ${describeZodError(r.error)}`);
  return r.data;
}

/** Reads the launch token once from the URL, keeps it for the tab, removes it from the address bar. */
export function takeLaunchToken(loc: Location = window.location, storage: Storage = window.sessionStorage): string | null {
  const url = new URL(loc.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    storage.setItem('layerlab.token', fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return storage.getItem('layerlab.token');
}

function makeDispatcher(): { add(l: Listener): () => void; fire: Listener } {
  const listeners = new Set<Listener>();
  return {
    add(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    fire(name, payload) {
      for (const l of listeners) l(name, payload);
    },
  };
}

function subscribe<E extends EventName>(
  d: ReturnType<typeof makeDispatcher>,
  name: E,
  listener: (payload: EventPayload<E>) => void,
): () => void {
  return d.add((n, payload) => {
    if (n !== name) return;
    const r = events[name].safeParse(payload);
    if (r.success) listener(r.data as EventPayload<E>);
  });
}

export function createElectronClient(bridge: Bridge): ApiClient {
  const d = makeDispatcher();
  bridge.onEvent((name, payload) => {
    if (isEventName(name)) d.fire(name, payload);
  });
  return {
    transport: 'electron',
    async call(name, args) {
      return unwrap(name, await bridge.invoke(name, args)) as CallResult<typeof name>;
    },
    on: (name, listener) => subscribe(d, name, listener),
    pathForFile: (f) => bridge.pathForFile(f),
  };
}

/** XMLHttpRequest rather than fetch: fetch cannot report upload progress. */
function uploadFile(
  base: string,
  token: string,
  uploadId: string,
  relPath: string,
  file: Blob,
  opts: { onProgress?: (sent: number) => void; signal?: AbortSignal } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${base}/upload/${encodeURIComponent(uploadId)}`);
    xhr.setRequestHeader('x-layerlab-token', token);
    xhr.setRequestHeader('x-layerlab-path', encodeURIComponent(relPath));
    xhr.upload.onprogress = (e) => opts.onProgress?.(e.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      let message = `Upload of ${relPath} failed (${xhr.status})`;
      try {
        const body = JSON.parse(xhr.responseText) as { error?: { message?: string } };
        if (body.error?.message) message = body.error.message;
      } catch {
        /* not JSON: keep the generic message */
      }
      reject(new ApiCallError('failed', message));
    };
    xhr.onerror = () => reject(new ApiCallError('failed', `Upload of ${relPath} failed: the lab's server did not answer.`));
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    if (opts.signal) {
      if (opts.signal.aborted) return xhr.abort();
      opts.signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.send(file);
  });
}

export function createWebClient(token: string, base = window.location.origin): ApiClient {
  const d = makeDispatcher();
  let socket: WebSocket | null = null;
  let retry = 500;
  const connect = (): void => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/events?token=${encodeURIComponent(token)}`);
    socket = ws;
    ws.onmessage = (m) => {
      try {
        const { event, payload } = JSON.parse(String(m.data)) as { event: unknown; payload: unknown };
        if (isEventName(event)) d.fire(event, payload);
      } catch {
        /* a malformed frame is dropped: the stream carries only our own JSON */
      }
    };
    ws.onopen = () => (retry = 500);
    ws.onclose = () => {
      socket = null;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10_000);
    };
  };
  connect();
  return {
    transport: 'web',
    async call(name, args) {
      const res = await fetch(`${base}/api/${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-layerlab-token': token },
        body: JSON.stringify(args ?? {}),
      });
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        throw new ApiCallError('failed', `The lab's server answered ${res.status} without JSON`);
      }
      return unwrap(name, body) as CallResult<typeof name>;
    },
    on: (name, listener) => subscribe(d, name, listener),
    upload: (uploadId, relPath, file, opts) => uploadFile(base, token, uploadId, relPath, file, opts),
    get isConnected() {
      return socket?.readyState === WebSocket.OPEN;
    },
  } as ApiClient;
}

let client: ApiClient | null = null;

/** The client for this page: Electron's bridge when present, else the web host. */
export function api(): ApiClient {
  if (client) return client;
  if (window.layerlab) client = createElectronClient(window.layerlab);
  else {
    const token = takeLaunchToken();
    if (!token) throw new ApiCallError('unauthorized', 'No access token: open the URL that `npm start` printed.');
    client = createWebClient(token);
  }
  return client;
}
