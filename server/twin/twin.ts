/**
 * The live twin: reported state of every registered device and every zone, kept from stored
 * events (so it never shows what was not durably recorded). It emits typed change events for
 * later stages and persists device state every few seconds so a restart resumes it (TwinStore;
 * the zones' state as one setting). The devices it knows come from the in-memory directory.
 */
import { deviceTypeHas } from '../../devices/index.ts';
import type { SiteOwner } from '../site-owner.ts';
import type { EventBus, ServerEvents } from '../events.ts';
import type { Logger } from '../observability/logger.ts';
import type { PublicDevice } from '../registry/types.ts';
import type { Site } from '../sites/model.ts';
import type { DeviceLookup } from '../registry/directory.ts';
import type { SettingsStore } from '../settings/store.ts';
import type { NewEvent } from '../storage/types.ts';
import { countsWiring, emptyDeviceState, emptyZoneStates, reduceEvent, type TwinWorld } from './reduce.ts';
import type { TwinStore } from './store.ts';
import type { DeviceState, SiteState, TwinReader, ZoneState } from './types.ts';

export interface TwinDeps {
  sites: { list(): Site[]; get(id: string): Site | undefined };
  /** The devices (the directory: in memory). */
  registry: Pick<DeviceLookup, 'getDevice' | 'allDevices' | 'devicesOfSite'>;
  /** Where device state is persisted. */
  store: TwinStore;
  /** Where zone state is persisted (one key). */
  settings: SettingsStore;
  bus: EventBus;
  logger: Logger;
  /** How often dirty device state is written to the store. */
  persistEveryMs?: number;
  /** A worker of several: how often the state of the sites others hold is read from the store. */
  mirrorEveryMs?: number;
  /**
   * A worker of several keeps the twin of the sites it holds (server/cluster/site-ownership.ts):
   * it writes only those sites' state, each site's zones under a key of its own, and reads a
   * site's state from the store when it acquires the site (reloadSite). Alone, it holds every site.
   */
  owner?: SiteOwner;
}

const ZONE_STATE_KEY = 'twin.zones';
/** A worker's zones: one key per site, so that workers holding different sites never overwrite each other. */
const siteZonesKey = (site: string) => `${ZONE_STATE_KEY}/${site}`;

const zoneKey = (site: string, zone: string) => `${site}/${zone}`;

/**
 * Re-read below the newest snapshot seen when mirroring: the holders stamp snapshots with their
 * own clocks, which differ from each other's by a little.
 */
const MIRROR_OVERLAP_MS = 30_000;

/** A device's state as saved, under the identity the registry gives it now. */
function restoredState(device: PublicDevice, saved: Record<string, unknown>): DeviceState {
  return { ...emptyDeviceState(device), ...(saved as Partial<DeviceState>), id: device.id, site: device.site, zone: device.zone, type: device.type };
}

export class Twin implements TwinReader {
  private readonly devices = new Map<string, DeviceState>();
  /** site → zone id → state */
  private readonly zones = new Map<string, Map<string, ZoneState>>();
  /** device id → the zone whose occupancy its counts feed. */
  private readonly countsInto = new Map<string, string>();
  /** `site/zone` → ids of the devices in it. */
  private readonly byZone = new Map<string, Set<string>>();
  private readonly dirty = new Set<string>();
  private zonesDirty = false;
  /** Sites whose zones changed since the last write (a worker's per-site keys). */
  private readonly zonesDirtySites = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private mirrorTimer: NodeJS.Timeout | null = null;
  /** The newest snapshot time mirrored (ms); null: none yet, the next look reads them all. */
  private mirroredUpTo: number | null = null;
  private mirroring = false;
  /**
   * Sites handed to another worker whose state this one still has to write (beforeRelease →
   * flushed(sites)): no longer held, but what it saw of them is the newest there is.
   */
  private readonly releasing = new Set<string>();
  /** The write under way, if any: one at a time, and stop() waits for it. */
  private persisting: Promise<void> | null = null;
  private readonly log: Logger;
  private readonly unsubscribe: Array<() => void> = [];
  /** What the shared reduction (reduce.ts) reads of this twin. */
  private readonly world: TwinWorld = {
    zone: (site, zone) => this.zones.get(site)?.get(zone),
    devicesIn: (site, zone) => {
      const ids = this.byZone.get(zoneKey(site, zone)) ?? [];
      return [...ids].flatMap((id) => this.devices.get(id) ?? []);
    },
    countsInto: (device) => this.countsInto.get(device),
  };

