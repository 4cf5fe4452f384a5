/** Which view is shown. Kept in the URL hash (#/train) so reloads and the app menu agree. */
import { defineStore } from 'pinia';
import { ref } from 'vue';

export const VIEWS = [
  { id: 'datasets', label: 'Datasets', icon: '▦' },
  { id: 'models', label: 'Models', icon: '◇' },
  { id: 'train', label: 'Train', icon: '▶' },
  { id: 'compare', label: 'Compare', icon: '≋' },
  { id: 'inspect', label: 'Inspect', icon: '◎' },
  { id: 'system', label: 'System', icon: '⚙' },
] as const;
export type ViewId = (typeof VIEWS)[number]['id'];

export function viewFromHash(hash: string): ViewId {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return (VIEWS.find((v) => v.id === id)?.id ?? 'datasets') as ViewId;
}

export const useNavigation = defineStore('navigation', () => {
  const current = ref<ViewId>(viewFromHash(typeof location === 'undefined' ? '' : location.hash));
  function go(view: ViewId): void {
    current.value = view;
    if (typeof location !== 'undefined' && viewFromHash(location.hash) !== view) location.hash = `#/${view}`;
  }
  if (typeof window !== 'undefined') {
    window.addEventListener('hashchange', () => (current.value = viewFromHash(location.hash)));
  }
  return { current, go };
});
