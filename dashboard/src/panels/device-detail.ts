/**
 * One device in full, beside the list (below it on a phone): its registration (type, zone,
 * label, position, external ids, when registered), its health (status, battery, signal, last
 * seen and last message, rejected messages and the last one's code and reason), the firmware
 * its last `register` message reported, a link that opens it on the twin (/?site=&device=),
 * and its recent stored messages (GET /api/events?site=&device=).
 */
import type { Api, StoredEvent } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { I18n, Strings } from '../i18n.ts';
import type { DeviceRow } from './device-rows.ts';
import { batteryText, codeEl, signalText, statusBadge, typeName } from './device-table.ts';
import { when } from './integration-table.ts';

const RECENT = 20;

export interface DeviceDetailCtx {
  api: Api;
  i18n: I18n;
  site: string;
  tz: string;
  now(): number;
  zoneName(zone: string): string | null;
  close(): void;
}

/** What a stored message said, in a few words (numbers and states are the same in every language). */
export function eventSummary(e: StoredEvent): string {
  const d = (e.data ?? {}) as unknown as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof d.state === 'string') parts.push(d.state);
  if (typeof d.online === 'boolean') parts.push(d.online ? 'online' : 'offline');
  if (typeof d.active === 'boolean') parts.push(d.active ? 'active' : 'restored');
  if (typeof d.in === 'number') parts.push(`+${d.in} / −${String(d.out ?? 0)}`);
  if (typeof d.zone === 'string' && e.type === 'motion') parts.push(d.zone);
  if (typeof d.battery === 'number') parts.push(`${d.battery} V`);
  if (typeof d.batteryPct === 'number') parts.push(`${d.batteryPct} %`);
  if (typeof d.rsrp === 'number') parts.push(`${d.rsrp} dBm`);
  if (typeof d.snr === 'number') parts.push(`SNR ${d.snr} dB`);
  if (typeof d.softwareVersion === 'number') parts.push(`sw ${d.softwareVersion}`);
  return parts.join(' · ');
}

export class DeviceDetail {
  readonly el = h('aside', { class: 'dev-detail', tabindex: -1, 'data-testid': 'device-detail' });
  private row: DeviceRow | null = null;
  private events: StoredEvent[] | null = null;
  private firmware: StoredEvent | null = null;
  private eventsFailed = false;
  private generation = 0;

  constructor(private readonly ctx: DeviceDetailCtx) {}

  get deviceId(): string | null {
    return this.row?.device.id ?? null;
  }

  /** Shows a device; its messages load once per device (a refreshed row keeps them). */
  show(row: DeviceRow): void {
    const same = this.row?.device.id === row.device.id;
    this.row = row;
    if (!same) {
      this.events = null;
      this.firmware = null;
      this.eventsFailed = false;
      void this.loadEvents();
    }
    this.render();
  }

  async loadEvents(): Promise<void> {
    const row = this.row;
    if (!row) return;
    const mine = ++this.generation;
    const { api, site } = this.ctx;
    try {
      const [recent, register] = await Promise.all([api.events({ site, device: row.device.id, limit: RECENT }), api.events({ site, device: row.device.id, type: 'register', limit: 1 })]);
      if (mine !== this.generation) return;
      this.events = recent;
      this.firmware = register[0] ?? null;
    } catch {
      if (mine !== this.generation) return;
      this.events = [];
      this.eventsFailed = true;
    }
    this.render();
  }