  constructor(private readonly deps: TwinDeps) {
    this.log = deps.logger.child({ module: 'twin' });
  }

  async start(): Promise<void> {
    for (const site of this.deps.sites.list()) this.addSite(site);
    this.restoreZones(await this.deps.settings.get(ZONE_STATE_KEY));
    const snapshots = await this.deps.store.loadDeviceStates();
    const saved = new Map(snapshots.map((s) => [s.device, s.state]));
    this.mirroredUpTo = snapshots.reduce<number | null>((max, s) => Math.max(max ?? 0, Date.parse(s.updatedAt)), null);
    for (const rec of this.deps.registry.allDevices()) {
      const { secretHash: _secretHash, ...device } = rec;
      this.addDevice(device, saved.get(rec.id));
    }

    this.listen('events.accepted', (batch) => this.applyBatch(batch));
    this.listen('device.registered', (d) => this.addDevice(d));
    this.listen('device.updated', (d) => this.updateDevice(d));
    this.listen('device.removed', (d) => this.removeDevice(d.id));
    this.listen('ingest.rejected', (r) => {
      const state = r.device ? this.devices.get(r.device) : undefined;
      if (!state) return;
      state.rejected++;
      state.lastRejection = { code: r.code, message: r.message, at: r.at };
      this.changedDevice(state, ['rejected', 'lastRejection']);
    });

    this.timer = setInterval(() => void this.persist(), this.deps.persistEveryMs ?? 5000);
    this.timer.unref();
    const owner = this.deps.owner;
    if (owner) {
      // Let go in good order (a handoff, a clean stop): written before the lease is released.
      // Taken or cut off: another worker may already write the site; ours would be older.
      const onLost = (site: string, why: string): void => {
        if (why === 'handoff' || why === 'stopped') this.releasing.add(site);
      };
      const onAcquired = (site: string): void => void this.releasing.delete(site);
      owner.on('lost', onLost);
      owner.on('acquired', onAcquired);
      this.unsubscribe.push(
        () => owner.off('lost', onLost),
        () => owner.off('acquired', onAcquired),
      );
      this.mirrorTimer = setInterval(() => void this.mirrorOthers(), this.deps.mirrorEveryMs ?? 2000);
      this.mirrorTimer.unref();
    }
  }

  /** Whether this twin keeps the site's state: every site alone, the held ones in a worker of several. */
  private holds(site: string): boolean {
    return this.deps.owner?.owns(site) ?? true;
  }

  /** Whether this twin writes the site's state: held, or let go and not yet written. */
  private writes(site: string): boolean {
    return this.holds(site) || this.releasing.has(site);
  }

  /**
   * A site acquired (a worker of several, before the site's messages are taken): its devices'
   * and zones' state as the worker that held it last wrote it.
   */
  async reloadSite(site: string): Promise<void> {
    try {
      const ids = new Set(this.deps.registry.devicesOfSite(site).map((d) => d.id));
      const saved = (await this.deps.store.loadDeviceStates()).filter((s) => ids.has(s.device));
      const zones = await this.deps.settings.get(siteZonesKey(site));
      for (const s of saved) {
        const rec = this.deps.registry.getDevice(s.device);
        if (!rec) continue;
        const { secretHash: _secretHash, ...device } = rec;
        this.unindex(this.devices.get(s.device) ?? emptyDeviceState(device));
        this.addDevice(device, s.state);
      }
      this.restoreZones(zones);
      for (const z of this.zones.get(site)?.values() ?? []) this.deps.bus.emit('twin.zone', { state: { ...z }, changed: Object.keys(z) as Array<keyof ZoneState> });
    } catch (err) {
      this.log.error({ err, site }, 'could not read the twin of an acquired site');
    }
  }

