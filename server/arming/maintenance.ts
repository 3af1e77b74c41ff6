/**
 * Maintenance windows: a technician installing or servicing devices puts a device or a whole
 * zone "under maintenance" until a time; the alarm service asks `inMaintenance` and suppresses
 * what they would raise. Every window is kept (who, why, from, until — ending one early moves
 * its `until` to now), so the record of suppressed time stays auditable.
 *
 * A zone window silences a zone as surely as disarming it, so opening or ending one needs what
 * disarming needs (`zones:arm`); without it a window covers one device for a few hours. The
 * caller says whether the person holds `zones:arm` (`mayArm`), decided by permission in
 * server/auth/roles.ts, never by role name.
 */
import type { Statement } from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.ts';
import { StoreTwinError } from '../errors.ts';
import type { Database } from '../storage/sqlite/database.ts';
import type { DeviceRecord } from '../storage/types.ts';
import type { ArmingSites } from './service.ts';
import type { ActiveMaintenance, MaintenanceReader, MaintenanceWindow } from './types.ts';

export type { MaintenanceWindow } from './types.ts';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * How long a window may last, from its start. Without `zones:arm`: a shift's work on one
 * device (8 h) — a longer silence is a decision for someone who may disarm. With it: 30 days,
 * so a window typed with the wrong year cannot silence a device or zone for a decade. A window
 * may also start at most `maxMs` ahead, for the same reason.
 */
export const MAINTENANCE_LIMITS = {
  withoutArmingMs: 8 * HOUR_MS,
  maxMs: 30 * DAY_MS,
} as const;

export interface NewMaintenance {
  site: string;
  zone?: string | null;
  device?: string | null;
  /** Unix ms; must be in the future. */
  until: number;
  /** Unix ms; default now. */
  from?: number;
  reason?: string | null;
  by: string;
  /** Whether `by` holds zones:arm: needed for a zone window and for one longer than 8 h. */
  mayArm: boolean;
}

export interface MaintenanceServiceDeps {
  db: Database;
  sites: ArmingSites & { placement?(siteId: string, deviceId: string): unknown };
  /** To accept registered devices that the site file does not place. */
  registry?: { getDevice(id: string): DeviceRecord | null };
  clock?: Clock;
}

interface Row {
  id: number;
  site: string;
  zone: string | null;
  device: string | null;
  by: string;
  reason: string | null;
  from_at: number;
  until_at: number;
}

export class MaintenanceService implements MaintenanceReader {
  private readonly clock: Clock;
  private stmts: {
    insert: Statement<{ site: string; zone: string | null; device: string | null; by: string; reason: string | null; from: number; until: number }>;
    get: Statement<[number], Row>;
    hit: Statement<{ site: string; zone: string | null; device: string | null; at: number }, Row>;
    listSite: Statement<[string, number], Row>;
    listAll: Statement<[number], Row>;
    end: Statement<[number, number]>;
  } | null = null;

