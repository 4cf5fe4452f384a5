/**
 * Screenshots for test-results/screenshots/: the whole page, taken with a
 * viewport as tall as the page (a full-page capture of a scrolled page draws
 * the sticky sidebar where the scroll left it).
 */
import type { Page } from '@playwright/test';

export async function shot(page: Page, name: string): Promise<void> {
  const size = page.viewportSize() ?? { width: 1280, height: 800 };
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(0, 0);
  const height = await page.evaluate(() => Math.max(document.documentElement.scrollHeight, document.body.scrollHeight));
  await page.setViewportSize({ width: size.width, height: Math.min(Math.max(height, size.height), 8000) });
  await page.waitForTimeout(250); // charts resize to the new viewport
  try {
    await page.screenshot({ path: `test-results/screenshots/${name}.png` });
  } finally {
    await page.setViewportSize(size);
  }
}
