/**
 * Arming: is a zone armed right now? A manual override (API, later the dashboard) wins while
 * it is in force — until its `until`, or until changed when it has none — and otherwise the
 * zone's `armedDuring` schedule from the site file decides, in the site's time zone.
 *
 * Overrides are kept in the ArmingStore (one per zone); an expired override is simply ignored
 * (and replaced by the next arm/disarm), so no timer is needed for it to lapse.
 *
 * The rules engine asks `isArmed` on every evaluation that depends on it, so the overrides
 * are an in-memory view: every override, loaded by start() and changed by arm/disarm/
 * resumeSchedule after their write has committed (writes one after another, so the view
 * follows the table's order). Only those writes and the start wait for the database.
 * Another worker's change (PostgreSQL: the store's onChange, LISTEN/NOTIFY) re-reads the
 * overrides of that site (all of them after a lost connection) in the same queue as the
 * writes; the site's entries are swapped in one synchronous step when the read completes, so
 * `isArmed` never waits and never sees half a reload.
 */
import { StoreTwinError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { Site, Zone, ScheduleWindow } from '../sites/model.ts';
import { scheduleArmed } from '../sites/schedule.ts';
import { ViewRefresher } from '../storage/postgres/changes.ts';
import type { ArmingOverride, ArmingStore } from './store.ts';
import type { ArmingReader } from './types.ts';

/** What arming and maintenance read of the site catalogue. SiteCatalog satisfies it. */
export interface ArmingSites {
  get(siteId: string): Site | undefined;
  zone(siteId: string, zoneId: string): { zone: Zone } | undefined;
}

export interface ZoneArming {
  zone: string;
  armed: boolean;
  /** `manual`: an override in force; `schedule`: the site file's windows decide. */
  source: 'manual' | 'schedule';
  /** Who set the override and when (manual only). */
  by: string | null;
  at: string | null;
  /** When the override lapses; null = until changed (manual), or for the schedule. */
  until: string | null;
  /** What the schedule alone says right now, and its windows. */
  scheduleArmed: boolean;
  schedule: ScheduleWindow[];
}

export interface ArmingServiceDeps {
  store: ArmingStore;
  sites: ArmingSites;
  bus: EventBus;
  clock?: Clock;
  /** A re-read after another worker's change failed (it is retried); the app logs it. */
  onError?: (err: unknown) => void;
}

const key = (site: string, zone: string) => `${site}\u0000${zone}`;

export class ArmingService implements ArmingReader {
  private readonly clock: Clock;
  /** Every override by key(site, zone): the view (see the header). */
  private readonly overrides = new Map<string, ArmingOverride>();
  private writing: Promise<unknown> = Promise.resolve();
  /** Re-reads after other workers' changes; their unsubscribe. */
  private readonly refresher: ViewRefresher;
  private unsubscribe: (() => void) | null = null;
  private readonly remoteListeners = new Set<(zones: Array<{ site: string; zone: string }>) => void>();

  constructor(private readonly deps: ArmingServiceDeps) {
    this.clock = deps.clock ?? systemClock;
    this.refresher = new ViewRefresher(
      (sites) => this.serial(() => this.load(sites)),
      (err) => deps.onError?.(err),
    );
  }

  /** Loads the overrides and follows other workers' changes; call before anything asks. */
  async start(): Promise<void> {
    // Listening first: a change made while the load runs is heard, not lost.
    this.unsubscribe ??= (await this.deps.store.onChange?.((c) => c.part === 'overrides' && this.refresher.request(c))) ?? null;
    await this.serial(() => this.load(null));
  }

  /** Stops following other workers' changes. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.refresher.close();
  }

  /** Settles once the re-reads other workers' changes asked for so far are in the view (tests). */
  settled(): Promise<void> {
    return this.refresher.idle();
  }

  /**
   * Hears zones whose override another worker changed, once this view holds the change. That
   * worker announced it (`zone.arming` on its bus, pushed to every browser): here it is not
   * announced again, but what watches arming locally (ArmingScheduleWatch) takes it as known.
   */
  onRemoteChange(listener: (zones: Array<{ site: string; zone: string }>) => void): () => void {
    this.remoteListeners.add(listener);
    return () => this.remoteListeners.delete(listener);
  }

  /** Replaces the overrides of these sites (null: all) by the store's, in one synchronous step. */
  private async load(sites: readonly string[] | null): Promise<void> {
    const rows = await this.deps.store.overrides(sites ?? undefined);
    const before = new Map<string, ArmingOverride>();
    const reloaded = sites === null ? null : new Set(sites);
    for (const [k, o] of this.overrides) {
      if (reloaded !== null && !reloaded.has(o.site)) continue;
      before.set(k, o);
      this.overrides.delete(k);
    }
    for (const o of rows) this.overrides.set(key(o.site, o.zone), o);
    if (this.remoteListeners.size === 0) return;
    const moved: Array<{ site: string; zone: string }> = [];
    for (const o of rows) {
      const old = before.get(key(o.site, o.zone));
      before.delete(key(o.site, o.zone));
      if (!old || old.armed !== o.armed || old.at !== o.at || old.until !== o.until || old.by !== o.by) moved.push({ site: o.site, zone: o.zone });
    }
    for (const gone of before.values()) moved.push({ site: gone.site, zone: gone.zone });
    if (moved.length === 0) return;
    for (const l of this.remoteListeners) {
      try {
        l(moved);
      } catch (err) {
        this.deps.onError?.(err);
      }
    }
  }

  /** The service's clock (routes answer with the instant they evaluated). */
  now(): number {
    return this.clock.now();
  }

  isArmed(site: string, zone: string, atMs: number): boolean {
    const override = this.activeOverride(site, zone, atMs);
    if (override) return override.armed;
    return this.armedBySchedule(site, zone, atMs);
  }

  /** The arming of one zone at `atMs` (default now). Throws STW_ERR_SITE_NOT_FOUND / STW_ERR_ZONE_NOT_FOUND. */
  zoneState(site: string, zone: string, atMs = this.clock.now()): ZoneArming {
    const z = this.requireZone(site, zone);
    return this.describe(site, z, atMs);
  }

  /** Every zone of the site, in file order. */
  siteState(site: string, atMs = this.clock.now()): ZoneArming[] {
    const s = this.deps.sites.get(site);
    if (!s) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${site}"`);
    return s.floors.flatMap((f) => f.zones.map((z) => this.describe(site, z, atMs)));
  }

  /** Zones with an override, in force or lapsed (ArmingScheduleWatch looks at them). */
  overriddenZones(): Array<{ site: string; zone: string }> {
    return [...this.overrides.values()].map((o) => ({ site: o.site, zone: o.zone }));
  }

  arm(site: string, zone: string, by: string, until?: number | null): Promise<ZoneArming> {
    return this.set(site, zone, true, by, until ?? null);
  }

  disarm(site: string, zone: string, by: string, until?: number | null): Promise<ZoneArming> {
    return this.set(site, zone, false, by, until ?? null);
  }

  /** Removes the override: the schedule decides again. Announced with the schedule's verdict. */
  async resumeSchedule(site: string, zone: string, by: string): Promise<ZoneArming> {
    const z = this.requireZone(site, zone);
    return this.serial(async () => {
      await this.deps.store.removeOverride(site, zone);
      this.overrides.delete(key(site, zone));
      const now = this.clock.now();
      const state = this.describe(site, z, now);
      this.deps.bus.emit('zone.arming', { site, zone, armed: state.armed, by, at: new Date(now).toISOString() });
      return state;
    });
  }

  private async set(site: string, zone: string, armed: boolean, by: string, until: number | null): Promise<ZoneArming> {
    const z = this.requireZone(site, zone);
    const now = this.clock.now();
    if (until !== null && !(until > now)) {
      throw new StoreTwinError('STW_ERR_VALIDATION', 'until must be in the future', [{ path: ['until'], message: 'must be in the future' }]);
    }
    const override: ArmingOverride = { site, zone, armed, by, at: now, until };
    return this.serial(async () => {
      await this.deps.store.setOverride(override);
      this.overrides.set(key(site, zone), override);
      this.deps.bus.emit('zone.arming', { site, zone, armed, by, at: new Date(now).toISOString() });
      return this.describe(site, z, now);
    });
  }

  /** Runs fn after every write queued before it (a failure does not stop the next one). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writing.then(fn);
    this.writing = run.catch(() => undefined);
    return run;
  }

  private activeOverride(site: string, zone: string, atMs: number): ArmingOverride | undefined {
    const o = this.overrides.get(key(site, zone));
    if (!o) return undefined;
    // An override in force at atMs: set at or before it (a backtest may ask about the past),
    // and not lapsed.
    if (o.at > atMs) return undefined;
    if (o.until !== null && o.until <= atMs) return undefined;
    return o;
  }

  private armedBySchedule(site: string, zone: string, atMs: number): boolean {
    const s = this.deps.sites.get(site);
    const z = this.deps.sites.zone(site, zone);
    if (!s || !z) return false;
    return scheduleArmed(z.zone.armedDuring, s.timezone, atMs);
  }

  private describe(site: string, zone: Zone, atMs: number): ZoneArming {
    const bySchedule = this.armedBySchedule(site, zone.id, atMs);
    const override = this.activeOverride(site, zone.id, atMs);
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      zone: zone.id,
      armed: override ? override.armed : bySchedule,
      source: override ? 'manual' : 'schedule',
      by: override?.by ?? null,
      at: override ? iso(override.at) : null,
      until: override ? iso(override.until) : null,
      scheduleArmed: bySchedule,
      schedule: zone.armedDuring.map((w) => ({ days: [...w.days], from: w.from, to: w.to })),
    };
  }

  private requireZone(site: string, zone: string): Zone {
    if (!this.deps.sites.get(site)) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${site}"`);
    const z = this.deps.sites.zone(site, zone);
    if (!z) throw new StoreTwinError('STW_ERR_ZONE_NOT_FOUND', `no zone "${zone}" in site "${site}"`);
    return z.zone;
  }
}
