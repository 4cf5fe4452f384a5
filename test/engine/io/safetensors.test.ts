/**
 * safetensors: byte layout, round trip, and rejection of every malformed case
 * with its exact message; the name/shape/dtype check used when a weights file
 * is loaded into a model.
 */
import { describe, expect, it } from 'vitest';
import {
  assertMatches,
  checkAgainst,
  decodeSafetensors,
  encodeSafetensors,
  type ExpectedTensor,
  type SafetensorsTensor,
} from '../../../src-engine/io/safetensors.ts';

function sample(): Map<string, SafetensorsTensor> {
  const m = new Map<string, SafetensorsTensor>();
  m.set('layers.1.weight', { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2, 3.5, 1e-30, -0, Math.PI]) });
  m.set('layers.1.bias', { dtype: 'F32', shape: [2], data: new Float32Array([0.25, -7]) });
  m.set('labels', { dtype: 'I32', shape: [3], data: new Int32Array([-1, 0, 2147483647]) });
  m.set('layers.2.num_batches_tracked', { dtype: 'I64', shape: [], data: new BigInt64Array([123456789012n]) });
  m.set('mask', { dtype: 'U8', shape: [5], data: new Uint8Array([0, 1, 255, 7, 9]) });
  m.set('empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) });
  return m;
}

/** Build a file from a raw header object and data bytes (for malformed cases). */
function rawFile(header: unknown, data: Uint8Array, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors encoding', () => {
  it('writes an 8-byte little-endian header length, a space-padded JSON header and 8-byte aligned data', () => {
    const bytes = encodeSafetensors(sample(), { format: 'pt', run: 'r1' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.trimEnd().length).toBeLessThanOrEqual(n);
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    const header = JSON.parse(text);
    expect(header.__metadata__).toEqual({ format: 'pt', run: 'r1' });
    expect(header['layers.1.weight']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: expect.any(Array) });
    // I64 (widest) first, so every tensor starts aligned to its element size.
    expect(header['layers.2.num_batches_tracked'].data_offsets).toEqual([0, 8]);
    expect(header['layers.1.weight'].data_offsets).toEqual([8, 32]);
    expect(header['layers.1.bias'].data_offsets).toEqual([32, 40]);
    expect(header['labels'].data_offsets).toEqual([40, 52]);
    expect(header['empty'].data_offsets).toEqual([52, 52]);
    expect(header['mask'].data_offsets).toEqual([52, 57]);
    expect(bytes.length).toBe(8 + n + 57);
    // Data is little-endian f32: 1.0 = 00 00 80 3f.
    expect([...bytes.subarray(8 + n + 8, 8 + n + 12)]).toEqual([0x00, 0x00, 0x80, 0x3f]);
  });

  it('round-trips every dtype, value and shape exactly, including metadata', () => {
    const original = sample();
    const back = decodeSafetensors(encodeSafetensors(original, { classes: '["a","b"]', 'ü': 'ß' }));
    expect(back.metadata).toEqual({ classes: '["a","b"]', 'ü': 'ß' });
    expect([...back.tensors.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [name, t] of original) {
      const got = back.tensors.get(name)!;
      expect(got.dtype, name).toBe(t.dtype);
      expect(got.shape, name).toEqual(t.shape);
      expect(got.data.constructor, name).toBe(t.data.constructor);
      expect(Array.from(got.data as ArrayLike<number | bigint>), name).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    }
    expect(Object.is((back.tensors.get('layers.1.weight')!.data as Float32Array)[4], -0)).toBe(true);
  });

  it('decodes from a Uint8Array view with a non-zero byte offset', () => {
    const bytes = encodeSafetensors(sample(), {});
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    const back = decodeSafetensors(padded.subarray(3));
    expect(Array.from(back.tensors.get('layers.1.bias')!.data as Float32Array)).toEqual([0.25, -7]);
  });

  it('omits __metadata__ when there is none, and writes an empty file as a valid header', () => {
    const bytes = encodeSafetensors(new Map(), {});
    const back = decodeSafetensors(bytes);
    expect(back.tensors.size).toBe(0);
    expect(back.metadata).toEqual({});
  });

  it('refuses to write data that does not match its shape or dtype', () => {
    expect(() =>
      encodeSafetensors(new Map([['w', { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) }]]), {}),
    ).toThrow("Tensor 'w' has shape [2, 2] (4 elements) but 3 values.");
    expect(() =>
      encodeSafetensors(new Map([['w', { dtype: 'I32', shape: [1], data: new Float32Array(1) }]]), {}),
    ).toThrow("Tensor 'w' is declared I32 but its data is a Float32Array.");
  });
});

