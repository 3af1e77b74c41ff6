/**
 * The registry on SQLite: devices and their external ids, users, sessions and API tokens,
 * the twin's snapshots, settings. Small tables read far more than written; every statement is
 * prepared once here, and uniqueness is left to the database's constraints (a check-then-
 * insert in JS would race with a CLI process writing the same file).
 */
import type { Statement } from 'better-sqlite3';
import { StoreTwinError } from '../../errors.ts';
import type {
  DeviceListQuery,
  DevicePatch,
  DeviceRecord,
  DeviceStateSnapshot,
  Registry,
  Role,
  SessionRecord,
  UserRecord,
} from '../types.ts';
import type { Database } from './database.ts';
import { isoToMs, msToIso } from './time.ts';

/** Same bound as event pages: an API page of devices stays small. */
export const MAX_DEVICE_PAGE = 1000;

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

interface UserRow {
  id: number;
  username: string;
  role: Role;
  sites: string;
  password_hash: string;
  created_at: number;
}

interface SessionRow {
  token_hash: string;
  user_id: number;
  kind: 'session' | 'api';
  name: string | null;
  created_at: number;
  expires_at: number | null;
}

interface DeviceStateRow {
  device: string;
  state: string;
  updated_at: number;
}

interface ListParams {
  site: string | null;
  type: string | null;
  zone: string | null;
  after: string | null;
  limit: number;
}

const DEVICE_COLUMNS = 'id, site, type, zone, label, position, secret_hash, enabled, created_at, updated_at';
const USER_COLUMNS = 'id, username, role, sites, password_hash, created_at';