  /**
   * A worker of several: the sites other workers hold, as their holders last wrote them (every
   * few seconds), so that a site's state, the footfall "inside now" and the overview asked of
   * this worker are at most seconds old. Only snapshots written since the last look are read.
   * Quiet — no change events: the holder pushes the live changes to every dashboard itself.
   */
  private async mirrorOthers(): Promise<void> {
    if (this.mirroring || !this.deps.sites.list().some((site) => !this.writes(site.id))) return;
    this.mirroring = true;
    try {
      const after = this.mirroredUpTo === null ? {} : { updatedAfter: new Date(this.mirroredUpTo - MIRROR_OVERLAP_MS).toISOString() };
      const snapshots = await this.deps.store.loadDeviceStates(after);
      const sites = new Set<string>();
      for (const snapshot of snapshots) {
        this.mirroredUpTo = Math.max(this.mirroredUpTo ?? 0, Date.parse(snapshot.updatedAt));
        const rec = this.deps.registry.getDevice(snapshot.device);
        // A held site's state is this worker's own, newer than any snapshot.
        if (!rec || this.writes(rec.site)) continue;
        const { secretHash: _secretHash, ...device } = rec;
        const previous = this.devices.get(rec.id);
        if (previous) this.unindex(previous);
        const state = restoredState(device, snapshot.state);
        this.devices.set(rec.id, state);
        this.index(state);
        sites.add(rec.site);
      }
      for (const site of sites) {
        const zones = await this.deps.settings.get(siteZonesKey(site));
        if (!this.writes(site)) this.restoreZones(zones);
      }
    } catch (err) {
      this.log.warn({ err }, 'the state of sites other workers hold could not be read; retrying');
    } finally {
      this.mirroring = false;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.mirrorTimer) clearInterval(this.mirrorTimer);
    this.mirrorTimer = null;
    for (const off of this.unsubscribe.splice(0)) off();
    await this.persist();
  }

  private listen<K extends keyof ServerEvents>(event: K, fn: (...args: ServerEvents[K]) => void): void {
    const bus = this.deps.bus as unknown as { on(e: K, f: typeof fn): void; off(e: K, f: typeof fn): void };
    bus.on(event, fn);
    this.unsubscribe.push(() => bus.off(event, fn));
  }

  siteState(site: string): SiteState | null {
    const zones = this.zones.get(site);
    if (!zones) return null;
    const devices: Record<string, DeviceState> = {};
    for (const d of this.devices.values()) if (d.site === site) devices[d.id] = { ...d };
    return { site, zones: Object.fromEntries([...zones].map(([id, z]) => [id, { ...z }])), devices };
  }

  deviceState(device: string): DeviceState | null {
    const state = this.devices.get(device);
    return state ? { ...state } : null;
  }

  private addSite(site: Site): void {
    for (const [device, zone] of countsWiring(site)) this.countsInto.set(device, zone);
    this.zones.set(site.id, emptyZoneStates(site));
  }

  private addDevice(device: PublicDevice, saved?: Record<string, unknown>): void {
    // Restore what was reported before a restart; identity fields come from the registry.
    const state = saved ? restoredState(device, saved) : emptyDeviceState(device);
    this.devices.set(device.id, state);
    this.index(state);
    if (deviceTypeHas(device.type, 'count') && !this.countsInto.has(device.id)) this.countsInto.set(device.id, device.zone);
    this.changedDevice(state, Object.keys(state) as Array<keyof DeviceState>);
  }

  private updateDevice(device: PublicDevice): void {
    const state = this.devices.get(device.id);
    if (!state) return this.addDevice(device);
    if (state.zone !== device.zone) {
      this.unindex(state);
      state.zone = device.zone;
      this.index(state);
      this.changedDevice(state, ['zone']);
    }
  }

  /**
   * A device registered by another process (`storetwin device add` beside a running server)
   * is first seen here, through its events; removed devices stay unknown.
   */
  private adopt(id: string): DeviceState | undefined {
    const rec = this.deps.registry.getDevice(id);
    if (!rec) return undefined;
    const { secretHash: _secretHash, ...device } = rec;
    this.addDevice(device);
    return this.devices.get(id);
  }

