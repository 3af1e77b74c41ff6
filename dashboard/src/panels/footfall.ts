/**
 * Footfall: for the whole site and for each entrance, today's totals in and out (and the change
 * against the same weekday last week up to the same time), then today's in/out per local hour
 * as bars beside last week's (outlined) on a labelled y-axis, the number of people inside
 * through the day as a line on the site's chart, and the values of an hour on hover or tap.
 * Below, the current occupancy of each hall (the live twin when it shows this site, else the
 * server's). Drawn for a ~340 px column: the desk's side column and a phone are the same width.
 * From GET /api/sites/{site}/footfall/summary (footfall-data.ts).
 */
import type { SiteSummary } from '../api.ts';
import type { Ctx } from '../context.ts';
import { h, replace, svg } from '../dom.ts';
import { changePct, entranceSeries, insideByHour, yTicks, type FootfallSummaryResponse, type Series } from '../footfall-data.ts';
import type { SiteModel } from '../twin/types.ts';

export interface FootfallOptions {
  /** Offer a site picker over these (the phone page, which shows no twin). */
  sites?: SiteSummary[];
}

/** The chart's drawing box (viewBox units ≈ CSS px in a 340 px column). */
const W = 340;
const H = 160;
const PAD = { left: 30, right: 6, top: 8, bottom: 18 };

export class FootfallPanel {
  readonly el = h('section', { class: 'footfall', 'data-testid': 'footfall' });
  private site: string | null = null;
  private summary: FootfallSummaryResponse | null = null;
  private series: Series[] = [];
  private model: SiteModel | null = null;
  private failed = false;
  private offs: Array<() => void> = [];
  /** The live part (halls' occupancy): redrawn on every twin batch without touching the charts (and an open hover). */
  private readonly hallsEl = h('div', { class: 'ff-halls' });

  constructor(
    private readonly ctx: Ctx,
    private readonly opts: FootfallOptions = {},
  ) {
    this.offs.push(ctx.store.on('state', () => this.renderLive()));
    this.offs.push(ctx.i18n.onChange(() => this.render()));
  }

  /** Loads `site` (default: the site the page shows, else the first offered). */
  async load(site?: string): Promise<void> {
    const { api, store } = this.ctx;
    const id = site ?? store.site ?? this.site ?? this.opts.sites?.[0]?.id ?? null;
    if (!id || !store.can('footfall:read')) return;
    this.site = id;
    try {
      const [summary, model] = await Promise.all([api.footfallSummary(id), store.site === id ? Promise.resolve(null) : this.model?.id === id ? Promise.resolve(this.model) : api.site(id)]);
      if (this.site !== id) return;
      this.summary = summary;
      this.series = entranceSeries(summary);
      this.model = model;
      this.failed = false;
    } catch {
      this.summary = null;
      this.series = [];
      this.failed = true;
    }
    this.render();
  }

  dispose(): void {
    for (const off of this.offs) off();
    this.el.remove();
  }

  private zoneName(zone: string): string {
    const { i18n, store } = this.ctx;
    if (store.site === this.site) return store.zoneName(zone, (v) => i18n.pick(v));
    for (const floor of this.model?.floors ?? []) for (const z of floor.zones) if (z.id === zone) return i18n.pick(z.name);
    return zone;
  }

  /** Halls with their occupancy: live from the twin when it shows this site, else the server's. */
  private halls(): Array<{ zone: string; occupancy: number | null; capacity: number | null }> {
    const { store } = this.ctx;
    if (store.site === this.site && store.state) {
      return Object.values(store.state.zones)
        .filter((z) => z.occupancy !== null)
        .map((z) => ({ zone: z.id, occupancy: z.occupancy, capacity: z.capacity }));
    }
    return (this.summary?.halls ?? []).map((z) => ({ zone: z.zone, occupancy: z.occupancy, capacity: z.capacity }));
  }

