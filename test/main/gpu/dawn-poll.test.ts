/**
 * Dawn's polling back-off (src-main/gpu/dawn-poll.ts): native callbacks that
 * re-schedule themselves with setImmediate run as immediates for FAST_TICKS
 * ticks, then 1 ms apart; JavaScript callbacks pass straight through; and a
 * wait on a long GPU job leaves the JavaScript thread mostly idle.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Engine, matmul, randUniform } from '../../../src-engine/index.ts';
import { FAST_TICKS, installDawnPollBackoff } from '../../../src-main/gpu/dawn-poll.ts';
import { getNodeGpu } from '../../helpers/gpu.ts';

/** A native function (as Dawn's tick is): a bound function prints as `[native code]`. */
function nativeCallback(f: () => void): () => void {
  return f.bind(null);
}

/** CPU milliseconds used by this process's main (JavaScript) thread so far (Linux /proc). */
function mainThreadCpuMs(): number {
  const fields = readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in 10 ms ticks
}

describe('Dawn polling back-off', () => {
  it('runs a native polling chain as immediates, then 1 ms apart, while other native callbacks and Dawn itself poll', async () => {
    installDawnPollBackoff();
    installDawnPollBackoff(); // idempotent
    // Dawn's own chain runs alongside (a wait on a long job): chains must not
    // reset or advance each other's count.
    const gpu = await getNodeGpu();
    const engine = new Engine(gpu.device, { seed: 1 });
    const a = randUniform(engine, [512, 512], { seed: 1 });
    for (let i = 0; i < 4; i++) matmul(a, a).dispose();
    const gpuDone = engine.sync();
    const TICKS = FAST_TICKS + 10;
    const times: number[] = [];
    // Other native callbacks (vitest's own bound functions, a second device)
    // scheduled from outside any chain meanwhile start chains of their own.
    const foreign = setInterval(() => setImmediate(nativeCallback(() => undefined)), 2);
    await new Promise<void>((resolve) => {
      const tick = nativeCallback(() => {
        times.push(performance.now());
        if (times.length < TICKS) setImmediate(tick);
        else resolve();
      });
      setImmediate(tick);
    });
    clearInterval(foreign);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    // The fast part: FAST_TICKS immediates in far less than a millisecond each.
    const fast = gaps.slice(0, FAST_TICKS - 1);
    expect(fast.reduce((a, b) => a + b, 0)).toBeLessThan(FAST_TICKS * 0.9);
    // The back-off: later ticks wait for 1 ms timers. (One timer can fire a
    // little early — libuv measures from the loop's cached clock — so the
    // check is on their median and sum, not on each: without the back-off
    // these ten gaps total well under a millisecond.)
    const slow = gaps.slice(FAST_TICKS);
    expect(slow).toHaveLength(TICKS - 1 - FAST_TICKS);
    expect([...slow].sort((x, y) => x - y)[Math.floor(slow.length / 2)]).toBeGreaterThanOrEqual(0.8);
    expect(slow.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(0.7 * slow.length);
    await gpuDone;
    a.dispose();
    engine.dispose();
  });

  it('passes JavaScript callbacks (and their arguments) straight through as immediates', async () => {
    installDawnPollBackoff();
    // A chain of 60 JavaScript immediates: never backed off (a backed-off
    // chain that long would take ≥ 60 − FAST_TICKS ms).
    const t0 = performance.now();
    const tag = await new Promise<string>((resolve) => {
      let n = 0;
      const js = (t: string): void => {
        if (++n < 60) setImmediate(js, t);
        else resolve(t);
      };
      setImmediate(js, 'argument kept');
    });
    expect(tag).toBe('argument kept');
    expect(performance.now() - t0).toBeLessThan((60 - FAST_TICKS) / 2);
  });

  it('leaves the JavaScript thread mostly idle while waiting for a long GPU job', async () => {
    const gpu = await getNodeGpu(); // installs the back-off
    const engine = new Engine(gpu.device, { seed: 1 });
    const a = randUniform(engine, [768, 768], { seed: 1 });
    const b = randUniform(engine, [768, 768], { seed: 2 });
    await engine.sync();
    // Waits on batches of work until 300 ms were spent waiting (a few batches
    // on a software adapter, many on a GPU); only the waits are measured.
    let wall = 0;
    let cpu = 0;
    while (wall < 300) {
      for (let i = 0; i < 8; i++) matmul(a, b).dispose();
      engine.flush();
      const cpu0 = mainThreadCpuMs();
      const t0 = performance.now();
      await engine.sync();
      wall += performance.now() - t0;
      cpu += mainThreadCpuMs() - cpu0;
    }
    a.dispose();
    b.dispose();
    engine.dispose();
    // Busy polling used ~100% of a core for the whole wait (measured 84% over
    // a training run, where recording takes part of it); with the back-off a
    // few percent.
    expect(cpu / wall).toBeLessThan(0.5);
  });
});
