/**
 * The web host: serves the built renderer and the typed API on 127.0.0.1 so
 * the lab runs in any Chromium (and end-to-end tests run where Electron cannot).
 *
 * Security (a local server is reachable by every web page the user opens):
 *  - listens on 127.0.0.1 only;
 *  - a random token per launch is required on every HTTP and WebSocket request:
 *    the printed URL carries it as `?token=`; the first page load trades it for
 *    an HttpOnly, SameSite=Strict cookie so assets load; API calls must also
 *    send it in the `X-LayerLab-Token` header (a cross-site form cannot);
 *  - the Host header must name this server (DNS-rebinding defence) and an
 *    Origin header, when present, must be this server's origin.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiError, type ApiErrorBody } from '../api/contract.ts';
import { dispatchCall, type EventHub, type Handlers } from '../api/services.ts';
// Same policy as the Electron window's.
import { CONTENT_SECURITY_POLICY } from '../electron/csp.ts';
import { receiveUpload } from './uploads.ts';

export const TOKEN_HEADER = 'x-layerlab-token';
export const TOKEN_COOKIE = 'layerlab_token';
const MAX_BODY_BYTES = 1024 * 1024;

export interface WebHostOptions {
  handlers: Handlers;
  hub: EventHub;
  /** Folder holding the built renderer (index.html + assets). */
  rendererDir: string;
  port?: number;
  /** Fixed token for tests; a random one otherwise. */
  token?: string;
  /** Where `POST /upload/<id>` stores files; uploads are refused when absent. */
  uploadsDir?: string;
}

export interface WebHost {
  url: string;
  /** URL including the token: the one to open. */
  launchUrl: string;
  port: number;
  token: string;
  server: Server;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.ico': 'image/x-icon',
};

function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: IncomingMessage): string | undefined {
  const raw = req.headers.cookie;
  if (!raw) return undefined;
  for (const part of raw.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE) return v.join('=');
  }
  return undefined;
}

export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
}

/** Checks Host and Origin. Returns a reason when the request must be refused. */
export function checkHostAndOrigin(req: IncomingMessage, port: number): string | null {
  const hosts = allowedHosts(port);
  const host = req.headers.host;
  if (!host || !hosts.has(host.toLowerCase())) return `Host header not allowed: ${String(host).slice(0, 100)}`;
  const origin = req.headers.origin;
  if (origin !== undefined) {
    const ok = [...hosts].some((h) => origin.toLowerCase() === `http://${h}`);
    if (!ok) return `Origin not allowed: ${origin.slice(0, 100)}`;
  }
  return null;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: ApiErrorBody['error']['code'], message: string): void {
  sendJson(res, status, { error: { code, message } } satisfies ApiErrorBody);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError('bad-request', `Request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function serveStatic(rendererDir: string, pathname: string, res: ServerResponse): void {
  const root = resolve(rendererDir);
  const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
  const file = normalize(join(root, rel));
  if (file !== root && !file.startsWith(root + sep)) return sendError(res, 403, 'forbidden', 'Path outside the app');
  let target = file;
  if (!existsSync(target) || !statSync(target).isFile()) {
    // Unknown non-asset paths fall back to the app (client-side navigation).
    if (extname(rel)) return sendError(res, 404, 'bad-request', `Not found: ${pathname}`);
    target = join(root, 'index.html');
    if (!existsSync(target)) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('The renderer is not built. Run `npm run build` (npm start does it for you).');
      return;
    }
  }
  res.writeHead(200, {
    'content-type': MIME[extname(target)] ?? 'application/octet-stream',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': target.endsWith('index.html') ? 'no-store' : 'private, max-age=3600',
  });
  createReadStream(target).pipe(res);
}

export async function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  let port = opts.port ?? 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'failed', e instanceof Error ? e.message : String(e));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refusal = checkHostAndOrigin(req, port);
    if (refusal) return sendError(res, 403, 'forbidden', refusal);
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const queryToken = url.searchParams.get('token') ?? undefined;
    const headerToken = req.headers[TOKEN_HEADER];
    const isApi = url.pathname.startsWith('/api/');
    const isUpload = url.pathname.startsWith('/upload/');

    if (isUpload) {
      if (!sameToken(typeof headerToken === 'string' ? headerToken : undefined, token)) {
        return sendError(res, 401, 'unauthorized', 'Missing or wrong token');
      }
      if (req.method !== 'POST') return sendError(res, 405, 'bad-request', 'Uploads are POST');
      if (!opts.uploadsDir) return sendError(res, 404, 'bad-request', 'This host takes no uploads');
      const rel = req.headers['x-layerlab-path'];
      try {
        const r = await receiveUpload(req, opts.uploadsDir, url.pathname.slice('/upload/'.length), decodeURIComponent(typeof rel === 'string' ? rel : ''));
        return sendJson(res, 200, { result: r });
      } catch (e) {
        const err = e instanceof ApiError ? e : new ApiError('failed', String(e));
        return sendError(res, err.code === 'bad-request' ? 400 : 500, err.code, err.message);
      }
    }

    if (isApi) {
      // API calls need the header: cookies alone would let another site's form post here.
      if (!sameToken(typeof headerToken === 'string' ? headerToken : undefined, token)) {
        return sendError(res, 401, 'unauthorized', 'Missing or wrong token');
      }
      if (req.method !== 'POST') return sendError(res, 405, 'bad-request', 'API calls are POST');
      const name = decodeURIComponent(url.pathname.slice('/api/'.length));
      let args: unknown;
      try {
        const body = await readBody(req);
        args = body.length ? JSON.parse(body) : {};
      } catch (e) {
        return sendError(res, 400, 'bad-request', e instanceof ApiError ? e.message : 'Body is not valid JSON');
      }
      try {
        const result = await dispatchCall(opts.handlers, name, args);
        return sendJson(res, 200, { result });
      } catch (e) {
        const err = e instanceof ApiError ? e : new ApiError('failed', String(e));
        const status = err.code === 'bad-request' ? 400 : err.code === 'unknown-call' ? 404 : 500;
        return sendError(res, status, err.code, err.message);
      }
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'bad-request', 'Method not allowed');
    const authed = sameToken(queryToken, token) || sameToken(cookieToken(req), token);
    if (!authed) return sendError(res, 401, 'unauthorized', 'Open the URL printed by `npm start` (it carries the access token).');
    if (queryToken) {
      res.setHeader('set-cookie', `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    }
    serveStatic(opts.rendererDir, url.pathname, res);
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const refusal = checkHostAndOrigin(req, port);
    const given = url.searchParams.get('token') ?? cookieToken(req);
    if (refusal || url.pathname !== '/events' || !sameToken(given ?? undefined, token)) {
      socket.write(`HTTP/1.1 ${refusal ? '403 Forbidden' : '401 Unauthorized'}\r\nConnection: close\r\n\r\n`);
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      // The event stream is one-way; anything the page sends is ignored.
      ws.on('message', () => undefined);
    });
  });
  const unsubscribe = opts.hub.subscribe((name, payload) => {
    const text = JSON.stringify({ event: name, payload });
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('Web host did not get a TCP port');
  port = addr.port;
  const base = `http://127.0.0.1:${port}`;
  return {
    url: base + '/',
    launchUrl: `${base}/?token=${token}`,
    port,
    token,
    server,
    async close() {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      wss.close();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
