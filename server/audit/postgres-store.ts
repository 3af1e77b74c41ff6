/**
 * The audit log in PostgreSQL, for several workers sharing one database. The same answers as
 * the SQLite store (tests/audit/audit-store.contract.ts runs on both): times are timestamptz
 * handed out as the same ISO strings, JSON parts are jsonb, ids come from an identity column.
 *
 * Append-only here too, whoever writes: a trigger refuses UPDATE and DELETE row by row and
 * another refuses TRUNCATE (which fires no row trigger).
 *
 * `action` is compared byte-wise (COLLATE "C"): a group is the range ['alarm.', 'alarm/'), and
 * under a linguistic collation punctuation may sort elsewhere or not at all.
 */
import { StoreTwinError } from '../errors.ts';
import type { PgSchema } from '../storage/postgres/migrate.ts';
import type pg from 'pg';
import { postgresError, type Postgres } from '../storage/postgres/postgres.ts';
import { checkedAppend, checkQuery, encodeAuditCursor, scopeOf } from './paging.ts';
import type { AuditAction, AuditEntry, AuditPage, AuditQuery, AuditStore, AuditTargetKind, NewAuditEntry } from './types.ts';

export const AUDIT_PG_SCHEMA: PgSchema = {
  feature: 'audit',
  steps: [
    `
    CREATE TABLE audit (
      id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at          timestamptz NOT NULL,
      actor       text        NOT NULL,   -- username, 'cli', 'setup', or the name a failed login tried
      actor_id    bigint,                 -- the account; NULL for cli, setup and failed logins
      role        text,
      ip          text,
      action      text COLLATE "C" NOT NULL,
      site        text,
      scope       jsonb,                  -- site-less entries: the sites they concern ([] = every site)
      target_kind text,
      target_id   text,
      target_name text,
      before      jsonb,
      after       jsonb,
      detail      jsonb,
      CHECK ((target_kind IS NULL) = (target_id IS NULL))
    );
    -- Pages are newest first by (at, id).
    CREATE INDEX audit_at ON audit (at, id);
    CREATE INDEX audit_site_at ON audit (site, at) WHERE site IS NOT NULL;
    CREATE INDEX audit_actor_at ON audit (lower(actor), at);
    CREATE INDEX audit_action_at ON audit (action, at);
    CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit entries are append-only';
    END $$;
    CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
    CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
    `,
  ],
};

type Row = {
  id: string | number;
  at: Date;
  actor: string;
  actor_id: string | number | null;
  role: string | null;
  ip: string | null;
  action: string;
  site: string | null;
  target_kind: string | null;
  target_id: string | null;
  target_name: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  detail: Record<string, unknown> | null;
};

const COLUMNS = 'id, at, actor, actor_id, role, ip, action, site, target_kind, target_id, target_name, before, after, detail';

const json = (value: Record<string, unknown> | undefined): string | null => (value === undefined ? null : JSON.stringify(value));

function fromRow(r: Row): AuditEntry {
  const entry: AuditEntry = {
    id: Number(r.id),
    at: r.at.toISOString(),
    user: r.actor,
    userId: r.actor_id === null ? null : Number(r.actor_id),
    role: r.role,
    ip: r.ip,
    action: r.action as AuditAction,
    site: r.site,
    target: r.target_kind === null || r.target_id === null ? null : { kind: r.target_kind as AuditTargetKind, id: r.target_id, ...(r.target_name === null ? {} : { name: r.target_name }) },
  };
  if (r.before !== null) entry.before = r.before;
  if (r.after !== null) entry.after = r.after;
  if (r.detail !== null) entry.detail = r.detail;
  return entry;
}

export class PostgresAuditStore implements AuditStore {
  constructor(
    private readonly pg: Postgres,
    private readonly now: () => number = Date.now,
  ) {}

  async append(entry: NewAuditEntry): Promise<AuditEntry> {
    const [sql, params] = this.insertOf(entry);
    const row = (await this.run<Row>('record an audit entry', sql, params)).rows[0];
    if (!row) throw new StoreTwinError('STW_ERR_INTERNAL', 'audit entry not stored');
    return fromRow(row);
  }

