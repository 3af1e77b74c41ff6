/**
 * The device list of one site: id and label, type, zone, status, battery (volts and the
 * estimated charge), signal (RSRP/SNR), last seen and the last rejected message (both as "how
 * long ago" over the exact time in the site's zone), when it was registered. Battery and signal
 * cells say "n/a" for types without those capabilities. A table on a desktop, one card per
 * device on a phone (style.css). The id is a link to the device (?device=), opened in place.
 */
import { h } from '../dom.ts';
import type { I18n, Strings } from '../i18n.ts';
import { matchesFilter, type DeviceRow } from './device-rows.ts';
import { when } from './integration-table.ts';

export interface DeviceTableCtx {
  i18n: I18n;
  site: string;
  tz: string;
  now(): number;
  zoneName(zone: string): string | null;
  selected: string | null;
  select(id: string): void;
}

export function batteryText(row: DeviceRow, t: Strings): string {
  const T = t.devicePage;
  if (!row.hasBattery) return T.notApplicable;
  const v = row.state?.battery ?? null;
  const pct = row.state?.batteryPct ?? null;
  if (v === null && pct === null) return T.none;
  return [v === null ? null : `${v.toFixed(2)} V`, pct === null ? null : `${Math.round(pct)} %`].filter(Boolean).join(' · ');
}

export function signalText(row: DeviceRow, t: Strings): string {
  const T = t.devicePage;
  if (!row.hasSignal) return T.notApplicable;
  const rsrp = row.state?.rsrp ?? null;
  const snr = row.state?.snr ?? null;
  if (rsrp === null && snr === null) return T.none;
  return [rsrp === null ? null : `${rsrp} dBm`, snr === null ? null : `SNR ${snr} dB`].filter(Boolean).join(' · ');
}

/** An STW_ERR_ code that may break after its underscores (a narrow cell), its text unchanged. */
export function codeEl(code: string, title?: string): HTMLElement {
  const parts = code.split('_');
  return h('code', { title }, ...parts.flatMap((p, i) => (i === 0 ? [p] : [h('wbr'), `_${p}`])));
}

export function typeName(i18n: I18n, row: DeviceRow): string {
  return row.type ? i18n.pick(row.type.label) : row.device.type;
}

export function statusBadge(row: DeviceRow, t: Strings): HTMLElement {
  return h('span', { class: `dev-status s-${row.status}`, title: t.devicePage.statusHint[row.status], 'data-testid': 'device-status' }, t.devicePage.status[row.status]);
}

function rowEl(ctx: DeviceTableCtx, row: DeviceRow): HTMLTableRowElement {
  const { i18n } = ctx;
  const t = i18n.t;
  const T = t.devicePage;
  const col = T.col;
  const d = row.device;
  const zone = ctx.zoneName(d.zone);
  const rejection = row.state?.lastRejection ?? null;
  const href = `/devices?site=${encodeURIComponent(ctx.site)}&device=${encodeURIComponent(d.id)}`;
  const link = h('a', { href, class: 'dev-id', 'data-testid': 'device-link' }, d.id);
  link.addEventListener('click', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    ev.preventDefault();
    ctx.select(d.id);
  });
  const tr = h(
    'tr',
    { 'data-device': d.id, class: [ctx.selected === d.id ? 'selected' : '', d.enabled ? '' : 'off'].join(' ').trim() || null, 'aria-selected': ctx.selected === d.id ? 'true' : null },
    h('th', { scope: 'row', 'data-label': col.device }, h('div', {}, link, d.label ? h('span', { class: 'dev-label' }, d.label) : null, d.enabled ? null : h('span', { class: 'chip' }, T.disabled))),
    h('td', { class: 'type', 'data-label': col.type }, typeName(i18n, row)),
    h('td', { class: 'zone', 'data-label': col.zone }, h('div', {}, h('span', {}, zone ?? d.zone), zone ? h('code', { class: 'dev-zone-id' }, d.zone) : null)),
    h('td', { 'data-label': col.status }, statusBadge(row, t)),
    h('td', { class: `num${matchesFilter(row, 'lowBattery') ? ' warn' : ''}${row.hasBattery ? '' : ' na'}`, 'data-label': col.battery, 'data-testid': 'device-battery' }, batteryText(row, t)),
    h('td', { class: `num${row.hasSignal ? '' : ' na'}`, 'data-label': col.signal, 'data-testid': 'device-signal' }, signalText(row, t)),
    h('td', { 'data-label': col.lastSeen(null) }, when(i18n, row.state?.lastSeen ?? null, ctx.tz, ctx.now(), 'device-last-seen')),
    h(
      'td',
      { class: rejection ? 'rejection' : 'rejection none', 'data-label': col.rejection, 'data-testid': 'device-rejection' },
      rejection ? h('div', { class: 'last-error' }, codeEl(rejection.code, rejection.message), when(i18n, rejection.at, ctx.tz, ctx.now())) : h('span', { class: 'none-text' }, T.none),
    ),
    h('td', { class: 'registered', 'data-label': col.registered }, h('time', { datetime: d.createdAt }, i18n.dateTime(d.createdAt, ctx.tz))),
  );
  tr.addEventListener('click', (ev) => {
    // A click anywhere on the row picks it (the link handles its own).
    if ((ev.target as HTMLElement).closest('a, button')) return;
    ctx.select(d.id);
  });
  return tr;
}

export function deviceTable(ctx: DeviceTableCtx, rows: readonly DeviceRow[]): HTMLTableElement {
  const col = ctx.i18n.t.devicePage.col;
  return h(
    'table',
    { class: 'integ-table dev-table', 'data-testid': 'device-table' },
    h('thead', {}, h('tr', {}, ...[col.device, col.type, col.zone, col.status, col.battery, col.signal, col.lastSeen(ctx.tz), col.rejection, col.registered].map((label) => h('th', { scope: 'col' }, label)))),
    h('tbody', {}, ...rows.map((r) => rowEl(ctx, r))),
  );
}
