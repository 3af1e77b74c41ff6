/**
 * Response KPIs (/kpis, issue 7): how fast alarms were acknowledged and cleared — per site,
 * person, severity or rule, for today, 7 or 30 days counted in the selected site's time zone
 * (GET /api/kpis/response) — with the share acknowledged within its severity's target (the
 * 及时率) as a bar, and the same figures as a CSV download. For roles with `kpis:read`.
 * The choices live in the URL (?site=&period=&by=), so a view can be bookmarked or sent.
 */
import type { Severity } from '../../../server/alarms/types.ts';
import { localDayStart } from '../../../server/history/local-time.ts';
import type { Api, KpiFigures, KpiGroup, KpiGrouping, KpiResponse, Me, SiteSummary } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { I18n } from '../i18n.ts';
import { pageHeader } from '../panels/page-header.ts';
import { exposeForTests, markReady } from '../test-hooks.ts';

export const PERIODS = ['today', '7d', '30d'] as const;
export type Period = (typeof PERIODS)[number];
const GROUPINGS: readonly KpiGrouping[] = ['site', 'user', 'severity', 'rule'];
const DAY_MS = 86_400_000;
/** Used when no site is known at all (the product's demo sites are in it). */
const FALLBACK_TZ = 'Asia/Shanghai';

/**
 * Where the period starts: the start of today, or of the day 6 or 29 days before it, in `tz`.
 * Stepping back to noon before taking the day's start keeps a DST change in between from
 * landing on the wrong day. It ends "now" by the server's clock (no `to` is sent), so a
 * browser whose clock runs late does not hide the latest alarms.
 */
export function periodStart(period: Period, tz: string, now: number): number {
  const today = localDayStart(now, tz);
  const back = period === 'today' ? 0 : period === '7d' ? 6 : 29;
  return back === 0 ? today : localDayStart(today - back * DAY_MS + DAY_MS / 2, tz);
}

interface View {
  site: string;
  period: Period;
  by: KpiGrouping;
}

function readView(sites: SiteSummary[]): View {
  const q = new URLSearchParams(location.search);
  const site = q.get('site') ?? '';
  const period = q.get('period') as Period | null;
  const by = q.get('by') as KpiGrouping | null;
  return {
    // One site: that one; several: all of them unless the URL names one.
    site: sites.length === 1 ? (sites[0]?.id ?? '') : sites.some((s) => s.id === site) ? site : '',
    period: period !== null && PERIODS.includes(period) ? period : '7d',
    by: by !== null && GROUPINGS.includes(by) ? by : 'site',
  };
}

