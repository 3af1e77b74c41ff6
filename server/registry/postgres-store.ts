/**
 * Devices in PostgreSQL, for several workers sharing one database: the same answers as the
 * SQLite store (tests/registry/device-store.contract.ts runs on both). Ids compare byte-wise
 * (COLLATE "C") so pages come in the same order as SQLite's; times are timestamptz handed out
 * as the same ISO strings; a position is jsonb.
 *
 * Uniqueness is the database's: devices go in with ON CONFLICT DO NOTHING RETURNING, and an id
 * that did not come back was taken (by an earlier row or by a worker that committed first);
 * external ids the same way. The transaction then throws and stores nothing.
 *
 * The version the directory polls is one row (device_changes) bumped in every write
 * transaction; it also serialises device writes across workers, which are rare.
 */
import type pg from 'pg';
import { StoreTwinError } from '../errors.ts';
import { insertBrokerPasswordLinesPg } from '../broker/external/postgres-password-store.ts';
import type { PgSchema } from '../storage/postgres/migrate.ts';
import { storeChanges } from '../storage/postgres/changes.ts';
import { postgresError, type PgQueryable, type Postgres } from '../storage/postgres/postgres.ts';
import { isoToMs } from '../storage/sqlite/time.ts';
import type { BrokerPasswordLine, DeviceListQuery, DevicePatch, DeviceRecord } from '../storage/types.ts';
import { checkDevicePageLimit, definedOnly, firstDuplicate, type DevicePage, type DeviceStore } from './store.ts';

export const DEVICES_PG_SCHEMA: PgSchema = {
  feature: 'devices',
  steps: [
    `
    CREATE TABLE devices (
      id          text COLLATE "C" PRIMARY KEY,
      site        text COLLATE "C" NOT NULL,
      type        text COLLATE "C" NOT NULL,
      zone        text COLLATE "C" NOT NULL,
      label       text,
      position    jsonb,                -- [x, y, z] or NULL
      secret_hash text        NOT NULL,
      enabled     boolean     NOT NULL,
      created_at  timestamptz NOT NULL,
      updated_at  timestamptz NOT NULL
    );
    -- One row per (device, platform): the database enforces that an external id belongs to one
    -- device, and a lookup by external id is an index search.
    CREATE TABLE device_external_ids (
      device      text COLLATE "C" NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
      platform    text COLLATE "C" NOT NULL,
      external_id text COLLATE "C" NOT NULL,
      PRIMARY KEY (device, platform),
      UNIQUE (platform, external_id)
    );
    CREATE TABLE device_changes (
      id      smallint PRIMARY KEY CHECK (id = 1),
      version bigint   NOT NULL
    );
    INSERT INTO device_changes (id, version) VALUES (1, 0);
    `,
  ],
};

interface DeviceRow {
  id: string;
  site: string;
  type: string;
  zone: string;
  label: string | null;
  position: [number, number, number] | null;
  secret_hash: string;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

interface ExternalIdRow {
  device: string;
  platform: string;
  external_id: string;
}

const COLUMNS = 'id, site, type, zone, label, position, secret_hash, enabled, created_at, updated_at';

export class PostgresDeviceStore implements DeviceStore {
  constructor(private readonly pg: Postgres) {}

