/**
 * Maintenance windows: a technician installing or servicing devices puts a device or a whole
 * zone "under maintenance" until a time; the alarm service asks `inMaintenance` and suppresses
 * what they would raise. Every window is kept (who, why, from, until — ending one early moves
 * its `until` to now), so the record of suppressed time stays auditable.
 */
import type { Statement } from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.ts';
import { StoreTwinError } from '../errors.ts';
import type { Database } from '../storage/sqlite/database.ts';
import type { DeviceRecord } from '../storage/types.ts';
import type { ArmingSites } from './service.ts';
import type { MaintenanceReader } from './types.ts';

export interface MaintenanceWindow {
  id: number;
  site: string;
  zone: string | null;
  device: string | null;
  by: string;
  reason: string | null;
  from: string;
  until: string;
  /** In force at the time of the answer. */
  active: boolean;
}

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
    hit: Statement<{ site: string; zone: string | null; device: string | null; at: number }, { one: number }>;
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
        `SELECT 1 AS one FROM maintenance
         WHERE until_at > @at AND from_at <= @at AND site = @site
           AND ((zone IS NOT NULL AND zone = @zone) OR (device IS NOT NULL AND device = @device))
         LIMIT 1`,
      ),
      listSite: db.prepare('SELECT * FROM maintenance WHERE site = ? AND until_at > ? ORDER BY from_at, id'),
      listAll: db.prepare('SELECT * FROM maintenance WHERE until_at > ? ORDER BY from_at, id'),
      end: db.prepare('UPDATE maintenance SET until_at = ? WHERE id = ?'),
    };
    return this.stmts;
  }

  inMaintenance(site: string, zone: string | null, device: string | null, atMs: number): boolean {
    if (zone === null && device === null) return false;
    return this.s.hit.get({ site, zone, device, at: atMs }) !== undefined;
  }

  /** Opens a window. Throws STW_ERR_SITE_NOT_FOUND, STW_ERR_ZONE_NOT_FOUND, STW_ERR_DEVICE_NOT_FOUND or STW_ERR_VALIDATION. */
  create(input: NewMaintenance): MaintenanceWindow {
    const { site } = input;
    const zone = input.zone ?? null;
    const device = input.device ?? null;
    if (!this.deps.sites.get(site)) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${site}"`);
    if (zone === null && device === null) {
      throw new StoreTwinError('STW_ERR_VALIDATION', 'a maintenance window needs a zone or a device', [{ path: ['zone'], message: 'zone or device is required' }]);
    }
    if (zone !== null && !this.deps.sites.zone(site, zone)) throw new StoreTwinError('STW_ERR_ZONE_NOT_FOUND', `no zone "${zone}" in site "${site}"`);
    if (device !== null && !this.deviceExists(site, device)) throw new StoreTwinError('STW_ERR_DEVICE_NOT_FOUND', `no device "${device}" in site "${site}"`);
    const now = this.clock.now();
    const from = input.from ?? now;
    if (!(input.until > now) || !(input.until > from)) {
      throw new StoreTwinError('STW_ERR_VALIDATION', 'until must be in the future and after from', [{ path: ['until'], message: 'must be in the future' }]);
    }
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

  /** Ends a window now (kept as a record). Throws STW_ERR_MAINTENANCE_NOT_FOUND. */
  end(id: number): MaintenanceWindow {
    const row = this.s.get.get(id);
    if (!row) throw new StoreTwinError('STW_ERR_MAINTENANCE_NOT_FOUND', `no maintenance window ${id}`);
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
