/**
 * Keeps Dawn's event polling from eating a CPU core (Node only).
 *
 * While any Dawn promise is pending (queue.onSubmittedWorkDone, mapAsync, …),
 * webgpu 0.6.2 (dawn.node's AsyncRunner) polls by re-scheduling a native
 * callback with the global `setImmediate`, calling the device's tick each
 * time: a busy loop on the JavaScript thread for as long as the GPU works.
 * On a software adapter the "GPU" is the CPU: measured while training
 * LeNet-5 on 2 cores with lavapipe, the main thread used 84% of a core and
 * lavapipe's two workers 43% and 41%; with the back-off below, 14% and
 * 65% + 64%, and training went from 1,964 to 3,124 images/s (back-to-back runs).
 *
 * So: Dawn's callbacks are recognised (native functions; a chain is a callback
 * scheduled again from inside its own run), the first FAST_TICKS of a chain run as
 * immediates (a short wait still returns within microseconds), later ones
 * after a 1 ms timer. A 1 ms later wake-up is invisible next to GPU work
 * that has already taken that long. Everything else that calls setImmediate
 * is passed straight through.
 */

/** Ticks of one polling chain that run as immediates before the back-off. */
export const FAST_TICKS = 16;

/** Marks the installed wrapper: once per process, even if this module is loaded twice (test isolation). */
const INSTALLED = Symbol.for('layerlab.dawnPollBackoff');

/**
 * Whether `fn` is a native function (Dawn's tick; bound functions also print
 * as native). Every setImmediate in the process passes here: a suffix test,
 * not a regex scanned over a JavaScript callback's whole source text.
 */
function isNative(fn: unknown): boolean {
  return typeof fn === 'function' && Function.prototype.toString.call(fn).endsWith('{ [native code] }');
}

/** Installs the back-off once per process (idempotent). */
export function installDawnPollBackoff(): void {
  const immediate = globalThis.setImmediate;
  if ((immediate as unknown as Record<symbol, boolean>)[INSTALLED]) return;
  // The chain position of the native callback now running (null: none is):
  // a callback scheduled from inside it continues its chain, any other starts
  // a new one — so two pollers (two devices, or a test's own chain) never
  // reset or advance each other's count.
  let running: number | null = null;
  const wrapped = ((fn: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (!isNative(fn)) return immediate(fn, ...args);
    const position = running === null ? 0 : running + 1;
    const run = (): void => {
      const outer = running;
      running = position;
      try {
        fn(...args);
      } finally {
        running = outer;
      }
    };
    if (position < FAST_TICKS) return immediate(run);
    // Same handle type for callers that keep it (clearImmediate is not used by Dawn).
    return setTimeout(run, 1) as unknown as NodeJS.Immediate;
  }) as typeof setImmediate;
  globalThis.setImmediate = Object.assign(wrapped, { __promisify__: immediate.__promisify__, [INSTALLED]: true });
}
