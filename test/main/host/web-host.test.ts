import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHandlers, EventHub } from '../../../src-main/api/services.ts';
import { startWebHost, type WebHost } from '../../../src-main/host/web-host.ts';

const TOKEN = 'test-token-0123456789abcdef';
let host: WebHost;
let hub: EventHub;

interface Res { status: number; body: string; headers: Record<string, string | string[] | undefined> }

function send(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  return new Promise((ok, fail) => {
    const req = request(
      { host: '127.0.0.1', port: host.port, path, method: opts.method ?? 'GET', headers: { host: `127.0.0.1:${host.port}`, ...opts.headers } },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => ok({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', fail);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}
const api = (name: string, body: unknown, headers: Record<string, string> = { 'x-layerlab-token': TOKEN }) =>
  send(`/api/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

beforeAll(async () => {
  const renderer = mkdtempSync(join(tmpdir(), 'layerlab-renderer-'));
  mkdirSync(join(renderer, 'assets'));
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>LayerLab</title>');
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)');
  hub = new EventHub();
  const handlers = createHandlers({ dataDir: '/tmp/layerlab-webhost', host: 'web', hub });
  host = await startWebHost({ handlers, hub, rendererDir: renderer, token: TOKEN });
});
afterAll(async () => host.close());

describe('web host', () => {
  it('listens on 127.0.0.1 only', () => {
    const addr = host.server.address();
    expect(addr).toMatchObject({ address: '127.0.0.1' });
    expect(host.launchUrl).toBe(`http://127.0.0.1:${host.port}/?token=${TOKEN}`);
  });

  it('answers 401 without the token, for pages, assets and API calls', async () => {
    expect((await send('/')).status).toBe(401);
    expect((await send('/assets/app.js')).status).toBe(401);
    expect((await send('/?token=wrong')).status).toBe(401);
    expect((await api('system.info', {}, {})).status).toBe(401);
    expect((await api('system.info', {}, { 'x-layerlab-token': 'nope' })).status).toBe(401);
  });

  it('an API call with only the cookie (as a cross-site form would send) is refused', async () => {
    const r = await api('system.info', {}, { cookie: `layerlab_token=${TOKEN}` });
    expect(r.status).toBe(401);
  });

  it('serves the app with the token and sets a strict HttpOnly cookie for the assets', async () => {
    const r = await send(`/?token=${TOKEN}`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('<title>LayerLab</title>');
    expect(String(r.headers['set-cookie'])).toMatch(/layerlab_token=.*HttpOnly; SameSite=Strict/);
    expect(String(r.headers['content-security-policy'])).toContain("default-src 'self'");
    const asset = await send('/assets/app.js', { headers: { cookie: `layerlab_token=${TOKEN}` } });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
  });

  it('rejects a foreign Host header (DNS rebinding) and a foreign Origin', async () => {
    const rebinding = await send(`/?token=${TOKEN}`, { headers: { host: `evil.example:${host.port}` } });
    expect(rebinding.status).toBe(403);
    expect(rebinding.body).toContain('Host header not allowed');
    const cors = await api('system.info', {}, { 'x-layerlab-token': TOKEN, origin: 'http://evil.example' });
    expect(cors.status).toBe(403);
    expect(cors.body).toContain('Origin not allowed');
    const ok = await api('system.info', {}, { 'x-layerlab-token': TOKEN, origin: `http://127.0.0.1:${host.port}` });
    expect(ok.status).toBe(200);
  });

  it('validates API payloads and returns readable errors', async () => {
    const bad = await api('system.ping', { message: 5 });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.message).toMatch(/Invalid arguments for system\.ping: message/);
    const unknown = await api('system.rm-rf', {});
    expect(unknown.status).toBe(404);
    const notJson = await send('/api/system.info', { method: 'POST', headers: { 'x-layerlab-token': TOKEN }, body: '{nope' });
    expect(notJson.status).toBe(400);
    const info = await api('system.info', {});
    expect(JSON.parse(info.body).result.dataDir).toBe('/tmp/layerlab-webhost');
  });

  it('refuses path traversal out of the renderer folder', async () => {
    const r = await send(`/..%2f..%2fetc%2fpasswd?token=${TOKEN}`);
    expect([403, 404]).toContain(r.status);
    expect(r.body).not.toContain('root:');
  });

  it('the event WebSocket needs the token and a local Origin, and delivers events', async () => {
    const refused = await new Promise<number>((ok) => {
      const ws = new WebSocket(`ws://127.0.0.1:${host.port}/events`);
      ws.on('unexpected-response', (_req, res) => ok(res.statusCode ?? 0));
      ws.on('open', () => ok(101));
    });
    expect(refused).toBe(401);
    const foreign = await new Promise<number>((ok) => {
      const ws = new WebSocket(`ws://127.0.0.1:${host.port}/events?token=${TOKEN}`, { origin: 'http://evil.example' });
      ws.on('unexpected-response', (_req, res) => ok(res.statusCode ?? 0));
      ws.on('open', () => ok(101));
    });
    expect(foreign).toBe(403);

    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/events?token=${TOKEN}`, { origin: `http://127.0.0.1:${host.port}` });
    await new Promise((ok) => ws.on('open', ok));
    const got = new Promise<unknown>((ok) => ws.on('message', (m) => ok(JSON.parse(String(m)))));
    await api('system.ping', { message: 'over the wire' });
    expect(await got).toMatchObject({ event: 'system.pong', payload: { message: 'over the wire' } });
    ws.close();
  });
});
