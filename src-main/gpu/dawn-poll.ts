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
 * So: Dawn's callbacks are recognised (native functions, scheduled again from
 * inside one of their own runs), the first FAST_TICKS of a chain run as
 * immediates (a short wait still returns within microseconds), later ones
 * after a 1 ms timer. A 1 ms later wake-up is invisible next to GPU work
 * that has already taken that long. Everything else that calls setImmediate
 * is passed straight through.
 */

/** Ticks of one polling chain that run as immediates before the back-off. */
export const FAST_TICKS = 16;

const NATIVE = /\{\s*\[native code\]\s*\}\s*$/;
let installed = false;

/** Whether `fn` is a native function (Dawn's tick; bound functions also print as native). */
function isNative(fn: unknown): boolean {
  return typeof fn === 'function' && NATIVE.test(Function.prototype.toString.call(fn));
}

/** Installs the back-off once per process (idempotent). */
export function installDawnPollBackoff(): void {
  if (installed) return;
  installed = true;
  const immediate = globalThis.setImmediate;
  let inTick = false; // a native callback of ours is running
  let chain = 0; // consecutive re-schedules from inside such callbacks
  const wrapped = ((fn: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (!isNative(fn)) return immediate(fn, ...args);
    chain = inTick ? chain + 1 : 0;
    const run = (): void => {
      inTick = true;
      try {
        fn(...args);
      } finally {
        inTick = false;
      }
    };
    if (chain < FAST_TICKS) return immediate(run);
    // Same handle type for callers that keep it (clearImmediate is not used by Dawn).
    return setTimeout(run, 1) as unknown as NodeJS.Immediate;
  }) as typeof setImmediate;
  globalThis.setImmediate = Object.assign(wrapped, { __promisify__: immediate.__promisify__ });
}
