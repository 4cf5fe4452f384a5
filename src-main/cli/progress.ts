/** Progress on the terminal: a redrawn bar on a TTY, a line every few seconds otherwise (logs, CI). */
export function terminalProgress(label: string, stream: NodeJS.WriteStream = process.stderr) {
  let lastLine = 0;
  let lastPhase = '';
  return {
    update(phase: string, done: number, total: number, extra = ''): void {
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const pct = `${(frac * 100).toFixed(0).padStart(3)}%`;
      if (stream.isTTY) {
        const width = 30;
        const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
        stream.write(`\r${label} ${phase.padEnd(10)} ${bar} ${pct} ${extra}`.slice(0, (stream.columns || 100) - 1).padEnd(Math.min(99, (stream.columns || 100) - 1)));
      } else {
        const now = Date.now();
        if (phase !== lastPhase || now - lastLine > 5000 || done >= total) {
          stream.write(`${label} ${phase} ${pct} ${extra}\n`);
          lastLine = now;
          lastPhase = phase;
        }
      }
    },
    end(): void {
      if (stream.isTTY) stream.write('\n');
    },
  };
}

/** An AbortSignal fired by Ctrl-C, so a long task stops cleanly (imports leave nothing behind). */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onInt = () => {
    process.stderr.write('\nInterrupted: stopping…\n');
    ac.abort();
  };
  process.once('SIGINT', onInt);
  return { signal: ac.signal, dispose: () => process.off('SIGINT', onInt) };
}
