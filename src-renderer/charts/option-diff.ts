/**
 * The smallest setOption that turns the chart's current option into the next
 * one. Live charts mostly receive the same structure with longer series; then
 * only the series data is sent (ECharts merges it by index, skipping the
 * option-wide merge and component rebuild). Anything else is a full update
 * that replaces series, titles and legends. Identical data is no update at all.
 */
type Option = Record<string, unknown>;
type Series = { data?: unknown[] } & Record<string, unknown>;

const seriesOf = (o: Option): Series[] => (Array.isArray(o.series) ? (o.series as Series[]) : []);

/** The option without series data: equal structures → a data-only update will do. */
export function structureKey(o: Option): string {
  return JSON.stringify({ ...o, series: seriesOf(o).map(({ data: _d, ...rest }) => rest) }, (_k, v: unknown) => (typeof v === 'function' ? String(v) : v));
}

/** A cheap fingerprint of every series' data: its length and last point. */
export function dataKey(o: Option): string {
  return seriesOf(o)
    .map((s) => {
      const d = s.data ?? [];
      return `${d.length}:${JSON.stringify(d[d.length - 1] ?? null)}:${JSON.stringify(d[0] ?? null)}`;
    })
    .join('|');
}

export type OptionUpdate = { kind: 'none' } | { kind: 'data'; option: Option } | { kind: 'full'; option: Option };

export function planUpdate(prev: Option | null, next: Option): OptionUpdate {
  if (!prev || structureKey(prev) !== structureKey(next)) return { kind: 'full', option: next };
  if (dataKey(prev) === dataKey(next)) return { kind: 'none' };
  return { kind: 'data', option: { series: seriesOf(next).map((s) => ({ data: s.data })) } };
}
