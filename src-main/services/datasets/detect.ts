/**
 * Format detection from content: magic numbers and structure, never file
 * names (a renamed or extension-less file is still recognised).
 */
import { constants, gunzipSync } from 'node:zlib';
import { idxDeclaredBytes, idxKindOf } from './idx.ts';
import { isGzip, readHead } from './bytes.ts';
import { DatasetFormatError, shortName } from './errors.ts';

export type ContentKind =
  | 'idx-images'
  | 'idx-labels'
  | 'tar'
  | 'zip'
  | 'pickle'
  | 'image'
  | 'text'
  | 'binary'
  | 'empty';

export interface Detected {
  kind: ContentKind;
  gzip: boolean;
  /** For IDX files: the total size the header declares. */
  declaredBytes?: number;
}

function withDeclared(kind: ContentKind, gzip: boolean, head: Uint8Array): Detected {
  const declared = kind === 'idx-images' || kind === 'idx-labels' ? idxDeclaredBytes(head) : null;
  return declared === null ? { kind, gzip } : { kind, gzip, declaredBytes: declared };
}

function isTar(b: Uint8Array): boolean {
  // POSIX/GNU tar: "ustar" at offset 257 of the first 512-byte header.
  return b.length >= 262 && b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72;
}

function isImage(b: Uint8Array): boolean {
  const png = b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
  const jpeg = b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
  const webp =
    b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50;
  const gif = b.length >= 4 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38;
  const bmp = b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d;
  return png || jpeg || webp || gif || bmp;
}

function isText(b: Uint8Array): boolean {
  if (b.length === 0) return false;
  for (let i = 0; i < b.length; i++) {
    const v = b[i];
    if (v === 0) return false;
    if (v < 0x09 || (v > 0x0d && v < 0x20)) return false;
  }
  return true;
}

export function classifyBytes(head: Uint8Array): ContentKind {
  if (head.length === 0) return 'empty';
  const idx = idxKindOf(head);
  // A magic alone is enough: a truncated header then gets the IDX parser's precise message.
  if (idx === 'images') return 'idx-images';
  if (idx === 'labels') return 'idx-labels';
  if (isTar(head)) return 'tar';
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  if (head.length >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return 'pickle';
  if (isImage(head)) return 'image';
  if (isText(head)) return 'text';
  return 'binary';
}

/** Looks at the first bytes of a file (decompressing a gzip head) and says what it holds. */
export async function detectFile(path: string): Promise<Detected> {
  const raw = await readHead(path, 1024);
  if (!isGzip(raw)) return withDeclared(classifyBytes(raw), false, raw);
  let head: Buffer;
  try {
    // Z_SYNC_FLUSH lets zlib inflate a prefix of the stream without complaining that it ends early.
    head = gunzipSync(raw, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 4 << 20 });
  } catch (e) {
    if (e instanceof RangeError) return { kind: 'binary', gzip: true };
    throw new DatasetFormatError(
      `${shortName(path)}: starts like a gzip file but its data is corrupt (${(e as Error).message}). Download it again.`,
      path,
    );
  }
  return withDeclared(classifyBytes(head.subarray(0, 1024)), true, head);
}
