/**
 * File uploads for the web host (the browser cannot hand us paths): the page
 * sends each dropped file as `POST /upload/<uploadId>` with its relative path
 * (folders keep their structure, so ImageFolder drops work) in the
 * `X-LayerLab-Path` header; `datasets.import {source: {kind: 'upload'}}` then
 * imports the whole folder and deletes it.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { ApiError } from '../api/contract.ts';

export const UPLOAD_ID = /^[a-f0-9-]{8,64}$/;
/** CIFAR-100's python archive is 169 MB; leave room for big image-folder zips. */
export const MAX_UPLOAD_FILE_BYTES = 4 * 1024 ** 3;

/** Maps an untrusted relative path to a file inside the upload's folder, or throws. */
export function uploadTarget(uploadsDir: string, uploadId: string, relPath: string): string {
  if (!UPLOAD_ID.test(uploadId)) throw new ApiError('bad-request', 'Bad upload id');
  const rel = relPath.replace(/\\/g, '/').replace(/^\/+/, '');
  if (!rel || rel.length > 1024 || rel.includes('\0') || rel.split('/').some((p) => p === '..' || p === '')) {
    throw new ApiError('bad-request', `Bad upload path: ${relPath.slice(0, 200)}`);
  }
  const root = resolve(uploadsDir, uploadId);
  const file = normalize(join(root, rel));
  if (!file.startsWith(root + sep)) throw new ApiError('bad-request', `Bad upload path: ${relPath.slice(0, 200)}`);
  return file;
}

export async function receiveUpload(req: IncomingMessage, uploadsDir: string, uploadId: string, relPath: string): Promise<{ bytes: number }> {
  const file = uploadTarget(uploadsDir, uploadId, relPath);
  await mkdir(dirname(file), { recursive: true });
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > MAX_UPLOAD_FILE_BYTES) cb(new ApiError('bad-request', `File larger than ${MAX_UPLOAD_FILE_BYTES} bytes: ${relPath.slice(0, 200)}`));
      else cb(null, chunk);
    },
  });
  try {
    await pipeline(req, limit, createWriteStream(file));
  } catch (e) {
    await rm(file, { force: true });
    if (e instanceof ApiError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ApiError('failed', code === 'ENOSPC' ? 'The disk is full: the upload was not kept. Free some space and drop the files again.' : `Upload failed: ${(e as Error).message}`);
  }
  return { bytes };
}