  constructor(private readonly deps: MaintenanceServiceDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  private get s(): NonNullable<MaintenanceService['stmts']> {
    const db = this.deps.db;
    this.stmts ??= {
      insert: db.prepare(
        'INSERT INTO maintenance (site, zone, device, by, reason, from_at, until_at) VALUES (@site, @zone, @device, @by, @reason, @from, @until)',
      ),
      get: db.prepare('SELECT * FROM maintenance WHERE id = ?'),
      // maintenance_until narrows to windows not yet over; few rows remain after that.
      hit: db.prepare(
        `SELECT * FROM maintenance
         WHERE until_at > @at AND from_at <= @at AND site = @site
           AND ((zone IS NOT NULL AND zone = @zone) OR (device IS NOT NULL AND device = @device))
         ORDER BY until_at DESC, id
         LIMIT 1`,
      ),
      listSite: db.prepare('SELECT * FROM maintenance WHERE site = ? AND until_at > ? ORDER BY from_at, id'),
      listAll: db.prepare('SELECT * FROM maintenance WHERE until_at > ? ORDER BY from_at, id'),
      end: db.prepare('UPDATE maintenance SET until_at = ? WHERE id = ?'),
    };
    return this.stmts;
  }

  inMaintenance(site: string, zone: string | null, device: string | null, atMs: number): ActiveMaintenance | null {
    if (zone === null && device === null) return null;
    const row = this.s.hit.get({ site, zone, device, at: atMs });
    if (row === undefined) return null;
    return { ...this.toWindow(row, atMs), timezone: this.deps.sites.get(site)?.timezone ?? null };
  }

  /**
   * Opens a window. Throws STW_ERR_SITE_NOT_FOUND, STW_ERR_FORBIDDEN (a zone without
   * `mayArm`), STW_ERR_ZONE_NOT_FOUND, STW_ERR_DEVICE_NOT_FOUND or STW_ERR_VALIDATION (times,
   * and the limits in MAINTENANCE_LIMITS).
   */
  create(input: NewMaintenance): MaintenanceWindow {
    const { site } = input;
    const zone = input.zone ?? null;
    const device = input.device ?? null;
    if (!this.deps.sites.get(site)) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${site}"`);
    if (zone === null && device === null) {
      throw new StoreTwinError('STW_ERR_VALIDATION', 'a maintenance window needs a zone or a device', [{ path: ['zone'], message: 'zone or device is required' }]);
    }
    if (zone !== null && !input.mayArm) {
      throw new StoreTwinError('STW_ERR_FORBIDDEN', 'putting a whole zone under maintenance silences it like disarming: it needs zones:arm; open a window per device instead');
    }
    if (zone !== null && !this.deps.sites.zone(site, zone)) throw new StoreTwinError('STW_ERR_ZONE_NOT_FOUND', `no zone "${zone}" in site "${site}"`);
    if (device !== null && !this.deviceExists(site, device)) throw new StoreTwinError('STW_ERR_DEVICE_NOT_FOUND', `no device "${device}" in site "${site}"`);
    const now = this.clock.now();
    const from = input.from ?? now;
    if (!(input.until > now) || !(input.until > from)) {
      throw new StoreTwinError('STW_ERR_VALIDATION', 'until must be in the future and after from', [{ path: ['until'], message: 'must be in the future' }]);
    }
    checkLimits(from, input.until, now, input.mayArm);
    const info = this.s.insert.run({ site, zone, device, by: input.by, reason: input.reason ?? null, from, until: input.until });
    return this.toWindow(this.s.get.get(Number(info.lastInsertRowid))!, now);
  }

  get(id: number): MaintenanceWindow | null {
    const row = this.s.get.get(id);
    return row ? this.toWindow(row, this.clock.now()) : null;
  }

  /** Windows not yet over (in force or upcoming), of one site or of all. */
  list(site?: string): MaintenanceWindow[] {
    const now = this.clock.now();
    const rows = site === undefined ? this.s.listAll.all(now) : this.s.listSite.all(site, now);
    return rows.map((r) => this.toWindow(r, now));
  }

  /**
   * Ends a window now (kept as a record). Ending a zone window re-arms the zone's alarms, so it
   * needs zones:arm like opening one. Throws STW_ERR_MAINTENANCE_NOT_FOUND or STW_ERR_FORBIDDEN.
   */
  end(id: number, actor: { mayArm: boolean }): MaintenanceWindow {
    const row = this.s.get.get(id);
    if (!row) throw new StoreTwinError('STW_ERR_MAINTENANCE_NOT_FOUND', `no maintenance window ${id}`);
    if (row.zone !== null && !actor.mayArm) throw new StoreTwinError('STW_ERR_FORBIDDEN', 'ending a zone maintenance window needs zones:arm');
    const now = this.clock.now();
    // An upcoming window ends before it starts: keep from ≤ until so the record stays sane.
    if (row.until_at > now) this.s.end.run(Math.max(now, row.from_at), id);
    return this.toWindow(this.s.get.get(id)!, now);
  }

  private deviceExists(site: string, device: string): boolean {
    if (this.deps.sites.placement?.(site, device)) return true;
    const rec = this.deps.registry?.getDevice(device);
    return rec !== null && rec !== undefined && rec.site === site;
  }

  private toWindow(r: Row, now: number): MaintenanceWindow {
    return {
      id: r.id,
      site: r.site,
      zone: r.zone,
      device: r.device,
      by: r.by,
      reason: r.reason,
      from: new Date(r.from_at).toISOString(),
      until: new Date(r.until_at).toISOString(),
      active: r.from_at <= now && r.until_at > now,
    };
  }
}

/** The limits in MAINTENANCE_LIMITS; the messages name them, so the caller knows what to ask for. */
function checkLimits(from: number, until: number, now: number, mayArm: boolean): void {
  const { withoutArmingMs, maxMs } = MAINTENANCE_LIMITS;
  if (from - now > maxMs) {
    throw new StoreTwinError('STW_ERR_VALIDATION', `a maintenance window may start at most ${maxMs / DAY_MS} days ahead`, [
      { path: ['from'], message: `at most ${maxMs / DAY_MS} days ahead` },
    ]);
  }
  const cap = mayArm ? maxMs : withoutArmingMs;
  if (until - from > cap) {
    const limit = mayArm ? `${maxMs / DAY_MS} days` : `${withoutArmingMs / HOUR_MS} h`;
    const message = mayArm
      ? `a maintenance window lasts at most ${limit} from its start`
      : `without zones:arm a device maintenance window lasts at most ${limit} from its start; ask someone who may arm the zone for a longer one`;
    throw new StoreTwinError('STW_ERR_VALIDATION', message, [{ path: ['until'], message: `at most ${limit} after from` }]);
  }
}
