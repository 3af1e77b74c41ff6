/**
 * The audit log in SQLite (table `audit`, migration 5). Appends only: the class has no update or
 * delete, and the table's triggers refuse both, whoever asks. better-sqlite3 is synchronous:
 * each method does its one statement and returns a settled promise.
 */
import type { Statement, Transaction } from 'better-sqlite3';
import { StoreTwinError } from '../errors.ts';
import type { Database } from '../storage/sqlite/database.ts';
import { msToIso } from '../storage/sqlite/time.ts';
import { checkedAppend, checkQuery, encodeAuditCursor, scopeOf } from './paging.ts';
import type { AuditAction, AuditEntry, AuditPage, AuditQuery, AuditStore, AuditTargetKind, NewAuditEntry } from './types.ts';

interface Row {
  id: number;
  at: number;
  actor: string;
  actor_id: number | null;
  role: string | null;
  ip: string | null;
  action: string;
  site: string | null;
  target_kind: string | null;
  target_id: string | null;
  target_name: string | null;
  before: string | null;
  after: string | null;
  detail: string | null;
}

const COLUMNS = 'id, at, actor, actor_id, role, ip, action, site, target_kind, target_id, target_name, before, after, detail';

const json = (value: Record<string, unknown> | undefined): string | null => (value === undefined ? null : JSON.stringify(value));

function fromRow(r: Row): AuditEntry {
  const entry: AuditEntry = {
    id: r.id,
    at: msToIso(r.at),
    user: r.actor,
    userId: r.actor_id,
    role: r.role,
    ip: r.ip,
    action: r.action as AuditAction,
    site: r.site,
    target: r.target_kind === null || r.target_id === null ? null : { kind: r.target_kind as AuditTargetKind, id: r.target_id, ...(r.target_name === null ? {} : { name: r.target_name }) },
  };
  if (r.before !== null) entry.before = JSON.parse(r.before) as Record<string, unknown>;
  if (r.after !== null) entry.after = JSON.parse(r.after) as Record<string, unknown>;
  if (r.detail !== null) entry.detail = JSON.parse(r.detail) as Record<string, unknown>;
  return entry;
}

export class SqliteAuditStore implements AuditStore {
  private readonly insertStmt: Statement<[Record<string, unknown>], Row>;
  private readonly queryStmts = new Map<string, Statement<[Record<string, unknown>], Row>>();
  private readonly insertMany: Transaction<(entries: readonly NewAuditEntry[]) => AuditEntry[]>;

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {
    this.insertStmt = db.prepare(`
      INSERT INTO audit (at, actor, actor_id, role, ip, action, site, scope, target_kind, target_id, target_name, before, after, detail)
      VALUES (@at, @actor, @actorId, @role, @ip, @action, @site, @scope, @targetKind, @targetId, @targetName, @before, @after, @detail)
      RETURNING ${COLUMNS}`);
    this.insertMany = db.transaction((entries: readonly NewAuditEntry[]) => entries.map((e) => this.insert(e)));
  }

  append(entry: NewAuditEntry): Promise<AuditEntry> {
    try {
      return Promise.resolve(this.insert(entry));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  appendMany(entries: readonly NewAuditEntry[]): Promise<AuditEntry[]> {
    try {
      return Promise.resolve(this.insertMany.immediate(entries));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  private insert(entry: NewAuditEntry): AuditEntry {
    const at = checkedAppend(entry, this.now);
    const scope = scopeOf(entry);
    const row = this.insertStmt.get({
      at,
      actor: entry.user,
      actorId: entry.userId,
      role: entry.role,
      ip: entry.ip,
      action: entry.action,
      site: entry.site,
      scope: scope === null ? null : JSON.stringify(scope),
      targetKind: entry.target?.kind ?? null,
      targetId: entry.target?.id ?? null,
      targetName: entry.target?.name ?? null,
      before: json(entry.before),
      after: json(entry.after),
      detail: json(entry.detail),
    });
    if (!row) throw new StoreTwinError('STW_ERR_INTERNAL', 'audit entry not stored');
    return fromRow(row);
  }

  /**
   * A page of entries, newest first. Keyset pagination on (at, id) like the alarm list: no
   * OFFSET cost, and entries recorded while someone pages cannot shift a page.
   */
  query(q: AuditQuery): Promise<AuditPage> {
    try {
      return Promise.resolve(this.querySync(q));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  private querySync(q: AuditQuery): AuditPage {
    const c = checkQuery(q);
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: c.limit + 1 };
    if (q.site !== undefined) {
      where.push('site = @site');
      params.site = q.site;
    }
    if (q.user !== undefined) {
      where.push('actor = @user COLLATE NOCASE');
      params.user = q.user;
    }
    if (c.action !== undefined) {
      if ('one' in c.action) {
        where.push('action = @action');
        params.action = c.action.one;
      } else {
        // 'alarm.' <= action < 'alarm/': a range the action index serves.
        where.push('action >= @groupFrom AND action < @groupTo');
        params.groupFrom = c.action.from;
        params.groupTo = c.action.to;
      }
    }
    if (c.fromMs !== undefined) {
      where.push('at >= @from');
      params.from = c.fromMs;
    }
    if (c.toMs !== undefined) {
      where.push('at < @to');
      params.to = c.toMs;
    }
    if (q.viewer !== undefined) {
      // Its sites; its own site-less entries; site-less entries scoped to a subset of its sites
      // (the accounts it manages). An empty scope ('[]') is every site: never.
      where.push(`(site IN (SELECT value FROM json_each(@viewerSites))
        OR (site IS NULL AND actor_id = @viewerId)
        OR (site IS NULL AND scope <> '[]'
            AND NOT EXISTS (SELECT 1 FROM json_each(scope) AS s WHERE s.value NOT IN (SELECT value FROM json_each(@viewerSites)))))`);
      params.viewerSites = JSON.stringify(q.viewer.sites);
      params.viewerId = q.viewer.userId;
    }
    if (c.cursor !== undefined) {
      where.push('(at, id) < (@cursorAt, @cursorId)');
      params.cursorAt = c.cursor.atMs;
      params.cursorId = c.cursor.id;
    }
    const sql = `SELECT ${COLUMNS} FROM audit${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT @limit`;
    let stmt = this.queryStmts.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare<[Record<string, unknown>], Row>(sql);
      // Filter combinations are few (each clause present or not): prepared once and kept.
      this.queryStmts.set(sql, stmt);
    }
    const rows = stmt.all(params);
    const more = rows.length > c.limit;
    const page = more ? rows.slice(0, c.limit) : rows;
    const last = page.at(-1);
    return { items: page.map(fromRow), nextCursor: more && last !== undefined ? encodeAuditCursor(last.at, last.id) : null };
  }
}
