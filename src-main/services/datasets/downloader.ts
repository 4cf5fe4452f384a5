/**
 * Downloads dataset files over HTTP(S) into `<data dir>/tmp/downloads/<id>/`,
 * resuming a partial `.part` file with an HTTP Range request, verifying the
 * published checksum, falling back to mirrors, with progress and cancel.
 * Then `downloadAndImport` hands the files to the library's importer.
 * The downloads folder is kept between attempts (that is what makes resume
 * work) and removed after a successful import.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { DatasetRequestError, ImportCancelledError } from './errors.ts';
import type { ImportProgress, ProgressListener } from './format.ts';
import type { DatasetLibrary, ImportResult } from './library.ts';
import { KNOWN_DOWNLOADS, type DownloadFile, type DownloadSource, type KnownDownloadId } from './download-sources.ts';

export class DownloadError extends Error {
  override readonly name = 'DownloadError';
}

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Per-request inactivity timeout. Default 30 s. */
  timeoutMs?: number;
}

const OFFLINE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT']);

async function fileHash(path: string, algo: 'md5' | 'sha256'): Promise<string> {
  const h = createHash(algo);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function verify(path: string, f: DownloadFile): Promise<string | null> {
  if (f.md5) {
    const got = await fileHash(path, 'md5');
    if (got !== f.md5) return `md5 ${got}, expected ${f.md5}`;
  }
  if (f.sha256) {
    const got = await fileHash(path, 'sha256');
    if (got !== f.sha256) return `sha256 ${got}, expected ${f.sha256}`;
  }
  return null;
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

function request(url: string, headers: Record<string, string>, signal: AbortSignal | undefined, timeoutMs: number, redirects = 5): Promise<Response> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : null;
    if (!mod) return reject(new DownloadError(`Unsupported URL ${url}`));
    const req = mod.get(u, { headers: { 'user-agent': 'LayerLab', ...headers }, signal, timeout: timeoutMs }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects <= 0) return reject(new DownloadError(`Too many redirects from ${url}`));
        return resolve(request(new URL(res.headers.location, u).href, headers, signal, timeoutMs, redirects - 1));
      }
      resolve({ status, headers: res.headers, body: res });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no data for ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}

/**
 * Fetches `url` into `part`, appending from its current size when the server
 * honours Range (206); restarts from zero when it answers 200.
 */
async function fetchInto(url: string, part: string, opts: DownloadOptions, report: (bytesNow: number, total?: number) => void): Promise<void> {
  const have = existsSync(part) ? (await stat(part)).size : 0;
  const res = await request(url, have > 0 ? { range: `bytes=${have}-` } : {}, opts.signal, opts.timeoutMs ?? 30_000);
  if (res.status === 416) {
    // Our partial file is already complete (or longer than the file): start over to be safe.
    res.body.resume();
    await rm(part, { force: true });
    return fetchInto(url, part, opts, report);
  }
  if (res.status !== 200 && res.status !== 206) {
    res.body.resume();
    throw new DownloadError(`${url} answered HTTP ${res.status}`);
  }
  const append = res.status === 206 && have > 0;
  const start = append ? have : 0;
  const len = Number(res.headers['content-length'] ?? NaN);
  const total = Number.isFinite(len) ? start + len : undefined;
  let got = start;
  report(got, total);
  const out = createWriteStream(part, { flags: append ? 'a' : 'w' });
  await new Promise<void>((resolve, reject) => {
    let failure: Error | null = null;
    // On a broken connection, flush what arrived (end, not destroy): it is what the next attempt resumes from.
    const fail = (e: Error): void => {
      if (failure) return;
      failure = e;
      res.body.unpipe(out);
      out.end();
    };
    res.body.on('data', (chunk: Buffer) => {
      got += chunk.length;
      report(got, total);
    });
    res.body.on('error', fail);
    res.body.on('close', () => {
      if (!res.body.complete) fail(Object.assign(new Error('connection closed early'), { code: 'ECONNRESET' }));
    });
    out.on('error', reject);
    out.on('close', () => (failure ? reject(failure) : resolve()));
    res.body.pipe(out);
  });
  if (total !== undefined && got < total) throw Object.assign(new Error(`connection closed after ${got} of ${total} bytes`), { code: 'ECONNRESET' });
}

/** Downloads every file of `source` into `dir`; returns their paths. */
export async function downloadFiles(source: DownloadSource, dir: string, opts: DownloadOptions = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  const sizes = new Map<string, number>();
  const totals = new Map<string, number>();
  const emit = (): void => {
    const done = [...sizes.values()].reduce((a, b) => a + b, 0);
    const total = source.files.reduce((s, f) => s + (totals.get(f.name) ?? f.bytes ?? 0), 0);
    const p: ImportProgress = { phase: 'download', done, total: Math.max(total, done) };
    opts.onProgress?.(p);
  };
  for (const f of source.files) {
    const final = join(dir, f.name);
    const part = final + '.part';
    if (existsSync(final) && (await verify(final, f)) === null) {
      sizes.set(f.name, (await stat(final)).size);
      emit();
      paths.push(final);
      continue;
    }
    const failures: string[] = [];
    let ok = false;
    for (const url of f.urls) {
      if (opts.signal?.aborted) throw new ImportCancelledError();
      try {
        await fetchInto(url, part, opts, (bytes, total) => {
          sizes.set(f.name, bytes);
          if (total !== undefined) totals.set(f.name, total);
          emit();
        });
        const bad = await verify(part, f);
        if (bad) {
          await rm(part, { force: true });
          failures.push(`${url}: checksum mismatch (${bad})`);
          continue;
        }
        await rename(part, final);
        ok = true;
        break;
      } catch (e) {
        if (opts.signal?.aborted) throw new ImportCancelledError(); // the .part stays for a later resume
        const err = e as NodeJS.ErrnoException;
        failures.push(`${url}: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '));
      }
    }
    if (!ok) {
      const offline = failures.every((m) => [...OFFLINE_CODES].some((c) => m.includes(c)));
      throw new DownloadError(
        offline
          ? `Could not reach any server for ${f.name} (${failures.join('; ')}). You seem to be offline: connect to the internet and try again, ` +
              `or download the files on another machine and drop them on the window. Partial downloads are kept and resume.`
          : `Could not download ${f.name}: ${failures.join('; ')}. Try again later; partial downloads resume where they stopped.`,
      );
    }
    paths.push(final);
  }
  return paths;
}

/** The folder a known dataset downloads into (kept across attempts so downloads resume). */
export function downloadDir(lib: DatasetLibrary, id: string): string {
  return join(lib.layout.tmp, 'downloads', id);
}

/** Downloads a known dataset (or a custom source, e.g. a local test server) and imports it. */
export async function downloadAndImport(
  lib: DatasetLibrary,
  which: KnownDownloadId | DownloadSource,
  opts: DownloadOptions & { name?: string } = {},
): Promise<ImportResult> {
  const source: DownloadSource = typeof which === 'string' ? KNOWN_DOWNLOADS[which] : which;
  if (!source) throw new DatasetRequestError(`Unknown dataset "${String(which)}"; LayerLab downloads ${Object.keys(KNOWN_DOWNLOADS).join(', ')}.`);
  const dir = downloadDir(lib, source.id);
  const files = await downloadFiles(source, dir, opts);
  const result = await lib.importFiles(files, { name: opts.name ?? source.title, signal: opts.signal, onProgress: opts.onProgress });
  await rm(dir, { recursive: true, force: true });
  return result;
}
