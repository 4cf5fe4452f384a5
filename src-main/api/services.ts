/**
 * The implementation side of the API: one handler per call, shared by both
 * hosts. `dispatchCall` is the single place where arguments and results are
 * validated, so the Electron shell and the web host cannot drift apart.
 */
import { EventEmitter } from 'node:events';
import { cpus, totalmem, platform, arch } from 'node:os';
import {
  ApiError,
  type CallName,
  type CallResult,
  type EventName,
  type EventPayload,
  calls,
  isCallName,
  parseArgs,
  parseEvent,
  parseResult,
} from './contract.ts';
import type { z } from 'zod';
import { APP_VERSION } from '../version.ts';

export type Handlers = {
  [N in CallName]: (args: z.output<(typeof calls)[N]['args']>) => Promise<CallResult<N>> | CallResult<N>;
};

/** Typed event bus: services emit, hosts forward to renderers. */
export class EventHub {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(100);
  }
  emit<E extends EventName>(name: E, payload: EventPayload<E>): void {
    this.emitter.emit('event', name, parseEvent(name, payload));
  }
  subscribe(listener: (name: EventName, payload: unknown) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}

export interface ServiceContext {
  dataDir: string;
  host: 'electron' | 'web' | 'test';
  hub: EventHub;
}

export function createHandlers(ctx: ServiceContext): Handlers {
  return {
    'system.info': () => ({
      appVersion: APP_VERSION,
      host: ctx.host,
      platform: platform(),
      arch: arch(),
      versions: Object.fromEntries(
        Object.entries(process.versions).filter((e): e is [string, string] => typeof e[1] === 'string'),
      ),
      dataDir: ctx.dataDir,
      cpus: cpus().length,
      totalMemoryBytes: totalmem(),
    }),
    'system.ping': ({ message }) => {
      const at = Date.now();
      ctx.hub.emit('system.pong', { message, at });
      return { receivedAt: at };
    },
  };
}

/**
 * Validates name and arguments, runs the handler, validates the result.
 * User-caused failures come back as ApiError with a readable message; any
 * other exception becomes 'failed' with its message only (no stack).
 */
export async function dispatchCall(handlers: Handlers, name: unknown, rawArgs: unknown): Promise<unknown> {
  if (!isCallName(name)) throw new ApiError('unknown-call', `Unknown call: ${String(name).slice(0, 100)}`);
  const args = parseArgs(name, rawArgs);
  try {
    const handler = handlers[name] as (a: unknown) => unknown;
    const result = await handler(args);
    return parseResult(name, result);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError('failed', e instanceof Error ? e.message : String(e));
  }
}
