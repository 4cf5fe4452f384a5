/** Class-name text files (CIFAR's batches.meta.txt, *_label_names.txt): one name per line. */
import { readFile } from 'node:fs/promises';
import type { InputFile } from '../scan.ts';

/** Reads every small text file that looks like a list of names; returns them by line count. */
export async function readNameLists(files: InputFile[]): Promise<{ file: InputFile; names: string[] }[]> {
  const out: { file: InputFile; names: string[] }[] = [];
  for (const f of files) {
    if (f.kind !== 'text' || f.gzip) continue;
    const text = await readFile(f.path, 'utf8');
    if (text.length > 64 * 1024) continue;
    const names = text
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    // Names are short identifiers; HTML readmes and prose are not name lists.
    if (names.length === 0 || names.some((n) => n.length > 60 || n.includes('<'))) continue;
    out.push({ file: f, names });
  }
  return out;
}

export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
