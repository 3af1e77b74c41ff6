/**
 * Devices on SQLite (moved from the old SqliteRegistry): every statement prepared once, and
 * uniqueness left to the database's constraints (a check-then-insert in JS would race with a
 * CLI process writing the same file). Better-sqlite3 is synchronous: each write is one
 * db.transaction, and the promise is already settled when it is returned.
 *
 * The version the directory polls is a settings row ('devices.version') bumped in every write
 * transaction: the schema stays as it is in users' files.
 */
import type { Statement } from 'better-sqlite3';
import { StoreTwinError } from '../errors.ts';
import { insertBrokerPasswordLines } from '../broker/external/sqlite-password-store.ts';
import type { Database } from '../storage/sqlite/database.ts';
import { isoToMs, msToIso } from '../storage/sqlite/time.ts';
import type { BrokerPasswordLine, DeviceListQuery, DevicePatch, DeviceRecord } from '../storage/types.ts';
import { checkDevicePageLimit, definedOnly, type DevicePage, type DeviceStore } from './store.ts';

interface DeviceRow {
  id: string;
  site: string;
  type: string;
  zone: string;
  label: string | null;
  position: string | null;
  secret_hash: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

interface ExternalIdRow {
  device: string;
  platform: string;
  external_id: string;
}

interface ListParams {
  site: string | null;
  type: string | null;
  zone: string | null;
  after: string | null;
  limit: number;
}

const DEVICE_COLUMNS = 'id, site, type, zone, label, position, secret_hash, enabled, created_at, updated_at';
export const DEVICES_VERSION_SETTING = 'devices.version';

export class SqliteDeviceStore implements DeviceStore {
  private readonly stmt: {
    insertDevice: Statement<[DeviceRow]>;
    getDevice: Statement<[string], DeviceRow>;
    listDevices: Statement<[ListParams], DeviceRow>;
    allDevices: Statement<[], DeviceRow>;
    updateDevice: Statement<[DeviceRow]>;
    deleteDevice: Statement<[string]>;
    insertExternalId: Statement<[ExternalIdRow]>;
    deleteExternalIds: Statement<[string]>;
    externalIdsOf: Statement<[string], ExternalIdRow>;
    externalIdsOfMany: Statement<[string], ExternalIdRow>;
    allExternalIds: Statement<[], ExternalIdRow>;
    deviceByExternalId: Statement<[string, string], { device: string }>;
    bumpVersion: Statement<[]>;
    version: Statement<[], { value: string }>;
  };

  constructor(private readonly db: Database) {
    this.stmt = {
      insertDevice: db.prepare(
        `INSERT INTO devices (${DEVICE_COLUMNS})
         VALUES (@id, @site, @type, @zone, @label, @position, @secret_hash, @enabled, @created_at, @updated_at)`,
      ),
      getDevice: db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ?`),
      // One statement for every filter combination: `@x IS NULL OR …` switches a filter off.
      // It walks the primary key in id order, which is also the keyset order.
      listDevices: db.prepare(
        `SELECT ${DEVICE_COLUMNS} FROM devices
         WHERE (@site IS NULL OR site = @site)
           AND (@type IS NULL OR type = @type)
           AND (@zone IS NULL OR zone = @zone)
           AND (@after IS NULL OR id > @after)
         ORDER BY id LIMIT @limit`,
      ),
      allDevices: db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY id`),
      updateDevice: db.prepare(
        `UPDATE devices SET site = @site, type = @type, zone = @zone, label = @label, position = @position,
           secret_hash = @secret_hash, enabled = @enabled, created_at = @created_at, updated_at = @updated_at
         WHERE id = @id`,
      ),
      deleteDevice: db.prepare('DELETE FROM devices WHERE id = ?'),
      insertExternalId: db.prepare('INSERT INTO device_external_ids (device, platform, external_id) VALUES (@device, @platform, @external_id)'),
      deleteExternalIds: db.prepare('DELETE FROM device_external_ids WHERE device = ?'),
      externalIdsOf: db.prepare('SELECT device, platform, external_id FROM device_external_ids WHERE device = ? ORDER BY platform'),
      // The ids of one page arrive as a JSON array: one statement whatever the page size.
      externalIdsOfMany: db.prepare(
        `SELECT device, platform, external_id FROM device_external_ids
         WHERE device IN (SELECT value FROM json_each(?)) ORDER BY device, platform`,
      ),
      allExternalIds: db.prepare('SELECT device, platform, external_id FROM device_external_ids ORDER BY device, platform'),
      deviceByExternalId: db.prepare('SELECT device FROM device_external_ids WHERE platform = ? AND external_id = ?'),
      bumpVersion: db.prepare(
        `INSERT INTO settings (key, value) VALUES ('${DEVICES_VERSION_SETTING}', '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)`,
      ),
      version: db.prepare(`SELECT value FROM settings WHERE key = '${DEVICES_VERSION_SETTING}'`),
    };
  }

  async register(devices: readonly DeviceRecord[], passwords: readonly BrokerPasswordLine[] = []): Promise<void> {
    const rows = devices.map(toDeviceRow);
    this.db.transaction(() => {
      rows.forEach((row, i) => {
        try {
          this.stmt.insertDevice.run(row);
        } catch (err) {
          if (isConstraint(err, 'SQLITE_CONSTRAINT_PRIMARYKEY')) throw new StoreTwinError('STW_ERR_DEVICE_EXISTS', undefined, { id: row.id });
          throw err;
        }
        this.insertExternalIds(row.id, devices[i]!.externalIds);
      });
      insertBrokerPasswordLines(this.db, passwords);
      this.stmt.bumpVersion.run();
    }).immediate();
  }