  private render(): void {
    const { i18n } = this.ctx;
    const t = i18n.t;
    const r = t.replayView;
    const sites = this.opts.sites ?? [];
    const picker =
      sites.length > 1
        ? h('select', { 'data-testid': 'footfall-site', 'aria-label': r.footfallFor }, ...sites.map((s) => h('option', { value: s.id, selected: s.id === this.site }, i18n.pick(s.name))))
        : null;
    picker?.addEventListener('change', () => void this.load(picker.value));
    const head = h('div', { class: 'ff-head' }, h('h2', {}, t.footfall), picker);
    if (this.failed) {
      replace(this.el, head, h('p', { class: 'error' }, r.loadFootfallFailed));
      return;
    }
    const summary = this.summary;
    if (!summary) {
      replace(this.el, head, h('p', { class: 'empty' }, t.loading));
      return;
    }
    const day = (date: string) => new Intl.DateTimeFormat(i18n.language, { timeZone: 'UTC', weekday: 'short', month: 'short', day: 'numeric' }).format(Date.parse(`${date}T00:00:00Z`));
    const insideNow = this.halls().reduce((n, z) => n + (z.occupancy ?? 0), 0);
    // Hours of today that have begun, on the site's clock.
    const hourNow = Number(new Intl.DateTimeFormat('en-GB', { timeZone: summary.timezone, hour: '2-digit', hourCycle: 'h23' }).format(Date.parse(summary.at)));
    replace(
      this.el,
      head,
      h('p', { class: 'ff-date' }, r.todayVs(day(summary.date), day(summary.compareDate))),
      h(
        'p',
        { class: 'legend' },
        h('span', { class: 'key key-in' }, t.in),
        h('span', { class: 'key key-out' }, t.out),
        h('span', { class: 'key key-week' }, t.lastWeek),
        h('span', { class: 'key key-inside' }, r.insideLine),
      ),
      ...(summary.counters.length === 0
        ? [h('p', { class: 'empty' }, r.noCounters)]
        : this.series.map((e) => this.figure(e, e.zone === null ? insideNow : null, hourNow + 1))),
      this.hallsEl,
    );
    this.renderLive();
  }

  /** Each hall's occupancy, and the site's people inside now. */
  private renderLive(): void {
    const t = this.ctx.i18n.t;
    if (!this.summary) return;
    const halls = this.halls();
    const inside = this.el.querySelector('[data-testid="footfall-inside"]');
    if (inside) inside.textContent = String(halls.reduce((n, z) => n + (z.occupancy ?? 0), 0));
    replace(
      this.hallsEl,
      halls.length ? h('h3', {}, t.occupancy) : null,
      halls.length
        ? h(
            'ul',
            { class: 'occupancy' },
            ...halls.map((z) => {
              const pct = z.capacity ? Math.min(100, Math.round(((z.occupancy ?? 0) / z.capacity) * 100)) : null;
              return h(
                'li',
                { 'data-zone': z.zone },
                h('span', {}, this.zoneName(z.zone)),
                h('meter', { min: 0, max: z.capacity ?? 100, value: z.occupancy ?? 0 }),
                h('span', { class: 'num' }, `${z.occupancy ?? t.unknown}${z.capacity ? ` / ${z.capacity}` : ''}${pct !== null ? ` (${pct}%)` : ''}`),
              );
            }),
          )
        : null,
    );
  }

  /** One entrance (or the site): totals, the comparison, the hourly chart. */
  private figure(e: Series, insideNow: number | null, hoursSoFar: number): HTMLElement {
    const r = this.ctx.i18n.t.replayView;
    const { today, lastWeekSameTime } = e.totals;
    const total = (kind: 'in' | 'out', label: string) => {
      const pct = changePct(today[kind], lastWeekSameTime[kind]);
      return h(
        'span',
        { class: `ff-total ff-${kind}` },
        h('span', { class: 'label' }, label),
        h('strong', { 'data-testid': `footfall-total-${kind}` }, String(today[kind])),
        pct === null ? null : h('span', { class: `change ${pct >= 0 ? 'up' : 'down'}` }, r.change(pct)),
      );
    };
    const tip = h('div', { class: 'ff-tip', 'data-testid': 'footfall-tip', hidden: true });
    const inside = e.zone === null ? insideByHour(e.today, hoursSoFar) : null;
    return h(
      'figure',
      { class: 'ff-series', 'data-zone': e.zone ?? '' },
      h('figcaption', {}, e.zone === null ? r.wholeSite : this.zoneName(e.zone)),
      h(
        'div',
        { class: 'ff-totals' },
        total('in', r.totalIn),
        total('out', r.totalOut),
        insideNow !== null ? h('span', { class: 'ff-total ff-inside' }, h('span', { class: 'label' }, r.inside), h('strong', { 'data-testid': 'footfall-inside' }, String(insideNow))) : null,
      ),
      h('p', { class: 'ff-compare' }, r.lastWeekSameTime(lastWeekSameTime.in, lastWeekSameTime.out)),
      h('div', { class: 'ff-chart' }, this.chart(e, inside, tip), tip),
    );
  }

