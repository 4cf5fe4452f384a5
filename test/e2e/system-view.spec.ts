import { test, expect } from './fixtures.ts';
import { shot } from './shots.ts';

test('the System view shows the SwiftShader WebGPU adapter and the host facts', async ({ page, lab }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(lab.launchUrl + '#/system');

  // The token is moved out of the address bar once read.
  await expect(page).not.toHaveURL(/token=/);
  await expect(page.getByRole('navigation', { name: 'Lab sections' })).toBeVisible();
  for (const name of ['Datasets', 'Models', 'Train', 'Compare', 'Inspect', 'System']) {
    await expect(page.getByRole('link', { name })).toBeVisible();
  }
  await expect(page.getByRole('heading', { name: 'WebGPU adapter' })).toBeVisible();
  const vendor = page.getByTestId('adapter-vendor');
  await expect(vendor).toBeVisible();
  await expect(page.getByTestId('gpu-panel')).toContainText(/swiftshader/i);
  await expect(page.getByTestId('adapter-kind')).toHaveText(/software adapter/);
  await expect(page.getByTestId('data-dir')).toHaveText(lab.dataDir);
  await expect(page.getByTestId('host-kind')).toHaveText('browser (web host)');
  await page.screenshot({ path: test.info().outputPath('system-view.png'), fullPage: true });
  await shot(page, 'system-view');
  expect(errors).toEqual([]);
});

test('navigation works from the keyboard and every view has an empty state', async ({ page, lab }) => {
  await page.goto(lab.launchUrl);
  await expect(page.getByRole('heading', { name: 'Datasets', level: 1 })).toBeVisible();
  await page.getByRole('link', { name: 'Models' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Models', level: 1 })).toBeVisible();
  await expect(page).toHaveURL(/#\/models$/);
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Models', level: 1 })).toBeVisible();
});

test('the page without the token is refused', async ({ page, lab }) => {
  const res = await page.goto(lab.url);
  expect(res?.status()).toBe(401);
});
