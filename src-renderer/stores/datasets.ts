/**
 * The dataset library as the renderer sees it: the list, the selected
 * dataset's preview, imports of dropped files (paths in Electron, uploads in
 * the web host) and downloads of the known datasets, each with a task id
 * whose progress the tasks store follows.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { CallResult, DatasetSummary } from '../../src-main/api/contract.ts';
import { api } from '../api/client.ts';
import type { Dropped, DroppedFile } from '../api/dropped-files.ts';
import { randomId, taskId } from '../util/ids.ts';
import { useTasks } from './tasks.ts';

export type DownloadWhich = 'mnist' | 'fashion-mnist' | 'cifar10' | 'cifar100';
export const DOWNLOADS: Array<{ which: DownloadWhich; title: string; size: string; note: string }> = [
  { which: 'mnist', title: 'MNIST', size: '11 MB', note: 'handwritten digits, 28×28 grey' },
  { which: 'fashion-mnist', title: 'Fashion-MNIST', size: '30 MB', note: 'clothing, 28×28 grey' },
  { which: 'cifar10', title: 'CIFAR-10', size: '163 MB', note: '10 classes, 32×32 colour' },
  { which: 'cifar100', title: 'CIFAR-100', size: '161 MB', note: '100 classes, 32×32 colour' },
];

export type Preview = CallResult<'datasets.preview'>;

export interface ImportJob {
  taskId: string;
  phase: 'upload' | 'import';
  /** What was dropped, for the progress line. */
  label: string;
  fileCount: number;
  sentBytes: number;
  totalBytes: number;
  cancelling: boolean;
}

export interface ImageFolderChoice {
  size: number;
  channels: 1 | 3;
  fit: 'cover' | 'fill' | 'contain';
}

const UPLOAD_CONCURRENCY = 4;

function isAbort(e: unknown): boolean {
  return (e instanceof Error || e instanceof DOMException) && (e.name === 'AbortError' || /cancelled/i.test(e.message));
}

function describeDrop(d: Dropped): { label: string; count: number; bytes: number } {
  if (d.kind === 'paths') {
    const names = d.paths.map((p) => p.split(/[\\/]/).pop() ?? p);
    return { label: names.length === 1 ? names[0] : `${names.length} items`, count: d.paths.length, bytes: 0 };
  }
  const tops = new Set(d.files.map((f) => f.path.split('/')[0]));
  const bytes = d.files.reduce((s, f) => s + f.file.size, 0);
  return { label: tops.size === 1 ? [...tops][0] : `${d.files.length} files`, count: d.files.length, bytes };
}

