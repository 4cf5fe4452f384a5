/**
 * Chart work, one piece per task. Creating or updating an ECharts chart costs
 * 10–40 ms on a slow machine; four charts updated in one go block the main
 * thread for > 50 ms (a "long task", felt as jank). Each chart's init and
 * each update are queued here and run one per macrotask, so the browser can
 * handle input and paint between them. Updates of one chart coalesce: only
 * its newest option is drawn.
 */
type Job = () => void;

const queue: Job[] = [];
let scheduled = false;

const nextTask: (fn: () => void) => void =
  typeof MessageChannel !== 'undefined'
    ? (() => {
        const ch = new MessageChannel();
        let pending: Array<() => void> = [];
        ch.port1.onmessage = () => {
          const run = pending;
          pending = [];
          for (const f of run) f();
        };
        return (fn: () => void) => {
          pending.push(fn);
          ch.port2.postMessage(0);
        };
      })()
    : (fn) => setTimeout(fn, 0);

function pump(): void {
  scheduled = false;
  const job = queue.shift();
  if (job) job();
  if (queue.length && !scheduled) {
    scheduled = true;
    nextTask(pump);
  }
}

/** Runs `job` in a later task of its own; returns a function that drops it if it has not run yet. */
export function scheduleChartWork(job: Job): () => void {
  queue.push(job);
  if (!scheduled) {
    scheduled = true;
    nextTask(pump);
  }
  return () => {
    const i = queue.indexOf(job);
    if (i >= 0) queue.splice(i, 1);
  };
}

/** Jobs waiting (tests). */
export const pendingChartWork = (): number => queue.length;
