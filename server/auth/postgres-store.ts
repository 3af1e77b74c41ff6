/**
 * Users, sessions and API tokens in PostgreSQL: the same answers as the SQLite store
 * (tests/auth/account-store.contract.ts runs on both). A username is unique whatever its case
 * (a unique index on lower(username), as SQLite's COLLATE NOCASE: usernames are ASCII), and
 * two workers creating one name at once get one user and one STW_ERR_USER_EXISTS.
 */
import type pg from 'pg';
import { StoreTwinError } from '../errors.ts';
import { insertBrokerPasswordLinesPg } from '../broker/external/postgres-password-store.ts';
import type { PgSchema } from '../storage/postgres/migrate.ts';
import { postgresError, type PgQueryable, type Postgres } from '../storage/postgres/postgres.ts';
import { isoToMs } from '../storage/sqlite/time.ts';
import type { BrokerPasswordLine, Role, SessionRecord, UserRecord } from '../storage/types.ts';
import type { AccountStore, NewUserRecord, UserPatch } from './store.ts';

export const ACCOUNTS_PG_SCHEMA: PgSchema = {
  feature: 'accounts',
  steps: [
    `
    CREATE TABLE users (
      id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      username      text        NOT NULL,
      role          text        NOT NULL CHECK (role IN ('admin', 'manager', 'operator', 'technician')),
      sites         jsonb       NOT NULL,   -- array of site ids; [] = all sites
      password_hash text        NOT NULL,
      created_at    timestamptz NOT NULL
    );
    CREATE UNIQUE INDEX users_username ON users (lower(username));
    CREATE TABLE sessions (
      token_hash text COLLATE "C" PRIMARY KEY,
      user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      kind       text        NOT NULL CHECK (kind IN ('session', 'api')),
      name       text,
      created_at timestamptz NOT NULL,
      expires_at timestamptz            -- NULL = never (API tokens)
    );
    CREATE INDEX sessions_user ON sessions (user_id);
    CREATE INDEX sessions_expiry ON sessions (expires_at) WHERE expires_at IS NOT NULL;
    `,
  ],
};

interface UserRow {
  id: string | number;
  username: string;
  role: Role;
  sites: string[];
  password_hash: string;
  created_at: Date;
}

interface SessionRow {
  token_hash: string;
  user_id: string | number;
  kind: 'session' | 'api';
  name: string | null;
  created_at: Date;
  expires_at: Date | null;
}

const USER_COLUMNS = 'id, username, role, sites, password_hash, created_at';
const SESSION_COLUMNS = 'token_hash, user_id, kind, name, created_at, expires_at';

export class PostgresAccountStore implements AccountStore {
  constructor(private readonly pg: Postgres) {}

  async insertUser(user: NewUserRecord): Promise<UserRecord> {
    const { rows } = await this.run<UserRow>(
      'create a user',
      `INSERT INTO users (username, role, sites, password_hash, created_at) VALUES ($1, $2, $3::jsonb, $4, $5)
       ON CONFLICT (lower(username)) DO NOTHING RETURNING ${USER_COLUMNS}`,
      [user.username, user.role, JSON.stringify(user.sites), user.passwordHash, new Date()],
    );
    const row = rows[0];
    if (row === undefined) throw new StoreTwinError('STW_ERR_USER_EXISTS', undefined, { username: user.username });
    return fromUserRow(row);
  }