  async appendMany(entries: readonly NewAuditEntry[]): Promise<AuditEntry[]> {
    // Every entry checked before the transaction: a bad one refuses the lot without a round trip.
    const inserts = entries.map((e) => this.insertOf(e));
    if (inserts.length === 0) return [];
    try {
      return await this.pg.transaction(async (client) => {
        const stored: AuditEntry[] = [];
        for (const [sql, params] of inserts) {
          const row = (await client.query<Row>(sql, params)).rows[0];
          if (!row) throw new StoreTwinError('STW_ERR_INTERNAL', 'audit entry not stored');
          stored.push(fromRow(row));
        }
        return stored;
      });
    } catch (err) {
      throw postgresError(err, 'record audit entries', this.pg.safeUrl);
    }
  }

  private insertOf(entry: NewAuditEntry): [string, unknown[]] {
    const at = checkedAppend(entry, this.now);
    const scope = scopeOf(entry);
    return [
      `INSERT INTO audit (at, actor, actor_id, role, ip, action, site, scope, target_kind, target_id, target_name, before, after, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12::jsonb, $13::jsonb, $14::jsonb)
       RETURNING ${COLUMNS}`,
      [
        new Date(at).toISOString(),
        entry.user,
        entry.userId,
        entry.role,
        entry.ip,
        entry.action,
        entry.site,
        scope === null ? null : JSON.stringify(scope),
        entry.target?.kind ?? null,
        entry.target?.id ?? null,
        entry.target?.name ?? null,
        json(entry.before),
        json(entry.after),
        json(entry.detail),
      ],
    ];
  }

  /** A page of entries, newest first, keyset-paged on (at, id) as in SQLite. */
  async query(q: AuditQuery): Promise<AuditPage> {
    const c = checkQuery(q);
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (q.site !== undefined) where.push(`site = ${p(q.site)}`);
    // SQLite's NOCASE folds ASCII only; usernames are ASCII, so lower() answers alike.
    if (q.user !== undefined) where.push(`lower(actor) = lower(${p(q.user)})`);
    if (c.action !== undefined) {
      if ('one' in c.action) where.push(`action = ${p(c.action.one)}`);
      else where.push(`action >= ${p(c.action.from)} AND action < ${p(c.action.to)}`);
    }
    if (c.fromMs !== undefined) where.push(`at >= ${p(new Date(c.fromMs).toISOString())}::timestamptz`);
    if (c.toMs !== undefined) where.push(`at < ${p(new Date(c.toMs).toISOString())}::timestamptz`);
    if (q.viewer !== undefined) {
      // Its sites; its own site-less entries; site-less entries scoped to a non-empty subset of
      // its sites (the accounts it manages). An empty scope ([]) is every site: never.
      const sites = p([...q.viewer.sites]);
      where.push(`(site = ANY(${sites}::text[])
        OR (site IS NULL AND actor_id = ${p(q.viewer.userId)})
        OR (site IS NULL AND scope <> '[]'::jsonb AND scope <@ to_jsonb(${sites}::text[])))`);
    }
    if (c.cursor !== undefined) where.push(`(at, id) < (${p(new Date(c.cursor.atMs).toISOString())}::timestamptz, ${p(c.cursor.id)}::bigint)`);
    const sql = `SELECT ${COLUMNS} FROM audit${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ${p(c.limit + 1)}`;
    const { rows } = await this.run<Row>('read the audit log', sql, params);
    const more = rows.length > c.limit;
    const page = more ? rows.slice(0, c.limit) : rows;
    const last = page.at(-1);
    return { items: page.map(fromRow), nextCursor: more && last !== undefined ? encodeAuditCursor(last.at.getTime(), Number(last.id)) : null };
  }

  private async run<R extends pg.QueryResultRow>(doing: string, sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pg.query<R>(sql, params);
    } catch (err) {
      throw postgresError(err, doing, this.pg.safeUrl);
    }
  }
}