  async register(devices: readonly DeviceRecord[], passwords: readonly BrokerPasswordLine[] = []): Promise<void> {
    if (devices.length === 0 && passwords.length === 0) return;
    const times = devices.map((d) => [new Date(isoToMs(d.createdAt, 'createdAt')), new Date(isoToMs(d.updatedAt, 'updatedAt'))] as const);
    await this.tx('register devices', async (c) => {
      if (devices.length > 0) {
        const { rows } = await c.query<{ id: string }>(
          `INSERT INTO devices (${COLUMNS})
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $8::boolean[], $9::timestamptz[], $10::timestamptz[])
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [
            devices.map((d) => d.id),
            devices.map((d) => d.site),
            devices.map((d) => d.type),
            devices.map((d) => d.zone),
            devices.map((d) => d.label),
            devices.map((d) => (d.position === null ? null : JSON.stringify(d.position))),
            devices.map((d) => d.secretHash),
            devices.map((d) => d.enabled),
            times.map((t) => t[0]),
            times.map((t) => t[1]),
          ],
        );
        const taken = firstDuplicate(
          devices.map((d) => d.id),
          new Set(rows.map((r) => r.id)),
        );
        if (taken !== undefined) throw new StoreTwinError('STW_ERR_DEVICE_EXISTS', undefined, { id: taken });
        await insertExternalIds(c, devices.flatMap((d) => Object.entries(d.externalIds).map(([platform, externalId]) => ({ device: d.id, platform, externalId }))));
      }
      await insertBrokerPasswordLinesPg(c, passwords);
      await bumpVersion(this.pg, c);
    });
  }

  async get(id: string): Promise<DeviceRecord | null> {
    const [rec] = await this.select('read a device', `SELECT ${COLUMNS} FROM devices WHERE id = $1`, [id]);
    return rec ?? null;
  }

  async list(q: DeviceListQuery): Promise<DevicePage> {
    checkDevicePageLimit(q.limit);
    const rows = await this.select(
      'list devices',
      `SELECT ${COLUMNS} FROM devices
       WHERE ($1::text IS NULL OR site = $1) AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR zone = $3) AND ($4::text IS NULL OR id > $4)
       ORDER BY id LIMIT $5`,
      [q.site ?? null, q.type ?? null, q.zone ?? null, q.cursor ?? null, q.limit + 1],
    );
    const more = rows.length > q.limit;
    if (more) rows.length = q.limit;
    const last = rows.at(-1);
    return { items: rows, nextCursor: more && last !== undefined ? last.id : null };
  }

  async all(): Promise<DeviceRecord[]> {
    return this.select('read the devices', `SELECT ${COLUMNS} FROM devices ORDER BY id`, []);
  }

  async findByExternalId(platform: string, externalId: string): Promise<DeviceRecord | null> {
    const [rec] = await this.select(
      'find a device by external id',
      `SELECT ${COLUMNS} FROM devices WHERE id = (SELECT device FROM device_external_ids WHERE platform = $1 AND external_id = $2)`,
      [platform, externalId],
    );
    return rec ?? null;
  }

  async update(id: string, patch: DevicePatch, passwords: readonly BrokerPasswordLine[] = []): Promise<DeviceRecord | null> {
    return this.tx('update a device', async (c) => {
      // FOR UPDATE: two workers patching one device apply one after the other, each on the other's result.
      const [current] = await readDevices(c, `SELECT ${COLUMNS} FROM devices WHERE id = $1 FOR UPDATE`, [id]);
      if (current === undefined) return null;
      const next: DeviceRecord = { ...current, ...definedOnly(patch), updatedAt: new Date().toISOString() };
      await c.query(
        `UPDATE devices SET zone = $2, label = $3, position = $4::jsonb, secret_hash = $5, enabled = $6, updated_at = $7 WHERE id = $1`,
        [id, next.zone, next.label, next.position === null ? null : JSON.stringify(next.position), next.secretHash, next.enabled, new Date(next.updatedAt)],
      );
      if (patch.externalIds !== undefined) {
        await c.query('DELETE FROM device_external_ids WHERE device = $1', [id]);
        await insertExternalIds(c, Object.entries(patch.externalIds).map(([platform, externalId]) => ({ device: id, platform, externalId })));
      }
      await insertBrokerPasswordLinesPg(c, passwords);
      await bumpVersion(this.pg, c);
      const [updated] = await readDevices(c, `SELECT ${COLUMNS} FROM devices WHERE id = $1`, [id]);
      return updated ?? null;
    });
  }

  async delete(id: string): Promise<boolean> {
    return this.tx('delete a device', async (c) => {
      const { rowCount } = await c.query('DELETE FROM devices WHERE id = $1', [id]);
      if ((rowCount ?? 0) === 0) return false;
      await bumpVersion(this.pg, c);
      return true;
    });
  }

  onChange(listener: () => void): Promise<() => void> {
    return storeChanges(this.pg).subscribe(CHANGES_FEATURE, () => listener());
  }

  async version(): Promise<number> {
    try {
      const { rows } = await this.pg.query<{ version: string }>('SELECT version FROM device_changes WHERE id = 1');
      return Number(rows[0]?.version ?? 0);
    } catch (err) {
      throw postgresError(err, 'read the device version', this.pg.safeUrl);
    }
  }

  private async select(doing: string, sql: string, params: unknown[]): Promise<DeviceRecord[]> {
    try {
      return await readDevices(this.pg.pool, sql, params);
    } catch (err) {
      throw postgresError(err, doing, this.pg.safeUrl);
    }
  }

  private async tx<T>(doing: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    try {
      return await this.pg.transaction(fn);
    } catch (err) {
      throw postgresError(err, doing, this.pg.safeUrl);
    }
  }
}

/** Devices with their external ids: two statements on the same connection or transaction. */
async function readDevices(db: PgQueryable, sql: string, params: unknown[]): Promise<DeviceRecord[]> {
  const { rows } = await db.query<DeviceRow>(sql, params);
  if (rows.length === 0) return [];
  const ext = await db.query<ExternalIdRow>('SELECT device, platform, external_id FROM device_external_ids WHERE device = ANY($1::text[]) ORDER BY device, platform', [rows.map((r) => r.id)]);
  const byDevice = new Map<string, ExternalIdRow[]>();
  for (const e of ext.rows) byDevice.set(e.device, [...(byDevice.get(e.device) ?? []), e]);
  return rows.map((r) => ({
    id: r.id,
    site: r.site,
    type: r.type,
    zone: r.zone,
    label: r.label,
    position: r.position,
    externalIds: Object.fromEntries((byDevice.get(r.id) ?? []).map((e) => [e.platform, e.external_id])),
    secretHash: r.secret_hash,
    enabled: r.enabled,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  }));
}

async function insertExternalIds(c: PgQueryable, ids: ReadonlyArray<{ device: string; platform: string; externalId: string }>): Promise<void> {
  if (ids.length === 0) return;
  const { rows } = await c.query<{ platform: string; external_id: string }>(
    `INSERT INTO device_external_ids (device, platform, external_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING RETURNING platform, external_id`,
    [ids.map((i) => i.device), ids.map((i) => i.platform), ids.map((i) => i.externalId)],
  );
  if (rows.length === ids.length) return;
  // The first id, in the order given, that did not go in (an id given twice: its second time).
  const stored = new Map<string, number>();
  for (const r of rows) stored.set(`${r.platform}\u0000${r.external_id}`, (stored.get(`${r.platform}\u0000${r.external_id}`) ?? 0) + 1);
  const taken =
    ids.find((i) => {
      const key = `${i.platform}\u0000${i.externalId}`;
      const n = stored.get(key) ?? 0;
      stored.set(key, n - 1);
      return n <= 0;
    }) ?? ids[0]!;
  throw new StoreTwinError('STW_ERR_EXTERNAL_ID_TAKEN', undefined, { platform: taken.platform, externalId: taken.externalId });
}

const CHANGES_FEATURE = 'devices';

/** The version moves and the other workers hear of it, both with the write's commit. */
async function bumpVersion(pgh: Postgres, c: PgQueryable): Promise<void> {
  await c.query('UPDATE device_changes SET version = version + 1 WHERE id = 1');
  await storeChanges(pgh).notify(c, CHANGES_FEATURE);
}
