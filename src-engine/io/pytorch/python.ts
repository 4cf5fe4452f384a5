/** Writing Python source: literals from JSON-like values. */

/** A Python literal for a JSON-like value (dict, list, str, number, bool, None). */
export function pyLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'float("nan")';
    if (!Number.isFinite(v)) return v > 0 ? 'float("inf")' : 'float("-inf")';
    return String(v);
  }
  if (typeof v === 'string') return pyString(v);
  if (Array.isArray(v)) return '[' + v.map(pyLiteral).join(', ') + ']';
  if (typeof v === 'object') {
    return '{' + Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyString(k)}: ${pyLiteral(x)}`).join(', ') + '}';
  }
  return pyString(String(v));
}

/** A double-quoted Python string (JSON escapes are valid Python escapes). */
export function pyString(s: string): string {
  return JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A size as PyTorch takes it: `3` or `(3, 5)`. */
export function pySize(v: number | readonly [number, number]): string {
  if (typeof v === 'number') return String(v);
  return v[0] === v[1] ? String(v[0]) : `(${v[0]}, ${v[1]})`;
}

/** Text safe inside a triple-quoted docstring. */
export function pyDocText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"""/g, '\\"\\"\\"');
}
