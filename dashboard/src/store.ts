/**
 * What the dashboard knows about the selected site right now: its model, live state and open
 * alarms. Live pushes go in here; views subscribe and re-render the part they show.
 */
import type { ArmingChange } from '../../protocol/arming.ts';
import type { Alarm } from '../../server/alarms/types.ts';
import { isOpen } from './alarm-order.ts';
import type { TwinBatch } from '../../server/live/protocol.ts';
import type { SiteState } from '../../server/twin/types.ts';
import type { Me, ZoneArming } from './api.ts';
import type { SiteModel } from './twin/types.ts';

export type StoreEvent = 'state' | 'alarms' | 'arming';

export class Store {
  model: SiteModel | null = null;
  state: SiteState | null = null;
  alarms = new Map<string, Alarm>();
  arming = new Map<string, ZoneArming>();
  /** While replaying, `state` is the replayed instant and live batches are not applied. */
  replaying = false;
  /** While replaying, the alarms open at the replayed instant. */
  replayAlarms: Alarm[] | null = null;
  private listeners = new Map<StoreEvent, Set<() => void>>();

  constructor(readonly me: Me) {}

  can(action: string): boolean {
    return this.me.permissions.includes(action);
  }

  get site(): string | null {
    return this.model?.id ?? null;
  }

  get timeZone(): string {
    return this.model?.timezone ?? 'Asia/Shanghai';
  }

  load(model: SiteModel, state: SiteState, alarms: Alarm[], arming: ZoneArming[]): void {
    this.model = model;
    this.state = state;
    this.alarms = new Map(alarms.map((a) => [a.id, a]));
    this.arming = new Map(arming.map((z) => [z.zone, z]));
    this.emit('state');
    this.emit('alarms');
    this.emit('arming');
  }

  applyBatch(batch: TwinBatch): void {
    if (!this.state || batch.site !== this.state.site) return;
    Object.assign(this.state.devices, batch.devices);
    Object.assign(this.state.zones, batch.zones);
    this.emit('state');
  }

  /** Replaces the alarm by id (a later push carries the attached snapshot); drops it once closed out. */
  upsertAlarm(alarm: Alarm): { isNew: boolean } {
    const isNew = !this.alarms.has(alarm.id);
    if (!isOpen(alarm)) this.alarms.delete(alarm.id);
    else this.alarms.set(alarm.id, { ...alarm, history: alarm.history ?? this.alarms.get(alarm.id)?.history ?? [] });
    this.emit('alarms');
    return { isNew: isNew && isOpen(alarm) };
  }

  /** Open alarms as shown now: live, or those open at the replayed instant. */
  openAlarms(): Alarm[] {
    return this.replayAlarms ?? [...this.alarms.values()].filter(isOpen);
  }

  setArming(zones: ZoneArming[]): void {
    this.arming = new Map(zones.map((z) => [z.zone, z]));
    this.emit('arming');
  }

  /** A pushed arming change of the selected site (`arming` on the live feed). */
  applyArming(change: ArmingChange): void {
    if (change.site !== this.site) return;
    const known = this.arming.get(change.zone);
    this.arming.set(change.zone, { zone: change.zone, armed: change.armed, source: known?.source ?? 'manual', by: change.by, until: known?.until ?? null });
    this.emit('arming');
  }

  /** Zones armed now, as the twin tints them. */
  armedZones(): string[] {
    return [...this.arming.values()].filter((z) => z.armed).map((z) => z.zone);
  }

  zoneName(zone: string | null, pick: (v: { en: string; 'zh-CN': string }) => string): string {
    if (!zone || !this.model) return zone ?? '';
    for (const floor of this.model.floors) for (const z of floor.zones) if (z.id === zone) return pick(z.name);
    return zone;
  }

  on(event: StoreEvent, listener: () => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit(event: StoreEvent): void {
    for (const l of this.listeners.get(event) ?? []) l();
  }
}
