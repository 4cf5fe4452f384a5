/**
 * A bare page for end-to-end tests of browser training (test/e2e/train-in-browser.spec.ts):
 * exposes the API client and `trainInBrowser` on `window.layerlabHarness`, without the app's
 * views. It needs the host's token like every page (open it with `?token=`).
 */
import { api } from '../api/client.ts';
import { trainInBrowser } from './client.ts';

declare global {
  interface Window {
    layerlabHarness?: { api: typeof api; trainInBrowser: typeof trainInBrowser };
  }
}

window.layerlabHarness = { api, trainInBrowser };
document.body.dataset.ready = 'true';
