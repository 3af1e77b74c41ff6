/**
 * The integrations of the sites an admin can see, one row each: name, adapter (in the page's
 * language, and how it delivers), site, an on/off switch, the last message (how long ago, and
 * when in the site's time zone), the counters, the last error, and the row's actions (edit,
 * new token for push adapters, delete). A table on a desktop, one card per integration on a
 * phone (style.css). `when()` is shared with the unknown devices list.
 */
import type { AdapterInfo, PublicIntegration, SiteSummary } from '../api.ts';
import { h } from '../dom.ts';
import type { I18n, Strings } from '../i18n.ts';

/** Used when no site is known at all (the product's demo sites are in it). */
export const FALLBACK_TZ = 'Asia/Shanghai';
const DAY_MIN = 24 * 60;

export interface IntegrationTableCtx {
  i18n: I18n;
  adapters: readonly AdapterInfo[];
  sites: readonly SiteSummary[];
  now(): number;
  /** An action on this integration is under way: its controls wait. */
  busy(id: string): boolean;
}

export interface IntegrationRowActions {
  setEnabled(i: PublicIntegration, enabled: boolean): void;
  edit(i: PublicIntegration): void;
  rotate(i: PublicIntegration): void;
  remove(i: PublicIntegration): void;
}

export function siteTimeZone(sites: readonly SiteSummary[], site: string): string {
  return sites.find((s) => s.id === site)?.timezone ?? sites[0]?.timezone ?? FALLBACK_TZ;
}

/** An instant as "5 min ago" over its exact time in the site's zone (both in `<time>`). */
export function when(i18n: I18n, iso: string | null, tz: string, now: number, testid?: string): HTMLElement {
  const t = i18n.t;
  if (iso === null) return h('span', { class: 'never', 'data-testid': testid }, t.integrations.never);
  const minutes = Math.max(0, Math.floor((now - Date.parse(iso)) / 60_000));
  const ago = minutes < DAY_MIN ? t.ago(minutes) : t.integrations.daysAgo(Math.floor(minutes / DAY_MIN));
  return h('time', { class: 'when', datetime: iso, title: tz, 'data-testid': testid }, h('span', { class: 'ago' }, ago), h('span', { class: 'exact' }, i18n.dateTime(iso, tz)));
}

export function adapterLabel(i18n: I18n, adapters: readonly AdapterInfo[], id: string): string {
  const a = adapters.find((x) => x.id === id);
  return a ? i18n.pick(a.label) : id;
}

export function siteLabel(i18n: I18n, sites: readonly SiteSummary[], id: string): string {
  return i18n.pick(sites.find((s) => s.id === id)?.name) || id;
}

function counts(i: PublicIntegration, t: Strings): HTMLElement {
  const c = i.counts;
  const item = (key: keyof PublicIntegration['counts'], warn: boolean) =>
    h('li', { class: warn && c[key] > 0 ? `c-${key} warn` : `c-${key}`, 'data-count': key }, h('strong', {}, String(c[key])), ' ', h('span', {}, t.integrations.counts[key]));
  return h('ul', { class: 'counts', 'data-testid': 'integ-counts' }, item('accepted', false), item('duplicates', false), item('unknown', true), item('refused', true));
}

function lastError(ctx: IntegrationTableCtx, i: PublicIntegration, tz: string): HTMLElement {
  const t = ctx.i18n.t;
  const e = i.lastError;
  if (e === null) return h('span', { class: 'none-text' }, t.integrations.noError);
  return h('div', { class: 'last-error', 'data-testid': 'integ-error' }, h('code', {}, e.code), h('span', { class: 'message' }, e.message), when(ctx.i18n, e.at, tz, ctx.now()));
}

function row(ctx: IntegrationTableCtx, i: PublicIntegration, actions: IntegrationRowActions): HTMLTableRowElement {
  const { i18n } = ctx;
  const t = i18n.t;
  const tz = siteTimeZone(ctx.sites, i.site);
  const busy = ctx.busy(i.id);
  const toggle = h('input', { type: 'checkbox', role: 'switch', checked: i.enabled, disabled: busy, 'aria-label': t.integrations.enabledFor(i.name), 'data-testid': 'integ-enabled' });
  toggle.addEventListener('change', () => actions.setEnabled(i, toggle.checked));
  const col = t.integrations.col;
  return h(
    'tr',
    { class: i.enabled ? 'on' : 'off', 'data-integration': i.id, 'data-adapter': i.adapter },
    h('th', { scope: 'row', class: 'name', 'data-label': col.name }, h('div', {}, h('strong', { 'data-testid': 'integ-name' }, i.name), h('code', { class: 'id' }, i.id))),
    h('td', { 'data-label': col.adapter }, h('div', {}, h('span', { class: 'adapter' }, adapterLabel(i18n, ctx.adapters, i.adapter)), h('span', { class: `chip delivery-${i.delivery}` }, t.integrations.deliveryShort[i.delivery]))),
    h('td', { 'data-label': col.site }, siteLabel(i18n, ctx.sites, i.site)),
    h('td', { class: 'enabled', 'data-label': col.enabled }, h('label', { class: 'switch' }, toggle, h('span', {}, i.enabled ? t.integrations.on : t.integrations.off))),
    h('td', { class: 'last', 'data-label': col.lastMessage(tz) }, when(i18n, i.lastMessageAt, tz, ctx.now(), 'integ-last')),
    h('td', { 'data-label': col.counts }, counts(i, t)),
    h('td', { class: i.lastError ? 'error-cell' : 'error-cell none', 'data-label': col.lastError }, lastError(ctx, i, tz)),
    h(
      'td',
      { class: 'row-actions', 'data-label': col.actions },
      h(
        'div',
        { class: 'buttons' },
        h('button', { disabled: busy, 'data-testid': 'integ-edit', onclick: () => actions.edit(i) }, t.integrations.edit),
        // A connector's token opens nothing: StoreTwin calls out, nobody pushes to it.
        i.delivery === 'push' ? h('button', { disabled: busy, 'data-testid': 'integ-rotate', onclick: () => actions.rotate(i) }, t.integrations.newToken) : null,
        h('button', { class: 'danger-text', disabled: busy, 'data-testid': 'integ-remove', onclick: () => actions.remove(i) }, t.integrations.remove),
      ),
    ),
  );
}

export function integrationTable(ctx: IntegrationTableCtx, items: readonly PublicIntegration[], actions: IntegrationRowActions): HTMLTableElement {
  const t = ctx.i18n.t;
  const col = t.integrations.col;
  // The column head names the zone when every row shares one (one site, or sites alike).
  const zones = new Set(items.map((i) => siteTimeZone(ctx.sites, i.site)));
  const tzHead = zones.size === 1 ? [...zones][0]! : null;
  return h(
    'table',
    { class: 'integ-table', 'data-testid': 'integ-table' },
    h('thead', {}, h('tr', {}, ...[col.name, col.adapter, col.site, col.enabled, col.lastMessage(tzHead), col.counts, col.lastError, col.actions].map((label) => h('th', { scope: 'col' }, label)))),
    h('tbody', {}, ...items.map((i) => row(ctx, i, actions))),
  );
}