  private removeDevice(id: string): void {
    const state = this.devices.get(id);
    if (state) this.unindex(state);
    this.devices.delete(id);
    this.dirty.delete(id);
  }

  private index(state: DeviceState): void {
    const key = zoneKey(state.site, state.zone);
    const ids = this.byZone.get(key) ?? new Set<string>();
    ids.add(state.id);
    this.byZone.set(key, ids);
  }

  private unindex(state: DeviceState): void {
    this.byZone.get(zoneKey(state.site, state.zone))?.delete(state.id);
  }

  private applyBatch(batch: readonly NewEvent[]): void {
    for (const e of batch) {
      const state = this.devices.get(e.device) ?? this.adopt(e.device);
      if (state) this.apply(state, e);
    }
  }

  private apply(state: DeviceState, e: NewEvent): void {
    const { device, zones } = reduceEvent(this.world, state, e);
    for (const { zone, changed } of zones) {
      this.zonesDirty = true;
      this.zonesDirtySites.add(zone.site);
      this.deps.bus.emit('twin.zone', { state: { ...zone }, changed });
    }
    this.changedDevice(state, device);
  }

  private changedDevice(state: DeviceState, changed: Array<keyof DeviceState>): void {
    this.dirty.add(state.id);
    this.deps.bus.emit('twin.device', { state: { ...state }, changed: [...new Set(changed)] });
  }

  /** Resolves once what changed so far is written, `releasing` sites' included (a worker letting them go). */
  async flushed(releasing: readonly string[] = []): Promise<void> {
    await this.persist();
    for (const site of releasing) this.releasing.delete(site);
  }

  /** Writes what changed since the last write; after one still running, never beside it. */
  private async persist(): Promise<void> {
    while (this.persisting) await this.persisting;
    this.persisting = this.persistNow().finally(() => {
      this.persisting = null;
    });
    return this.persisting;
  }

  private async persistNow(): Promise<void> {
    // Taken (copied) before the await: what changes meanwhile stays dirty for the next write,
    // and a failed write puts its devices back.
    // A worker writes only the sites it holds: another worker's is that worker's to write.
    const ids = [...this.dirty].filter((id) => {
      const site = this.devices.get(id)?.site;
      return site !== undefined && this.writes(site);
    });
    this.dirty.clear();
    const zonesDirty = this.zonesDirty;
    this.zonesDirty = false;
    const zoneSites = [...this.zonesDirtySites].filter((site) => this.writes(site));
    this.zonesDirtySites.clear();
    try {
      if (ids.length > 0) {
        const updatedAt = new Date().toISOString();
        const states = ids.flatMap((id) => {
          const state = this.devices.get(id);
          return state ? [{ device: id, state: { ...state } as unknown as Record<string, unknown>, updatedAt }] : [];
        });
        await this.deps.store.saveDeviceStates(states);
      }
      if (this.deps.owner) {
        for (const site of zoneSites) await this.deps.settings.set(siteZonesKey(site), JSON.stringify([...(this.zones.get(site)?.values() ?? [])]));
      } else if (zonesDirty) {
        const zones = [...this.zones.values()].flatMap((m) => [...m.values()]);
        await this.deps.settings.set(ZONE_STATE_KEY, JSON.stringify(zones));
      }
    } catch (err) {
      for (const id of ids) if (this.devices.has(id)) this.dirty.add(id);
      this.zonesDirty ||= zonesDirty;
      for (const site of zoneSites) this.zonesDirtySites.add(site);
      this.log.error({ err }, 'twin state could not be persisted');
    }
  }

  private restoreZones(raw: string | null): void {
    if (!raw) return;
    try {
      for (const saved of JSON.parse(raw) as ZoneState[]) {
        const zone = this.zones.get(saved.site)?.get(saved.id);
        if (!zone) continue;
        zone.door = saved.door;
        zone.doorChangedAt = saved.doorChangedAt;
        zone.occupancy = saved.occupancy;
        zone.lastMotionAt = saved.lastMotionAt;
      }
    } catch (err) {
      this.log.warn({ err }, 'saved zone state unreadable; starting fresh');
    }
  }
}
