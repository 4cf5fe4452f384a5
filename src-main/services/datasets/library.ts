/**
 * The dataset library: the `datasets/` folder of the data dir. Every
 * sub-folder with a valid `dataset.json` is a dataset; anything else (a
 * folder without a manifest, a leftover temp folder) is ignored by `list`
 * and cleaned up by `cleanupStaleTemp`.
 */
import { readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataDirLayout } from '../data-dir.ts';
import { gunzipChecked } from './bytes.ts';
import { DatasetFormatError, DatasetNotFoundError, DatasetRequestError } from './errors.ts';
import {
  datasetIdSchema,
  datasetManifestSchema,
  type DatasetInfo,
  type DatasetManifest,
  type SplitData,
  type SplitName,
} from './format.ts';
import { runImport, type ImportOptions } from './import-files.ts';

export interface ImportResult {
  dataset: DatasetInfo;
  /** True when these exact files were imported before: the existing dataset is returned, nothing is written. */
  existing: boolean;
}

export class DatasetLibrary {
  constructor(readonly layout: DataDirLayout) {}

  private dirOf(id: string): string {
    const parsed = datasetIdSchema.safeParse(id);
    if (!parsed.success) throw new DatasetNotFoundError(id);
    return join(this.layout.datasets, id);
  }

  private async readManifest(dir: string): Promise<DatasetManifest> {
    const file = join(dir, 'dataset.json');
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      throw new DatasetFormatError(`${file}: cannot read the dataset manifest (${(e as Error).message}). Delete the folder and import the dataset again.`, file);
    }
    const r = datasetManifestSchema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new DatasetFormatError(
        `${file}: field "${issue.path.join('.')}" is invalid (${issue.message}). The manifest was edited or written by a newer LayerLab; import the dataset again.`,
        file,
      );
    }
    return r.data;
  }

  async list(): Promise<DatasetInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.layout.datasets);
    } catch {
      return [];
    }
    const out: DatasetInfo[] = [];
    for (const name of names.sort()) {
      if (!datasetIdSchema.safeParse(name).success) continue;
      const dir = join(this.layout.datasets, name);
      try {
        const m = await this.readManifest(dir);
        out.push({ ...m, dir, readOnly: false });
      } catch {
        // Unreadable or partial folders are not datasets; they never appear in the list.
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<DatasetInfo> {
    const dir = this.dirOf(id);
    try {
      await readFile(join(dir, 'dataset.json'));
    } catch {
      throw new DatasetNotFoundError(id);
    }
    return { ...(await this.readManifest(dir)), dir, readOnly: false };
  }

  async rename(id: string, name: string): Promise<DatasetInfo> {
    const trimmed = name.trim();
    if (trimmed.length === 0 || trimmed.length > 200) throw new DatasetRequestError('A dataset name must be 1–200 characters.');
    const info = await this.get(id);
    const { dir: _dir, readOnly: _ro, ...manifest } = info;
    const next: DatasetManifest = datasetManifestSchema.parse({ ...manifest, name: trimmed });
    // Write-then-rename so a crash never leaves a half-written manifest.
    const tmp = join(info.dir, `.dataset.json.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(next, null, 2) + '\n');
    await rename(tmp, join(info.dir, 'dataset.json'));
    return { ...next, dir: info.dir, readOnly: false };
  }

  async delete(id: string): Promise<void> {
    const info = await this.get(id);
    // Move out of the library first (atomic), then remove: a crash mid-delete leaves only tmp litter.
    const trash = join(this.layout.tmp, `delete-${process.pid}-${id}-${Date.now()}`);
    await rename(info.dir, trash);
    await rm(trash, { recursive: true, force: true });
  }

  async findBySourceKey(sourceKey: string): Promise<DatasetInfo | undefined> {
    return (await this.list()).find((d) => d.sourceKey === sourceKey);
  }

  /** Reads one split fully into memory (a few hundred MB at most for CIFAR-100). */
  async readSplit(id: string, split: SplitName): Promise<SplitData> {
    const info = await this.get(id);
    const entry = info.splits[split];
    if (!entry) throw new DatasetRequestError(`Dataset "${info.name}" has no ${split} split.`);
    const [h, w, c] = info.shape;
    const read = async (name: string, expectBytes: number): Promise<Uint8Array> => {
      const file = join(info.dir, name);
      let b: Uint8Array = await readFile(file);
      if (name.endsWith('.gz')) b = await gunzipChecked(b, file);
      if (b.length !== expectBytes) {
        throw new DatasetFormatError(`${file}: holds ${b.length} bytes, the manifest says ${expectBytes}. The dataset is damaged; import it again.`, file);
      }
      // A plain Uint8Array view (not a Buffer) so callers can transfer or slice it like any typed array.
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    };
    const images = await read(entry.images, entry.count * h * w * c);
    const rawLabels = await read(entry.labels, entry.count * info.labelBytes);
    let labels: Uint8Array | Uint16Array;
    if (info.labelBytes === 2) {
      const dv = new DataView(rawLabels.buffer, rawLabels.byteOffset, rawLabels.byteLength);
      labels = new Uint16Array(entry.count);
      for (let i = 0; i < entry.count; i++) labels[i] = dv.getUint16(i * 2, true);
    } else labels = rawLabels;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] >= info.classNames.length) {
        throw new DatasetFormatError(`${join(info.dir, entry.labels)}: label #${i} is ${labels[i]} but there are ${info.classNames.length} classes. The dataset is damaged; import it again.`);
      }
    }
    const out: SplitData = { images, labels, count: entry.count, shape: info.shape };
    if (entry.coarseLabels) out.coarseLabels = await read(entry.coarseLabels, entry.count);
    return out;
  }

  /** Imports files/folders/archives; see import-files.ts. */
  async importFiles(paths: string[], opts: ImportOptions = {}): Promise<ImportResult> {
    const { manifest, existing } = await runImport(this.layout, paths, opts, (key) => this.findBySourceKey(key));
    return { dataset: await this.get(manifest.id), existing };
  }

  /** Removes temp folders left by a process killed mid-import or mid-delete. Call once at start-up. */
  async cleanupStaleTemp(): Promise<number> {
    let n = 0;
    try {
      for (const name of await readdir(this.layout.tmp)) {
        const m = /^(import|write|delete|sample)-(\d+)-/.exec(name);
        // Another process (the app and the CLI share the data dir) may be importing right now: keep its folders.
        if (m && !processAlive(Number(m[2]))) {
          await rm(join(this.layout.tmp, name), { recursive: true, force: true });
          n++;
        }
      }
    } catch {
      // no tmp folder yet
    }
    return n;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
