import { describe, expect, it } from 'vitest';
import { ApiError, calls, events, parseArgs, parseEvent, parseResult } from '../../../src-main/api/contract.ts';
import { createHandlers, dispatchCall, EventHub } from '../../../src-main/api/services.ts';

const hub = new EventHub();
const handlers = createHandlers({ dataDir: '/tmp/layerlab-contract', host: 'test', hub });

describe('API contract', () => {
  it('every call has args and result schemas, every event a payload schema', () => {
    for (const [name, c] of Object.entries(calls)) {
      expect(typeof c.args.safeParse, name).toBe('function');
      expect(typeof c.result.safeParse, name).toBe('function');
    }
    expect(Object.keys(events)).toContain('progress');
  });

  it('rejects unknown fields, wrong types and oversized strings with a message naming the field', () => {
    expect(() => parseArgs('system.info', { extra: 1 })).toThrow(/Invalid arguments for system\.info: .*extra/);
    expect(() => parseArgs('system.ping', { message: 42 })).toThrow(/message: .*string/i);
    expect(() => parseArgs('system.ping', { message: 'x'.repeat(1001) })).toThrow(/message/);
    expect(() => parseArgs('system.ping', null)).toThrow(/message/);
    try {
      parseArgs('system.ping', {});
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).code).toBe('bad-request');
    }
  });

  it('rejects malformed event payloads and results', () => {
    expect(() =>
      parseEvent('progress', { taskId: '', kind: 'import', phase: 'x', done: 1, total: 2, state: 'running' }),
    ).toThrow(/taskId/);
    expect(() => parseEvent('progress', { taskId: 't', kind: 'k', phase: 'p', done: -1, total: 2, state: 'running' })).toThrow(/done/);
    expect(() => parseEvent('progress', { taskId: 't', kind: 'k', phase: 'p', done: 1, total: 2, state: 'exploded' })).toThrow(/state/);
    expect(() => parseResult('system.ping', { receivedAt: 'now' })).toThrow(/receivedAt/);
  });

  it('dispatchCall validates the name and arguments and returns a validated result', async () => {
    await expect(dispatchCall(handlers, 'system.nope', {})).rejects.toMatchObject({ code: 'unknown-call' });
    await expect(dispatchCall(handlers, '__proto__', {})).rejects.toMatchObject({ code: 'unknown-call' });
    await expect(dispatchCall(handlers, 'system.ping', { message: 1 })).rejects.toMatchObject({ code: 'bad-request' });
    const info = (await dispatchCall(handlers, 'system.info', {})) as { dataDir: string; host: string; versions: Record<string, string> };
    expect(info.dataDir).toBe('/tmp/layerlab-contract');
    expect(info.host).toBe('test');
    expect(info.versions.node).toBe(process.versions.node);
  });

  it('system.ping emits system.pong on the event hub', async () => {
    const seen: unknown[] = [];
    const off = hub.subscribe((name, payload) => seen.push([name, payload]));
    const r = (await dispatchCall(handlers, 'system.ping', { message: 'hello' })) as { receivedAt: number };
    off();
    expect(seen).toEqual([['system.pong', { message: 'hello', at: r.receivedAt }]]);
  });

  it('a handler that throws becomes a "failed" ApiError with its message and no stack', async () => {
    const broken = { ...handlers, 'system.info': () => { throw new Error('disk on fire'); } };
    await expect(dispatchCall(broken, 'system.info', {})).rejects.toMatchObject({ code: 'failed', message: 'disk on fire' });
  });
});
