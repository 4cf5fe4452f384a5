/** System facts: the host's info (versions, data dir) and this page's WebGPU adapter. */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { SystemInfo } from '../../src-main/api/contract.ts';
import { api } from '../api/client.ts';
import { inspectAdapter, type AdapterReport } from '../gpu/adapter-info.ts';

export const useSystem = defineStore('system', () => {
  const info = ref<SystemInfo | null>(null);
  const adapter = ref<AdapterReport | null>(null);
  const error = ref<string | null>(null);
  const loading = ref(false);

  async function load(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      const [i, a] = await Promise.all([api().call('system.info', {}), inspectAdapter()]);
      info.value = i;
      adapter.value = a;
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loading.value = false;
    }
  }
  return { info, adapter, error, loading, load };
});
