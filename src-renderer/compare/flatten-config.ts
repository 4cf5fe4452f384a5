/**
 * {optimizer: {lr: 0.1}} → {"optimizer.lr": "0.1"}: a config as setting → text,
 * so two runs' settings can be lined up. Lists of plain values read "30, 80";
 * lists of objects (augmentation steps) stay one JSON value.
 */
export function flattenConfig(o: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (o !== null && typeof o === 'object' && !Array.isArray(o)) {
    const entries = Object.entries(o);
    if (!entries.length && prefix) out[prefix] = '{}';
    for (const [k, v] of entries) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(o) && o.every((x) => x === null || typeof x !== 'object')) out[prefix] = o.length ? o.join(', ') : '[]';
  else out[prefix] = typeof o === 'string' ? o : JSON.stringify(o);
  return out;
}

export interface DiffRow {
  key: string;
  values: string[];
  differs: boolean;
}

/** Rows for every setting of the given configs; differing ones first. */
export function diffConfigs(configs: Array<Record<string, unknown>>, ignore: string[] = ['name']): DiffRow[] {
  const flat = configs.map((c) => flattenConfig(c));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].filter((k) => !ignore.includes(k)).sort();
  return keys
    .map((key) => {
      const values = flat.map((f) => f[key] ?? '—');
      return { key, values, differs: new Set(values).size > 1 };
    })
    .sort((a, b) => Number(b.differs) - Number(a.differs));
}
