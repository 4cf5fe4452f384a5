/** Number, size and time formatting shared by the views. */

/** 1536 → "1.5 KiB", 3.2e9 → "3.0 GiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** 1234 → "1.23K", 2.5e6 → "2.50M": three significant digits, for parameters and FLOPs. */
export function formatCount(n: number): string {
  const units: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [v, u] of units) {
    if (Math.abs(n) >= v) {
      const x = n / v;
      return (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)) + u;
    }
  }
  return String(Math.round(n));
}

/** 61234 → "61,234". */
export const withCommas = (n: number): string => n.toLocaleString('en-US');

/** Seconds → "45 s", "3 min 05 s", "2 h 04 min". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m % 60).padStart(2, '0')} min`;
}

/** 0.1234 → "12.34%". */
export function formatPercent(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `${(x * 100).toFixed(digits)}%`;
}

/** A learning rate or other small float: 0.001 → "1e-3", 0.05 → "0.05". */
export function formatSmall(x: number): string {
  if (x === 0) return '0';
  if (Math.abs(x) < 0.01 || Math.abs(x) >= 1e5) {
    const [m, e] = x.toExponential(2).split('e');
    return `${String(Number(m))}e${Number(e)}`;
  }
  return String(Number(x.toPrecision(4)));
}

/** "2026-11-25T10:00:00Z" → a short local date-time. */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** A dataset's source without the upload folder ids the web host adds: "7f3a…/train.gz" → "train.gz". */
export function cleanSource(source: string): string {
  return source.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\//gi, '');
}
