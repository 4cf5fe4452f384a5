/**
 * Bounded fuzzing: valid files of every format, mutated (byte flips, runs of
 * random bytes, truncation, extension), must either import or fail with a
 * typed, user-facing error — never crash with anything else, never hang,
 * never leave a partial dataset or temp folder behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  DatasetFormatError,
  DatasetLibrary,
  DatasetRequestError,
} from '../../../src-main/services/datasets/index.ts';
import { CounterRng } from '../../../src-main/services/augment/rng.ts';
import type { DataDirLayout } from '../../../src-main/services/data-dir.ts';
import { leftovers, makeDataDir, makeTempDir } from '../helpers/tmp-data-dir.ts';
import { writeIdxSet } from '../helpers/idx-files.ts';
import { tarGz, writeCifar10Binary, writeCifar10Python } from '../helpers/cifar-files.ts';
import { makeZip } from '../helpers/zip-writer.ts';
import { solidPng } from '../helpers/images.ts';

const ITERATIONS = 24;

function mutate(b: Buffer, rng: CounterRng): Buffer {
  const out = Buffer.from(b);
  switch (rng.int(4)) {
    case 0: // flip a few bytes, biased to the header where the structure lives
      for (let k = 0, n = 1 + rng.int(4); k < n; k++) {
        const i = rng.chance(0.6) ? rng.int(Math.min(64, out.length)) : rng.int(out.length);
        out[i] ^= 1 << rng.int(8);
      }
      return out;
    case 1: {
      const i = rng.int(out.length);
      for (let k = i; k < Math.min(out.length, i + 1 + rng.int(32)); k++) out[k] = rng.nextU32() & 255;
      return out;
    }
    case 2:
      return out.subarray(0, rng.int(out.length));
    default:
      return Buffer.concat([out, Buffer.from(Array.from({ length: 1 + rng.int(100) }, () => rng.nextU32() & 255))]);
  }
}

let layout: DataDirLayout;
let cleanup: () => void;
let lib: DatasetLibrary;
let work: string;
beforeAll(() => {
  ({ layout, cleanup } = makeDataDir());
  lib = new DatasetLibrary(layout);
  work = makeTempDir('layerlab-fuzz-');
});
afterAll(() => {
  cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** Imports; on failure the error must be a typed user error and nothing may be left. */
async function importOnce(paths: string[]): Promise<'ok' | 'refused'> {
  try {
    const { dataset, existing } = await lib.importFiles(paths);
    // A mutation that kept the file valid imports; remove it so the next round starts clean.
    if (!existing) await lib.delete(dataset.id);
    return 'ok';
  } catch (e) {
    if (!(e instanceof DatasetFormatError || e instanceof DatasetRequestError)) {
      throw new Error(`untyped failure for ${paths.join(', ')}: ${(e as Error).stack}`);
    }
    expect((e as Error).message.length).toBeGreaterThan(20);
    return 'refused';
  } finally {
    expect(await lib.list()).toEqual([]);
    expect(leftovers(layout)).toEqual({ datasets: [], tmp: [] });
  }
}

async function fuzzFolder(name: string, make: (dir: string) => Promise<string[]> | string[]): Promise<{ ok: number; refused: number }> {
  const tally = { ok: 0, refused: 0 };
  const rng = new CounterRng(2024, name.length, name.charCodeAt(0));
  for (let it = 0; it < ITERATIONS; it++) {
    const dir = join(work, `${name}-${it}`);
    mkdirSync(dir, { recursive: true });
    const files = await make(dir);
    const victim = files[rng.int(files.length)];
    writeFileSync(victim, mutate(readFileSync(victim), rng));
    tally[await importOnce([dir])]++;
    rmSync(dir, { recursive: true, force: true });
  }
  return tally;
}

const listFiles = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));

describe('fuzzed imports fail cleanly', () => {
  it('IDX raw and gzip', async () => {
    const raw = await fuzzFolder('idx', (d) => writeIdxSet(d, 20, 10).files);
    const gz = await fuzzFolder('idxgz', (d) => writeIdxSet(d, 20, 10, { gzip: true }).files);
    expect(raw.ok + raw.refused + gz.ok + gz.refused).toBe(2 * ITERATIONS);
    expect(raw.refused + gz.refused).toBeGreaterThan(ITERATIONS / 2);
  });

  it('CIFAR binary and Python pickles', async () => {
    const bin = await fuzzFolder('cbin', (d) => listFiles(writeCifar10Binary(join(d, 'c'), 8, 2, 4)));
    const py = await fuzzFolder('cpy', (d) => listFiles(writeCifar10Python(join(d, 'c'), 8, 2, 4)));
    expect(bin.refused + py.refused).toBeGreaterThan(ITERATIONS / 2);
  });

  it('tar.gz and zip archives', async () => {
    const png = await solidPng(6, 6, [10, 200, 30]);
    const t = await fuzzFolder('tgz', async (d) => {
      writeCifar10Binary(join(d, 'src', 'cifar'), 8, 1, 4);
      const a = await tarGz(join(d, 'src'), 'cifar', join(d, 'cifar.tar.gz'));
      rmSync(join(d, 'src'), { recursive: true });
      return [a];
    });
    const z = await fuzzFolder('zip', (d) => {
      const p = join(d, 'pets.zip');
      writeFileSync(p, makeZip([{ name: 'pets/a/1.png', data: png }, { name: 'pets/b/1.png', data: png }, { name: 'pets/b/2.png', data: png }]));
      return [p];
    });
    expect(t.ok + t.refused + z.ok + z.refused).toBe(2 * ITERATIONS);
  });

  it('a gzip bomb is refused by the size cap without running out of memory', async () => {
    const dir = join(work, 'bomb');
    mkdirSync(dir, { recursive: true });
    // header says 1 image of 28×28; 1.1 GB of zeros follow (17 concatenated gzip members of 64 MB, ~1 MB compressed)
    const head = Buffer.alloc(16);
    head.writeUInt32BE(0x803, 0);
    head.writeUInt32BE(1, 4);
    head.writeUInt32BE(28, 8);
    head.writeUInt32BE(28, 12);
    const zeros = Buffer.alloc(64 << 20);
    const member = gzipSync(zeros, { level: 9 });
    const parts = [gzipSync(head)];
    for (let i = 0; i < 17; i++) parts.push(member);
    writeFileSync(join(dir, 'train-images'), Buffer.concat(parts)); // concatenated gzip members = one stream
    writeFileSync(join(dir, 'train-labels'), Buffer.from([0, 0, 8, 1, 0, 0, 0, 1, 3]));
    await expect(lib.importFiles([dir])).rejects.toThrow(
      'bomb/train-images: decompresses to more than the 800 bytes its header declares. The file is damaged or not what it claims to be.',
    );
    expect(leftovers(layout)).toEqual({ datasets: [], tmp: [] });
  });
});
