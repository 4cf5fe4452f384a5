/**
 * Process-wide autodiff mode and tidy() scopes. They are global rather than
 * per Engine because JS runs one op at a time (a Worker or a Node process has
 * one copy of this module), and `noGrad(fn)` / `tidy(fn)` read better without
 * an engine argument.
 */
import type { Disposable } from './engine.ts';

interface ScopeState {
  gradEnabled: boolean;
  scopes: Array<Set<Disposable>>;
}

export const scopeState: ScopeState = { gradEnabled: true, scopes: [] };

export function trackInScope(t: Disposable): void {
  const s = scopeState.scopes[scopeState.scopes.length - 1];
  if (s) s.add(t);
}

export function untrackFromScopes(t: Disposable): void {
  for (const s of scopeState.scopes) s.delete(t);
}
