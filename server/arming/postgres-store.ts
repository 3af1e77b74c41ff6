/**
 * Arming overrides and maintenance windows in PostgreSQL (feature 'arming': both tables). The
 * person is `actor` here (BY is an SQL keyword); ids of windows come from an identity column.
 *
 * Every write announces itself in its own transaction (server/storage/postgres/changes.ts:
 * 'arming.overrides' or 'arming.windows', with the site), so the views of the other workers'
 * ArmingService and MaintenanceService follow within a moment; onChange hears them.
 */
import type { PgSchema } from '../storage/postgres/migrate.ts';
import { storeChanges } from '../storage/postgres/changes.ts';
import { postgresError, type Postgres } from '../storage/postgres/postgres.ts';
import type { ArmingChange, ArmingOverride, ArmingStore, MaintenanceRecord, NewMaintenanceRecord } from './store.ts';

export const ARMING_PG_SCHEMA: PgSchema = {
  feature: 'arming',
  steps: [
    `CREATE TABLE zone_arming (
       site     text        NOT NULL,
       zone     text        NOT NULL,
       armed    boolean     NOT NULL,
       actor    text        NOT NULL,
       at       timestamptz NOT NULL,
       until_at timestamptz,
       PRIMARY KEY (site, zone)
     );
     CREATE TABLE maintenance (
       id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
       site     text        NOT NULL,
       zone     text,
       device   text,
       actor    text        NOT NULL,
       reason   text,
       from_at  timestamptz NOT NULL,
       until_at timestamptz NOT NULL,
       CHECK (zone IS NOT NULL OR device IS NOT NULL),
       CHECK (from_at <= until_at)
     );
     CREATE INDEX maintenance_until ON maintenance (until_at);`,
  ],
};

interface OverrideRow {
  site: string;
  zone: string;
  armed: boolean;
  actor: string;
  at: Date;
  until_at: Date | null;
}

interface WindowRow {
  id: string;
  site: string;
  zone: string | null;
  device: string | null;
  actor: string;
  reason: string | null;
  from_at: Date;
  until_at: Date;
}

const toOverride = (r: OverrideRow): ArmingOverride => ({ site: r.site, zone: r.zone, armed: r.armed, by: r.actor, at: r.at.getTime(), until: r.until_at === null ? null : r.until_at.getTime() });
const toWindow = (r: WindowRow): MaintenanceRecord => ({
  id: Number(r.id),
  site: r.site,
  zone: r.zone,
  device: r.device,
  by: r.actor,
  reason: r.reason,
  from: r.from_at.getTime(),
  until: r.until_at.getTime(),
});
const iso = (ms: number) => new Date(Math.round(ms)).toISOString();
const WINDOW = 'id, site, zone, device, actor, reason, from_at, until_at';
const OVERRIDES = 'arming.overrides';
const WINDOWS = 'arming.windows';

export class PostgresArmingStore implements ArmingStore {
  constructor(private readonly pg: Postgres) {}

  async onChange(listener: (change: ArmingChange) => void): Promise<() => void> {
    const changes = storeChanges(this.pg);
    const offOverrides = await changes.subscribe(OVERRIDES, ({ site }) => listener({ part: 'overrides', site }));
    const offWindows = await changes.subscribe(WINDOWS, ({ site }) => listener({ part: 'windows', site }));
    return () => {
      offOverrides();
      offWindows();
    };
  }

