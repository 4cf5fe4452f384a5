// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeApi, type FakeApi } from './fake-api.ts';

const fake = vi.hoisted(() => ({ api: null as FakeApi | null }));
vi.mock('../../src-renderer/api/client.ts', () => ({ api: () => fake.api!.client }));

import DropOverlay from '../../src-renderer/components/DropOverlay.vue';
import ImportPanel from '../../src-renderer/components/datasets/ImportPanel.vue';
import { useDatasets } from '../../src-renderer/stores/datasets.ts';
import { useNavigation } from '../../src-renderer/stores/navigation.ts';

const summary = {
  id: 'fashion-mnist',
  name: 'Fashion-MNIST',
  kind: 'mnist-idx',
  shape: [28, 28, 1],
  classNames: ['T-shirt/top', 'Trouser'],
  counts: { train: 60000, test: 10000 },
  classCounts: { train: [30000, 30000], test: [5000, 5000] },
  mean: [72.9],
  std: [90],
  bytesOnDisk: 1,
  source: 'IDX files',
  created: '2026-11-25T10:00:00Z',
};

function files(): File[] {
  return [new File([new Uint8Array(100)], 'train-images-idx3-ubyte.gz'), new File([new Uint8Array(50)], 'train-labels-idx1-ubyte.gz')];
}

/** A drop event as Chromium delivers it for files from the file manager (no directory entries). */
function dropEvent(type: string, fs: File[]): Event {
  const e = new Event(type, { bubbles: true, cancelable: true });
  const items = fs.map((f) => ({ kind: 'file', type: '', getAsFile: () => f, webkitGetAsEntry: () => null }));
  Object.defineProperty(e, 'dataTransfer', { value: { types: ['Files'], files: fs, items, dropEffect: 'none' } });
  return e;
}