describe('safetensors rejects malformed files with a message that says what is wrong', () => {
  const f32 = (n: number): Uint8Array => new Uint8Array(n * 4);

  it('a file shorter than the header length field', () => {
    expect(() => decodeSafetensors(new Uint8Array(5))).toThrow(
      'The file is 5 bytes long; a safetensors file starts with an 8-byte header length.',
    );
  });

  it('a header length beyond the end of the file', () => {
    const bytes = rawFile({}, new Uint8Array(0));
    new DataView(bytes.buffer).setBigUint64(0, 1000n, true);
    expect(() => decodeSafetensors(bytes)).toThrow(
      `The header length (1000 bytes) goes beyond the end of the file (${bytes.length} bytes): ` +
        'the file is truncated or not a safetensors file.',
    );
    new DataView(bytes.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
    expect(() => decodeSafetensors(bytes)).toThrow('The header length (18446744073709551615 bytes) goes beyond the end');
  });

  it('a header that is not JSON (or not UTF-8)', () => {
    expect(() => decodeSafetensors(rawFile(null, new Uint8Array(0), '{"w": {'))).toThrow(
      'The header is not valid UTF-8 JSON: the file is corrupt or not a safetensors file.',
    );
    const bad = rawFile(null, new Uint8Array(0), '{"a":"xx"}');
    bad[8 + 6] = 0xff;
    expect(() => decodeSafetensors(bad)).toThrow('The header is not valid UTF-8 JSON');
    expect(() => decodeSafetensors(rawFile([1, 2], new Uint8Array(0)))).toThrow(
      'The header is not a JSON object: the file is not a safetensors file.',
    );
  });

  it('an unknown dtype', () => {
    const bytes = rawFile({ w: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4));
    expect(() => decodeSafetensors(bytes)).toThrow("Tensor 'w' has unknown dtype 'F16' (supported: F32, I32, I64, U8).");
  });

  it('a malformed shape or data_offsets', () => {
    expect(() => decodeSafetensors(rawFile({ w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, f32(2)))).toThrow(
      "Tensor 'w' has an invalid shape [2,-1]: expected a list of non-negative integers.",
    );
    expect(() => decodeSafetensors(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0] } }, f32(2)))).toThrow(
      "Tensor 'w' has invalid data_offsets [0]: expected [begin, end].",
    );
    expect(() => decodeSafetensors(rawFile({ w: 3 }, f32(0)))).toThrow(
      "Header entry 'w' is not an object with dtype, shape and data_offsets.",
    );
  });

  it('metadata that is not string to string', () => {
    expect(() => decodeSafetensors(rawFile({ __metadata__: { epochs: 3 } }, f32(0)))).toThrow(
      "Metadata 'epochs' is not a string (safetensors metadata maps strings to strings).",
    );
  });

  it('offsets out of range', () => {
    const bytes = rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } }, f32(2));
    expect(() => decodeSafetensors(bytes)).toThrow("Tensor 'w' has data_offsets [0, 12] outside the data buffer (8 bytes).");
    const backwards = rawFile({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, f32(2));
    expect(() => decodeSafetensors(backwards)).toThrow("Tensor 'w' has data_offsets [8, 4] outside the data buffer (8 bytes).");
  });

  it('a shape whose size does not match its byte span', () => {
    const bytes = rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(2));
    expect(() => decodeSafetensors(bytes)).toThrow(
      "Tensor 'w' is F32 [3], which needs 12 bytes, but its data_offsets span 8 bytes.",
    );
  });

  it('overlapping tensors', () => {
    const bytes = rawFile(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      },
      f32(3),
    );
    expect(() => decodeSafetensors(bytes)).toThrow("Tensors 'a' [0, 8] and 'b' [4, 12] overlap in the data buffer.");
  });

  it('offsets that leave a gap or trailing bytes uncovered', () => {
    const gap = rawFile(
      {
        a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
      },
      f32(3),
    );
    expect(() => decodeSafetensors(gap)).toThrow(
      'Bytes 4..8 of the data buffer belong to no tensor: the offsets do not cover the data.',
    );
    const trailing = rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(2));
    expect(() => decodeSafetensors(trailing)).toThrow(
      'Bytes 4..8 of the data buffer belong to no tensor: the offsets do not cover the data.',
    );
  });

  it('a truncated file (the tail of a valid file cut off)', () => {
    const bytes = encodeSafetensors(sample(), {});
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 3))).toThrow(/outside the data buffer/);
  });
});

