/**
 * Arming overrides and maintenance windows in the SQLite file (`zone_arming`, `maintenance`:
 * server/storage/sqlite/migrations.ts, step 3). better-sqlite3 is synchronous: each change has
 * committed before the promise it returns exists.
 */
import type { Database } from '../storage/sqlite/database.ts';
import type { ArmingOverride, ArmingStore, MaintenanceRecord, NewMaintenanceRecord } from './store.ts';

interface OverrideRow {
  site: string;
  zone: string;
  armed: number;
  by: string;
  at: number;
  until_at: number | null;
}

interface WindowRow {
  id: number;
  site: string;
  zone: string | null;
  device: string | null;
  by: string;
  reason: string | null;
  from_at: number;
  until_at: number;
}

const toOverride = (r: OverrideRow): ArmingOverride => ({ site: r.site, zone: r.zone, armed: r.armed === 1, by: r.by, at: r.at, until: r.until_at });
const toWindow = (r: WindowRow): MaintenanceRecord => ({ id: r.id, site: r.site, zone: r.zone, device: r.device, by: r.by, reason: r.reason, from: r.from_at, until: r.until_at });
const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

export class SqliteArmingStore implements ArmingStore {
  constructor(private readonly db: Database) {}

  async overrides(sites?: readonly string[]): Promise<ArmingOverride[]> {
    if (sites?.length === 0) return [];
    const where = sites === undefined ? '' : `WHERE site IN (${marks(sites.length)})`;
    const rows = this.db.prepare(`SELECT site, zone, armed, by, at, until_at FROM zone_arming ${where} ORDER BY site, zone`).all(...(sites ?? [])) as OverrideRow[];
    return rows.map(toOverride);
  }

  async setOverride(o: ArmingOverride): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO zone_arming (site, zone, armed, by, at, until_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (site, zone) DO UPDATE SET armed = excluded.armed, by = excluded.by, at = excluded.at, until_at = excluded.until_at`,
      )
      .run(o.site, o.zone, o.armed ? 1 : 0, o.by, Math.round(o.at), o.until === null ? null : Math.round(o.until));
  }

  async removeOverride(site: string, zone: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM zone_arming WHERE site = ? AND zone = ?').run(site, zone).changes === 1;
  }

  async insertWindow(w: NewMaintenanceRecord): Promise<MaintenanceRecord> {
    const row = this.db
      .prepare('INSERT INTO maintenance (site, zone, device, by, reason, from_at, until_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *')
      .get(w.site, w.zone, w.device, w.by, w.reason, Math.round(w.from), Math.round(w.until)) as WindowRow;
    return toWindow(row);
  }

  async getWindow(id: number): Promise<MaintenanceRecord | null> {
    const row = this.db.prepare('SELECT * FROM maintenance WHERE id = ?').get(id) as WindowRow | undefined;
    return row ? toWindow(row) : null;
  }

  async openWindows(atMs: number, sites?: readonly string[]): Promise<MaintenanceRecord[]> {
    if (sites?.length === 0) return [];
    const where = sites === undefined ? '' : `AND site IN (${marks(sites.length)})`;
    // maintenance_until narrows to windows not yet over.
    const rows = this.db.prepare(`SELECT * FROM maintenance WHERE until_at > ? ${where} ORDER BY from_at, id`).all(atMs, ...(sites ?? [])) as WindowRow[];
    return rows.map(toWindow);
  }

  async endWindow(id: number, atMs: number): Promise<MaintenanceRecord | null> {
    const at = Math.round(atMs);
    return this.db.transaction(() => {
      this.db.prepare('UPDATE maintenance SET until_at = max(?, from_at) WHERE id = ? AND until_at > ?').run(at, id, at);
      const row = this.db.prepare('SELECT * FROM maintenance WHERE id = ?').get(id) as WindowRow | undefined;
      return row ? toWindow(row) : null;
    }).immediate();
  }
}