  async getUser(id: number): Promise<UserRecord | null> {
    const { rows } = await this.run<UserRow>('read a user', `SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0] === undefined ? null : fromUserRow(rows[0]);
  }

  async getUserByName(username: string): Promise<UserRecord | null> {
    const { rows } = await this.run<UserRow>('read a user', `SELECT ${USER_COLUMNS} FROM users WHERE lower(username) = lower($1)`, [username]);
    return rows[0] === undefined ? null : fromUserRow(rows[0]);
  }

  async listUsers(): Promise<UserRecord[]> {
    const { rows } = await this.run<UserRow>('list users', `SELECT ${USER_COLUMNS} FROM users ORDER BY id`);
    return rows.map(fromUserRow);
  }

  async countUsers(): Promise<number> {
    const { rows } = await this.run<{ n: string }>('count users', 'SELECT count(*) AS n FROM users');
    return Number(rows[0]?.n ?? 0);
  }

  async updateUser(id: number, patch: UserPatch): Promise<UserRecord | null> {
    return patchUser(this.pg.pool, id, patch).catch((err: unknown) => {
      throw postgresError(err, 'update a user', this.pg.safeUrl);
    });
  }

  async setPassword(id: number, passwordHash: string): Promise<UserRecord | null> {
    try {
      return await this.pg.transaction(async (c) => {
        const updated = await patchUser(c, id, { passwordHash });
        if (updated) await c.query('DELETE FROM sessions WHERE user_id = $1', [id]);
        return updated;
      });
    } catch (err) {
      throw postgresError(err, 'set a password', this.pg.safeUrl);
    }
  }

  async deleteUser(id: number): Promise<boolean> {
    const { rowCount } = await this.run('delete a user', 'DELETE FROM users WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }

  async insertSession(s: SessionRecord, brokerPassword?: BrokerPasswordLine): Promise<void> {
    const createdAt = new Date(isoToMs(s.createdAt, 'createdAt'));
    const expiresAt = s.expiresAt === null ? null : new Date(isoToMs(s.expiresAt, 'expiresAt'));
    try {
      await this.pg.transaction(async (c) => {
        await c.query(`INSERT INTO sessions (${SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, [s.tokenHash, s.userId, s.kind, s.name, createdAt, expiresAt]);
        if (brokerPassword) await insertBrokerPasswordLinesPg(c, [brokerPassword]);
      });
    } catch (err) {
      if ((err as { code?: unknown }).code === '23503') throw new StoreTwinError('STW_ERR_USER_NOT_FOUND', undefined, { userId: s.userId });
      throw postgresError(err, 'store a session', this.pg.safeUrl);
    }
  }

  async getSession(tokenHash: string): Promise<SessionRecord | null> {
    const { rows } = await this.run<SessionRow>('read a session', `SELECT ${SESSION_COLUMNS} FROM sessions WHERE token_hash = $1`, [tokenHash]);
    return rows[0] === undefined ? null : fromSessionRow(rows[0]);
  }

  async deleteSession(tokenHash: string): Promise<boolean> {
    const { rowCount } = await this.run('delete a session', 'DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
    return (rowCount ?? 0) > 0;
  }

  async deleteExpiredSessions(now: string): Promise<number> {
    const at = new Date(isoToMs(now, 'now'));
    const { rowCount } = await this.run('delete expired sessions', 'DELETE FROM sessions WHERE expires_at IS NOT NULL AND expires_at <= $1', [at]);
    return rowCount ?? 0;
  }

  async listSessions(userId: number): Promise<SessionRecord[]> {
    const { rows } = await this.run<SessionRow>('list sessions', `SELECT ${SESSION_COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY created_at, token_hash`, [userId]);
    return rows.map(fromSessionRow);
  }

  async deleteUserSessions(userId: number): Promise<number> {
    const { rowCount } = await this.run('delete sessions', 'DELETE FROM sessions WHERE user_id = $1', [userId]);
    return rowCount ?? 0;
  }

  private async run<R extends pg.QueryResultRow>(doing: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pg.query<R>(sql, params);
    } catch (err) {
      throw postgresError(err, doing, this.pg.safeUrl);
    }
  }
}

/** One statement: what is not given keeps its value. */
async function patchUser(db: PgQueryable, id: number, patch: UserPatch): Promise<UserRecord | null> {
  const { rows } = await db.query<UserRow>(
    `UPDATE users SET role = COALESCE($2, role), sites = COALESCE($3::jsonb, sites), password_hash = COALESCE($4, password_hash)
     WHERE id = $1 RETURNING ${USER_COLUMNS}`,
    [id, patch.role ?? null, patch.sites === undefined ? null : JSON.stringify(patch.sites), patch.passwordHash ?? null],
  );
  return rows[0] === undefined ? null : fromUserRow(rows[0]);
}

function fromUserRow(r: UserRow): UserRecord {
  return { id: Number(r.id), username: r.username, role: r.role, sites: r.sites, passwordHash: r.password_hash, createdAt: r.created_at.toISOString() };
}

function fromSessionRow(r: SessionRow): SessionRecord {
  return {
    tokenHash: r.token_hash,
    userId: Number(r.user_id),
    kind: r.kind,
    name: r.name,
    createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at === null ? null : r.expires_at.toISOString(),
  };
}
