import { test, expect } from './fixtures.ts';
import { unnamedControls } from './a11y.ts';

const VIEWS = ['datasets', 'models', 'train', 'compare', 'inspect', 'system'];

test('every control in every view has an accessible name', async ({ page, lab }) => {
  await page.goto(lab.launchUrl + '#/datasets');
  for (const v of VIEWS) {
    await page.getByRole('link', { name: v[0].toUpperCase() + v.slice(1) }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(v[0].toUpperCase() + v.slice(1));
    await page.waitForTimeout(800);
    expect(await unnamedControls(page), `unnamed controls in the ${v} view`).toEqual([]);
  }
  // The custom layer editor and an opened augmentation section have many small controls.
  await page.getByRole('link', { name: 'Models' }).click();
  await page.getByTestId('model-card-custom').click();
  await expect(page.getByRole('heading', { name: 'Layer stack', exact: true })).toBeVisible();
  expect(await unnamedControls(page), 'unnamed controls in the layer-stack editor').toEqual([]);
});

test('the main flow works from the keyboard: tab to a model card, choose it, change an option', async ({ page, lab }) => {
  await page.goto(lab.launchUrl + '#/models');
  await expect(page.getByTestId('model-card-lenet5')).toBeVisible();
  // Tab from the navigation into the zoo.
  await page.getByRole('link', { name: 'Models' }).focus();
  let found = false;
  for (let i = 0; i < 30 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'model-card-mlp');
  }
  expect(found).toBe(true);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'MLP (fully connected)', level: 2 })).toBeVisible();
  const hidden = page.getByLabel('Hidden');
  await hidden.focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('64');
  await expect(page.getByTestId('layer-table')).toContainText('[64]');
});
