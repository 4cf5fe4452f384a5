import { join } from 'node:path';
import { test, expect } from './fixtures.ts';
import { dropFiles } from './drop.ts';
import { shot } from './shots.ts';

const FASHION = '/usr/share/datasets/fashion-mnist';
const FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].map((f) => join(FASHION, f));

test('the Datasets view shows the shipped sample with its gallery, histogram and augmentations', async ({ page, lab }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(lab.launchUrl + '#/datasets');
  await expect(page.getByRole('heading', { name: 'Datasets', level: 1 })).toBeVisible();
  const card = page.getByTestId('dataset-card-fashion-mnist-sample');
  await expect(card).toContainText('Fashion-MNIST sample');
  await expect(card).toContainText('3,000');
  await expect(card).toContainText('10 classes');
  await expect(page.getByTestId('sample-sheet')).toBeVisible();
  await expect(page.getByTestId('augment-grid').locator('img')).toHaveCount(16);
  // The editor changes the live grid: add a horizontal flip.
  await page.getByLabel('Augmentation to add').selectOption('hflip');
  await page.getByRole('button', { name: 'Add step' }).click();
  await expect(page.getByTestId('aug-step-2')).toContainText('Horizontal flip');
  await shot(page, 'datasets-view');
  expect(errors).toEqual([]);
});

test('dropping the real Fashion-MNIST files on the window imports them as a new dataset', async ({ page, lab }) => {
  await page.goto(lab.launchUrl + '#/models');
  await expect(page.getByRole('heading', { name: 'Models', level: 1 })).toBeVisible();
  await dropFiles(page, FILES);
  // The drop switches to the Datasets view, uploads, imports and selects the new dataset.
  await expect(page.getByRole('heading', { name: 'Datasets', level: 1 })).toBeVisible();
  await expect(page.getByTestId('import-notice')).toContainText('60,000 training and 10,000 test images', { timeout: 120_000 });
  const detail = page.getByTestId('dataset-detail');
  await expect(detail).toContainText('Fashion-MNIST');
  const cards = page.getByRole('list', { name: 'Datasets in the library' }).getByRole('button');
  await expect(cards).toHaveCount(2);
  await expect(page.getByTestId('sample-sheet')).toBeVisible();
  await shot(page, 'datasets-imported');
});
