/**
 * Reading input files safely: transparent gzip with a hard output cap (a
 * header may claim gigabytes; we never trust it before comparing it with the
 * bytes that really exist), sha256 of files, magic-number peeks.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { open, readFile, stat } from 'node:fs/promises';
import { createGunzip, gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { DatasetFormatError, shortName, throwIfCancelled } from './errors.ts';

const gunzipAsync = promisify(gunzip);

/** The largest decompressed file we accept (CIFAR-100 train is 154 MB; leave room). */
export const MAX_INPUT_BYTES = 1 << 30;

export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

export async function readHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** gunzip with a cap; zlib errors become DatasetFormatErrors naming the file. */
export async function gunzipChecked(data: Uint8Array, file: string, maxBytes = MAX_INPUT_BYTES): Promise<Buffer> {
  try {
    return await gunzipAsync(data, { maxOutputLength: maxBytes });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new DatasetFormatError(
        `${shortName(file)}: decompresses to more than ${maxBytes} bytes, larger than any dataset LayerLab imports. Check that this is the right file.`,
        file,
      );
    }
    throw new DatasetFormatError(
      `${shortName(file)}: the gzip data is corrupt (${err.message}). The file is probably truncated or damaged; download it again.`,
      file,
    );
  }
}

/**
 * Reads a file, decompressing it when its content (not its name) is gzip.
 * Decompression streams and stops as soon as the output passes `maxBytes`,
 * so a gzip bomb costs at most `maxBytes` of memory. Callers that know the
 * size a header declares pass it (plus one byte, to catch trailing data).
 */
export async function readMaybeGzip(path: string, maxBytes = MAX_INPUT_BYTES): Promise<Buffer> {
  const st = await stat(path);
  const head = await readHead(path, 2);
  if (!isGzip(head)) {
    if (st.size > MAX_INPUT_BYTES) {
      throw new DatasetFormatError(`${shortName(path)}: ${st.size} bytes is larger than any dataset file LayerLab imports.`, path);
    }
    return readFile(path);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const gz = createGunzip();
  try {
    await pipeline(createReadStream(path), gz, async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        total += c.length;
        if (total > maxBytes) throw new GzipTooLargeError();
        chunks.push(c);
      }
      yield* [];
    });
  } catch (e) {
    if (e instanceof GzipTooLargeError) {
      throw new DatasetFormatError(
        maxBytes < MAX_INPUT_BYTES
          ? `${shortName(path)}: decompresses to more than the ${maxBytes - 1} bytes its header declares. The file is damaged or not what it claims to be.`
          : `${shortName(path)}: decompresses to more than ${maxBytes} bytes, larger than any dataset LayerLab imports. Check that this is the right file.`,
        path,
      );
    }
    throw new DatasetFormatError(
      `${shortName(path)}: the gzip data is corrupt (${(e as Error).message}). The file is probably truncated or damaged; download it again.`,
      path,
    );
  }
  return Buffer.concat(chunks, total);
}

class GzipTooLargeError extends Error {}

export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    throwIfCancelled(signal);
    h.update(chunk as Buffer);
  }
  return h.digest('hex');
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function readU32BE(b: Uint8Array, off: number): number {
  return ((b[off] << 24) >>> 0) + (b[off + 1] << 16) + (b[off + 2] << 8) + b[off + 3];
}
