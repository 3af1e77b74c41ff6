/**
 * A small trend line (the overview's footfall per hour): one series drawn up to where it has
 * data so far, and a faint one to compare with (the same day last week) over the whole
 * range. SVG, scaled to the larger of the two so they read against each other; no axes — the
 * numbers are beside it.
 */
import { svg } from '../dom.ts';

export interface SparklineOptions {
  values: readonly number[];
  /** Draw `values` up to this index (inclusive): later ones have not happened yet. */
  upTo: number;
  compare?: readonly number[];
  label: string;
  width?: number;
  height?: number;
}

export function sparkline(o: SparklineOptions): SVGSVGElement {
  const width = o.width ?? 120;
  const height = o.height ?? 32;
  const pad = 2;
  const n = Math.max(o.values.length, o.compare?.length ?? 0);
  const shown = o.values.slice(0, Math.max(0, o.upTo + 1));
  const max = Math.max(1, ...shown, ...(o.compare ?? []));
  const x = (i: number) => pad + (n <= 1 ? 0 : (i * (width - 2 * pad)) / (n - 1));
  const y = (v: number) => height - pad - (v / max) * (height - 2 * pad);
  const points = (vs: readonly number[]) => vs.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const el = svg('svg', { class: 'sparkline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': o.label });
  if (o.compare && o.compare.length > 0) el.append(svg('polyline', { class: 'compare', points: points(o.compare) }));
  if (shown.length > 1) el.append(svg('polyline', { class: 'value', points: points(shown) }));
  const last = shown.length - 1;
  if (last >= 0) el.append(svg('circle', { class: 'now', cx: x(last).toFixed(1), cy: y(shown[last] ?? 0).toFixed(1), r: 2 }));
  return el;
}
