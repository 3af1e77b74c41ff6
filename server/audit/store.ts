/**
 * The audit log in SQLite (table `audit`, migration 5). Appends only: the class has no update or
 * delete, and the table's triggers refuse both, whoever asks.
 */
import type { Statement } from 'better-sqlite3';
import { StoreTwinError } from '../errors.ts';
import type { Database } from '../storage/sqlite/database.ts';
import { isoToMs, msToIso } from '../storage/sqlite/time.ts';
import { AUDIT_GROUPS, isAuditAction, type AuditAction, type AuditEntry, type AuditPage, type AuditQuery, type AuditStore, type AuditTargetKind, type NewAuditEntry } from './types.ts';

/** A page is at most this long, whatever is asked. */
export const MAX_AUDIT_PAGE = 1000;

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

export function encodeAuditCursor(atMs: number, id: number): string {
  return Buffer.from(`${atMs}:${id}`, 'utf8').toString('base64url');
}

export function decodeAuditCursor(cursor: string): { atMs: number; id: number } {
  // The bound keeps a hostile cursor from becoming a huge SQL parameter.
  const match = /^(-?\d{1,16}):(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const atMs = match ? Number(match[1]) : Number.NaN;
  const id = match ? Number(match[2]) : Number.NaN;
  if (!Number.isSafeInteger(atMs) || !Number.isSafeInteger(id)) throw new StoreTwinError('STW_ERR_VALIDATION', 'cursor is invalid', { cursor });
  return { atMs, id };
}

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

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {
    this.insertStmt = db.prepare(`
      INSERT INTO audit (at, actor, actor_id, role, ip, action, site, scope, target_kind, target_id, target_name, before, after, detail)
      VALUES (@at, @actor, @actorId, @role, @ip, @action, @site, @scope, @targetKind, @targetId, @targetName, @before, @after, @detail)
      RETURNING ${COLUMNS}`);
  }

  append(entry: NewAuditEntry): AuditEntry {
    // The type says so; the check keeps a cast or a JS caller from writing an action the
    // dashboard and the filters do not know.
    if (!isAuditAction(entry.action)) throw new StoreTwinError('STW_ERR_VALIDATION', `unknown audit action "${String(entry.action)}"`);
    const row = this.insertStmt.get({
      at: entry.at === undefined ? this.now() : isoToMs(entry.at, 'at'),
      actor: entry.user,
      actorId: entry.userId,
      role: entry.role,
      ip: entry.ip,
      action: entry.action,
      site: entry.site,
      // Only site-less entries need it (an entry with a site is scoped by its site).
      scope: entry.site === null ? JSON.stringify([...new Set(entry.scope ?? [])]) : null,
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
  query(q: AuditQuery): AuditPage {
    const limit = Math.min(Math.max(1, Math.trunc(q.limit)), MAX_AUDIT_PAGE);
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: limit + 1 };
    if (q.site !== undefined) {
      where.push('site = @site');
      params.site = q.site;
    }
    if (q.user !== undefined) {
      where.push('actor = @user COLLATE NOCASE');
      params.user = q.user;
    }
    if (q.action !== undefined) {
      if (isAuditAction(q.action)) {
        where.push('action = @action');
        params.action = q.action;
      } else if (AUDIT_GROUPS.includes(q.action)) {
        // 'alarm.' <= action < 'alarm/' ('/' follows '.'): a range the action index serves.
        where.push('action >= @groupFrom AND action < @groupTo');
        params.groupFrom = `${q.action}.`;
        params.groupTo = `${q.action}/`;
      } else {
        throw new StoreTwinError('STW_ERR_VALIDATION', `unknown audit action "${q.action.slice(0, 64)}"`, [{ path: ['action'], message: 'an action or a group' }]);
      }
    }
    if (q.from !== undefined) {
      where.push('at >= @from');
      params.from = isoToMs(q.from, 'from');
    }
    if (q.to !== undefined) {
      where.push('at < @to');
      params.to = isoToMs(q.to, 'to');
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
    if (q.cursor !== undefined) {
      const c = decodeAuditCursor(q.cursor);
      where.push('(at, id) < (@cursorAt, @cursorId)');
      params.cursorAt = c.atMs;
      params.cursorId = c.id;
    }
    const sql = `SELECT ${COLUMNS} FROM audit${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT @limit`;
    let stmt = this.queryStmts.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare<[Record<string, unknown>], Row>(sql);
      // Filter combinations are few (each clause present or not): prepared once and kept.
      this.queryStmts.set(sql, stmt);
    }
    const rows = stmt.all(params);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page.at(-1);
    return { items: page.map(fromRow), nextCursor: more && last !== undefined ? encodeAuditCursor(last.at, last.id) : null };
  }
}
