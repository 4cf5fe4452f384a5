/**
 * `layerlab dataset …`: the dataset library from the terminal — the same
 * services the app calls (import, download, list, show, rename, delete,
 * preview sheets, augmentation previews).
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from './index.ts';
import { parse, UsageError } from './args.ts';
import { interruptSignal, terminalProgress } from './progress.ts';
import { ensureDataDir, resolveDataDir } from '../services/data-dir.ts';
import { DatasetLibrary, downloadAndImport, ensureSampleInstalled, previewDataset, KNOWN_DOWNLOADS, type DatasetInfo } from '../services/datasets/index.ts';
import { previewAugment } from '../services/augment/preview.ts';
import { rawImage } from '../services/augment/raw-image.ts';

const USAGE = `Usage: layerlab dataset <action> [options] [--data-dir <dir>]

Actions:
  list [--json]                         datasets in the library
  show <id> [--json]                    one dataset: splits, classes, counts, mean/std, provenance
  import <path…> [--name N]             MNIST/Fashion-MNIST IDX (raw or .gz), CIFAR-10/100 (binary or python,
         [--size S --grayscale]         loose or .tar.gz), or an image folder (<class>/*.png|jpg|webp, zip ok);
                                        the format is detected from the content. --size/--grayscale: image folders
  download <${Object.keys(KNOWN_DOWNLOADS).join('|')}>
                                        from the official sites (checksums verified, resumable)
  rename <id> <new name>
  delete <id>
  preview <id> --out <file.png> [--split train|test] [--per-class N]
                                        a thumbnail sheet per class
  augment-preview <id> --pipeline <json> --out <dir> [--index I] [--n N] [--seed S]   (alias: preview-augment)
                                        N augmented variants of one image as PNGs

Ctrl-C cancels an import or download; nothing half-written is left behind.
--json prints one JSON object per line on stdout; errors go to stderr with a non-zero exit code.`;

function summaryLine(d: DatasetInfo): string {
  const [h, w, c] = d.shape;
  const test = d.splits.test ? `${d.splits.test.count.toLocaleString('en-US')} test` : 'no test split';
  return `${d.id.padEnd(28)} ${d.name.slice(0, 30).padEnd(30)} ${`${h}×${w}×${c}`.padEnd(9)} ${String(d.classNames.length).padStart(4)} classes  ${d.splits.train.count.toLocaleString('en-US')} train, ${test}`;
}

function detail(d: DatasetInfo): string {
  const [h, w, c] = d.shape;
  return [
    `${d.name} (${d.id})`,
    `  kind:     ${d.kind}`,
    `  images:   ${h}×${w}, ${c === 1 ? 'grayscale' : 'RGB'}`,
    `  train:    ${d.splits.train.count.toLocaleString('en-US')}`,
    `  test:     ${d.splits.test ? d.splits.test.count.toLocaleString('en-US') : '—'}`,
    `  mean/std: ${d.mean.map((m) => m.toFixed(2)).join(', ')} / ${d.std.map((s) => s.toFixed(2)).join(', ')} (0–255)`,
    `  source:   ${d.provenance.source}${d.provenance.licence ? ` (${d.provenance.licence})` : ''}`,
    `  folder:   ${d.dir}`,
    '  classes:',
    ...d.classNames.map((n, i) => `    ${String(i).padStart(3)} ${n.padEnd(24)} ${d.splits.train.classCounts[i]} train${d.splits.test ? `, ${d.splits.test.classCounts[i]} test` : ''}`),
  ].join('\n');
}

export const datasetCommand: Command = {
  name: 'dataset',
  summary: 'import, download, list, show, rename, delete and preview datasets',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      json: { type: 'boolean' },
      name: { type: 'string' },
      size: { type: 'string' },
      grayscale: { type: 'boolean' },
      out: { type: 'string' },
      split: { type: 'string' },
      'per-class': { type: 'string' },
      pipeline: { type: 'string' },
      index: { type: 'string' },
      n: { type: 'string' },
      seed: { type: 'string' },
      'data-dir': { type: 'string' },
    });
    const [action, ...args] = positionals;
    const layout = ensureDataDir(resolveDataDir(values['data-dir']));
    const lib = new DatasetLibrary(layout);
    await lib.cleanupStaleTemp();
    await ensureSampleInstalled(layout);
    const int = (v: string | undefined, name: string, lo: number, hi: number, dflt: number): number => {
      if (v === undefined) return dflt;
      const n = Number(v);
      if (!Number.isInteger(n) || n < lo || n > hi) throw new UsageError(`--${name} must be an integer from ${lo} to ${hi}`);
      return n;
    };
    const split = values.split ?? 'train';
    if (split !== 'train' && split !== 'test') throw new UsageError('--split must be train or test');

    switch (action) {
      case 'list': {
        const list = await lib.list();
        if (values.json) for (const d of list) console.log(JSON.stringify(d));
        else if (list.length === 0) console.log('The library is empty. Import files with `layerlab dataset import <path>` or `layerlab dataset download fashion-mnist`.');
        else console.log(list.map(summaryLine).join('\n'));
        return 0;
      }
      case 'show': {
        if (!args[0]) throw new UsageError('Which dataset? layerlab dataset show <id>');
        const d = await lib.get(args[0]);
        console.log(values.json ? JSON.stringify(d) : detail(d));
        return 0;
      }
      case 'import':
      case 'download': {
        if (!args.length) throw new UsageError(action === 'import' ? 'Give the files or folders to import.' : `Which dataset? ${Object.keys(KNOWN_DOWNLOADS).join(', ')}`);
        const bar = terminalProgress(action === 'import' ? 'Importing' : 'Downloading');
        const { signal, dispose } = interruptSignal();
        try {
          const onProgress = (p: { phase: string; done: number; total: number }) => bar.update(p.phase, p.done, p.total);
          const r =
            action === 'import'
              ? await lib.importFiles(args.map((p) => resolve(p)), {
                  name: values.name,
                  signal,
                  onProgress,
                  imageFolder: { size: int(values.size, 'size', 4, 512, 32), channels: values.grayscale ? 1 : 3 },
                })
              : await downloadAndImport(lib, args[0] as keyof typeof KNOWN_DOWNLOADS, { signal, onProgress });
          bar.end();
          if (values.json) console.log(JSON.stringify({ id: r.dataset.id, existing: r.existing }));
          else console.log(`${r.existing ? 'Already in the library (same files, by checksum)' : 'Imported'}: ${summaryLine(r.dataset)}`);
          return 0;
        } finally {
          dispose();
        }
      }
      case 'rename': {
        if (args.length < 2) throw new UsageError('layerlab dataset rename <id> <new name>');
        const d = await lib.rename(args[0], args.slice(1).join(' '));
        console.log(`Renamed: ${summaryLine(d)}`);
        return 0;
      }
      case 'delete': {
        if (!args[0]) throw new UsageError('layerlab dataset delete <id>');
        await lib.delete(args[0]);
        console.log(`Deleted ${args[0]}.`);
        return 0;
      }
      case 'preview': {
        if (!args[0] || !values.out) throw new UsageError('layerlab dataset preview <id> --out <file.png>');
        const p = await previewDataset(lib, args[0], split, { perClass: int(values['per-class'], 'per-class', 1, 32, 8) });
        await writeFile(values.out, Buffer.from(p.sheetPngBase64, 'base64'));
        console.log(`Wrote ${values.out} (${p.sheetWidth}×${p.sheetHeight}, ${p.rowClasses.length} classes).`);
        return 0;
      }
      case 'augment-preview':
      case 'preview-augment': {
        if (!args[0] || !values.out || !values.pipeline) throw new UsageError('layerlab dataset augment-preview <id> --pipeline <json> --out <dir>');
        let pipeline: unknown;
        try {
          pipeline = JSON.parse(values.pipeline);
        } catch {
          throw new UsageError('--pipeline is not valid JSON, e.g. \'[{"op":"hflip","p":0.5}]\'');
        }
        const data = await lib.readSplit(args[0], split);
        const index = int(values.index, 'index', 0, data.count - 1, 0);
        const [h, w, c] = data.shape;
        const px = h * w * c;
        const pngs = await previewAugment(rawImage(data.images.slice(index * px, (index + 1) * px), h, w, c as 1 | 3), pipeline, int(values.n, 'n', 1, 64, 8), {
          seed: int(values.seed, 'seed', 0, 2 ** 31 - 1, 0),
        });
        await mkdir(values.out, { recursive: true });
        for (let k = 0; k < pngs.length; k++) await writeFile(join(values.out, `variant-${k}.png`), pngs[k]);
        console.log(`Wrote ${pngs.length} variants of ${split} image #${index} to ${values.out}.`);
        return 0;
      }
      default:
        throw new UsageError(action ? `Unknown action "${action}".\n\n${USAGE}` : USAGE);
    }
  },
};
