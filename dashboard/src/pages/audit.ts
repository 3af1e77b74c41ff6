/**
 * The audit log (/audit, issue 7), for roles with `audit:read`: who did what, when and from
 * where (GET /api/audit), newest first, 50 at a time with "load more". Filters by user, action
 * (one, or a whole group), site and a range of days; edits show before → after. Times and the
 * days of the range are in one time zone, named in the column head: the filtered site's, else
 * the first visible site's. The filters live in the URL (?user=&action=&site=&from=&to=), so a
 * view can be bookmarked or sent. A table on a desktop, one card per entry on a phone.
 */
import { AUDIT_ACTIONS, AUDIT_GROUPS, type AuditEntry } from '../../../server/audit/types.ts';
import { localDate, localDayStart } from '../../../server/history/local-time.ts';
import { ApiError, type Api, type Me } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { I18n, Strings } from '../i18n.ts';
import { pageHeader } from '../panels/page-header.ts';
import { exposeForTests, markReady } from '../test-hooks.ts';

const PAGE = 50;
const DAY_MS = 86_400_000;
/** Used when no site is known at all (the product's demo sites are in it). */
const FALLBACK_TZ = 'Asia/Shanghai';
const DATE = /^\d{4}-\d{2}-\d{2}$/;

interface Filters {
  user: string;
  action: string;
  site: string;
  /** Local days, `YYYY-MM-DD`, both included. */
  from: string;
  to: string;
}

/**
 * The instant local day `date` (`YYYY-MM-DD`) begins in `tz`. Noon UTC of that date is within
 * a day of it anywhere on Earth; stepping until its local date matches, then taking that day's
 * start (local-time.ts) keeps DST and far-east/far-west zones on the right day.
 */
export function dayStart(date: string, tz: string): number {
  let probe = Date.parse(`${date}T12:00:00Z`);
  for (let i = 0; i < 2; i++) {
    const local = localDate(probe, tz);
    if (local === date) break;
    probe += local < date ? DAY_MS : -DAY_MS;
  }
  return localDayStart(probe, tz);
}

/** `YYYY-MM-DD` + one day. */
function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

function readFilters(): Filters {
  const q = new URLSearchParams(location.search);
  const date = (key: string) => (DATE.test(q.get(key) ?? '') ? (q.get(key) as string) : '');
  const action = q.get('action') ?? '';
  return {
    user: (q.get('user') ?? '').slice(0, 64),
    action: (AUDIT_ACTIONS as readonly string[]).includes(action) || AUDIT_GROUPS.includes(action) ? action : '',
    site: q.get('site') ?? '',
    from: date('from'),
    to: date('to'),
  };
}

function writeFilters(f: Filters): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
  const search = q.toString();
  history.replaceState(null, '', `/audit${search ? `?${search}` : ''}`);
}

/** A rule's message and the like: `{en, zh-CN}`. */
const isLocalized = (v: unknown): v is { en: string; 'zh-CN': string } =>
  typeof v === 'object' && v !== null && typeof (v as { en?: unknown }).en === 'string' && typeof (v as { 'zh-CN'?: unknown })['zh-CN'] === 'string';

