/**
 * A stand-in for the renderer's API client (src-renderer/api/client.ts), so
 * component and store tests run without a host: calls go to per-test
 * handlers and are recorded; tests fire events by name.
 *
 *   const fake = vi.hoisted(() => ({ api: null as FakeApi | null }));
 *   vi.mock('../../src-renderer/api/client.ts', () => ({ api: () => fake.api!.client }));
 *   beforeEach(() => (fake.api = createFakeApi({ 'datasets.list': () => [] })));
 */
import { vi } from 'vitest';

type Handler = (args: Record<string, unknown>) => unknown;

export interface FakeApi {
  client: {
    transport: 'web' | 'electron';
    call: ReturnType<typeof vi.fn>;
    on: (name: string, listener: (payload: unknown) => void) => () => void;
    upload?: ReturnType<typeof vi.fn>;
    pathForFile?: (f: File) => string;
  };
  /** Every call made, in order: [name, args]. */
  calls: Array<[string, Record<string, unknown>]>;
  callsTo(name: string): Array<Record<string, unknown>>;
  emit(name: string, payload: unknown): void;
  handlers: Record<string, Handler>;
}

export function createFakeApi(handlers: Record<string, Handler> = {}, transport: 'web' | 'electron' = 'web'): FakeApi {
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const calls: Array<[string, Record<string, unknown>]> = [];
  const fake: FakeApi = {
    handlers,
    calls,
    callsTo: (name) => calls.filter(([n]) => n === name).map(([, a]) => a),
    emit(name, payload) {
      for (const l of listeners.get(name) ?? []) l(payload);
    },
    client: {
      transport,
      call: vi.fn(async (name: string, args: Record<string, unknown>) => {
        calls.push([name, args]);
        const h = fake.handlers[name];
        if (!h) throw new Error(`fake api: no handler for ${name}`);
        return h(args);
      }),
      on(name, listener) {
        let set = listeners.get(name);
        if (!set) listeners.set(name, (set = new Set()));
        set.add(listener);
        return () => set.delete(listener);
      },
    },
  };
  if (transport === 'web') fake.client.upload = vi.fn(async () => undefined);
  return fake;
}
