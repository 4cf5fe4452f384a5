/**
 * Drops real files on the page the way a user's drag from the file manager
 * does: the files go through a (hidden) file input to become real File
 * objects (Playwright hands Chromium their paths, no copying through the
 * test), then dragenter / dragover / drop carry them in a DataTransfer.
 */
import type { Page } from '@playwright/test';

export async function dropFiles(page: Page, paths: string[]): Promise<void> {
  await page.evaluate(() => {
    const input = document.createElement('input');
    input.type = 'file';
    input.multiple = true;
    input.id = '__e2e_drop_source';
    input.style.display = 'none';
    document.body.appendChild(input);
  });
  await page.setInputFiles('#__e2e_drop_source', paths);
  await page.evaluate(async () => {
    const input = document.getElementById('__e2e_drop_source') as HTMLInputElement;
    const dt = new DataTransfer();
    for (const f of input.files ?? []) dt.items.add(f);
    const target = document.querySelector('main') ?? document.body;
    const fire = (type: string): void => {
      target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    };
    fire('dragenter');
    fire('dragover');
    // Let the overlay render, as it would while the user hovers.
    await new Promise((r) => setTimeout(r, 300));
    fire('drop');
    input.remove();
  });
}
