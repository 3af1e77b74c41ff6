/**
 * Footfall: per entrance, today's in/out by hour as SVG bars beside the same weekday last
 * week (outlined), and the current occupancy of each hall from the live twin state.
 */
import type { Ctx } from '../context.ts';
import { h, replace, svg } from '../dom.ts';
import { entranceSeries, type Series } from '../footfall-data.ts';

export class FootfallPanel {
  readonly el = h('section', { class: 'footfall', 'data-testid': 'footfall' });
  private series: Series[] = [];
  private offs: Array<() => void> = [];

  constructor(private readonly ctx: Ctx) {
    this.offs.push(ctx.store.on('state', () => this.render()));
    this.offs.push(ctx.i18n.onChange(() => this.render()));
  }

  async load(): Promise<void> {
    const { api, store } = this.ctx;
    if (!store.site || !store.can('footfall:read')) return;
    try {
      this.series = entranceSeries(await api.footfallSummary(store.site));
    } catch {
      this.series = [];
    }
    this.render();
  }

  dispose(): void {
    for (const off of this.offs) off();
    this.el.remove();
  }

  private render(): void {
    const { i18n, store } = this.ctx;
    const t = i18n.t;
    const name = (zone: string) => store.zoneName(zone, (v) => i18n.pick(v));
    // Live occupancy from the twin (fresher than the summary); halls are zones with a capacity or counters.
    const halls = Object.values(store.state?.zones ?? {}).filter((z) => z.occupancy !== null);
    replace(
      this.el,
      h('h2', {}, t.footfall),
      h(
        'ul',
        { class: 'occupancy' },
        ...halls.map((z) => {
          const pct = z.capacity ? Math.min(100, Math.round(((z.occupancy ?? 0) / z.capacity) * 100)) : null;
          return h('li', {}, h('span', {}, name(z.id)), h('meter', { min: 0, max: z.capacity ?? 100, value: z.occupancy ?? 0 }), h('span', {}, `${z.occupancy}${z.capacity ? ` / ${z.capacity}` : ''}${pct !== null ? ` (${pct}%)` : ''}`));
        }),
      ),
      h('p', { class: 'legend' }, h('span', { class: 'key key-in' }, t.in), h('span', { class: 'key key-out' }, t.out), h('span', { class: 'key key-week' }, t.lastWeek)),
      ...this.series.map((e) => h('figure', {}, h('figcaption', {}, e.zone === null ? t.site : name(e.zone)), chart(e))),
    );
  }
}

function chart(e: Series): SVGSVGElement {
  const W = 480;
  const H = 120;
  const max = Math.max(1, ...e.today.in, ...e.today.out, ...e.lastWeek.in, ...e.lastWeek.out);
  const slot = W / 24;
  const bar = slot / 2 - 1;
  const y = (v: number) => H - 14 - (v / max) * (H - 20);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'bars', role: 'img' });
  for (let hour = 0; hour < 24; hour++) {
    const x = hour * slot;
    const today = { in: e.today.in[hour] ?? 0, out: e.today.out[hour] ?? 0 };
    const week = { in: e.lastWeek.in[hour] ?? 0, out: e.lastWeek.out[hour] ?? 0 };
    root.append(
      svg('rect', { x, y: y(today.in), width: bar, height: H - 14 - y(today.in), class: 'in' }),
      svg('rect', { x: x + bar + 1, y: y(today.out), width: bar, height: H - 14 - y(today.out), class: 'out' }),
      svg('rect', { x, y: y(week.in), width: bar, height: H - 14 - y(week.in), class: 'week' }),
      svg('rect', { x: x + bar + 1, y: y(week.out), width: bar, height: H - 14 - y(week.out), class: 'week' }),
    );
    if (hour % 3 === 0) root.append(svg('text', { x, y: H - 2, class: 'axis' }, String(hour).padStart(2, '0')));
  }
  return root;
}
