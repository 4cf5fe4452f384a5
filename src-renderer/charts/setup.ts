/**
 * ECharts, registered once with only what the lab draws (keeps the bundle
 * small), and the palette per theme so charts follow light/dark.
 */
import { use } from 'echarts/core';
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers';
import { BarChart, HeatmapChart, LineChart, ScatterChart } from 'echarts/charts';
import {
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';

use([
  CanvasRenderer,
  SVGRenderer,
  BarChart,
  HeatmapChart,
  LineChart,
  ScatterChart,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
]);

export interface ChartPalette {
  text: string;
  muted: string;
  grid: string;
  series: string[];
}

/** Colour-blind-safe series colours (Okabe–Ito), tuned per background. */
export function palette(theme: 'light' | 'dark'): ChartPalette {
  return theme === 'dark'
    ? { text: '#e4e8f0', muted: '#98a2b5', grid: '#2c3344', series: ['#5b9bf0', '#f0a640', '#3fc29a', '#e86f9e', '#b39ce8', '#f0e442', '#56b4e9', '#d55e00'] }
    : { text: '#1d2330', muted: '#5d6677', grid: '#e3e6ec', series: ['#2f5fd0', '#d17a00', '#138a5e', '#c2457a', '#7b5cc4', '#a89400', '#2b8fc7', '#b84a00'] };
}

/** Axis styling shared by every chart. */
export function axisStyle(p: ChartPalette): Record<string, unknown> {
  return {
    axisLine: { lineStyle: { color: p.muted } },
    axisLabel: { color: p.muted },
    splitLine: { lineStyle: { color: p.grid } },
    nameTextStyle: { color: p.muted },
  };
}
