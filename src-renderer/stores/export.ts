/**
 * The Export dialog's state: which run, format, checkpoint and destination,
 * the running export's task (progress, cancel) and its result.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { ExportFormat, ExportResult } from '../../src-main/api/contract.ts';
import { api } from '../api/client.ts';
import { taskId as newTaskId } from '../util/ids.ts';
import { useTasks } from './tasks.ts';

export const FORMATS: Array<{ id: ExportFormat; label: string; text: string }> = [
  { id: 'safetensors', label: 'safetensors', text: 'The weights, in PyTorch state_dict names: load with safetensors.torch.load_file.' },
  { id: 'onnx', label: 'ONNX', text: 'The whole network (graph and weights) for ONNX Runtime, OpenCV or TensorRT. Takes raw 0–255 pixels.' },
  { id: 'pytorch', label: 'PyTorch code', text: 'A model.py defining the same nn.Module plus its weights: train it further in PyTorch.' },
];

export const useExport = defineStore('export', () => {
  const open = ref(false);
  const runId = ref<string | null>(null);
  const format = ref<ExportFormat>('safetensors');
  const checkpoint = ref('');
  const destination = ref('');
  const overwrite = ref(false);
  const task = ref<string | null>(null);
  const result = ref<ExportResult | null>(null);
  const error = ref<string | null>(null);

  function show(id: string): void {
    runId.value = id;
    result.value = null;
    error.value = null;
    checkpoint.value = '';
    open.value = true;
  }
  function close(): void {
    if (task.value) return;
    open.value = false;
  }

  async function start(): Promise<void> {
    if (!runId.value || task.value) return;
    useTasks().listen();
    const id = newTaskId('export');
    task.value = id;
    result.value = null;
    error.value = null;
    try {
      result.value = await api().call('export.run', {
        taskId: id,
        runId: runId.value,
        format: format.value,
        overwrite: overwrite.value,
        ...(destination.value.trim() ? { destination: destination.value.trim() } : {}),
        ...(checkpoint.value ? { checkpoint: checkpoint.value } : {}),
      });
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      useTasks().forget(id);
      task.value = null;
    }
  }
  async function cancel(): Promise<void> {
    if (task.value) await useTasks().cancel(task.value);
  }

  return { open, runId, format, checkpoint, destination, overwrite, task, result, error, show, close, start, cancel };
});
