/**
 * Arming: is a zone armed right now? A manual override (API, later the dashboard) wins while
 * it is in force — until its `until`, or until changed when it has none — and otherwise the
 * zone's `armedDuring` schedule from the site file decides, in the site's time zone.
 *
 * Overrides live in the `zone_arming` table (one row per zone); an expired override is simply
 * ignored (and replaced by the next arm/disarm), so no timer is needed for it to lapse.
 */
import type { Statement } from 'better-sqlite3';
import { StoreTwinError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { Site, Zone, ScheduleWindow } from '../sites/model.ts';
import type { Database } from '../storage/sqlite/database.ts';
import { scheduleArmed } from '../sites/schedule.ts';
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
  db: Database;
  sites: ArmingSites;
  bus: EventBus;
  clock?: Clock;
}

interface OverrideRow {
  armed: number;
  by: string;
  at: number;
  until_at: number | null;
}

export class ArmingService implements ArmingReader {
  private readonly clock: Clock;
  private stmts: {
    get: Statement<[string, string], OverrideRow>;
    upsert: Statement<{ site: string; zone: string; armed: number; by: string; at: number; until: number | null }>;
    remove: Statement<[string, string]>;
    overridden: Statement<[], { site: string; zone: string }>;
  } | null = null;

  constructor(private readonly deps: ArmingServiceDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  // Prepared on first use: the constructor only stores what it is given.
  private get s(): NonNullable<ArmingService['stmts']> {
    this.stmts ??= {
      get: this.deps.db.prepare('SELECT armed, by, at, until_at FROM zone_arming WHERE site = ? AND zone = ?'),
      upsert: this.deps.db.prepare(
        `INSERT INTO zone_arming (site, zone, armed, by, at, until_at) VALUES (@site, @zone, @armed, @by, @at, @until)
         ON CONFLICT (site, zone) DO UPDATE SET armed = excluded.armed, by = excluded.by, at = excluded.at, until_at = excluded.until_at`,
      ),
      remove: this.deps.db.prepare('DELETE FROM zone_arming WHERE site = ? AND zone = ?'),
      overridden: this.deps.db.prepare('SELECT site, zone FROM zone_arming'),
    };
    return this.stmts;
  }

  /** The service's clock (routes answer with the instant they evaluated). */
  now(): number {
    return this.clock.now();
  }

  isArmed(site: string, zone: string, atMs: number): boolean {
    const override = this.activeOverride(site, zone, atMs);
    if (override) return override.armed === 1;
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

  /** Zones with an override row, in force or lapsed (ArmingScheduleWatch looks at them). */
  overriddenZones(): Array<{ site: string; zone: string }> {
    return this.s.overridden.all();
  }

  arm(site: string, zone: string, by: string, until?: number | null): ZoneArming {
    return this.set(site, zone, true, by, until ?? null);
  }

  disarm(site: string, zone: string, by: string, until?: number | null): ZoneArming {
    return this.set(site, zone, false, by, until ?? null);
  }

  /** Removes the override: the schedule decides again. Announced with the schedule's verdict. */
  resumeSchedule(site: string, zone: string, by: string): ZoneArming {
    const z = this.requireZone(site, zone);
    const now = this.clock.now();
    this.s.remove.run(site, zone);
    const state = this.describe(site, z, now);
    this.deps.bus.emit('zone.arming', { site, zone, armed: state.armed, by, at: new Date(now).toISOString() });
    return state;
  }

  private set(site: string, zone: string, armed: boolean, by: string, until: number | null): ZoneArming {
    const z = this.requireZone(site, zone);
    const now = this.clock.now();
    if (until !== null && !(until > now)) {
      throw new StoreTwinError('STW_ERR_VALIDATION', 'until must be in the future', [{ path: ['until'], message: 'must be in the future' }]);
    }
    this.s.upsert.run({ site, zone, armed: armed ? 1 : 0, by, at: now, until });
    this.deps.bus.emit('zone.arming', { site, zone, armed, by, at: new Date(now).toISOString() });
    return this.describe(site, z, now);
  }

  private activeOverride(site: string, zone: string, atMs: number): OverrideRow | undefined {
    const row = this.s.get.get(site, zone);
    if (!row) return undefined;
    // An override in force at atMs: set at or before it (a backtest may ask about the past),
    // and not lapsed.
    if (row.at > atMs) return undefined;
    if (row.until_at !== null && row.until_at <= atMs) return undefined;
    return row;
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
      armed: override ? override.armed === 1 : bySchedule,
      source: override ? 'manual' : 'schedule',
      by: override?.by ?? null,
      at: override ? iso(override.at) : null,
      until: override ? iso(override.until_at) : null,
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