  async get(id: string): Promise<DeviceRecord | null> {
    return this.read(id);
  }

  async list(q: DeviceListQuery): Promise<DevicePage> {
    checkDevicePageLimit(q.limit);
    // The page and its external ids in one transaction: no writer slips between the two reads.
    return this.db.transaction(() => {
      const rows = this.stmt.listDevices.all({
        site: q.site ?? null,
        type: q.type ?? null,
        zone: q.zone ?? null,
        after: q.cursor ?? null,
        // One extra row says whether there is another page.
        limit: q.limit + 1,
      });
      const more = rows.length > q.limit;
      if (more) rows.length = q.limit;
      const ext = groupExternalIds(this.stmt.externalIdsOfMany.all(JSON.stringify(rows.map((r) => r.id))));
      const last = rows[rows.length - 1];
      return { items: rows.map((r) => fromDeviceRow(r, ext.get(r.id) ?? [])), nextCursor: more && last !== undefined ? last.id : null };
    }).immediate();
  }

  async all(): Promise<DeviceRecord[]> {
    return this.db.transaction(() => {
      const ext = groupExternalIds(this.stmt.allExternalIds.all());
      return this.stmt.allDevices.all().map((r) => fromDeviceRow(r, ext.get(r.id) ?? []));
    }).immediate();
  }

  async findByExternalId(platform: string, externalId: string): Promise<DeviceRecord | null> {
    const hit = this.stmt.deviceByExternalId.get(platform, externalId);
    return hit === undefined ? null : this.read(hit.device);
  }

  async update(id: string, patch: DevicePatch, passwords: readonly BrokerPasswordLine[] = []): Promise<DeviceRecord | null> {
    return this.db.transaction((): DeviceRecord | null => {
      const current = this.read(id);
      if (current === null) return null;
      const next: DeviceRecord = { ...current, ...definedOnly(patch), updatedAt: new Date().toISOString() };
      this.stmt.updateDevice.run(toDeviceRow(next));
      if (patch.externalIds !== undefined) {
        // Replaced whole inside this transaction: if one id is another device's, the device
        // keeps its old ids and nothing else of the patch applies.
        this.stmt.deleteExternalIds.run(id);
        this.insertExternalIds(id, patch.externalIds);
      }
      insertBrokerPasswordLines(this.db, passwords);
      this.stmt.bumpVersion.run();
      return this.read(id);
    }).immediate();
  }

  async delete(id: string): Promise<boolean> {
    // External ids and the twin snapshot go with it: ON DELETE CASCADE.
    return this.db.transaction(() => {
      const gone = this.stmt.deleteDevice.run(id).changes > 0;
      if (gone) this.stmt.bumpVersion.run();
      return gone;
    }).immediate();
  }

  async version(): Promise<number> {
    return Number(this.stmt.version.get()?.value ?? 0);
  }

  private read(id: string): DeviceRecord | null {
    const row = this.stmt.getDevice.get(id);
    return row === undefined ? null : fromDeviceRow(row, this.stmt.externalIdsOf.all(id));
  }

  private insertExternalIds(device: string, externalIds: Record<string, string>): void {
    for (const [platform, externalId] of Object.entries(externalIds)) {
      try {
        this.stmt.insertExternalId.run({ device, platform, external_id: externalId });
      } catch (err) {
        if (isConstraint(err, 'SQLITE_CONSTRAINT_UNIQUE')) throw new StoreTwinError('STW_ERR_EXTERNAL_ID_TAKEN', undefined, { platform, externalId });
        throw err;
      }
    }
  }
}

function toDeviceRow(rec: DeviceRecord): DeviceRow {
  return {
    id: rec.id,
    site: rec.site,
    type: rec.type,
    zone: rec.zone,
    label: rec.label,
    position: rec.position === null ? null : JSON.stringify(rec.position),
    secret_hash: rec.secretHash,
    enabled: rec.enabled ? 1 : 0,
    created_at: isoToMs(rec.createdAt, 'createdAt'),
    updated_at: isoToMs(rec.updatedAt, 'updatedAt'),
  };
}

function fromDeviceRow(r: DeviceRow, externalIds: readonly ExternalIdRow[]): DeviceRecord {
  return {
    id: r.id,
    site: r.site,
    type: r.type,
    zone: r.zone,
    label: r.label,
    position: r.position === null ? null : (JSON.parse(r.position) as [number, number, number]),
    externalIds: Object.fromEntries(externalIds.map((e) => [e.platform, e.external_id])),
    secretHash: r.secret_hash,
    enabled: r.enabled === 1,
    createdAt: msToIso(r.created_at),
    updatedAt: msToIso(r.updated_at),
  };
}

function groupExternalIds(rows: readonly ExternalIdRow[]): Map<string, ExternalIdRow[]> {
  const byDevice = new Map<string, ExternalIdRow[]>();
  for (const row of rows) {
    const list = byDevice.get(row.device);
    if (list === undefined) byDevice.set(row.device, [row]);
    else list.push(row);
  }
  return byDevice;
}

function isConstraint(err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code;
}
