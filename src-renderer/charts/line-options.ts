/** ECharts options for the lab's line charts: one look for every curve. */
import { axisStyle, type ChartPalette } from './setup.ts';
import type { Point } from './run-series.ts';

export interface LineSpec {
  name: string;
  points: Point[];
  /** Index into the palette (runs keep their colour across charts). */
  colour?: number;
  dashed?: boolean;
  /** Draw points (short series such as per-epoch values). */
  markers?: boolean;
  faint?: boolean;
  /** ECharts symbol for the markers (default circle). */
  symbol?: string;
}

export interface LineChartSpec {
  lines: LineSpec[];
  xName: string;
  yName: string;
  percent?: boolean;
  logY?: boolean;
  legend?: boolean;
  /** Shown in place of the curves while there are none. */
  emptyText?: string;
  /** Default 0 (epochs, steps and seconds start there). */
  xMin?: number | 'dataMin';
  /** Fixed end of the x axis (e.g. the run's epochs, so the curves show progress). */
  xMax?: number;
}

const fmtPct = (v: number): string => (v === 0 ? '0%' : `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%`);

export function lineChartOption(spec: LineChartSpec, p: ChartPalette): Record<string, unknown> {
  const showLegend = spec.legend ?? spec.lines.length > 1;
  const empty = spec.lines.every((l) => l.points.length === 0);
  return {
    animation: false,
    // Arrays, so an update with replaceMerge removes a title or legend that is no longer wanted.
    title: empty ? [{ text: spec.emptyText ?? 'No data yet', left: 'center', top: 'middle', textStyle: { color: p.muted, fontSize: 12, fontWeight: 'normal' } }] : [],
    color: p.series,
    grid: { left: 64, right: 16, top: showLegend ? 36 : 12, bottom: 40 },
    legend: showLegend
      ? [{ type: spec.lines.length > 5 ? 'scroll' : 'plain', top: 0, left: 56, right: 8, itemWidth: 18, itemHeight: 10, textStyle: { color: p.text, fontSize: 11 }, pageTextStyle: { color: p.muted } }]
      : [],
    tooltip: {
      trigger: 'axis',
      valueFormatter: (v: unknown) => (typeof v === 'number' ? (spec.percent ? fmtPct(v) : Number(v.toPrecision(4)).toString()) : String(v)),
    },
    xAxis: { type: 'value', name: spec.xName, nameLocation: 'middle', nameGap: 24, min: spec.xMin ?? 0, max: spec.xMax, ...axisStyle(p), splitLine: { show: false } },
    yAxis: {
      type: spec.logY ? 'log' : 'value',
      name: spec.yName,
      nameLocation: 'middle',
      nameGap: 48,
      scale: !spec.percent && !spec.logY,
      min: spec.percent ? 0 : undefined,
      ...axisStyle(p),
      axisLabel: { color: p.muted, formatter: spec.percent ? fmtPct : undefined },
    },
    series: spec.lines.map((l) => ({
      name: l.name,
      type: 'line',
      data: l.points,
      showSymbol: !!l.markers || l.points.length <= 20,
      symbol: l.symbol ?? 'circle',
      symbolSize: l.symbol === 'diamond' ? 9 : 6,
      smooth: false,
      lineStyle: { width: l.faint ? 1 : 2, type: l.dashed ? 'dashed' : 'solid', opacity: l.faint ? 0.5 : 1 },
      itemStyle: l.colour !== undefined ? { color: p.series[l.colour % p.series.length] } : undefined,
      emphasis: { disabled: true },
    })),
  };
}
