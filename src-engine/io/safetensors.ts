/**
 * safetensors: the file format of Hugging Face's `safetensors` library
 * (https://github.com/huggingface/safetensors, "Format" section), written and
 * read byte-exactly so that `safetensors.torch.load_file` and our own
 * checkpoints read the same files.
 *
 *   [8 bytes]  N, unsigned little-endian u64: length of the JSON header
 *   [N bytes]  UTF-8 JSON: { "__metadata__"?: {str: str},
 *                            "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ... }
 *              (we pad it with spaces so the data starts 8-byte aligned)
 *   [rest]     the data buffer; offsets are relative to its start, tensors are
 *              row-major little-endian, and together they cover it exactly,
 *              without gaps or overlaps.
 *
 * Pure TypeScript: bytes in and out as Uint8Array, no Node import, so the
 * same code runs in the trainer's Worker, in Node services and in tests.
 */
import { EngineError } from '../core/errors.ts';

export type SafetensorsDType = 'F32' | 'I32' | 'I64' | 'U8';
export const SAFETENSORS_DTYPES: readonly SafetensorsDType[] = ['F32', 'I32', 'I64', 'U8'];

export type SafetensorsData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

export interface SafetensorsTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: SafetensorsData;
}

export interface SafetensorsFile {
  /** In the order of their data offsets (the order they were written). */
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** A malformed safetensors file or a tensor that cannot be written; the message says which and why. */
export class SafetensorsError extends EngineError {}

const ITEM_BYTES: Record<SafetensorsDType, number> = { F32: 4, I32: 4, I64: 8, U8: 1 };
/** Same limit as the reference implementation: a larger header is not a safetensors file. */
export const MAX_HEADER_BYTES = 100_000_000;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function shapeText(shape: readonly number[]): string {
  return '[' + shape.join(', ') + ']';
}

function dataMatchesDtype(dtype: SafetensorsDType, data: SafetensorsData): boolean {
  switch (dtype) {
    case 'F32':
      return data instanceof Float32Array;
    case 'I32':
      return data instanceof Int32Array;
    case 'I64':
      return data instanceof BigInt64Array;
    case 'U8':
      return data instanceof Uint8Array;
  }
}

/** The little-endian bytes of a typed array (a view when the platform is little-endian). */
function littleEndianBytes(data: SafetensorsData): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return bytes;
  return swapBytes(bytes, data.BYTES_PER_ELEMENT);
}

function swapBytes(bytes: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) {
    for (let j = 0; j < width; j++) out[i + j] = bytes[i + width - 1 - j];
  }
  return out;
}

