/** Typed event bus: services emit, hosts forward to renderers. Every payload is validated on emit. */
import { EventEmitter } from 'node:events';
import { type EventName, type EventPayload, parseEvent } from './contract.ts';

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
