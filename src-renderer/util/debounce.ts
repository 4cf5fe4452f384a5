/**
 * Debounce and "latest wins": a form that calls the services on every
 * keystroke must wait for a pause, and must ignore answers to questions that
 * were already replaced by newer ones.
 */
export interface Debounced<A extends unknown[]> {
  (...args: A): void;
  cancel(): void;
  flush(): void;
}

export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): Debounced<A> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending: A | null = null;
  const run = (): void => {
    timer = null;
    const a = pending;
    pending = null;
    if (a) fn(...a);
  };
  const d = ((...args: A) => {
    pending = args;
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, ms);
  }) as Debounced<A>;
  d.cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    pending = null;
  };
  d.flush = () => {
    if (timer) clearTimeout(timer);
    run();
  };
  return d;
}

/** Wraps an async function so only the answer to the latest call is delivered. */
export function latestOnly<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<{ current: boolean; value: R }> {
  let seq = 0;
  return async (...args: A) => {
    const mine = ++seq;
    const value = await fn(...args);
    return { current: mine === seq, value };
  };
}
