/**
 * The panel for a picked zone or device: live state, the zone's devices with battery, RSRP
 * and last seen, recent events, open alarms, the latest snapshot, and arm/disarm for roles
 * with zones:arm. Re-renders when the store's state changes (live or replayed).
 */
import type { Ctx } from '../context.ts';
import { h, replace } from '../dom.ts';
import type { Pick } from '../twin/types.ts';
import type { StoredEvent } from '../api.ts';
import { isOpen, sortAlarms } from '../alarm-order.ts';
import { snapshotView } from './snapshot.ts';

export class SidePanel {
  readonly el = h('aside', { class: 'side-panel', hidden: true, 'data-testid': 'side-panel' });
  private pick: Pick | null = null;
  private events: StoredEvent[] = [];
  private offs: Array<() => void> = [];

  constructor(private readonly ctx: Ctx) {
    this.offs.push(ctx.store.on('state', () => this.render()));
    this.offs.push(ctx.store.on('alarms', () => this.render()));
    this.offs.push(ctx.store.on('arming', () => this.render()));
    this.offs.push(ctx.i18n.onChange(() => this.render()));
  }

  show(pick: Pick): void {
    this.pick = pick;
    this.el.hidden = false;
    this.events = [];
    this.render();
    void this.loadEvents();
    void this.refreshArming();
  }

  hide(): void {
    this.pick = null;
    this.el.hidden = true;
  }

  dispose(): void {
    for (const off of this.offs) off();
  }

  private zoneOf(pick: Pick): string | null {
    if (pick.kind === 'zone') return pick.id;
    return this.ctx.store.model?.devices.find((d) => d.id === pick.id)?.zone ?? this.ctx.store.state?.devices[pick.id]?.zone ?? null;
  }

  /** Arming changes are pushed live (`arming`); opening a panel also reads the details (who, until). */
  private async refreshArming(): Promise<void> {
    const { api, store } = this.ctx;
    if (!store.site) return;
    try {
      store.setArming(await api.arming(store.site));
    } catch {
      // Keep the last known arming.
    }
  }

  private async loadEvents(): Promise<void> {
    const { api, store } = this.ctx;
    const pick = this.pick;
    if (!pick || !store.site || !store.can('events:read')) return;
    try {
      const query = pick.kind === 'device' ? { site: store.site, device: pick.id, limit: 10 } : { site: store.site, zone: pick.id, limit: 10 };
      this.events = await api.events(query);
      if (this.pick === pick) this.render();
    } catch {
      this.events = [];
    }
  }

  private render(): void {
    if (!this.pick || this.el.hidden) return;
    const { i18n, store, api } = this.ctx;
    const t = i18n.t;
    const tz = store.timeZone;
    const zoneId = this.zoneOf(this.pick);
    const zone = zoneId ? store.model?.floors.flatMap((f) => f.zones).find((z) => z.id === zoneId) : undefined;
    const zoneState = zoneId ? store.state?.zones[zoneId] : undefined;
    const hasOccupancy = zoneState?.occupancy !== null && zoneState?.occupancy !== undefined;
    const arming = zoneId ? store.arming.get(zoneId) : undefined;
    // The model lists every placed and registered device; the state may lack one (a replayed
    // instant before it reported).
    const ids = new Set([...(store.model?.devices ?? []).filter((d) => d.zone === zoneId).map((d) => d.id), ...Object.values(store.state?.devices ?? {}).filter((d) => d.zone === zoneId).map((d) => d.id)]);
    const devices = [...ids].filter((id) => this.pick?.kind === 'zone' || id === this.pick?.id).map((id) => ({ id, ...blankDevice, ...store.state?.devices[id] }));
    const alarms = sortAlarms(store.openAlarms().filter((a) => isOpen(a) && a.zone === zoneId));
    const withSnapshot = [...store.alarms.values()].filter((a) => a.zone === zoneId && a.snapshot?.status === 'attached').sort((a, b) => Date.parse(b.lastAt) - Date.parse(a.lastAt))[0];
    const armButton = (armed: boolean) =>
      h(
        'button',
        {
          'data-testid': armed ? 'arm' : 'disarm',
          onclick: async () => {
            if (!store.site || !zoneId) return;
            await api.arm(store.site, zoneId, armed);
            store.setArming(await api.arming(store.site));
          },
        },
        armed ? t.arm : t.disarm,
      );
    replace(
      this.el,
      h('header', {}, h('h2', { 'data-testid': 'panel-title' }, zone ? i18n.pick(zone.name) : (zoneId ?? this.pick.id)), h('button', { class: 'close', 'aria-label': t.close, onclick: () => this.hide() }, '×')),
      h(
        'dl',
        { class: 'zone-state' },
        h('dt', {}, t.door),
        h('dd', { 'data-testid': 'zone-door' }, zoneState?.door ? (zoneState.door === 'open' ? t.open : t.closed) : t.unknown),
        hasOccupancy ? h('dt', {}, t.occupancy) : null,
        hasOccupancy ? h('dd', {}, `${zoneState?.occupancy}${zoneState?.capacity ? ` / ${zoneState.capacity}` : ''}`) : null,
        h('dt', {}, t.state),
        h('dd', { 'data-testid': 'zone-armed' }, arming ? (arming.armed ? t.armed : t.disarmed) : t.unknown),
      ),
      store.can('zones:arm') && zoneId ? h('div', { class: 'actions' }, armButton(true), armButton(false)) : null,
      h('h3', {}, t.devices),
      h(
        'table',
        { class: 'devices' },
        h('tr', {}, h('th', {}, 'ID'), h('th', {}, t.battery), h('th', {}, t.rsrp), h('th', {}, t.lastSeen)),
        ...devices.map((d) =>
          h(
            'tr',
            { class: d.online === false ? 'offline' : '' },
            h('td', {}, d.id, d.online === false ? ` (${t.offline})` : ''),
            h('td', {}, d.batteryPct !== null ? `${d.batteryPct}%` : d.battery !== null ? `${d.battery} V` : t.unknown),
            h('td', {}, d.rsrp !== null ? `${d.rsrp} dBm` : t.unknown),
            h('td', {}, d.lastSeen ? i18n.dateTime(d.lastSeen, tz) : t.unknown),
          ),
        ),
      ),
      alarms.length ? h('h3', {}, t.openAlarms) : null,
      alarms.length ? h('ul', {}, ...alarms.map((a) => h('li', { class: `sev-${a.severity}` }, `${t.severity[a.severity]} · ${i18n.pick(a.message)}`))) : null,
      withSnapshot ? h('h3', {}, t.snapshot) : null,
      withSnapshot ? snapshotView(withSnapshot, t) : null,
      h('h3', {}, t.events),
      h('ul', { class: 'events' }, ...this.events.map((e) => h('li', {}, `${i18n.time(e.ts, tz)} ${e.device} ${e.type}${describe(e.data)}`))),
    );
  }
}

const blankDevice = { online: null as boolean | null, battery: null as number | null, batteryPct: null as number | null, rsrp: null as number | null, lastSeen: null as string | null };

function describe(data: unknown): string {
  if (!data || typeof data !== 'object') return '';
  const d = data as Record<string, unknown>;
  if (typeof d.state === 'string') return ` ${d.state}`;
  if (typeof d.online === 'boolean') return d.online ? ' online' : ' offline';
  if (typeof d.in === 'number') return ` +${d.in}/-${String(d.out ?? 0)}`;
  return '';
}
