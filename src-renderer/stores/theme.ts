/** Light or dark: follows the OS until the user picks; charts read it to pick their palette. */
import { defineStore } from 'pinia';
import { ref } from 'vue';

export type Theme = 'light' | 'dark';

export const useTheme = defineStore('theme', () => {
  const theme = ref<Theme>('light');
  function apply(t: Theme): void {
    theme.value = t;
    document.documentElement.dataset.theme = t;
    try {
      localStorage.setItem('layerlab.theme', t);
    } catch {
      /* storage may be unavailable (private mode): the choice lasts for this page */
    }
  }
  function init(): void {
    let saved: string | null = null;
    try {
      saved = localStorage.getItem('layerlab.theme');
    } catch {
      saved = null;
    }
    const prefersDark = typeof window.matchMedia === 'function' && window.matchMedia('(prefers-color-scheme: dark)').matches;
    apply(saved === 'dark' || saved === 'light' ? saved : prefersDark ? 'dark' : 'light');
  }
  const toggle = (): void => apply(theme.value === 'dark' ? 'light' : 'dark');
  return { theme, apply, init, toggle };
});
