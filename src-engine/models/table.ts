/**
 * formatLayerTable: the layer table the CLI prints (`layerlab models show`),
 * aligned columns, nested layers indented under their block.
 *
 *   layer                 type        output        params      FLOPs  detail
 *   layers.1              conv2d      [6, 28, 28]      156    235.2K  5×5 p2, 1→6
 */
import type { GraphDescription } from './describe.ts';

/** 1234 → "1.23K", 2.5e6 → "2.50M" (three significant digits). */
export function formatCount(n: number): string {
  const units: Array<[number, string]> = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'K']];
  for (const [v, u] of units) {
    if (n >= v) {
      const x = n / v;
      return (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) + u;
    }
  }
  return String(n);
}

const withCommas = (n: number): string => n.toLocaleString('en-US');

export function formatLayerTable(d: GraphDescription): string {
  const header = ['layer', 'type', 'output', 'params', 'FLOPs', 'detail'];
  const body = d.rows.map((r) => [
    '  '.repeat(r.depth) + r.name,
    r.type,
    `[${r.outputShape.join(', ')}]`,
    r.params ? withCommas(r.params) : '-',
    r.flops ? formatCount(r.flops) : '-',
    r.detail,
  ]);
  const total = ['total', '', `[${d.outputShape.join(', ')}]`, withCommas(d.totalParams), formatCount(d.totalFlops), `input [${d.inputShape.join(', ')}]`];
  const all = [header, ...body, total];
  const widths = header.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const rightAligned = new Set([3, 4]);
  const line = (row: string[]): string =>
    row
      .map((cell, c) => (c === row.length - 1 ? cell : rightAligned.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...body.map(line), rule, line(total)].join('\n');
}
