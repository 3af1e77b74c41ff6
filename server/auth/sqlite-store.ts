/**
 * Users, sessions and API tokens on SQLite (moved from the old SqliteRegistry). The username
 * column is COLLATE NOCASE: one user whatever the case, and lookups use the index.
 */
import type { Statement } from 'better-sqlite3';
import { StoreTwinError } from '../errors.ts';
import { insertBrokerPasswordLines } from '../broker/external/sqlite-password-store.ts';
import type { Database } from '../storage/sqlite/database.ts';
import { isoToMs, msToIso } from '../storage/sqlite/time.ts';
import type { BrokerPasswordLine, Role, SessionRecord, UserRecord } from '../storage/types.ts';
import type { AccountStore, NewUserRecord, UserPatch } from './store.ts';

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

const USER_COLUMNS = 'id, username, role, sites, password_hash, created_at';
const SESSION_COLUMNS = 'token_hash, user_id, kind, name, created_at, expires_at';

export class SqliteAccountStore implements AccountStore {
  private readonly stmt: {
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
  };

  constructor(private readonly db: Database) {
    this.stmt = {
      insertUser: db.prepare('INSERT INTO users (username, role, sites, password_hash, created_at) VALUES (@username, @role, @sites, @password_hash, @created_at)'),
      getUser: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`),
      getUserByName: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`),
      listUsers: db.prepare(`SELECT ${USER_COLUMNS} FROM users ORDER BY id`),
      countUsers: db.prepare('SELECT count(*) AS n FROM users'),
      updateUser: db.prepare('UPDATE users SET role = @role, sites = @sites, password_hash = @password_hash WHERE id = @id'),
      deleteUser: db.prepare('DELETE FROM users WHERE id = ?'),
      insertSession: db.prepare(`INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (@token_hash, @user_id, @kind, @name, @created_at, @expires_at)`),
      getSession: db.prepare(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE token_hash = ?`),
      deleteSession: db.prepare('DELETE FROM sessions WHERE token_hash = ?'),
      deleteExpiredSessions: db.prepare('DELETE FROM sessions WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      listSessions: db.prepare(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE user_id = ? ORDER BY created_at, token_hash`),
      deleteUserSessions: db.prepare('DELETE FROM sessions WHERE user_id = ?'),
    };
  }

  async insertUser(user: NewUserRecord): Promise<UserRecord> {
    let id: number | bigint;
    try {
      id = this.stmt.insertUser.run({ username: user.username, role: user.role, sites: JSON.stringify(user.sites), password_hash: user.passwordHash, created_at: Date.now() }).lastInsertRowid;
    } catch (err) {
      if (isConstraint(err, 'SQLITE_CONSTRAINT_UNIQUE')) throw new StoreTwinError('STW_ERR_USER_EXISTS', undefined, { username: user.username });
      throw err;
    }
    const created = this.user(Number(id));
    if (created === null) throw new Error(`user ${id} vanished right after insert`);
    return created;
  }

  async getUser(id: number): Promise<UserRecord | null> {
    return this.user(id);
  }

  async getUserByName(username: string): Promise<UserRecord | null> {
    const row = this.stmt.getUserByName.get(username);
    return row === undefined ? null : fromUserRow(row);
  }

  async listUsers(): Promise<UserRecord[]> {
    return this.stmt.listUsers.all().map(fromUserRow);
  }

  async countUsers(): Promise<number> {
    return this.stmt.countUsers.get()?.n ?? 0;
  }

  async updateUser(id: number, patch: UserPatch): Promise<UserRecord | null> {
    return this.db.transaction(() => this.patch(id, patch)).immediate();
  }

  async setPassword(id: number, passwordHash: string): Promise<UserRecord | null> {
    return this.db.transaction(() => {
      const updated = this.patch(id, { passwordHash });
      if (updated) this.stmt.deleteUserSessions.run(id);
      return updated;
    }).immediate();
  }

  async deleteUser(id: number): Promise<boolean> {
    // Their sessions and API tokens go with them: ON DELETE CASCADE.
    return this.stmt.deleteUser.run(id).changes > 0;
  }

  async insertSession(s: SessionRecord, brokerPassword?: BrokerPasswordLine): Promise<void> {
    const row: SessionRow = {
      token_hash: s.tokenHash,
      user_id: s.userId,
      kind: s.kind,
      name: s.name,
      created_at: isoToMs(s.createdAt, 'createdAt'),
      expires_at: s.expiresAt === null ? null : isoToMs(s.expiresAt, 'expiresAt'),
    };
    this.db.transaction(() => {
      try {
        this.stmt.insertSession.run(row);
      } catch (err) {
        if (isConstraint(err, 'SQLITE_CONSTRAINT_FOREIGNKEY')) throw new StoreTwinError('STW_ERR_USER_NOT_FOUND', undefined, { userId: s.userId });
        throw err;
      }
      if (brokerPassword) insertBrokerPasswordLines(this.db, [brokerPassword]);
    }).immediate();
  }

  async getSession(tokenHash: string): Promise<SessionRecord | null> {
    const row = this.stmt.getSession.get(tokenHash);
    return row === undefined ? null : fromSessionRow(row);
  }

  async deleteSession(tokenHash: string): Promise<boolean> {
    return this.stmt.deleteSession.run(tokenHash).changes > 0;
  }

  async deleteExpiredSessions(now: string): Promise<number> {
    return this.stmt.deleteExpiredSessions.run(isoToMs(now, 'now')).changes;
  }

  async listSessions(userId: number): Promise<SessionRecord[]> {
    return this.stmt.listSessions.all(userId).map(fromSessionRow);
  }

  async deleteUserSessions(userId: number): Promise<number> {
    return this.stmt.deleteUserSessions.run(userId).changes;
  }

  private user(id: number): UserRecord | null {
    const row = this.stmt.getUser.get(id);
    return row === undefined ? null : fromUserRow(row);
  }

  /** Inside the caller's transaction. */
  private patch(id: number, patch: UserPatch): UserRecord | null {
    const current = this.user(id);
    if (current === null) return null;
    this.stmt.updateUser.run({
      id,
      role: patch.role ?? current.role,
      sites: JSON.stringify(patch.sites ?? current.sites),
      password_hash: patch.passwordHash ?? current.passwordHash,
    });
    return this.user(id);
  }
}

function fromUserRow(r: UserRow): UserRecord {
  return { id: r.id, username: r.username, role: r.role, sites: JSON.parse(r.sites) as string[], passwordHash: r.password_hash, createdAt: msToIso(r.created_at) };
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

function isConstraint(err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code;
}
