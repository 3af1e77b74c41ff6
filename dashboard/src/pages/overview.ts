/**
 * The chain overview (/overview, 渠道画像): every site the user may see in one table from one
 * request (GET /api/overview) — footfall today against the same weekday last week up to the
 * same time, a sparkline per hour, people inside, open alarms by severity, the oldest one
 * nobody acknowledged, device health and (for kpis:read) the share acknowledged in time. Any
 * column sorts (the choice lives in the URL, ?sort=&dir=), a box filters by name, and a row
 * opens that site's twin (/?site=…). Refreshed every 30 s. For roles with alarms:read.
 */
import type { OverviewAnswer, OverviewSeverity, SiteOverview } from '../../../protocol/overview.ts';
import type { Api, Me } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { I18n } from '../i18n.ts';
import { pageHeader } from '../panels/page-header.ts';
import { sparkline } from '../panels/sparkline.ts';
import { exposeForTests, markReady } from '../test-hooks.ts';

const SEVERITIES: readonly OverviewSeverity[] = ['critical', 'major', 'minor', 'warning', 'info'];
const REFRESH_MS = 30_000;

export const SORT_KEYS = ['site', 'footfall', 'change', 'occupancy', 'alarms', 'oldest', 'devices', 'response'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
type Dir = 'asc' | 'desc';

/** A site's value for a column; null sorts last whichever the direction. */
type SortValue = number | string | null;

/** Today against the same time last week, as a fraction (0.12 = 12 % more); null when last week had none. */
export function change(s: SiteOverview): number | null {
  const f = s.footfall;
  if (!f || f.lastWeekSameTime === 0) return null;
  return (f.today - f.lastWeekSameTime) / f.lastWeekSameTime;
}

/** Open alarms weighed by severity: one critical outranks any number of majors (up to 10⁴). */
function alarmWeight(s: SiteOverview): number {
  return SEVERITIES.reduce((w, sev) => w * 10_000 + Math.min(s.alarms.bySeverity[sev], 9_999), 0);
}

function sortValue(s: SiteOverview, key: SortKey, now: number, name: string): SortValue {
  switch (key) {
    case 'site':
      return name;
    case 'footfall':
      return s.footfall?.today ?? null;
    case 'change':
      return change(s);
    case 'occupancy':
      return s.occupancy?.now ?? null;
    case 'alarms':
      return alarmWeight(s);
    case 'oldest':
      return s.alarms.oldestUnacknowledgedAt === null ? null : now - Date.parse(s.alarms.oldestUnacknowledgedAt);
    case 'devices':
      return s.devices.offline + s.devices.lowBattery + s.devices.silent;
    case 'response':
      return s.response?.ackWithinTargetShare ?? null;
  }
}

/** What a first click on a column sorts by: problems and big numbers first, names A→Z. */
const FIRST_DIR: Record<SortKey, Dir> = { site: 'asc', footfall: 'desc', change: 'asc', occupancy: 'desc', alarms: 'desc', oldest: 'desc', devices: 'desc', response: 'asc' };

interface View {
  sort: SortKey;
  dir: Dir;
  filter: string;
}

function readView(): View {
  const q = new URLSearchParams(location.search);
  const sort = q.get('sort') as SortKey | null;
  const dir = q.get('dir');
  const key = sort !== null && SORT_KEYS.includes(sort) ? sort : 'alarms';
  return { sort: key, dir: dir === 'asc' || dir === 'desc' ? dir : FIRST_DIR[key], filter: q.get('q') ?? '' };
}

/**
 * Formatters by language and time zone: building an Intl.DateTimeFormat costs far more than
 * using one, and 200 rows share a zone or two.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(language: string, timeZone: string, hourOnly: boolean): Intl.DateTimeFormat {
  const key = `${language}|${timeZone}|${hourOnly}`;
  let f = formatters.get(key);
  if (!f) {
    f = hourOnly
      ? new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', hourCycle: 'h23' })
      : new Intl.DateTimeFormat(language, { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
    formatters.set(key, f);
  }
  return f;
}

/** Local hour (0..23) of an instant in a site's time zone. */
function hourIn(at: number, timeZone: string): number {
  return Number(formatter('en-GB', timeZone, true).format(at)) % 24;
}

export async function renderOverview(root: HTMLElement, api: Api, i18n: I18n, me: Me, toLogin: () => void): Promise<void> {
  const allowed = me.permissions.includes('alarms:read');
  const view = readView();
  let data: OverviewAnswer | null = null;
  let error: string | null = null;
  let firstRenderMs: number | null = null;

  const header = pageHeader({ api, i18n }, me, { href: '/overview', label: (t) => t.overview.nav, toLogin });
  const controls = h('div', { class: 'ov-controls' });
  const body = h('div', { class: 'ov-body' });
  replace(root, h('div', { class: 'overview' }, header.el, h('main', { class: 'ov-main' }, controls, body)));

  const nameOf = (s: SiteOverview) => i18n.pick(s.name);

  // Built once: a refresh must not take the focus (or the text) from someone typing a filter.
  const title = h('h1', {});
  const search = h('input', { type: 'search', value: view.filter, 'data-testid': 'ov-filter' });
  search.addEventListener('input', () => {
    view.filter = search.value;
    remember();
    renderBody();
  });
  const asOf = h('span', { class: 'muted ov-asof', 'data-testid': 'ov-asof' });
  const refresh = h('button', { 'data-testid': 'ov-refresh', onclick: () => void load() });
  // On a phone the table's head is gone (one card per site): sorting is this select and button.
  const sortPick = h('select', { 'data-testid': 'ov-sort' });
  sortPick.addEventListener('change', () => sortBy(sortPick.value as SortKey));
  const sortDir = h('button', { 'data-testid': 'ov-sort-dir', onclick: () => sortBy(view.sort) });
  replace(controls, title, h('div', { class: 'ov-row' }, search, h('span', { class: 'ov-sort' }, sortPick, sortDir), asOf, refresh));

  function renderControls(): void {
    const t = i18n.t.overview;
    title.textContent = t.title;
    search.placeholder = t.filter;
    search.setAttribute('aria-label', t.filter);
    refresh.textContent = t.refresh;
    const sortable = SORT_KEYS.filter((k) => k !== 'response' || data?.response === true);
    replace(sortPick, ...sortable.map((k) => h('option', { value: k, selected: k === view.sort }, t.columns[k])));
    sortPick.setAttribute('aria-label', t.sortBy(t.columns[view.sort]));
    sortDir.textContent = view.dir === 'asc' ? '▲' : '▼';
    sortDir.setAttribute('aria-label', t.sortBy(t.columns[view.sort]));
    const tz = data?.sites[0]?.timezone;
    asOf.textContent = data && tz ? t.asOf(`${i18n.time(data.at, tz)} (${tz})`) : '';
  }

  function remember(): void {
    const q = new URLSearchParams();
    q.set('sort', view.sort);
    q.set('dir', view.dir);
    if (view.filter) q.set('q', view.filter);
    history.replaceState(null, '', `/overview?${q}`);
  }

  function sortBy(key: SortKey): void {
    view.dir = view.sort === key ? (view.dir === 'asc' ? 'desc' : 'asc') : FIRST_DIR[key];
    view.sort = key;
    remember();
    renderControls();
    renderBody();
  }

  function sorted(sites: readonly SiteOverview[], now: number): SiteOverview[] {
    const keyed = sites.map((s) => ({ s, v: sortValue(s, view.sort, now, nameOf(s)), name: nameOf(s) }));
    const sign = view.dir === 'asc' ? 1 : -1;
    const names = new Intl.Collator(i18n.language).compare;
    keyed.sort((a, b) => {
      if (a.v === null || b.v === null) return a.v === b.v ? names(a.name, b.name) : a.v === null ? 1 : -1;
      const c = typeof a.v === 'string' ? names(a.v, b.v as string) : a.v - (b.v as number);
      return sign * c || names(a.name, b.name);
    });
    return keyed.map((k) => k.s);
  }

  function columnHead(key: SortKey | null, label: string, cls = ''): HTMLTableCellElement {
    if (key === null) return h('th', { scope: 'col', class: cls }, label);
    const active = view.sort === key;
    return h(
      'th',
      { scope: 'col', class: `${cls} sortable${active ? ' sorted' : ''}`, 'aria-sort': active ? (view.dir === 'asc' ? 'ascending' : 'descending') : 'none' },
      h('button', { 'data-sort': key, title: i18n.t.overview.sortBy(label), onclick: () => sortBy(key) }, label, h('span', { class: 'arrow', 'aria-hidden': 'true' }, active ? (view.dir === 'asc' ? '▲' : '▼') : '')),
    );
  }

  function footfallCell(s: SiteOverview): HTMLElement {
    const t = i18n.t.overview;
    if (!s.footfall) return h('span', { class: 'muted' }, t.noCounter);
    return h('div', { class: 'stack' }, h('strong', { class: 'big' }, String(s.footfall.today)), h('span', { class: 'muted small' }, t.sameTime(s.footfall.lastWeekSameTime)));
  }

  function changeCell(s: SiteOverview): HTMLElement {
    const c = change(s);
    if (c === null) return h('span', { class: 'muted' }, s.footfall ? i18n.t.overview.noComparison : '—');
    const pct = Math.round(c * 100);
    return h('span', { class: `delta ${pct > 0 ? 'up' : pct < 0 ? 'down' : 'flat'}` }, `${pct > 0 ? '▲ +' : pct < 0 ? '▼ −' : ''}${Math.abs(pct)}%`);
  }

  function trendCell(s: SiteOverview, at: number): HTMLElement | string {
    const f = s.footfall;
    if (!f) return '';
    const t = i18n.t.overview;
    return h(
      'div',
      { class: 'trend' },
      sparkline({ values: f.hourly, upTo: hourIn(at, s.timezone), compare: f.lastWeekHourly, label: t.trendLabel(f.today, f.lastWeek) }),
    );
  }

  function occupancyCell(s: SiteOverview): HTMLElement {
    if (!s.occupancy) return h('span', { class: 'muted' }, '—');
    const { now, capacity } = s.occupancy;
    const full = capacity !== null && capacity > 0 && now >= capacity;
    return h('div', { class: 'stack' }, h('strong', { class: full ? 'over' : '' }, String(now)), capacity !== null ? h('span', { class: 'muted small' }, i18n.t.overview.capacity(capacity)) : null);
  }

  function alarmsCell(s: SiteOverview): HTMLElement {
    const t = i18n.t;
    if (s.alarms.open === 0) return h('span', { class: 'muted' }, t.overview.none);
    return h(
      'div',
      { class: 'stack' },
      h('div', { class: 'chips' }, ...SEVERITIES.filter((sev) => s.alarms.bySeverity[sev] > 0).map((sev) => h('span', { class: `chip sev-${sev}`, 'data-severity': sev }, `${s.alarms.bySeverity[sev]} ${t.severity[sev]}`))),
      s.alarms.unacknowledged > 0 ? h('span', { class: 'muted small' }, t.overview.unacknowledged(s.alarms.unacknowledged)) : null,
    );
  }

  function oldestCell(s: SiteOverview, at: number): HTMLElement {
    const since = s.alarms.oldestUnacknowledgedAt;
    if (since === null) return h('span', { class: 'muted' }, '—');
    const seconds = Math.max(0, (at - Date.parse(since)) / 1000);
    return h('div', { class: 'stack' }, h('strong', { class: seconds >= 600 ? 'late' : '' }, i18n.t.duration(seconds)), h('span', { class: 'muted small' }, formatter(i18n.language, s.timezone, false).format(Date.parse(since))));
  }

  function devicesCell(s: SiteOverview): HTMLElement {
    const t = i18n.t.overview;
    const d = s.devices;
    const problems = [
      [d.offline, t.offline, 'offline'],
      [d.lowBattery, t.lowBattery, 'battery'],
      [d.silent, t.silent, 'silent'],
    ] as const;
    const shown = problems.filter(([n]) => n > 0);
    return h(
      'div',
      { class: 'stack' },
      shown.length === 0 ? h('span', { class: 'ok' }, t.allReporting) : h('div', { class: 'chips' }, ...shown.map(([n, label, kind]) => h('span', { class: `chip dev-${kind}`, 'data-health': kind }, `${n} ${label}`))),
      h('span', { class: 'muted small' }, t.ofDevices(d.total)),
    );
  }

  function responseCell(s: SiteOverview): HTMLElement {
    const r = s.response;
    if (!r || (r.ackWithinTargetShare === null && r.alarms === 0)) return h('span', { class: 'muted' }, '—');
    // Raised so recently that none can be judged yet: acknowledged or not, each may still make it.
    if (r.ackWithinTargetShare === null) return h('div', { class: 'stack' }, h('span', { class: 'muted' }, '—'), h('span', { class: 'muted small' }, i18n.t.overview.pending(r.alarms)));
    const pct = Math.round(r.ackWithinTargetShare * 100);
    return h('div', { class: 'stack' }, h('strong', { class: pct < 80 ? 'late' : '' }, `${pct}%`), h('span', { class: 'muted small' }, i18n.t.overview.ofAlarms(r.alarms)));
  }

  function row(s: SiteOverview, at: number, withResponse: boolean): HTMLTableRowElement {
    const t = i18n.t.overview;
    const c = t.columns;
    const href = `/?site=${encodeURIComponent(s.site)}`;
    const tr = h(
      'tr',
      { 'data-site': s.site },
      h('th', { scope: 'row', 'data-label': c.site }, h('a', { href, 'data-testid': 'ov-open', title: t.openTwin }, nameOf(s)), h('span', { class: 'muted small site-id' }, s.site)),
      h('td', { class: 'num', 'data-label': c.footfall }, footfallCell(s)),
      h('td', { class: 'num', 'data-label': c.change }, changeCell(s)),
      h('td', { class: `spark${s.footfall ? '' : ' none'}`, 'data-label': c.trend }, trendCell(s, at)),
      h('td', { class: 'num', 'data-label': c.occupancy }, occupancyCell(s)),
      h('td', { 'data-label': c.alarms }, alarmsCell(s)),
      h('td', { class: 'num', 'data-label': c.oldest }, oldestCell(s, at)),
      h('td', { 'data-label': c.devices }, devicesCell(s)),
      withResponse ? h('td', { class: 'num', 'data-label': c.response }, responseCell(s)) : null,
    );
    // The whole row opens the twin; the link inside is what keyboards and new tabs use.
    tr.addEventListener('click', (e) => {
      if ((e.target as Element).closest('a, button')) return;
      location.assign(href);
    });
    return tr;
  }

  function renderBody(): void {
    const t = i18n.t;
    if (error !== null) return replace(body, h('p', { class: 'error', role: 'alert' }, t.failed(error)));
    if (data === null) return replace(body, h('p', { class: 'muted' }, t.loading));
    const at = Date.parse(data.at);
    const needle = view.filter.trim().toLowerCase();
    const matching = data.sites.filter((s) => !needle || s.site.includes(needle) || nameOf(s).toLowerCase().includes(needle) || s.name.en.toLowerCase().includes(needle) || s.name['zh-CN'].includes(needle));
    const c = t.overview.columns;
    const open = data.sites.reduce((n, s) => n + s.alarms.open, 0);
    const critical = data.sites.reduce((n, s) => n + s.alarms.bySeverity.critical, 0);
    const offline = data.sites.reduce((n, s) => n + s.devices.offline, 0);
    const table = h(
      'table',
      { class: 'ov-table', 'data-testid': 'ov-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columnHead('site', c.site),
          columnHead('footfall', c.footfall, 'num'),
          columnHead('change', c.change, 'num'),
          columnHead(null, c.trend),
          columnHead('occupancy', c.occupancy, 'num'),
          columnHead('alarms', c.alarms),
          columnHead('oldest', c.oldest, 'num'),
          columnHead('devices', c.devices),
          data.response ? columnHead('response', c.response, 'num') : null,
        ),
      ),
      h('tbody', {}, ...sorted(matching, at).map((s) => row(s, at, data!.response))),
    );
    replace(
      body,
      h(
        'div',
        { class: 'ov-result', 'data-testid': 'ov-result', 'data-sort': view.sort, 'data-dir': view.dir, 'data-rows': matching.length },
        h('p', { class: 'ov-summary', 'data-testid': 'ov-summary' }, t.overview.summary(data.sites.length, open, critical, offline)),
        // In a scroller of its own: between a phone's cards and a wide desktop the table may be wider than the page.
        data.sites.length === 0 ? h('p', { class: 'empty' }, t.overview.empty) : matching.length === 0 ? h('p', { class: 'empty', 'data-testid': 'ov-nomatch' }, t.overview.noMatch) : h('div', { class: 'ov-scroll' }, table),
        h('p', { class: 'ov-legend muted small' }, h('span', { class: 'ov-key today' }), t.overview.legendToday, h('span', { class: 'ov-key last-week' }), t.overview.legendLastWeek),
        h('p', { class: 'muted small' }, t.overview.help),
      ),
    );
    firstRenderMs ??= performance.now();
  }

  async function load(): Promise<void> {
    try {
      data = await api.overview();
      error = null;
    } catch (err) {
      error = (err as Error).message;
    }
    renderControls();
    renderBody();
    markReady();
  }

  exposeForTests({ overview: () => data, view: () => ({ ...view }), firstRenderMs: () => firstRenderMs });
  if (!allowed) {
    // The header does not offer this page to such roles; someone typing the address learns why it is empty.
    const forbidden = () => replace(body, h('p', { class: 'empty', 'data-testid': 'ov-forbidden' }, i18n.t.overview.forbidden));
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
  setInterval(() => void load(), REFRESH_MS);
}
