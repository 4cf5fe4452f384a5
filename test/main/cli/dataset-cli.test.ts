/** `layerlab dataset …` through the CLI router, on a temp data dir: real files in, exact messages out. */
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src-main/cli/index.ts';
import { makeTempDir } from '../helpers/tmp-data-dir.ts';
import { writeCifar10Binary } from '../helpers/cifar-files.ts';

const dataDir = makeTempDir();
const scratch = makeTempDir();

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await main([...argv, '--data-dir', dataDir]);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

describe('layerlab dataset', () => {
  it('lists the shipped sample in a new data directory', async () => {
    const r = await run('dataset', 'list', '--json');
    expect(r.code).toBe(0);
    const list = r.out.split('\n').map((l) => JSON.parse(l) as { id: string });
    expect(list.map((d) => d.id)).toEqual(['fashion-mnist-sample']);
  });

  it('imports CIFAR-10 binary files, recognises the same files again, shows and deletes the dataset', async () => {
    const src = writeCifar10Binary(join(scratch, 'cifar-10-batches-bin'), 10, 5, 10);
    const first = await run('dataset', 'import', src, '--json', '--name', 'Mini CIFAR');
    expect(first.code).toBe(0);
    const { id, existing } = JSON.parse(first.out) as { id: string; existing: boolean };
    expect(existing).toBe(false);
    const again = await run('dataset', 'import', src, '--json');
    expect(JSON.parse(again.out)).toEqual({ id, existing: true });
    const show = await run('dataset', 'show', id);
    expect(show.out).toContain('Mini CIFAR');
    expect(show.out).toContain('32×32, RGB');
    expect(show.out).toMatch(/train:\s+50/);
    const del = await run('dataset', 'delete', id);
    expect(del.out).toBe(`Deleted ${id}.`);
    expect(existsSync(join(dataDir, 'datasets', id))).toBe(false);
  });

  it('writes a preview sheet and augmentation variants as PNG files', async () => {
    const sheet = join(scratch, 'sheet.png');
    const r = await run('dataset', 'preview', 'fashion-mnist-sample', '--out', sheet, '--per-class', '3');
    expect(r.code).toBe(0);
    expect(readFileSync(sheet).subarray(1, 4).toString()).toBe('PNG');
    const dir = join(scratch, 'aug');
    const a = await run('dataset', 'preview-augment', 'fashion-mnist-sample', '--pipeline', '[{"op":"rotate","degrees":20,"p":1}]', '--out', dir, '--n', '4');
    expect(a.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['variant-0.png', 'variant-1.png', 'variant-2.png', 'variant-3.png']);
  });

  it('fails with a plain message for bad input', async () => {
    const missing = await run('dataset', 'show', 'no-such-set');
    expect(missing.code).toBe(1);
    expect(missing.err).toBe('layerlab dataset: No dataset "no-such-set" in the library. List the library to see the ids it holds.');
    const badJson = await run('dataset', 'augment-preview', 'fashion-mnist-sample', '--pipeline', '{oops', '--out', scratch);
    expect(badJson.err).toContain('--pipeline is not valid JSON');
    const junk = await run('dataset', 'import', join(scratch, 'sheet.png'));
    expect(junk.code).toBe(1);
    // One loose PNG reads as an image folder with a single class: refused, nothing written.
    expect(junk.err).toMatch(/^layerlab dataset: Only one class \("layerlab-test-[^"]+"\) found; a classification dataset needs at least two class folders\.$/);
    expect(readdirSync(join(dataDir, 'datasets')).filter((n) => !n.startsWith('.'))).toEqual(['fashion-mnist-sample']);
  });
});
