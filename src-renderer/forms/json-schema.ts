/**
 * Turns a family's options JSON Schema (zod's toJSONSchema output, `io:
 * 'input'`) into form fields, and checks values against it so messages
 * appear next to the field before anything is sent. The services validate
 * again with the real zod schema; their message wins when they disagree.
 */

export type FieldKind = 'integer' | 'number' | 'boolean' | 'enum' | 'intList' | 'autoOrInt' | 'json';

export interface FormField {
  key: string;
  label: string;
  help: string;
  kind: FieldKind;
  min?: number;
  max?: number;
  options?: string[];
  /** Not required and without a default: the empty choice means "let the model decide". */
  optional: boolean;
  default?: unknown;
  /** For intList: per-item bounds and list length limit. */
  itemMin?: number;
  itemMax?: number;
  maxItems?: number;
}

type Schema = Record<string, unknown>;

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** "mlpRatio" → "MLP ratio"; "fcWidth" → "FC width". */
export function labelFor(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(' ');
  const acronyms = new Set(['mlp', 'fc', 'lr', 'bn', 'cls']);
  return words
    .map((w, i) => (acronyms.has(w.toLowerCase()) ? w.toUpperCase() : i === 0 ? w[0].toUpperCase() + w.slice(1) : w.toLowerCase()))
    .join(' ')
    .replace(/ (\d)/g, ' $1');
}

function kindOf(s: Schema): Pick<FormField, 'kind' | 'min' | 'max' | 'options' | 'itemMin' | 'itemMax' | 'maxItems'> {
  if (Array.isArray(s.enum)) return { kind: 'enum', options: (s.enum as unknown[]).map(String) };
  if (Array.isArray(s.anyOf)) {
    const alts = s.anyOf as Schema[];
    const c = alts.find((a) => typeof a.const === 'string');
    const i = alts.find((a) => a.type === 'integer');
    if (c && i) return { kind: 'autoOrInt', options: [String(c.const)], min: num(i.minimum), max: num(i.maximum) };
    return { kind: 'json' };
  }
  if (s.type === 'integer') return { kind: 'integer', min: num(s.minimum), max: num(s.maximum) };
  if (s.type === 'number') return { kind: 'number', min: num(s.minimum ?? s.exclusiveMinimum), max: num(s.maximum ?? s.exclusiveMaximum) };
  if (s.type === 'boolean') return { kind: 'boolean' };
  if (s.type === 'array') {
    const items = (s.items ?? {}) as Schema;
    if (items.type === 'integer') return { kind: 'intList', itemMin: num(items.minimum), itemMax: num(items.maximum), maxItems: num(s.maxItems) };
  }
  return { kind: 'json' };
}

/** The fields of an options schema, in schema order. `help` comes from the family's optionHelp. */
export function fieldsFromSchema(schema: Schema, help: Record<string, string> = {}): FormField[] {
  const props = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(props).map(([key, s]) => ({
    key,
    label: labelFor(key),
    help: help[key] ?? (typeof s.description === 'string' ? s.description : ''),
    optional: !required.has(key) && !('default' in s),
    default: s.default,
    ...kindOf(s),
  }));
}

/** "256, 128" → [256, 128]; anything unparsable stays as text so validation can name it. */
export function parseIntList(text: string): number[] | string {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const nums = parts.map(Number);
  return nums.every((n) => Number.isFinite(n)) ? nums : text;
}

function range(v: number, min?: number, max?: number): string | null {
  if (min !== undefined && v < min) return `must be at least ${min}`;
  if (max !== undefined && v > max) return `must be at most ${max}`;
  return null;
}

/** A message for a bad value, or null. `undefined` means "use the default". */
export function validateField(f: FormField, v: unknown): string | null {
  if (v === undefined || v === '') return null;
  switch (f.kind) {
    case 'integer':
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) return 'must be a number';
      if (f.kind === 'integer' && !Number.isInteger(v)) return 'must be a whole number';
      return range(v, f.min, f.max);
    case 'boolean':
      return typeof v === 'boolean' ? null : 'must be on or off';
    case 'enum':
      return f.options?.includes(String(v)) ? null : `must be one of ${f.options?.join(', ')}`;
    case 'autoOrInt':
      if (f.options?.includes(String(v))) return null;
      if (typeof v !== 'number' || !Number.isInteger(v)) return `must be ${f.options?.[0]} or a whole number`;
      return range(v, f.min, f.max);
    case 'intList': {
      if (!Array.isArray(v)) return 'must be whole numbers separated by commas';
      if (f.maxItems !== undefined && v.length > f.maxItems) return `at most ${f.maxItems} numbers`;
      for (const x of v) {
        if (typeof x !== 'number' || !Number.isInteger(x)) return 'must be whole numbers separated by commas';
        const r = range(x, f.itemMin, f.itemMax);
        if (r) return `each ${r}`;
      }
      return null;
    }
    case 'json':
      return null;
  }
}

/** Field → message for every invalid value. */
export function validateAll(fields: FormField[], values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) {
    const m = validateField(f, values[f.key]);
    if (m) out[f.key] = m;
  }
  return out;
}

/** The options to send: unset optional fields are left out so the model picks. */
export function cleanOptions(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== ''));
}
