/**
 * Long tasks (imports, downloads, exports): the latest `progress` event of
 * each task id, and cancelling one. Views start a task with an id from
 * `taskId()` and show `progress[id]`.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { Progress } from '../../src-main/api/contract.ts';
import { api } from '../api/client.ts';

export const useTasks = defineStore('tasks', () => {
  const progress = ref<Record<string, Progress>>({});
  let unsubscribe: (() => void) | null = null;

  function listen(): void {
    if (unsubscribe) return;
    unsubscribe = api().on('progress', (p) => {
      progress.value = { ...progress.value, [p.taskId]: p };
    });
  }

  async function cancel(taskId: string): Promise<boolean> {
    const r = await api().call('tasks.cancel', { taskId });
    return r.cancelled;
  }

  function forget(taskId: string): void {
    const { [taskId]: _gone, ...rest } = progress.value;
    progress.value = rest;
  }

  return { progress, listen, cancel, forget };
});
