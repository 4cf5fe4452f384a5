/**
 * Controls without an accessible name, from Chromium's own accessibility tree
 * (what a screen reader gets), so the check covers every way a name can be
 * given (label, aria-label, text, title).
 */
import type { Page } from '@playwright/test';

const CONTROL_ROLES = new Set(['button', 'textbox', 'combobox', 'checkbox', 'radio', 'spinbutton', 'slider', 'link', 'searchbox', 'listbox', 'switch', 'menuitem', 'tab']);

interface AXNode {
  ignored?: boolean;
  role?: { value?: string };
  name?: { value?: string };
  properties?: Array<{ name: string; value: { value?: unknown } }>;
}

export async function unnamedControls(page: Page): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: AXNode[] };
    return nodes
      .filter((n) => !n.ignored && CONTROL_ROLES.has(String(n.role?.value)) && !String(n.name?.value ?? '').trim())
      .map((n) => `${n.role?.value} (${JSON.stringify(n.properties?.map((p) => [p.name, p.value.value]) ?? [])})`);
  } finally {
    await cdp.detach();
  }
}