export async function renderKpis(root: HTMLElement, api: Api, i18n: I18n, me: Me, toLogin: () => void): Promise<void> {
  const allowed = me.permissions.includes('kpis:read');
  const sites = allowed ? await api.sites() : [];
  const view = readView(sites);
  let data: KpiResponse | null = null;
  /** The choices `data` answers (a newer load may be under way). */
  let shown: View = { ...view };
  let error: string | null = null;
  let loading = 0;

  const header = pageHeader({ api, i18n }, me, { href: '/kpis', label: (t) => t.kpiNav, toLogin });
  const controls = h('div', { class: 'kpi-controls' });
  const body = h('div', { class: 'kpi-body' });
  const page = h('div', { class: 'kpis' }, header.el, h('main', { class: 'kpi-main' }, controls, body));
  replace(root, page);

  const timeZone = () => sites.find((s) => s.id === view.site)?.timezone ?? sites[0]?.timezone ?? FALLBACK_TZ;
  const query = () => ({ ...(view.site ? { site: view.site } : {}), from: new Date(periodStart(view.period, timeZone(), Date.now())).toISOString(), by: view.by });

  function choice<T extends string>(testid: string, label: string, values: readonly T[], current: T, text: (v: T) => string, pick: (v: T) => void): HTMLElement {
    return h(
      'div',
      { class: 'segmented', role: 'group', 'aria-label': label, 'data-testid': testid },
      ...values.map((v) => h('button', { class: v === current ? 'active' : '', 'aria-pressed': v === current ? 'true' : 'false', 'data-value': v, onclick: () => pick(v) }, text(v))),
    );
  }

  function renderControls(): void {
    const t = i18n.t;
    const sitePicker =
      sites.length > 1
        ? h('select', { 'data-testid': 'kpi-site', 'aria-label': t.site }, h('option', { value: '', selected: view.site === '' }, t.kpiAllSites), ...sites.map((s) => h('option', { value: s.id, selected: s.id === view.site }, i18n.pick(s.name))))
        : h('strong', { class: 'kpi-site-name' }, i18n.pick(sites[0]?.name));
    if (sitePicker instanceof HTMLSelectElement) sitePicker.addEventListener('change', () => set({ site: sitePicker.value }));
    replace(
      controls,
      h('h1', {}, t.kpis),
      h('div', { class: 'kpi-row' }, sitePicker, choice('kpi-period', t.kpiPeriod, PERIODS, view.period, (p) => t.kpiPeriods[p], (period) => set({ period })), h('button', { class: 'primary kpi-download', 'data-testid': 'kpi-download', onclick: () => void download() }, t.kpiDownload)),
      h('div', { class: 'kpi-row' }, h('span', { class: 'muted' }, t.kpiGroupBy), choice('kpi-by', t.kpiGroupBy, GROUPINGS, view.by, (b) => t.kpiBy[b], (by) => set({ by }))),
    );
  }

  const dur = (seconds: number | null) => (seconds === null ? '—' : i18n.t.duration(seconds));
  const percent = (share: number | null) => (share === null ? '—' : `${Math.round(share * 100)}%`);

  function groupName(g: KpiGroup, by: KpiGrouping): HTMLElement {
    const t = i18n.t;
    if (by === 'severity' && g.key !== null) return h('span', { class: `sev sev-${g.key}` }, t.severity[g.key as Severity] ?? g.key);
    if (g.key === null) return h('em', { class: 'muted' }, t.kpiNobody);
    return h('span', {}, g.label ? i18n.pick(g.label) : g.key);
  }

  /** The share as a bar and a number: how many of the alarms that could be judged were in time. */
  function inTime(f: KpiFigures): HTMLElement {
    const t = i18n.t;
    const share = f.ackWithinTargetShare;
    return h(
      'div',
      { class: 'in-time' },
      h('span', { class: 'share' }, percent(share)),
      h('span', { class: 'bar', role: 'img', 'aria-label': percent(share) }, h('span', { class: 'fill', style: `width: ${share === null ? 0 : Math.round(share * 100)}%` })),
      h('span', { class: 'of muted' }, t.kpiOf(f.ackWithinTarget, f.alarms - f.pending)),
    );
  }

  function times(p: { median: number | null; p90: number | null }): HTMLElement {
    const t = i18n.t;
    if (p.median === null) return h('span', { class: 'muted' }, '—');
    return h('div', { class: 'times' }, h('strong', {}, t.kpiMedian(dur(p.median))), h('span', { class: 'muted' }, t.kpiP90(dur(p.p90))));
  }

  function row(name: HTMLElement, f: KpiFigures, cls: string, key: string | null): HTMLTableRowElement {
    const t = i18n.t;
    return h(
      'tr',
      { class: cls, 'data-key': key ?? '' },
      h('th', { scope: 'row', 'data-label': t.kpiBy[view.by] }, name),
      // One element per cell: on a phone the cell is a grid of its label and its value.
      h('td', { class: 'num', 'data-label': t.kpiAlarms }, h('span', {}, String(f.alarms))),
      h('td', { 'data-label': t.kpiInTime }, inTime(f)),
      h('td', { 'data-label': t.kpiToAck }, times(f.timeToAck)),
      h('td', { 'data-label': t.kpiToClear }, times(f.timeToClear)),
      h('td', { class: 'num', 'data-label': t.kpiUnacked }, h('div', {}, String(f.unacknowledged), f.pending > 0 ? h('div', { class: 'muted small' }, t.kpiPending(f.pending)) : null)),
    );
  }

  function renderBody(): void {
    const t = i18n.t;
    if (error !== null) return replace(body, h('p', { class: 'error', role: 'alert' }, t.failed(error)));
    if (data === null) return replace(body, h('p', { class: 'muted' }, t.loading));
    const tz = timeZone();
    const range = h('p', { class: 'muted kpi-range', 'data-testid': 'kpi-range' }, t.kpiRange(i18n.dateTime(data.from, tz), i18n.dateTime(data.to, tz), tz));
    const targets = h('p', { class: 'muted small kpi-targets' }, `${t.kpiTargets} `, (['critical', 'major', 'minor', 'warning', 'info'] as const).map((s) => `${t.severity[s]} ${dur(data!.targets[s])}`).join(' · '));
    const table = h(
      'table',
      { class: 'kpi-table', 'data-testid': 'kpi-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t.kpiBy[data.by]), h('th', { scope: 'col', class: 'num' }, t.kpiAlarms), h('th', { scope: 'col' }, t.kpiInTime), h('th', { scope: 'col' }, t.kpiToAck), h('th', { scope: 'col' }, t.kpiToClear), h('th', { scope: 'col', class: 'num' }, t.kpiUnacked))),
      h('tbody', {}, ...data.groups.map((g) => row(groupName(g, data!.by), g, 'group', g.key))),
      data.groups.length > 1 ? h('tfoot', {}, row(h('span', {}, t.kpiTotal), data.total, 'total', 'total')) : null,
    );
    replace(
      body,
      h(
        'div',
        // What the figures answer, for tests and for anyone reading the DOM.
        { class: 'kpi-result', 'data-testid': 'kpi-result', 'data-by': shown.by, 'data-period': shown.period, 'data-site': shown.site, 'data-groups': data.groups.length },
        range,
        data.groups.length === 0 ? h('p', { class: 'empty', 'data-testid': 'kpi-empty' }, t.kpiEmpty) : table,
        targets,
        h('p', { class: 'muted small' }, t.kpiHelp),
      ),
    );
  }

  async function load(): Promise<void> {
    const mine = ++loading;
    const asked = { ...view };
    try {
      const answer = await api.kpis(query());
      if (mine !== loading) return;
      data = answer;
      shown = asked;
      error = null;
    } catch (err) {
      if (mine !== loading) return;
      error = (err as Error).message;
    }
    renderBody();
    markReady();
  }

  async function download(): Promise<void> {
    try {
      const { blob, filename } = await api.kpisCsv({ ...query(), lang: i18n.language });
      const url = URL.createObjectURL(blob);
      const link = h('a', { href: url, download: filename ?? 'storetwin-response-kpis.csv', hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      error = (err as Error).message;
      renderBody();
    }
  }

  function set(change: Partial<View>): void {
    Object.assign(view, change);
    const q = new URLSearchParams();
    if (view.site) q.set('site', view.site);
    q.set('period', view.period);
    q.set('by', view.by);
    history.replaceState(null, '', `/kpis?${q}`);
    renderControls();
    void load();
  }

  exposeForTests({ kpis: () => data, view: () => ({ ...view }) });
  if (!allowed) {
    // The header does not offer this page to such roles; someone typing the address learns why it is empty.
    const forbidden = () => replace(body, h('p', { class: 'empty', 'data-testid': 'kpi-forbidden' }, i18n.t.kpiForbidden));
    forbidden();
    i18n.onChange(forbidden);
    markReady();
    return;
  }
  i18n.onChange(() => {
    renderControls();
    renderBody();
  });
  renderControls();
  renderBody();
  await load();
}