  render(): void {
    const row = this.row;
    if (!row) return;
    const { i18n, tz } = this.ctx;
    const t = i18n.t;
    const T = t.devicePage;
    const d = row.device;
    const s = row.state;
    const zone = this.ctx.zoneName(d.zone);
    const rejection = s?.lastRejection ?? null;
    const pair = (label: string, value: Node | string, testid?: string) => [h('dt', {}, label), h('dd', { 'data-testid': testid }, value)];
    const ext = Object.entries(d.externalIds);
    const fw = this.firmware?.data as unknown as { hardwareVersion?: number; softwareVersion?: number } | undefined;
    replace(
      this.el,
      h(
        'header',
        {},
        h('h2', { 'data-testid': 'detail-title' }, d.id),
        h('button', { class: 'close', title: t.close, 'aria-label': t.close, 'data-testid': 'detail-close', onclick: () => this.ctx.close() }, '×'),
      ),
      d.label ? h('p', { class: 'dev-label' }, d.label) : null,
      h('p', { class: 'dev-actions' }, h('a', { class: 'button primary', href: `/?site=${encodeURIComponent(d.site)}&device=${encodeURIComponent(d.id)}`, 'data-testid': 'show-on-twin' }, T.showOnTwin)),
      h(
        'dl',
        { class: 'dev-facts' },
        ...pair(T.col.status, statusBadge(row, t)),
        ...pair(T.type, `${typeName(i18n, row)} (${d.type})`),
        ...pair(T.zone, zone ? `${zone} (${d.zone})` : d.zone),
        ...pair(T.col.battery, batteryText(row, t), 'detail-battery'),
        ...pair(T.col.signal, signalText(row, t), 'detail-signal'),
        ...pair(T.col.lastSeen(null), when(i18n, s?.lastSeen ?? null, tz, this.ctx.now())),
        ...pair(T.lastEvent, s?.lastEvent ? `${s.lastEvent.type}${s.lastEvent.seq === null ? '' : ` #${s.lastEvent.seq}`} · ${i18n.dateTime(s.lastEvent.ts, tz)}` : T.none),
        ...pair(T.rejections, String(s?.rejected ?? 0)),
        ...pair(
          T.col.rejection,
          rejection ? h('div', { class: 'last-error', 'data-testid': 'detail-rejection' }, codeEl(rejection.code), h('span', { class: 'message' }, rejection.message), when(i18n, rejection.at, tz, this.ctx.now())) : T.none,
        ),
        ...pair(T.firmware, fw && (fw.hardwareVersion !== undefined || fw.softwareVersion !== undefined) ? `${T.firmwareText(String(fw.hardwareVersion ?? '?'), String(fw.softwareVersion ?? '?'))} · ${i18n.dateTime(this.firmware!.ts, tz)}` : T.firmwareUnknown),
        ...pair(T.externalIds, ext.length ? h('dl', { class: 'pairs', 'data-testid': 'detail-external-ids' }, ...ext.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, h('code', {}, v))])) : T.none),
        ...pair(T.position, d.position ? d.position.map((n) => n.toFixed(1)).join(', ') + ' m' : T.zoneCentre),
        ...pair(T.enabled, d.enabled ? T.yes : T.no),
        ...pair(T.registeredAt, h('time', { datetime: d.createdAt }, i18n.dateTime(d.createdAt, tz)), 'detail-registered'),
        ...(d.updatedAt !== d.createdAt ? pair(T.updatedAt, i18n.dateTime(d.updatedAt, tz)) : []),
      ),
      h('h3', {}, T.recentEvents),
      this.eventsView(t),
    );
  }

  private eventsView(t: Strings): HTMLElement {
    const T = t.devicePage;
    if (this.events === null) return h('p', { class: 'hint' }, t.loading);
    if (this.eventsFailed) return h('p', { class: 'error' }, T.eventsFailed);
    if (this.events.length === 0) return h('p', { class: 'hint', 'data-testid': 'detail-no-events' }, T.noEvents);
    return h(
      'ol',
      { class: 'dev-events', 'data-testid': 'detail-events' },
      ...this.events.map((e) => h('li', {}, h('time', { datetime: e.ts }, this.ctx.i18n.dateTime(e.ts, this.ctx.tz)), h('strong', {}, e.type), h('span', {}, eventSummary(e)))),
    );
  }
}
