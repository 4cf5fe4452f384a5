/** The downloader against a local HTTP server on 127.0.0.1 — never the internet. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  DatasetLibrary,
  DownloadError,
  ImportCancelledError,
  KNOWN_DOWNLOADS,
  downloadAndImport,
  downloadDir,
  type DownloadSource,
  type ImportProgress,
} from '../../../src-main/services/datasets/index.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { makeDataDir } from '../helpers/tmp-data-dir.ts';
import { idxImages, idxLabels, testLabel, testPixel } from '../helpers/idx-files.ts';

const FILES: Record<string, Buffer> = {
  'train-images-idx3-ubyte.gz': gzipSync(idxImages(300, 28, 28, testPixel), { level: 0 }),
  'train-labels-idx1-ubyte.gz': gzipSync(idxLabels(Array.from({ length: 300 }, (_, i) => testLabel(i)))),
  't10k-images-idx3-ubyte.gz': gzipSync(idxImages(50, 28, 28, testPixel)),
  't10k-labels-idx1-ubyte.gz': gzipSync(idxLabels(Array.from({ length: 50 }, (_, i) => testLabel(i)))),
};
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

interface Behaviour {
  /** Close the connection after this many body bytes (once per file). */
  cutAfter?: number;
  /** Pause between 4 KB chunks (ms), to give a test time to cancel. */
  slowMs?: number;
}
let behaviour: Behaviour = {};
const cutDone = new Set<string>();
const seenRanges: string[] = [];
let server: http.Server;
let base = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const [, mirror, name] = url.pathname.split('/');
    if (mirror === 'missing') return res.writeHead(404).end('not here');
    if (mirror === 'redirect') return res.writeHead(302, { location: `/good/${name}` }).end();
    let body = FILES[name];
    if (!body) return res.writeHead(404).end();
    if (mirror === 'corrupt') {
      body = Buffer.from(body);
      body[body.length - 1] ^= 0xff; // one flipped byte: the md5 must catch it
    }
    let start = 0;
    const range = req.headers.range;
    if (range) {
      seenRanges.push(`${name} ${range}`);
      start = Number(/bytes=(\d+)-/.exec(range)?.[1] ?? 0);
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else res.writeHead(200, { 'content-length': body.length });
    const rest = body.subarray(start);
    if (behaviour.cutAfter !== undefined && !cutDone.has(name) && !range) {
      cutDone.add(name);
      res.write(rest.subarray(0, behaviour.cutAfter), () => res.destroy());
      return;
    }
    if (behaviour.slowMs) {
      let o = 0;
      const tick = (): void => {
        if (res.destroyed) return;
        if (o >= rest.length) return void res.end();
        res.write(rest.subarray(o, o + 4096));
        o += 4096;
        setTimeout(tick, behaviour.slowMs);
      };
      return tick();
    }
    res.end(rest);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

let layout: DataDirLayout;
let cleanup: () => void;
let lib: DatasetLibrary;
beforeEach(() => {
  ({ layout, cleanup } = makeDataDir());
  lib = new DatasetLibrary(layout);
  behaviour = {};
  cutDone.clear();
  seenRanges.length = 0;
});
afterEach(() => cleanup());

function source(mirrors: string[]): DownloadSource {
  return {
    id: 'test-mnist',
    title: 'Served MNIST',
    files: Object.entries(FILES).map(([name, b]) => ({ name, md5: md5(b), urls: mirrors.map((m) => `${base}/${m}/${name}`) })),
  };
}

describe('downloader (local server)', () => {
  it('downloads, verifies md5, imports, reports monotonic progress, and clears its download folder', async () => {
    const events: ImportProgress[] = [];
    const { dataset } = await downloadAndImport(lib, source(['good']), { onProgress: (p) => events.push(p) });
    expect(dataset.name).toBe('Served MNIST');
    expect(dataset.splits.train.count).toBe(300);
    expect(dataset.splits.test?.count).toBe(50);
    const dl = events.filter((e) => e.phase === 'download');
    const totalBytes = Object.values(FILES).reduce((s, b) => s + b.length, 0);
    expect(dl.at(-1)).toEqual({ phase: 'download', done: totalBytes, total: totalBytes });
    for (let i = 1; i < dl.length; i++) expect(dl[i].done).toBeGreaterThanOrEqual(dl[i - 1].done);
    expect(existsSync(downloadDir(lib, 'test-mnist'))).toBe(false);
  });

  it('falls back to the next mirror after a 404, a redirect is followed, and a checksum mismatch is not accepted', async () => {
    const { dataset } = await downloadAndImport(lib, source(['missing', 'corrupt', 'redirect']));
    expect(dataset.splits.train.count).toBe(300);
    await expect(downloadAndImport(lib, { ...source(['corrupt']), id: 'bad' })).rejects.toThrow(
      new RegExp(`^Could not download train-images-idx3-ubyte\\.gz: ${base.replace(/[.]/g, '\\.')}/corrupt/train-images-idx3-ubyte\\.gz: checksum mismatch \\(md5 [0-9a-f]{32}, expected ${md5(FILES['train-images-idx3-ubyte.gz'])}\\)\\.`),
    );
  });

  it('resumes a partial download with an HTTP Range request', async () => {
    behaviour = { cutAfter: 5000 };
    const err = await downloadAndImport(lib, source(['good'])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    const part = join(downloadDir(lib, 'test-mnist'), 'train-images-idx3-ubyte.gz.part');
    expect(statSync(part).size).toBe(5000);
    const { dataset } = await downloadAndImport(lib, source(['good']));
    expect(seenRanges).toContain('train-images-idx3-ubyte.gz bytes=5000-');
    const train = await lib.readSplit(dataset.id, 'train');
    expect(train.images[299 * 784 + 14 * 28 + 8]).toBe(testPixel(299, 14, 8));
  });

  it('cancel stops the download, keeps the partial file for later, and adds nothing', async () => {
    behaviour = { slowMs: 5 };
    const ac = new AbortController();
    const err = await downloadAndImport(lib, source(['good']), {
      signal: ac.signal,
      onProgress: (p) => p.phase === 'download' && p.done > 20_000 && ac.abort(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportCancelledError);
    expect(await lib.list()).toEqual([]);
    expect(statSync(join(downloadDir(lib, 'test-mnist'), 'train-images-idx3-ubyte.gz.part')).size).toBeGreaterThan(20_000);
  });

  it('offline: an unreachable server gives a clear message', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const src: DownloadSource = { id: 'off', title: 'x', files: [{ name: 'a.gz', urls: [`http://127.0.0.1:${port}/a.gz`] }] };
    await expect(downloadAndImport(lib, src)).rejects.toThrow(
      `Could not reach any server for a.gz (http://127.0.0.1:${port}/a.gz: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:${port}). You seem to be offline: connect to the internet and try again, or download the files on another machine and drop them on the window. Partial downloads are kept and resume.`,
    );
  });

  it('knows the official sources with their published md5s', () => {
    expect(KNOWN_DOWNLOADS['fashion-mnist'].files.map((f) => f.md5)).toEqual([
      '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      '25c81989df183df01b3e8a0aad5dffbe',
      'bef4ecab320f06d8554ea6380940ec79',
      'bb300cfdad3c16e7a12a480ee83cd310',
    ]);
    expect(KNOWN_DOWNLOADS.mnist.files[0].urls).toHaveLength(2);
    expect(KNOWN_DOWNLOADS.cifar10.files[0].md5).toBe('c32a1d4ab5d03f1284b67883e8d87530');
    expect(KNOWN_DOWNLOADS.cifar100.files[0].md5).toBe('03b5dce01913d631647c71ecec9e9cb8');
  });
});