export class SqliteRegistry implements Registry {
  private readonly db: Database;
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
    insertUser: Statement<[Omit<UserRow, 'id'>]>;
    getUser: Statement<[number], UserRow>;
    getUserByName: Statement<[string], UserRow>;
    listUsers: Statement<[], UserRow>;
    countUsers: Statement<[], { n: number }>;
    updateUser: Statement<[Pick<UserRow, 'id' | 'role' | 'sites' | 'password_hash'>]>;
    deleteUser: Statement<[number]>;
    insertSession: Statement<[SessionRow]>;
    getSession: Statement<[string], SessionRow>;
    deleteSession: Statement<[string]>;
    deleteExpiredSessions: Statement<[number]>;
    listSessions: Statement<[number], SessionRow>;
    deleteUserSessions: Statement<[number]>;
    saveDeviceState: Statement<[DeviceStateRow]>;
    loadDeviceStates: Statement<[], DeviceStateRow>;
    getSetting: Statement<[string], { value: string }>;
    setSetting: Statement<[string, string]>;
    deleteSetting: Statement<[string]>;
  };

  constructor(db: Database) {
    this.db = db;
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
      insertExternalId: db.prepare(
        'INSERT INTO device_external_ids (device, platform, external_id) VALUES (@device, @platform, @external_id)',
      ),
      deleteExternalIds: db.prepare('DELETE FROM device_external_ids WHERE device = ?'),
      externalIdsOf: db.prepare('SELECT device, platform, external_id FROM device_external_ids WHERE device = ? ORDER BY platform'),
      // The ids of one page arrive as a JSON array: one statement whatever the page size.
      externalIdsOfMany: db.prepare(
        `SELECT device, platform, external_id FROM device_external_ids
         WHERE device IN (SELECT value FROM json_each(?)) ORDER BY device, platform`,
      ),
      allExternalIds: db.prepare('SELECT device, platform, external_id FROM device_external_ids ORDER BY device, platform'),
      deviceByExternalId: db.prepare('SELECT device FROM device_external_ids WHERE platform = ? AND external_id = ?'),

      insertUser: db.prepare(
        `INSERT INTO users (username, role, sites, password_hash, created_at)
         VALUES (@username, @role, @sites, @password_hash, @created_at)`,
      ),
      getUser: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`),
      // The column is COLLATE NOCASE, so this comparison is case-insensitive and uses the index.
      getUserByName: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`),
      listUsers: db.prepare(`SELECT ${USER_COLUMNS} FROM users ORDER BY id`),
      countUsers: db.prepare('SELECT count(*) AS n FROM users'),
      updateUser: db.prepare('UPDATE users SET role = @role, sites = @sites, password_hash = @password_hash WHERE id = @id'),
      deleteUser: db.prepare('DELETE FROM users WHERE id = ?'),

      insertSession: db.prepare(
        `INSERT INTO sessions (token_hash, user_id, kind, name, created_at, expires_at)
         VALUES (@token_hash, @user_id, @kind, @name, @created_at, @expires_at)`,
      ),
      getSession: db.prepare('SELECT token_hash, user_id, kind, name, created_at, expires_at FROM sessions WHERE token_hash = ?'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE token_hash = ?'),
      deleteExpiredSessions: db.prepare('DELETE FROM sessions WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      listSessions: db.prepare('SELECT token_hash, user_id, kind, name, created_at, expires_at FROM sessions WHERE user_id = ? ORDER BY created_at, token_hash'),
      deleteUserSessions: db.prepare('DELETE FROM sessions WHERE user_id = ?'),

      // A snapshot for a device deleted meanwhile (the twin flushes on a timer) is dropped
      // rather than failing the foreign key and with it the whole batch.
      saveDeviceState: db.prepare(
        `INSERT INTO device_states (device, state, updated_at)
         SELECT @device, @state, @updated_at WHERE EXISTS (SELECT 1 FROM devices WHERE id = @device)
         ON CONFLICT (device) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      ),
      loadDeviceStates: db.prepare('SELECT device, state, updated_at FROM device_states ORDER BY device'),

      getSetting: db.prepare('SELECT value FROM settings WHERE key = ?'),
      setSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      deleteSetting: db.prepare('DELETE FROM settings WHERE key = ?'),
    };
  }

  // ---- devices ----

  insertDevice(rec: DeviceRecord): void {
    const row = toDeviceRow(rec);
    this.db.transaction(() => {
      try {
        this.stmt.insertDevice.run(row);
      } catch (err) {
        if (isConstraint(err, 'SQLITE_CONSTRAINT_PRIMARYKEY')) {
          throw new StoreTwinError('STW_ERR_DEVICE_EXISTS', undefined, { id: rec.id });
        }
        throw err;
      }
      this.insertExternalIds(rec.id, rec.externalIds);
    })();
  }

  insertDevices(recs: readonly DeviceRecord[], alsoInTransaction?: () => void): void {
    // Each insertDevice nests as a savepoint: the first constraint that fails undoes them all.
    this.db.transaction(() => {
      for (const rec of recs) this.insertDevice(rec);
      alsoInTransaction?.();
    })();
  }

  getDevice(id: string): DeviceRecord | null {
    const row = this.stmt.getDevice.get(id);
    return row === undefined ? null : fromDeviceRow(row, this.stmt.externalIdsOf.all(id));
  }

  listDevices(q: DeviceListQuery): { items: DeviceRecord[]; nextCursor: string | null } {
    if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_DEVICE_PAGE) {
      throw new StoreTwinError('STW_ERR_VALIDATION', `limit must be an integer in 1..${MAX_DEVICE_PAGE}`, { limit: q.limit });
    }
    // Read the page and its external ids in one transaction so a concurrent writer cannot
    // slip between the two reads.
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
      return {
        items: rows.map((r) => fromDeviceRow(r, ext.get(r.id) ?? [])),
        nextCursor: more && last !== undefined ? last.id : null,
      };
    })();
  }

  allDevices(): DeviceRecord[] {
    return this.db.transaction(() => {
      const ext = groupExternalIds(this.stmt.allExternalIds.all());
      return this.stmt.allDevices.all().map((r) => fromDeviceRow(r, ext.get(r.id) ?? []));
    })();
  }

  updateDevice(id: string, patch: DevicePatch): DeviceRecord | null {
    return this.db.transaction((): DeviceRecord | null => {
      const current = this.getDevice(id);
      if (current === null) return null;
      const next: DeviceRecord = {
        ...current,
        ...definedOnly(patch),
        updatedAt: new Date().toISOString(),
      };
      this.stmt.updateDevice.run(toDeviceRow(next));
      if (patch.externalIds !== undefined) {
        // Replace the whole set inside this transaction: if one id is taken by another
        // device, the device keeps its old ids and nothing else of the patch applies.
        this.stmt.deleteExternalIds.run(id);
        this.insertExternalIds(id, patch.externalIds);
      }
      return this.getDevice(id);
    })();
  }

  deleteDevice(id: string): boolean {
    // External ids and the twin snapshot go with it: ON DELETE CASCADE.
    return this.stmt.deleteDevice.run(id).changes > 0;
  }

  findDeviceByExternalId(platform: string, externalId: string): DeviceRecord | null {
    const hit = this.stmt.deviceByExternalId.get(platform, externalId);
    return hit === undefined ? null : this.getDevice(hit.device);
  }

  private insertExternalIds(device: string, externalIds: Record<string, string>): void {
    for (const [platform, externalId] of Object.entries(externalIds)) {
      try {
        this.stmt.insertExternalId.run({ device, platform, external_id: externalId });
      } catch (err) {
        if (isConstraint(err, 'SQLITE_CONSTRAINT_UNIQUE')) {
          throw new StoreTwinError('STW_ERR_EXTERNAL_ID_TAKEN', undefined, { platform, externalId });
        }
        throw err;
      }
    }
  }

  // ---- users ----

  insertUser(user: Omit<UserRecord, 'id' | 'createdAt'>): UserRecord {
    let id: number | bigint;
    try {
      id = this.stmt.insertUser.run({
        username: user.username,
        role: user.role,
        sites: JSON.stringify(user.sites),
        password_hash: user.passwordHash,
        created_at: Date.now(),
      }).lastInsertRowid;
    } catch (err) {
      if (isConstraint(err, 'SQLITE_CONSTRAINT_UNIQUE')) {
        throw new StoreTwinError('STW_ERR_USER_EXISTS', undefined, { username: user.username });
      }
      throw err;
    }
    const created = this.getUser(Number(id));
    if (created === null) throw new Error(`user ${id} vanished right after insert`);
    return created;
  }

  getUser(id: number): UserRecord | null {
    const row = this.stmt.getUser.get(id);
    return row === undefined ? null : fromUserRow(row);
  }

  getUserByName(username: string): UserRecord | null {
    const row = this.stmt.getUserByName.get(username);
    return row === undefined ? null : fromUserRow(row);
  }

  listUsers(): UserRecord[] {
    return this.stmt.listUsers.all().map(fromUserRow);
  }

  countUsers(): number {
    return this.stmt.countUsers.get()?.n ?? 0;
  }

  updateUser(id: number, patch: Partial<Pick<UserRecord, 'role' | 'sites' | 'passwordHash'>>): UserRecord | null {
    return this.db.transaction((): UserRecord | null => {
      const current = this.getUser(id);
      if (current === null) return null;
      this.stmt.updateUser.run({
        id,
        role: patch.role ?? current.role,
        sites: JSON.stringify(patch.sites ?? current.sites),
        password_hash: patch.passwordHash ?? current.passwordHash,
      });
      return this.getUser(id);
    })();
  }

  deleteUser(id: number): boolean {
    // Their sessions and API tokens go with them: ON DELETE CASCADE.
    return this.stmt.deleteUser.run(id).changes > 0;
  }

  // ---- sessions and API tokens ----

  insertSession(s: SessionRecord): void {
    try {
      this.stmt.insertSession.run({
        token_hash: s.tokenHash,
        user_id: s.userId,
        kind: s.kind,
        name: s.name,
        created_at: isoToMs(s.createdAt, 'createdAt'),
        expires_at: s.expiresAt === null ? null : isoToMs(s.expiresAt, 'expiresAt'),
      });
    } catch (err) {
      if (isConstraint(err, 'SQLITE_CONSTRAINT_FOREIGNKEY')) {
        throw new StoreTwinError('STW_ERR_USER_NOT_FOUND', undefined, { userId: s.userId });
      }
      throw err;
    }
  }

  /** Returns the session even when expired: the caller compares expiresAt with its clock. */
  getSession(tokenHash: string): SessionRecord | null {
    const row = this.stmt.getSession.get(tokenHash);
    return row === undefined ? null : fromSessionRow(row);
  }

  /** Every session and API token of a user, expired ones included, oldest first. */
  listSessions(userId: number): SessionRecord[] {
    return this.stmt.listSessions.all(userId).map(fromSessionRow);
  }

  /** Ends every session and revokes every API token of a user; how many there were. */
  deleteUserSessions(userId: number): number {
    return this.stmt.deleteUserSessions.run(userId).changes;
  }

  deleteSession(tokenHash: string): boolean {
    return this.stmt.deleteSession.run(tokenHash).changes > 0;
  }

  /** Deletes sessions whose expiresAt is at or before `now` (expiry is exclusive); never those without one. */
  deleteExpiredSessions(now: string): number {
    return this.stmt.deleteExpiredSessions.run(isoToMs(now, 'now')).changes;
  }

  // ---- twin snapshots ----

  /** Upserts in one transaction; snapshots of devices no longer registered are skipped. */
  saveDeviceStates(states: readonly DeviceStateSnapshot[]): void {
    const rows = states.map((s) => ({ device: s.device, state: JSON.stringify(s.state), updated_at: isoToMs(s.updatedAt, 'updatedAt') }));
    this.db.transaction(() => {
      for (const row of rows) this.stmt.saveDeviceState.run(row);
    })();
  }

  loadDeviceStates(): DeviceStateSnapshot[] {
    return this.stmt.loadDeviceStates.all().map((r) => ({
      device: r.device,
      state: JSON.parse(r.state) as Record<string, unknown>,
      updatedAt: msToIso(r.updated_at),
    }));
  }

  // ---- settings ----

  getSetting(key: string): string | null {
    return this.stmt.getSetting.get(key)?.value ?? null;
  }

  /** null deletes the key. */
  setSetting(key: string, value: string | null): void {
    if (value === null) this.stmt.deleteSetting.run(key);
    else this.stmt.setSetting.run(key, value);
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

function fromSessionRow(row: SessionRow): SessionRecord {
  return {
    tokenHash: row.token_hash,
    userId: row.user_id,
    kind: row.kind,
    name: row.name,
    createdAt: msToIso(row.created_at),
    expiresAt: row.expires_at === null ? null : msToIso(row.expires_at),
  };
}

function fromUserRow(r: UserRow): UserRecord {
  return {
    id: r.id,
    username: r.username,
    role: r.role,
    sites: JSON.parse(r.sites) as string[],
    passwordHash: r.password_hash,
    createdAt: msToIso(r.created_at),
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

/** `{ label: undefined }` in a patch means "not given", not "set to undefined". */
function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function isConstraint(err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code;
}