describe('dropping dataset files on the window', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    fake.api = createFakeApi({
      'datasets.list': () => [summary],
      'datasets.import': () => ({ dataset: summary, existing: false }),
      'tasks.cancel': () => ({ cancelled: true }),
    });
  });

  it('highlights the window while files are dragged over it', async () => {
    const w = mount(DropOverlay, { attachTo: document.body });
    expect(w.find('[data-testid=drop-overlay]').exists()).toBe(false);
    window.dispatchEvent(dropEvent('dragenter', files()));
    await flushPromises();
    expect(w.get('[data-testid=drop-overlay]').text()).toContain('Drop to import a dataset');
    window.dispatchEvent(dropEvent('dragleave', files()));
    await flushPromises();
    expect(w.find('[data-testid=drop-overlay]').exists()).toBe(false);
    w.unmount();
  });

  it('in the web host: uploads every file into one upload folder, then imports that upload', async () => {
    const w = mount(DropOverlay, { attachTo: document.body });
    const nav = useNavigation();
    nav.go('models');
    window.dispatchEvent(dropEvent('drop', files()));
    await flushPromises();
    const upload = fake.api!.client.upload!;
    expect(upload).toHaveBeenCalledTimes(2);
    const [id1, path1, blob1] = upload.mock.calls[0] as [string, string, File];
    const [id2, path2] = upload.mock.calls[1] as [string, string];
    expect(id1).toMatch(/^[a-f0-9-]{8,64}$/);
    expect(id2).toBe(id1);
    expect([path1, path2]).toEqual(['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);
    expect(blob1.size).toBe(100);
    const imports = fake.api!.callsTo('datasets.import');
    expect(imports).toHaveLength(1);
    expect(imports[0].source).toEqual({ kind: 'upload', uploadId: id1 });
    // Every upload finished before the import started.
    const order = fake.api!.calls.map(([n]) => n);
    expect(order.indexOf('datasets.import')).toBeGreaterThan(-1);
    expect(nav.current).toBe('datasets');
    const ds = useDatasets();
    expect(ds.selectedId).toBe('fashion-mnist');
    expect(ds.notice).toContain('60,000 training and 10,000 test images');
    w.unmount();
  });

  it('in Electron: imports the dropped paths without uploading', async () => {
    fake.api = createFakeApi(fake.api!.handlers, 'electron');
    fake.api.client.pathForFile = (f: File) => `/home/me/Downloads/${f.name}`;
    const w = mount(DropOverlay, { attachTo: document.body });
    window.dispatchEvent(dropEvent('drop', files()));
    await flushPromises();
    const imports = fake.api.callsTo('datasets.import');
    expect(imports[0].source).toEqual({ kind: 'paths', paths: ['/home/me/Downloads/train-images-idx3-ubyte.gz', '/home/me/Downloads/train-labels-idx1-ubyte.gz'] });
    w.unmount();
  });

  it('keeps a dropped folder’s relative paths (class sub-folders)', async () => {
    const cat = new File([new Uint8Array(10)], '1.png');
    const dog = new File([new Uint8Array(10)], '2.png');
    const fileEntry = (f: File, path: string) => ({ isFile: true, isDirectory: false, name: f.name, fullPath: path, file: (ok: (f: File) => void) => ok(f) });
    const dir = (name: string, children: unknown[]) => {
      let served = false;
      return {
        isFile: false,
        isDirectory: true,
        name,
        fullPath: `/${name}`,
        createReader: () => ({ readEntries: (ok: (e: unknown[]) => void) => ok(served ? [] : ((served = true), children)) }),
      };
    };
    const root = {
      isFile: false,
      isDirectory: true,
      name: 'pets',
      fullPath: '/pets',
      createReader: () => {
        let served = false;
        return { readEntries: (ok: (e: unknown[]) => void) => ok(served ? [] : ((served = true), [dir('pets/cat', [fileEntry(cat, '/pets/cat/1.png')]), dir('pets/dog', [fileEntry(dog, '/pets/dog/2.png')])])) };
      },
    };
    const e = new Event('drop', { bubbles: true, cancelable: true });
    Object.defineProperty(e, 'dataTransfer', { value: { types: ['Files'], files: [], items: [{ kind: 'file', webkitGetAsEntry: () => root, getAsFile: () => null }] } });
    const w = mount(DropOverlay, { attachTo: document.body });
    window.dispatchEvent(e);
    await flushPromises();
    const paths = fake.api!.client.upload!.mock.calls.map((c) => c[1]);
    expect(paths).toEqual(['pets/cat/1.png', 'pets/dog/2.png']);
    w.unmount();
  });

  it('shows upload progress and cancels the upload without importing', async () => {
    let release: () => void = () => undefined;
    fake.api!.client.upload = vi.fn(
      (_id: string, _p: string, _f: File, opts: { onProgress?: (n: number) => void; signal?: AbortSignal }) =>
        new Promise<void>((ok, fail) => {
          opts.onProgress?.(40);
          release = ok;
          opts.signal?.addEventListener('abort', () => fail(new DOMException('Upload cancelled', 'AbortError')));
        }),
    );
    const panel = mount(ImportPanel);
    const ds = useDatasets();
    const done = ds.importDropped({ kind: 'files', files: files().map((f) => ({ file: f, path: f.name })) });
    await flushPromises();
    expect(panel.get('[data-testid=import-progress]').text()).toContain('Uploading 2 files');
    expect(panel.get('[role=progressbar]').attributes('aria-valuenow')).toBe('53'); // 80 of 150 bytes
    await panel.get('[data-testid=import-progress] button').trigger('click');
    await done;
    release();
    await flushPromises();
    expect(fake.api!.callsTo('datasets.import')).toHaveLength(0);
    expect(ds.notice).toBe('Import cancelled; nothing was added.');
    expect(panel.find('[data-testid=import-progress]').exists()).toBe(false);
  });

  it('cancels a running import through tasks.cancel with its task id', async () => {
    let finish: (v: unknown) => void = () => undefined;
    fake.api!.handlers['datasets.import'] = () => new Promise((_ok, fail) => (finish = fail));
    const panel = mount(ImportPanel);
    const ds = useDatasets();
    const done = ds.importDropped({ kind: 'paths', paths: ['/data/cifar-10-binary.tar.gz'] });
    await flushPromises();
    const taskId = fake.api!.callsTo('datasets.import')[0].taskId as string;
    fake.api!.emit('progress', { taskId, kind: 'import', phase: 'decode', done: 500, total: 1000, state: 'running' });
    await flushPromises();
    expect(panel.get('[data-testid=import-progress]').text()).toContain('Decoding images');
    expect(panel.get('[role=progressbar]').attributes('aria-valuenow')).toBe('50');
    await panel.get('[data-testid=import-progress] button').trigger('click');
    expect(fake.api!.callsTo('tasks.cancel')).toEqual([{ taskId }]);
    finish(new Error('Cancelled; nothing was written.'));
    await done;
    expect(ds.notice).toBe('Import cancelled; nothing was added.');
  });
});