export const useDatasets = defineStore('datasets', () => {
  const list = ref<DatasetSummary[]>([]);
  const loaded = ref(false);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const selectedId = ref<string | null>(null);
  const previews = ref<Record<string, Preview>>({});
  const previewError = ref<string | null>(null);
  const importJob = ref<ImportJob | null>(null);
  const importError = ref<string | null>(null);
  const notice = ref<string | null>(null);
  const downloads = ref<Partial<Record<DownloadWhich, { taskId: string; error?: string }>>>({});
  const imageFolder = ref<ImageFolderChoice>({ size: 32, channels: 3, fit: 'cover' });
  let uploadAbort: AbortController | null = null;
  let listening = false;

  const selected = computed(() => list.value.find((d) => d.id === selectedId.value) ?? null);

  function listen(): void {
    if (listening) return;
    listening = true;
    useTasks().listen();
    api().on('datasets.changed', () => void refresh());
  }

  async function refresh(): Promise<void> {
    loading.value = true;
    try {
      list.value = await api().call('datasets.list', {});
      error.value = null;
      if (!selected.value) selectedId.value = list.value[0]?.id ?? null;
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loading.value = false;
      loaded.value = true;
    }
  }

  async function loadPreview(id: string): Promise<void> {
    if (previews.value[id]) return;
    previewError.value = null;
    try {
      const p = await api().call('datasets.preview', { id, split: 'train', perClass: 8, maxClasses: 20 });
      previews.value = { ...previews.value, [id]: p };
    } catch (e) {
      previewError.value = (e as Error).message;
    }
  }

  async function uploadAll(files: DroppedFile[], uploadId: string, signal: AbortSignal): Promise<void> {
    const client = api();
    if (!client.upload) throw new Error('This window cannot upload files.');
    const sent = new Map<number, number>();
    const update = (): void => {
      if (importJob.value) importJob.value.sentBytes = [...sent.values()].reduce((a, b) => a + b, 0);
    };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const i = next++;
        const f = files[i];
        await client.upload!(uploadId, f.path, f.file, { signal, onProgress: (s) => (sent.set(i, s), update()) });
        sent.set(i, f.file.size);
        update();
      }
    };
    await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, files.length) }, worker));
  }

  /** Imports what was dropped or chosen; the new (or already present) dataset becomes the selection. */
  async function importDropped(d: Dropped): Promise<void> {
    if (importJob.value) {
      importError.value = 'An import is already running: wait for it or cancel it first.';
      return;
    }
    const { label, count, bytes } = describeDrop(d);
    if (!count) {
      importError.value = 'Nothing to import: the drop held no files.';
      return;
    }
    importError.value = null;
    notice.value = null;
    useTasks().listen();
    const id = taskId('import');
    importJob.value = { taskId: id, phase: d.kind === 'files' ? 'upload' : 'import', label, fileCount: count, sentBytes: 0, totalBytes: bytes, cancelling: false };
    try {
      let source: { kind: 'paths'; paths: string[] } | { kind: 'upload'; uploadId: string };
      if (d.kind === 'files') {
        const uploadId = randomId();
        uploadAbort = new AbortController();
        await uploadAll(d.files, uploadId, uploadAbort.signal);
        uploadAbort = null;
        importJob.value.phase = 'import';
        source = { kind: 'upload', uploadId };
      } else source = { kind: 'paths', paths: d.paths };
      const r = await api().call('datasets.import', { taskId: id, source, imageFolder: imageFolder.value });
      const ds = r.dataset;
      notice.value = r.existing
        ? `${ds.name} is already in the library (same files): selected it.`
        : `Imported ${ds.name}: ${ds.counts.train.toLocaleString('en-US')} training and ${ds.counts.test.toLocaleString('en-US')} test images, ${ds.classNames.length} classes.`;
      await refresh();
      selectedId.value = ds.id;
    } catch (e) {
      if (isAbort(e) || importJob.value?.cancelling) notice.value = 'Import cancelled; nothing was added.';
      else importError.value = (e as Error).message;
    } finally {
      uploadAbort = null;
      useTasks().forget(id);
      importJob.value = null;
    }
  }

  async function cancelImport(): Promise<void> {
    const job = importJob.value;
    if (!job) return;
    job.cancelling = true;
    if (job.phase === 'upload') uploadAbort?.abort();
    else await useTasks().cancel(job.taskId);
  }

  async function download(which: DownloadWhich): Promise<void> {
    if (downloads.value[which] && !downloads.value[which]?.error) return;
    useTasks().listen();
    const id = taskId(`download-${which}`);
    downloads.value = { ...downloads.value, [which]: { taskId: id } };
    try {
      const r = await api().call('datasets.download', { taskId: id, which });
      notice.value = r.existing ? `${r.dataset.name} is already in the library.` : `Downloaded and imported ${r.dataset.name}.`;
      const { [which]: _done, ...rest } = downloads.value;
      downloads.value = rest;
      await refresh();
      selectedId.value = r.dataset.id;
    } catch (e) {
      if (isAbort(e)) {
        dismissDownloadError(which);
        notice.value = 'Download cancelled.';
      } else downloads.value = { ...downloads.value, [which]: { taskId: id, error: (e as Error).message } };
    } finally {
      useTasks().forget(id);
    }
  }

  async function cancelDownload(which: DownloadWhich): Promise<void> {
    const d = downloads.value[which];
    if (d) await useTasks().cancel(d.taskId);
  }

  function dismissDownloadError(which: DownloadWhich): void {
    const { [which]: _gone, ...rest } = downloads.value;
    downloads.value = rest;
  }

  async function remove(id: string): Promise<void> {
    await api().call('datasets.delete', { id });
    const { [id]: _gone, ...rest } = previews.value;
    previews.value = rest;
    if (selectedId.value === id) selectedId.value = null;
    await refresh();
  }

  async function rename(id: string, name: string): Promise<void> {
    await api().call('datasets.rename', { id, name });
    await refresh();
  }

  return {
    list,
    loaded,
    loading,
    error,
    selectedId,
    selected,
    previews,
    previewError,
    importJob,
    importError,
    notice,
    downloads,
    imageFolder,
    listen,
    refresh,
    loadPreview,
    importDropped,
    cancelImport,
    download,
    cancelDownload,
    dismissDownloadError,
    remove,
    rename,
  };
});
