/**
 * Builds the Fashion-MNIST sample shipped in resources/sample/: 300 training
 * and 100 test images per class, taken from Debian's dataset-fashion-mnist
 * (MIT, Zalando SE), written in the library format with gzip'd data files.
 *
 * The choice is deterministic: within each class, images are ordered by a
 * seeded hash of their index and the first N kept, then put back in source
 * order. Running it twice gives identical files.
 *
 *   node --import tsx scripts/make-sample.ts [--source /usr/share/datasets/fashion-mnist] [--out resources/sample]
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DataDirLayout } from '../src-main/services/data-dir.ts';
import { readMaybeGzip, sha256, sha256File } from '../src-main/services/datasets/bytes.ts';
import { parseIdxImages, parseIdxLabels } from '../src-main/services/datasets/idx.ts';
import { writeDataset } from '../src-main/services/datasets/writer.ts';
import { FASHION_MNIST_CLASSES } from '../src-main/services/datasets/importers/known-datasets.ts';
import { SAMPLE_ID } from '../src-main/services/datasets/sample.ts';
import { hashKeys } from '../src-main/services/augment/rng.ts';
import type { SourceFile } from '../src-main/services/datasets/format.ts';

const SEED = 20170825; // Fashion-MNIST's arXiv submission date; any fixed number would do.
const PER_CLASS = { train: 300, test: 100 } as const;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

const source = arg('--source', '/usr/share/datasets/fashion-mnist');
const outRoot = resolve(arg('--out', 'resources/sample'));
const files = {
  trainImages: join(source, 'train-images-idx3-ubyte.gz'),
  trainLabels: join(source, 'train-labels-idx1-ubyte.gz'),
  testImages: join(source, 't10k-images-idx3-ubyte.gz'),
  testLabels: join(source, 't10k-labels-idx1-ubyte.gz'),
};
for (const f of Object.values(files)) {
  if (!existsSync(f)) {
    console.error(`${f} is missing. Install Debian's Fashion-MNIST: apt-get install dataset-fashion-mnist`);
    process.exit(1);
  }
}

async function pick(imagesFile: string, labelsFile: string, perClass: number, stream: number): Promise<{ images: Uint8Array; labels: Uint8Array }> {
  const im = parseIdxImages(await readMaybeGzip(imagesFile), imagesFile);
  const lb = parseIdxLabels(await readMaybeGzip(labelsFile), labelsFile);
  const chosen: number[] = [];
  for (let c = 0; c < 10; c++) {
    const idx: number[] = [];
    for (let i = 0; i < lb.length; i++) if (lb[i] === c) idx.push(i);
    idx.sort((a, b) => hashKeys(SEED, stream, a) - hashKeys(SEED, stream, b) || a - b);
    if (idx.length < perClass) throw new Error(`class ${c} has only ${idx.length} images`);
    chosen.push(...idx.slice(0, perClass));
  }
  chosen.sort((a, b) => a - b);
  const px = im.rows * im.cols;
  const images = new Uint8Array(chosen.length * px);
  const labels = new Uint8Array(chosen.length);
  chosen.forEach((src, k) => {
    images.set(im.pixels.subarray(src * px, (src + 1) * px), k * px);
    labels[k] = lb[src];
  });
  return { images, labels };
}

const train = await pick(files.trainImages, files.trainLabels, PER_CLASS.train, 1);
const test = await pick(files.testImages, files.testLabels, PER_CLASS.test, 2);
const sources: SourceFile[] = [];
for (const [, f] of Object.entries(files)) {
  const { size } = await import('node:fs').then((m) => m.statSync(f));
  sources.push({ name: `fashion-mnist/${f.split('/').pop()}`, bytes: size, sha256: await sha256File(f) });
}
sources.sort((a, b) => a.name.localeCompare(b.name));
// Distinct from the key of a full import of the same files, so importing the
// full dataset is not mistaken for a re-import of the sample.
const sourceKey = sha256(`sample:${SEED}:` + sources.map((s) => s.sha256).join('\n'));

await rm(join(outRoot, SAMPLE_ID), { recursive: true, force: true });
await mkdir(outRoot, { recursive: true });
const layout: DataDirLayout = {
  root: outRoot,
  datasets: outRoot,
  tmp: join(outRoot, '.tmp'),
  runs: join(outRoot, '.tmp'),
  exports: join(outRoot, '.tmp'),
  settings: join(outRoot, '.tmp', 'settings.json'),
};
await writeDataset(
  layout,
  {
    name: 'Fashion-MNIST sample',
    kind: 'sample',
    shape: [28, 28, 1],
    classNames: FASHION_MNIST_CLASSES,
    splits: { train, test },
    provenance: {
      source:
        `Balanced sample of Fashion-MNIST: ${PER_CLASS.train} training and ${PER_CLASS.test} test images per class, ` +
        `chosen by scripts/make-sample.ts (seed ${SEED}) from Debian's dataset-fashion-mnist package (0.0~git20200523.55506a9-1).`,
      licence: 'MIT (Expat), Copyright 2017 Zalando SE; see LICENSE in this folder',
      url: 'https://github.com/zalandoresearch/fashion-mnist',
      notes: 'Xiao, Rasul, Vollgraf: Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms, arXiv:1708.07747 (2017).',
    },
  },
  sources,
  sourceKey,
  { gzip: true, created: '2017-08-25T00:00:00.000Z', id: SAMPLE_ID },
);
await rm(layout.tmp, { recursive: true, force: true });
await writeFile(
  join(outRoot, SAMPLE_ID, 'LICENSE'),
  `Fashion-MNIST sample (images and labels in this folder)

The MIT License (MIT)

Copyright © 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the “Software”), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED “AS IS”, WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`,
);
console.log(`wrote ${join(outRoot, SAMPLE_ID)}: ${train.labels.length} train + ${test.labels.length} test images`);
