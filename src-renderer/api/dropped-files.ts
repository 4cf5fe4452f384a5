/**
 * What the user dropped, in the form each host needs: Electron gets real
 * paths (the importer reads files and folders itself); the web host gets the
 * files with their paths relative to the drop, so a dropped folder of class
 * sub-folders arrives as `flowers/daisy/1.jpg` and stays an image folder.
 */

export interface DroppedFile {
  file: File;
  /** Path relative to the drop, `/`-separated, e.g. `train-images-idx3-ubyte.gz` or `pets/cat/1.png`. */
  path: string;
}

export type Dropped = { kind: 'paths'; paths: string[] } | { kind: 'files'; files: DroppedFile[] };

// Minimal shapes of the File and Directory Entries API (not in lib.dom for every TS version).
interface EntryLike {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  fullPath: string;
}
interface FileEntryLike extends EntryLike {
  file(ok: (f: File) => void, fail: (e: unknown) => void): void;
}
interface DirEntryLike extends EntryLike {
  createReader(): { readEntries(ok: (entries: EntryLike[]) => void, fail: (e: unknown) => void): void };
}

/** Hidden files a desktop adds to folders; never data. */
const JUNK = /(^|\/)(\.DS_Store|Thumbs\.db|desktop\.ini|__MACOSX(\/.*)?)$/i;

async function readDir(dir: DirEntryLike): Promise<EntryLike[]> {
  const reader = dir.createReader();
  const all: EntryLike[] = [];
  // readEntries returns at most ~100 entries per call: read until it returns none.
  for (;;) {
    const batch = await new Promise<EntryLike[]>((ok, fail) => reader.readEntries(ok, fail));
    if (!batch.length) return all;
    all.push(...batch);
  }
}

async function walk(entry: EntryLike, out: DroppedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((ok, fail) => (entry as FileEntryLike).file(ok, fail));
    const path = entry.fullPath.replace(/^\/+/, '') || entry.name;
    if (!JUNK.test(path)) out.push({ file, path });
  } else if (entry.isDirectory) {
    for (const child of await readDir(entry as DirEntryLike)) await walk(child, out);
  }
}

/**
 * Collects the dropped files. Must be called synchronously inside the drop
 * handler: the browser empties `dataTransfer.items` when the handler returns
 * (the entries taken here stay usable afterwards).
 */
export function collectDropped(dt: DataTransfer, pathForFile?: (f: File) => string): Promise<Dropped> {
  if (pathForFile) {
    const paths = [...dt.files].map((f) => pathForFile(f)).filter((p) => p.length > 0);
    return Promise.resolve({ kind: 'paths', paths });
  }
  const items = [...(dt.items ?? [])].filter((i) => i.kind === 'file');
  const entries: Array<EntryLike | File> = [];
  for (const item of items) {
    const entry = (item as DataTransferItem & { webkitGetAsEntry?: () => EntryLike | null }).webkitGetAsEntry?.() ?? null;
    const file = entry ? null : item.getAsFile();
    if (entry) entries.push(entry);
    else if (file) entries.push(file);
  }
  if (!items.length) for (const f of dt.files ?? []) entries.push(f);
  return (async () => {
    const files: DroppedFile[] = [];
    for (const e of entries) {
      if (e instanceof File) files.push({ file: e, path: e.name });
      else await walk(e, files);
    }
    return { kind: 'files', files };
  })();
}

/** Files picked with an <input type=file> (webkitdirectory keeps relative paths). */
export function fromFileList(list: FileList | File[], pathForFile?: (f: File) => string): Dropped {
  const files = [...list];
  if (pathForFile) {
    // A chosen folder arrives as its files; import the folder itself so class sub-folders keep their meaning.
    const paths = new Set<string>();
    for (const f of files) {
      const full = pathForFile(f);
      const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath ?? '';
      const sep = full.includes('\\') && !full.includes('/') ? '\\' : '/';
      const relNative = rel.split('/').join(sep);
      if (rel && full.endsWith(relNative)) paths.add(full.slice(0, full.length - relNative.length) + rel.split('/')[0]);
      else if (full) paths.add(full);
    }
    return { kind: 'paths', paths: [...paths] };
  }
  return {
    kind: 'files',
    files: files
      .map((f) => ({ file: f, path: (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name }))
      .filter((d) => !JUNK.test(d.path)),
  };
}