/**
 * Serialise tensors and string metadata to safetensors bytes. Tensors are laid
 * out widest dtype first (then in the map's order), so every tensor starts at
 * an offset aligned to its element size.
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries = [...tensors.entries()];
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new SafetensorsError(`A tensor cannot be named '__metadata__' (reserved for metadata).`);
    if (!SAFETENSORS_DTYPES.includes(t.dtype)) {
      throw new SafetensorsError(`Tensor '${name}' has dtype '${String(t.dtype)}'; supported: ${SAFETENSORS_DTYPES.join(', ')}.`);
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`Tensor '${name}' has shape ${shapeText(t.shape)}; dimensions must be non-negative integers.`);
    }
    if (!dataMatchesDtype(t.dtype, t.data)) {
      throw new SafetensorsError(`Tensor '${name}' is declared ${t.dtype} but its data is a ${t.data.constructor.name}.`);
    }
    if (t.data.length !== elementCount(t.shape)) {
      throw new SafetensorsError(
        `Tensor '${name}' has shape ${shapeText(t.shape)} (${elementCount(t.shape)} elements) but ${t.data.length} values.`,
      );
    }
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new SafetensorsError(`Metadata '${key}' must be a string (safetensors metadata is string to string).`);
  }
  // Stable sort: widest element first keeps every offset aligned to its element size.
  entries.sort((a, b) => ITEM_BYTES[b[1].dtype] - ITEM_BYTES[a[1].dtype]);

  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const [name, t] of entries) {
    const size = t.data.length * ITEM_BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerBytes + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes); // spaces: still valid JSON whitespace
  let at = 8 + headerBytes;
  for (const [, t] of entries) {
    const bytes = littleEndianBytes(t.data);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

interface RawEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validate one header entry's structure (not yet its offsets against the others). */
function parseEntry(name: string, value: unknown): RawEntry {
  if (!isRecord(value)) throw new SafetensorsError(`Header entry '${name}' is not an object with dtype, shape and data_offsets.`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') throw new SafetensorsError(`Tensor '${name}' has no dtype.`);
  if (!(SAFETENSORS_DTYPES as readonly string[]).includes(dtype)) {
    throw new SafetensorsError(`Tensor '${name}' has unknown dtype '${dtype}' (supported: ${SAFETENSORS_DTYPES.join(', ')}).`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(`Tensor '${name}' has an invalid shape ${JSON.stringify(shape)}: expected a list of non-negative integers.`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    throw new SafetensorsError(`Tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}: expected [begin, end].`);
  }
  return { name, dtype: dtype as SafetensorsDType, shape: shape as number[], begin: offsets[0] as number, end: offsets[1] as number };
}

function copyTyped(dtype: SafetensorsDType, bytes: Uint8Array): SafetensorsData {
  // Copy so the result is aligned and owns its memory (the file buffer may be reused).
  const own = LITTLE_ENDIAN ? bytes.slice() : swapBytes(bytes, ITEM_BYTES[dtype]);
  switch (dtype) {
    case 'F32':
      return new Float32Array(own.buffer, 0, own.length / 4);
    case 'I32':
      return new Int32Array(own.buffer, 0, own.length / 4);
    case 'I64':
      return new BigInt64Array(own.buffer, 0, own.length / 8);
    case 'U8':
      return own;
  }
}

/**
 * Parse and fully validate safetensors bytes. Any defect throws a
 * SafetensorsError saying what is wrong (nothing is returned half-read).
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) {
    throw new SafetensorsError(`The file is ${bytes.length} bytes long; a safetensors file starts with an 8-byte header length.`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength64 = view.getBigUint64(0, true);
  if (headerLength64 > BigInt(bytes.length - 8)) {
    throw new SafetensorsError(
      `The header length (${headerLength64} bytes) goes beyond the end of the file (${bytes.length} bytes): ` +
        'the file is truncated or not a safetensors file.',
    );
  }
  const headerLength = Number(headerLength64);
  if (headerLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`The header is ${headerLength} bytes, more than the ${MAX_HEADER_BYTES} bytes safetensors allows.`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new SafetensorsError('The header is not valid UTF-8 JSON: the file is corrupt or not a safetensors file.');
  }
  if (!isRecord(header)) throw new SafetensorsError('The header is not a JSON object: the file is not a safetensors file.');

  const metadata: Record<string, string> = {};
  const entries: RawEntry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isRecord(value)) throw new SafetensorsError(`'__metadata__' must be an object of string values.`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw new SafetensorsError(`Metadata '${k}' is not a string (safetensors metadata maps strings to strings).`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(name, value));
  }

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  for (const e of entries) {
    if (e.end < e.begin || e.end > dataLength) {
      throw new SafetensorsError(
        `Tensor '${e.name}' has data_offsets [${e.begin}, ${e.end}] outside the data buffer (${dataLength} bytes).`,
      );
    }
    const expected = elementCount(e.shape) * ITEM_BYTES[e.dtype];
    if (e.end - e.begin !== expected) {
      throw new SafetensorsError(
        `Tensor '${e.name}' is ${e.dtype} ${shapeText(e.shape)}, which needs ${expected} bytes, ` +
          `but its data_offsets span ${e.end - e.begin} bytes.`,
      );
    }
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: RawEntry | null = null;
  for (const e of entries) {
    if (e.begin < covered && previous) {
      throw new SafetensorsError(
        `Tensors '${previous.name}' [${previous.begin}, ${previous.end}] and '${e.name}' [${e.begin}, ${e.end}] overlap in the data buffer.`,
      );
    }
    if (e.begin > covered) {
      throw new SafetensorsError(`Bytes ${covered}..${e.begin} of the data buffer belong to no tensor: the offsets do not cover the data.`);
    }
    covered = e.end;
    previous = e;
  }
  if (covered !== dataLength) {
    throw new SafetensorsError(`Bytes ${covered}..${dataLength} of the data buffer belong to no tensor: the offsets do not cover the data.`);
  }

  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) {
    tensors.set(e.name, {
      dtype: e.dtype,
      shape: e.shape,
      data: copyTyped(e.dtype, bytes.subarray(dataStart + e.begin, dataStart + e.end)),
    });
  }
  return { tensors, metadata };
}

// ------------------------------------------------------------ checking a file against a model

export interface ExpectedTensor {
  shape: readonly number[];
  dtype: SafetensorsDType;
}

export interface TensorMismatch {
  name: string;
  expected: string;
  actual: string;
}

export interface SafetensorsCheck {
  ok: boolean;
  /** Expected by the model, absent from the file. */
  missing: string[];
  /** In the file, unknown to the model. */
  unexpected: string[];
  wrongShape: TensorMismatch[];
  wrongDtype: TensorMismatch[];
  /** Every problem, one per line ('' when ok). */
  message: string;
}

/**
 * Compare a decoded file with what a model expects (names, shapes, dtypes),
 * like PyTorch's load_state_dict(strict=True) but listing every problem.
 */
export function checkAgainst(
  expected: ReadonlyMap<string, ExpectedTensor>,
  file: Pick<SafetensorsFile, 'tensors'>,
): SafetensorsCheck {
  const missing: string[] = [];
  const unexpected: string[] = [];
  const wrongShape: TensorMismatch[] = [];
  const wrongDtype: TensorMismatch[] = [];
  for (const [name, want] of expected) {
    const got = file.tensors.get(name);
    if (!got) {
      missing.push(name);
      continue;
    }
    if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
      wrongShape.push({ name, expected: shapeText(want.shape), actual: shapeText(got.shape) });
    }
    if (got.dtype !== want.dtype) wrongDtype.push({ name, expected: want.dtype, actual: got.dtype });
  }
  for (const name of file.tensors.keys()) if (!expected.has(name)) unexpected.push(name);

  const lines: string[] = [];
  if (missing.length) lines.push(`Missing from the file (${missing.length}): ${missing.join(', ')}`);
  if (unexpected.length) lines.push(`Not in the model (${unexpected.length}): ${unexpected.join(', ')}`);
  for (const m of wrongShape) lines.push(`Wrong shape for ${m.name}: the model needs ${m.expected}, the file has ${m.actual}`);
  for (const m of wrongDtype) lines.push(`Wrong dtype for ${m.name}: the model needs ${m.expected}, the file has ${m.actual}`);
  const ok = lines.length === 0;
  return { ok, missing, unexpected, wrongShape, wrongDtype, message: lines.join('\n') };
}

/** checkAgainst, throwing a SafetensorsError with the full report when anything differs. */
export function assertMatches(
  expected: ReadonlyMap<string, ExpectedTensor>,
  file: Pick<SafetensorsFile, 'tensors'>,
  what = 'The weights file',
): void {
  const check = checkAgainst(expected, file);
  if (!check.ok) throw new SafetensorsError(`${what} does not match the model:\n${check.message}`);
}