export async function renderAudit(root: HTMLElement, api: Api, i18n: I18n, me: Me, toLogin: () => void): Promise<void> {
  const allowed = me.permissions.includes('audit:read');
  const sites = allowed ? await api.sites() : [];
  const filters = readFilters();
  if (!sites.some((s) => s.id === filters.site)) filters.site = '';
  let entries: AuditEntry[] = [];
  let nextCursor: string | null = null;
  let error: ((t: Strings) => string) | null = null;
  let loading = false;
  /** Bumped per reset: an answer to a superseded query is dropped. */
  let generation = 0;
  /** Answers shown so far (tests wait for the next one). */
  let loads = 0;

  const header = pageHeader({ api, i18n }, me, { href: '/audit', label: (t) => t.audit.nav, toLogin });
  // Inputs are made once and kept across renders, so what is typed survives a language switch.
  const userInput = h('input', { name: 'user', maxlength: 64, autocomplete: 'off', spellcheck: 'false', value: filters.user, 'data-testid': 'audit-user' });
  const fromInput = h('input', { type: 'date', name: 'from', value: filters.from, 'data-testid': 'audit-from' });
  const toInput = h('input', { type: 'date', name: 'to', value: filters.to, 'data-testid': 'audit-to' });
  const form = h('form', { class: 'audit-filters', novalidate: true, 'data-testid': 'audit-filters' });
  const intro = h('div', { class: 'audit-intro' });
  const status = h('p', { class: 'audit-status', role: 'status', 'data-testid': 'audit-status' });
  const table = h('table', { class: 'audit-log', 'data-testid': 'audit-table' });
  const more = h('div', { class: 'audit-more' });
  const main = h('main', { class: 'audit-main' }, intro, allowed ? form : null, status, allowed ? table : null, more);
  replace(root, h('div', { class: 'audit' }, header.el, main));

  const timeZone = () => sites.find((s) => s.id === filters.site)?.timezone ?? sites[0]?.timezone ?? FALLBACK_TZ;
  const siteName = (id: string | null) => (id === null ? '—' : i18n.pick(sites.find((s) => s.id === id)?.name) || id);

  function query(): Parameters<Api['audit']>[0] {
    const tz = timeZone();
    return {
      ...(filters.user ? { user: filters.user } : {}),
      ...(filters.action ? { action: filters.action } : {}),
      ...(filters.site ? { site: filters.site } : {}),
      ...(filters.from ? { from: new Date(dayStart(filters.from, tz)).toISOString() } : {}),
      // The last day is included: up to the start of the day after it.
      ...(filters.to ? { to: new Date(dayStart(nextDay(filters.to), tz)).toISOString() } : {}),
      limit: PAGE,
    };
  }

  async function load(reset: boolean): Promise<void> {
    const mine = reset ? ++generation : generation;
    loading = true;
    render();
    try {
      const page = await api.audit({ ...query(), ...(reset || nextCursor === null ? {} : { cursor: nextCursor }) });
      if (mine !== generation) return;
      entries = reset ? page.items : [...entries, ...page.items];
      nextCursor = page.nextCursor;
      error = null;
    } catch (err) {
      if (mine !== generation) return;
      const message = (err as Error).message;
      error = err instanceof ApiError && err.status === 403 ? (t) => t.audit.forbidden : (t) => t.failed(message);
    } finally {
      if (mine === generation) loading = false;
    }
    loads++;
    render();
  }

  function apply(ev?: Event): void {
    ev?.preventDefault();
    const next: Filters = { ...filters, user: userInput.value.trim(), from: fromInput.value, to: toInput.value };
    const action = form.querySelector<HTMLSelectElement>('select[name="action"]');
    const site = form.querySelector<HTMLSelectElement>('select[name="site"]');
    if (action) next.action = action.value;
    if (site) next.site = site.value;
    if (next.from && next.to && next.from > next.to) {
      error = (t) => t.audit.dateOrder;
      render();
      return;
    }
    Object.assign(filters, next);
    writeFilters(filters);
    void load(true);
  }
  form.addEventListener('submit', apply);

  function reset(): void {
    Object.assign(filters, { user: '', action: '', site: '', from: '', to: '' });
    userInput.value = fromInput.value = toInput.value = '';
    writeFilters(filters);
    void load(true);
  }

  function renderForm(t: Strings): void {
    const action = h(
      'select',
      { name: 'action', 'data-testid': 'audit-action' },
      h('option', { value: '', selected: filters.action === '' }, t.audit.allActions),
      ...AUDIT_GROUPS.map((g) => {
        const group = t.audit.groups[g] ?? g;
        return h(
          'optgroup',
          { label: group },
          h('option', { value: g, selected: filters.action === g }, t.audit.groupAll(group)),
          ...AUDIT_ACTIONS.filter((a) => a.startsWith(`${g}.`)).map((a) => h('option', { value: a, selected: filters.action === a }, t.audit.actions[a])),
        );
      }),
    );
    const site =
      sites.length > 1
        ? h('select', { name: 'site', 'data-testid': 'audit-site' }, h('option', { value: '', selected: filters.site === '' }, t.audit.allSites), ...sites.map((s) => h('option', { value: s.id, selected: s.id === filters.site }, i18n.pick(s.name))))
        : null;
    userInput.placeholder = t.audit.anyone;
    replace(
      form,
      h('label', {}, t.audit.user, userInput),
      h('label', {}, t.audit.action, action),
      site ? h('label', {}, t.audit.site, site) : null,
      h('label', {}, t.audit.from, fromInput),
      h('label', {}, t.audit.to, toInput),
      h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'audit-apply' }, t.audit.show), h('button', { type: 'button', 'data-testid': 'audit-reset', onclick: reset }, t.audit.reset)),
    );
  }

  /** One value as people read it: states, arming and sources translated, instants in the zone. */
  function value(key: string, v: unknown, t: Strings): string {
    if (v === null || v === undefined) return '—';
    if (key === 'sites' && Array.isArray(v)) return v.length === 0 ? t.audit.everySite : v.join(', ');
    if (key === 'state' && typeof v === 'string') return (t.alarmState as Record<string, string>)[v] ?? v;
    if (key === 'armed' && typeof v === 'boolean') return v ? t.armed : t.disarmed;
    if (key === 'source' && typeof v === 'string') return t.audit.sources[v] ?? v;
    if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v) && Number.isFinite(Date.parse(v))) return i18n.dateTime(v, timeZone());
    if (typeof v === 'boolean') return v ? t.audit.yes : t.audit.no;
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    if (isLocalized(v)) return i18n.pick(v);
    const text = JSON.stringify(v);
    return text.length > 160 ? `${text.slice(0, 159)}…` : text;
  }

  function changeCell(e: AuditEntry, t: Strings): HTMLElement | string {
    const field = (key: string) => h('span', { class: 'field' }, `${t.audit.fields[key] ?? key}: `);
    const lines: HTMLElement[] = [];
    const before = e.before ?? {};
    const after = e.after ?? {};
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (e.before && e.after) lines.push(h('div', { class: 'line', 'data-field': key }, field(key), h('del', {}, value(key, before[key], t)), ' → ', h('ins', {}, value(key, after[key], t))));
      else lines.push(h('div', { class: e.after ? 'line' : 'line gone', 'data-field': key }, field(key), value(key, e.after ? after[key] : before[key], t)));
    }
    for (const [key, v] of Object.entries(e.detail ?? {})) {
      if (key === 'comment' && typeof v === 'string') lines.push(h('q', { class: 'line comment' }, v));
      else if (key === 'passwordReset' && v === true) lines.push(h('div', { class: 'line' }, t.audit.passwordReset));
      else lines.push(h('div', { class: 'line', 'data-field': key }, field(key), value(key, v, t)));
    }
    return lines.length === 0 ? '' : h('div', { class: 'change' }, ...lines);
  }

  function targetCell(e: AuditEntry, t: Strings): HTMLElement | string {
    if (!e.target) return '—';
    const { kind, id, name } = e.target;
    // Alarm ids are UUIDs, token ids 16 hex digits: the start tells them apart, the title has all.
    const label = name ?? (kind === 'maintenance' ? `#${id}` : kind === 'alarm' || kind === 'token' ? id.slice(0, 8) : id);
    return h('span', { class: 'target', title: id, 'data-testid': 'audit-target', 'data-kind': kind, 'data-id': id }, h('span', { class: 'kind' }, t.audit.kinds[kind] ?? kind), ' ', h('code', {}, label));
  }

  function userCell(e: AuditEntry, t: Strings): HTMLElement {
    const system = e.userId === null && e.action !== 'auth.login_failed';
    const name = system && e.user === 'cli' ? t.audit.cli : system && e.user === 'setup' ? t.audit.setup : e.user;
    return h('span', { class: 'who' }, h('span', { class: system ? 'name system' : 'name' }, name), e.role ? h('span', { class: 'badge' }, e.role) : null);
  }

  function row(e: AuditEntry, t: Strings, tz: string): HTMLTableRowElement {
    const group = e.action.slice(0, e.action.indexOf('.'));
    const change = changeCell(e, t);
    return h(
      'tr',
      { class: `group-${group}${e.action === 'auth.login_failed' ? ' warn' : ''}`, 'data-action': e.action, 'data-entry': e.id },
      h('td', { class: 'when', 'data-label': t.audit.time(tz) }, h('time', { datetime: e.at }, i18n.dateTime(e.at, tz))),
      h('td', { 'data-label': t.audit.user }, userCell(e, t)),
      h('td', { class: 'what', 'data-label': t.audit.action }, h('span', { class: 'action' }, t.audit.actions[e.action] ?? e.action)),
      h('td', { class: e.site === null ? 'none' : '', 'data-label': t.audit.site }, siteName(e.site)),
      h('td', { class: e.target === null ? 'none' : '', 'data-label': t.audit.target }, targetCell(e, t)),
      h('td', { class: change === '' ? 'none' : '', 'data-label': t.audit.change }, change),
      h('td', { class: e.ip === null ? 'none' : '', 'data-label': t.audit.ip }, h('span', { class: 'ip' }, e.ip ?? '—')),
    );
  }

  function render(): void {
    const t = i18n.t;
    const tz = timeZone();
    replace(intro, h('h1', {}, t.audit.title), h('p', { class: 'hint' }, allowed ? t.audit.hint : t.audit.forbidden));
    if (!allowed) return;
    renderForm(t);
    const heads = [t.audit.time(tz), t.audit.user, t.audit.action, t.audit.site, t.audit.target, t.audit.change, t.audit.ip];
    replace(table, h('thead', {}, h('tr', {}, ...heads.map((label) => h('th', { scope: 'col' }, label)))), h('tbody', {}, ...entries.map((e) => row(e, t, tz))));
    status.className = error ? 'audit-status error' : 'audit-status';
    status.textContent = error ? error(t) : loading && entries.length === 0 ? t.audit.loading : entries.length === 0 ? t.audit.empty : t.audit.shown(entries.length, nextCursor !== null);
    replace(more, nextCursor !== null ? h('button', { 'data-testid': 'audit-more', disabled: loading, onclick: () => void load(false) }, loading ? t.audit.loading : t.audit.loadMore) : null);
  }

  i18n.onChange(render);
  exposeForTests({ auditEntries: () => entries, auditLoads: () => loads, auditTimeZone: timeZone, state: null, twinStats: () => null });
  if (allowed) await load(true);
  else render();
  markReady();
}