describe('checking a weights file against a model', () => {
  const expected = new Map<string, ExpectedTensor>([
    ['layers.1.weight', { shape: [2, 3], dtype: 'F32' }],
    ['layers.1.bias', { shape: [2], dtype: 'F32' }],
    ['layers.3.weight', { shape: [4, 2], dtype: 'F32' }],
    ['labels', { shape: [3], dtype: 'F32' }],
  ]);

  it('names every missing, unexpected, wrong-shape and wrong-dtype tensor', () => {
    const file = decodeSafetensors(
      encodeSafetensors(
        new Map<string, SafetensorsTensor>([
          ['layers.1.weight', { dtype: 'F32', shape: [3, 2], data: new Float32Array(6) }],
          ['layers.1.bias', { dtype: 'F32', shape: [2], data: new Float32Array(2) }],
          ['labels', { dtype: 'I32', shape: [3], data: new Int32Array(3) }],
          ['layers.9.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) }],
        ]),
        {},
      ),
    );
    const check = checkAgainst(expected, file);
    expect(check.ok).toBe(false);
    expect(check.missing).toEqual(['layers.3.weight']);
    expect(check.unexpected).toEqual(['layers.9.weight']);
    expect(check.wrongShape).toEqual([{ name: 'layers.1.weight', expected: '[2, 3]', actual: '[3, 2]' }]);
    expect(check.wrongDtype).toEqual([{ name: 'labels', expected: 'F32', actual: 'I32' }]);
    expect(check.message).toBe(
      [
        'Missing from the file (1): layers.3.weight',
        'Not in the model (1): layers.9.weight',
        'Wrong shape for layers.1.weight: the model needs [2, 3], the file has [3, 2]',
        'Wrong dtype for labels: the model needs F32, the file has I32',
      ].join('\n'),
    );
    expect(() => assertMatches(expected, file)).toThrow('The weights file does not match the model:\nMissing from the file (1)');
  });

  it('accepts a file that matches exactly', () => {
    const tensors = new Map<string, SafetensorsTensor>();
    for (const [name, e] of expected) {
      const n = e.shape.reduce((a, b) => a * b, 1);
      tensors.set(name, { dtype: e.dtype, shape: [...e.shape], data: new Float32Array(n) });
    }
    const check = checkAgainst(expected, decodeSafetensors(encodeSafetensors(tensors, {})));
    expect(check).toEqual({ ok: true, missing: [], unexpected: [], wrongShape: [], wrongDtype: [], message: '' });
  });
});
