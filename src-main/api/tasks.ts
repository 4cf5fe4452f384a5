/**
 * Long tasks started by a call (imports, downloads, exports): each has a
 * client-chosen id so the renderer can show its progress events and cancel it.
 */
import { ApiError } from './contract.ts';

export class TaskRegistry {
  private readonly running = new Map<string, AbortController>();

  /** Runs `fn` with an AbortSignal registered under `taskId`; the id is free again when it ends. */
  async run<T>(taskId: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.running.has(taskId)) throw new ApiError('bad-request', `A task with id ${taskId} is already running.`);
    const ac = new AbortController();
    this.running.set(taskId, ac);
    try {
      return await fn(ac.signal);
    } finally {
      this.running.delete(taskId);
    }
  }

  cancel(taskId: string): boolean {
    const ac = this.running.get(taskId);
    if (!ac) return false;
    ac.abort();
    return true;
  }

  cancelAll(): void {
    for (const ac of this.running.values()) ac.abort();
  }
}