  private chart(e: Series, inside: Array<number | null> | null, tip: HTMLElement): SVGSVGElement {
    const r = this.ctx.i18n.t.replayView;
    const plotW = W - PAD.left - PAD.right;
    const plotH = H - PAD.top - PAD.bottom;
    const base = PAD.top + plotH;
    const max = Math.max(1, ...e.today.in, ...e.today.out, ...e.lastWeek.in, ...e.lastWeek.out, ...(inside ?? []).map((v) => v ?? 0));
    const ticks = yTicks(max);
    const top = ticks[ticks.length - 1] ?? max;
    const y = (v: number) => base - (v / top) * plotH;
    const slot = plotW / 24;
    const bar = slot / 2 - 0.8;
    const x0 = (hour: number) => PAD.left + hour * slot;
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'bars', role: 'img', 'aria-label': `${r.perHour}` });
    for (const v of ticks) {
      root.append(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: v === 0 ? 'base' : 'grid' }), svg('text', { x: PAD.left - 4, y: y(v) + 3.5, class: 'axis y' }, String(v)));
    }
    const hhmm = (hour: number) => `${String(hour % 24).padStart(2, '0')}:00`;
    for (let hour = 0; hour < 24; hour++) {
      const x = x0(hour);
      const today = { in: e.today.in[hour] ?? 0, out: e.today.out[hour] ?? 0 };
      const week = { in: e.lastWeek.in[hour] ?? 0, out: e.lastWeek.out[hour] ?? 0 };
      const rect = (left: number, v: number, cls: string) => svg('rect', { x: left, y: y(v), width: bar, height: Math.max(0, base - y(v)), class: cls });
      root.append(rect(x + 0.4, today.in, 'in'), rect(x + bar + 1.2, today.out, 'out'), rect(x + 0.4, week.in, 'week'), rect(x + bar + 1.2, week.out, 'week'));
      if (hour % 3 === 0) root.append(svg('text', { x: x + slot / 2, y: H - 5, class: 'axis x' }, hhmm(hour)));
      const lines = [r.hourRange(hhmm(hour), hhmm(hour + 1)), r.hourValues(today.in, today.out), r.hourLastWeek(week.in, week.out)];
      const held = inside?.[hour];
      if (held !== undefined && held !== null) lines.push(r.hourInside(held));
      const hit = svg('rect', { x, y: PAD.top, width: slot, height: plotH, class: 'hit', 'data-hour': hour }, svg('title', {}, lines.join('\n')));
      const show = () => {
        for (const other of root.querySelectorAll('.hit.hot')) other.classList.remove('hot');
        hit.classList.add('hot');
        replace(tip, h('strong', {}, lines[0]), ...lines.slice(1).map((l) => h('span', {}, l)));
        // Beside the hour, kept inside the chart.
        tip.style.left = `${Math.min(70, Math.max(0, ((x - 40) / W) * 100)).toFixed(1)}%`;
        tip.hidden = false;
      };
      hit.addEventListener('mouseenter', show);
      hit.addEventListener('click', show);
      hit.addEventListener('mouseleave', () => {
        hit.classList.remove('hot');
        tip.hidden = true;
      });
      root.append(hit);
    }
    if (inside) {
      const points = inside.flatMap((v, hour) => (v === null ? [] : [`${(x0(hour + 1)).toFixed(1)},${y(v).toFixed(1)}`]));
      if (points.length) root.append(svg('polyline', { points: `${PAD.left},${base} ${points.join(' ')}`, class: 'inside' }));
    }
    return root;
  }
}
