import { test, expect } from './fixtures.ts';
import { shot } from './shots.ts';

test('the Models view: zoo, options, live layer table with totals, block diagram', async ({ page, lab }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(lab.launchUrl + '#/models');
  await page.getByTestId('model-card-lenet5').click();
  await expect(page.getByRole('heading', { name: 'LeNet-5', level: 2 })).toBeVisible();
  await expect(page.getByText('What it teaches:')).toBeVisible();
  const table = page.getByTestId('layer-table');
  await expect(page.getByTestId('total-params')).toHaveText('61,706');
  await expect(table).toContainText('maxpool2d');
  await expect(page.getByTestId('block-diagram')).toBeVisible();
  // Options change the table live: the 1998 variant pools by averaging.
  await page.getByLabel('Variant').selectOption('classic1998');
  await expect(table).toContainText('avgpool2d');
  await expect(table).not.toContainText('maxpool2d');
  await page.getByLabel('Variant').selectOption('modern');
  await expect(table).toContainText('maxpool2d');
  await shot(page, 'models-view');

  // Keyboard: the zoo cards are buttons.
  await page.getByTestId('model-card-resnet').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'ResNet', level: 2 })).toBeVisible();
  await expect(page.getByTestId('total-params')).not.toHaveText('61,706');
  expect(errors).toEqual([]);
});

test('the custom layer-stack editor marks the layer with the shape error', async ({ page, lab }) => {
  await page.goto(lab.launchUrl + '#/models');
  await page.getByTestId('model-card-custom').click();
  await expect(page.getByTestId('layer-table')).toBeVisible();
  // The starter stack is valid; removing its flatten feeds an image to a linear layer.
  await page.getByRole('button', { name: 'Remove layer 7 (Flatten)' }).click();
  const bad = page.getByTestId('stack-layer-6');
  await expect(bad).toHaveAttribute('aria-invalid', 'true');
  await expect(bad).toContainText('linear');
  await shot(page, 'models-custom-error');
  // Putting a flatten back fixes it.
  await page.getByLabel('Layer type to add').selectOption('flatten');
  await page.getByRole('button', { name: 'Add layer' }).click();
  await page.getByRole('button', { name: 'Move layer 8 up' }).click();
  await expect(page.getByTestId('stack-layer-6')).not.toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('layer-table')).toBeVisible();
});

test('dark theme', async ({ page, lab }) => {
  await page.goto(lab.launchUrl + '#/datasets');
  await page.getByRole('button', { name: 'Switch to dark theme' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByTestId('sample-sheet')).toBeVisible();
  await page.waitForTimeout(500);
  await shot(page, 'datasets-dark');
  await page.getByRole('link', { name: 'Models' }).click();
  await expect(page.getByTestId('layer-table')).toBeVisible();
  await page.waitForTimeout(500);
  await shot(page, 'models-dark');
  await page.getByRole('button', { name: 'Switch to light theme' }).click();
});