  private async run<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw postgresError(err, doing, this.pg.safeUrl);
    }
  }

  overrides(sites?: readonly string[]): Promise<ArmingOverride[]> {
    if (sites?.length === 0) return Promise.resolve([]);
    return this.run('read arming overrides', async () => {
      const where = sites === undefined ? '' : 'WHERE site = ANY($1::text[])';
      const { rows } = await this.pg.query<OverrideRow>(
        `SELECT site, zone, armed, actor, at, until_at FROM zone_arming ${where} ORDER BY site COLLATE "C", zone COLLATE "C"`,
        sites === undefined ? [] : [[...sites]],
      );
      return rows.map(toOverride);
    });
  }

  setOverride(o: ArmingOverride): Promise<void> {
    return this.run('store an arming override', () =>
      this.pg.transaction(async (client) => {
        await client.query(
          `INSERT INTO zone_arming (site, zone, armed, actor, at, until_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (site, zone) DO UPDATE SET armed = EXCLUDED.armed, actor = EXCLUDED.actor, at = EXCLUDED.at, until_at = EXCLUDED.until_at`,
          [o.site, o.zone, o.armed, o.by, iso(o.at), o.until === null ? null : iso(o.until)],
        );
        await storeChanges(this.pg).notify(client, OVERRIDES, o.site);
      }),
    );
  }

  removeOverride(site: string, zone: string): Promise<boolean> {
    return this.run('remove an arming override', () =>
      this.pg.transaction(async (client) => {
        const { rowCount } = await client.query('DELETE FROM zone_arming WHERE site = $1 AND zone = $2', [site, zone]);
        if (rowCount === 1) await storeChanges(this.pg).notify(client, OVERRIDES, site);
        return rowCount === 1;
      }),
    );
  }

  insertWindow(w: NewMaintenanceRecord): Promise<MaintenanceRecord> {
    return this.run('store a maintenance window', () =>
      this.pg.transaction(async (client) => {
        const { rows } = await client.query<WindowRow>(
          `INSERT INTO maintenance (site, zone, device, actor, reason, from_at, until_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${WINDOW}`,
          [w.site, w.zone, w.device, w.by, w.reason, iso(w.from), iso(w.until)],
        );
        await storeChanges(this.pg).notify(client, WINDOWS, w.site);
        return toWindow(rows[0] as WindowRow);
      }),
    );
  }

  getWindow(id: number): Promise<MaintenanceRecord | null> {
    if (!Number.isSafeInteger(id)) return Promise.resolve(null); // no such id, and no bigint overflow
    return this.run('read a maintenance window', async () => {
      const { rows } = await this.pg.query<WindowRow>(`SELECT ${WINDOW} FROM maintenance WHERE id = $1`, [id]);
      return rows[0] ? toWindow(rows[0]) : null;
    });
  }

  openWindows(atMs: number, sites?: readonly string[]): Promise<MaintenanceRecord[]> {
    if (sites?.length === 0) return Promise.resolve([]);
    return this.run('read maintenance windows', async () => {
      const where = sites === undefined ? '' : 'AND site = ANY($2::text[])';
      const { rows } = await this.pg.query<WindowRow>(`SELECT ${WINDOW} FROM maintenance WHERE until_at > $1 ${where} ORDER BY from_at, id`, sites === undefined ? [iso(atMs)] : [iso(atMs), [...sites]]);
      return rows.map(toWindow);
    });
  }

  endWindow(id: number, atMs: number): Promise<MaintenanceRecord | null> {
    if (!Number.isSafeInteger(id)) return Promise.resolve(null);
    return this.run('end a maintenance window', () =>
      this.pg.transaction(async (client) => {
        // One statement: the update (when the window is not over) and the row as it is after it.
        const { rows } = await client.query<WindowRow & { changed: boolean }>(
          `WITH ended AS (
             UPDATE maintenance SET until_at = GREATEST($2::timestamptz, from_at) WHERE id = $1 AND until_at > $2::timestamptz RETURNING ${WINDOW}
           )
           SELECT ${WINDOW}, true AS changed FROM ended
           UNION ALL
           SELECT ${WINDOW}, false AS changed FROM maintenance WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM ended)`,
          [id, iso(atMs)],
        );
        const row = rows[0];
        if (row?.changed) await storeChanges(this.pg).notify(client, WINDOWS, row.site);
        return row ? toWindow(row) : null;
      }),
    );
  }
}
