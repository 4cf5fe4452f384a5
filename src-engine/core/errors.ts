/**
 * Typed engine errors. Every failure a user can cause (too big a model, a lost
 * device, a bad shape) becomes one of these, with a message that says what
 * went wrong and what to do, so the UI and the CLI can show it as is.
 */

export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The GPU device went away (driver reset, `device.destroy()`, GPU removed). */
export class DeviceLostError extends EngineError {
  constructor(
    readonly reason: string,
    detail: string,
  ) {
    super(
      `The GPU device was lost (${reason}${detail ? ': ' + detail : ''}). ` +
        'Everything on it is gone: create a new Engine on a new device and reload the model ' +
        'from its last checkpoint. If it keeps happening, lower the batch size or model size ' +
        '(long-running dispatches can trigger a driver reset).',
    );
  }
}

/** An allocation did not fit in GPU memory. */
export class OutOfMemoryError extends EngineError {
  constructor(
    readonly requestedBytes: number,
    detail = '',
  ) {
    super(
      `Out of GPU memory while allocating ${formatBytes(requestedBytes)}${detail ? ' (' + detail + ')' : ''}. ` +
        'Try a smaller batch size or a smaller model, or close other GPU-heavy programs.',
    );
  }
}

/** WGSL failed to compile or a pipeline failed to build: a bug in the engine. */
export class ShaderCompileError extends EngineError {
  constructor(
    readonly kernel: string,
    detail: string,
  ) {
    super(`Kernel '${kernel}' failed to compile: ${detail}. This is an engine bug; please report it.`);
  }
}

/** Tensor shapes do not fit an op. */
export class ShapeError extends EngineError {
  constructor(op: string, detail: string, shapes: ReadonlyArray<readonly number[]>) {
    super(`${op}: ${detail} (shapes: ${shapes.map((s) => '[' + s.join(', ') + ']').join(' and ')})`);
  }
}

/** Work exceeds a limit of this GPU and could not be split to fit it. */
export class LimitError extends EngineError {
  constructor(
    readonly limit: string,
    readonly requested: number,
    readonly allowed: number,
    what: string,
  ) {
    super(limitMessage(limit, requested, allowed, what));
  }
}

function limitMessage(limit: string, requested: number, allowed: number, what: string): string {
  let [req, allow] = limit.endsWith('Size') ? [formatBytes(requested), formatBytes(allowed)] : [String(requested), String(allowed)];
  // Just over the limit rounds to the same figure: give exact byte counts.
  if (req === allow) [req, allow] = [`${requested} bytes`, `${allowed} bytes`];
  return `${what} needs ${limit} = ${req}, but this GPU allows ${allow}. Use a smaller batch size or a smaller model.`;
}

/** A tensor was used after dispose() (often: disposed by a tidy() scope). */
export class DisposedError extends EngineError {}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return (n / 2 ** 30).toFixed(2) + ' GiB';
  if (n >= 2 ** 20) return (n / 2 ** 20).toFixed(1) + ' MiB';
  if (n >= 2 ** 10) return (n / 2 ** 10).toFixed(1) + ' KiB';
  return n + ' B';
}
