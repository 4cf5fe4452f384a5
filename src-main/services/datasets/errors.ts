/**
 * Errors a user can cause while importing or reading datasets. Each message
 * says what was wrong (file, field, expected vs found) and what to do, so the
 * UI and the CLI can show it as is, without a stack trace.
 */

/** A file's content is not what its format requires. */
export class DatasetFormatError extends Error {
  override readonly name = 'DatasetFormatError';
  constructor(
    message: string,
    /** The file (or archive entry) at fault, when there is one. */
    readonly file?: string,
  ) {
    super(message);
  }
}

/** No dataset with this id exists in the library. */
export class DatasetNotFoundError extends Error {
  override readonly name = 'DatasetNotFoundError';
  constructor(readonly id: string) {
    super(`No dataset "${id}" in the library. List the library to see the ids it holds.`);
  }
}

/** The import was cancelled through its AbortSignal; nothing was written. */
export class ImportCancelledError extends Error {
  override readonly name = 'ImportCancelledError';
  constructor() {
    super('Import cancelled; nothing was added to the library.');
  }
}

/** A request the library cannot carry out as asked (bad name, read-only dataset...). */
export class DatasetRequestError extends Error {
  override readonly name = 'DatasetRequestError';
}

/** The disk is full or not writable while writing a dataset. */
export class DatasetWriteError extends Error {
  override readonly name = 'DatasetWriteError';
}

export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ImportCancelledError();
}

/** Short file name for messages: keeps the last two path parts. */
export function shortName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts.slice(-2).join('/');
}
