/** Random ids for tasks and uploads (hex and dashes: what the upload endpoint accepts). */
export function randomId(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** A task id that says what the task is, for logs: `import-3f2a…`. */
export const taskId = (kind: string): string => `${kind}-${randomId()}`;
