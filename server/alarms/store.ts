/**
 * Alarms on SQLite (tables `alarms` and `alarm_history`, migration 3). The store only reads and
 * writes rows; which changes are allowed is the state machine's business (state-machine.ts),
 * and transactions are the service's (one per change, together with the outbox).
 *
 * Dedupe is by construction: the partial unique index alarms_live_rule_source allows one live
 * alarm per (rule, source) — live from its raise until it is closed out (acknowledged and
 * cleared), migration 4 — and a trigger is an upsert on it. Whatever interleaving of
 * connections or processes, a second live row cannot exist; a concurrent trigger becomes a
 * repeat.
 */
import type { Statement } from 'better-sqlite3';
import { StoreTwinError } from '../errors.ts';
import type { Localized } from '../sites/model.ts';
import type { Database } from '../storage/sqlite/database.ts';
import { isoToMs, msToIso } from '../storage/sqlite/time.ts';
import { closedOut, stateOf } from './state-machine.ts';
import { SEVERITIES, type Alarm, type AlarmAction, type AlarmQuery, type AlarmTransition, type Severity, type SnapshotStatus } from './types.ts';

/** Same bound as the other stores' pages. */
export const MAX_ALARM_PAGE = 1000;

interface AlarmRow {
  id: string;
  site: string;
  zone: string | null;
  device: string | null;
  rule: string;
  source: string;
  severity: Severity;
  open: number;
  acknowledged: number;
  message: string;
  count: number;
  first_at: number;
  last_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  cleared_at: number | null;
  cleared_by: string | null;
  escalation: number;
  snapshot: string | null;
  details: string;
  latched: number;
  restored_at: number | null;
  chattering: number;
  /** 1 from the raise until the close out: the row that takes re-triggers of (rule, source). */
  live: number;
}

interface HistoryRow {
  alarm: string;
  at: number;
  by: string;
  action: AlarmAction;
  comment: string | null;
  detail: string | null;
}

const COLUMNS =
  'id, site, zone, device, rule, source, severity, open, acknowledged, message, count, first_at, last_at, ' +
  'acknowledged_at, acknowledged_by, cleared_at, cleared_by, escalation, snapshot, details, latched, restored_at, chattering, live';

/** "Not closed out": open, or cleared but not yet acknowledged (the console's list). */
const PENDING = '(open = 1 OR acknowledged = 0)';

/** Severity rank in SQL (0 = critical), generated from the one list so the two cannot drift. */
function rankSql(expr: string): string {
  return `CASE ${expr} ${SEVERITIES.map((s, i) => `WHEN '${s}' THEN ${i}`).join(' ')} END`;
}

function toRow(a: Alarm): AlarmRow {
  return {
    id: a.id,
    site: a.site,
    zone: a.zone,
    device: a.device,
    rule: a.rule,
    source: a.source,
    severity: a.severity,
    open: a.state === 'cleared' ? 0 : 1,
    acknowledged: a.acknowledged ? 1 : 0,
    message: JSON.stringify(a.message),
    count: a.count,
    first_at: isoToMs(a.firstAt, 'firstAt'),
    last_at: isoToMs(a.lastAt, 'lastAt'),
    acknowledged_at: a.acknowledgedAt === null ? null : isoToMs(a.acknowledgedAt, 'acknowledgedAt'),
    acknowledged_by: a.acknowledgedBy,
    cleared_at: a.clearedAt === null ? null : isoToMs(a.clearedAt, 'clearedAt'),
    cleared_by: a.clearedBy,
    escalation: a.escalationLevel,
    snapshot: a.snapshot === null ? null : JSON.stringify(a.snapshot),
    details: JSON.stringify(a.details),
    latched: a.latched ? 1 : 0,
    restored_at: a.restoredAt === null ? null : isoToMs(a.restoredAt, 'restoredAt'),
    chattering: a.chattering ? 1 : 0,
    live: closedOut(a) ? 0 : 1,
  };
}

function fromRow(r: AlarmRow, history: AlarmTransition[]): Alarm {
  return {
    id: r.id,
    site: r.site,
    zone: r.zone,
    device: r.device,
    rule: r.rule,
    source: r.source,
    severity: r.severity,
    state: stateOf(r.open === 1, r.acknowledged === 1),
    acknowledged: r.acknowledged === 1,
    message: JSON.parse(r.message) as Localized,
    count: r.count,
    firstAt: msToIso(r.first_at),
    lastAt: msToIso(r.last_at),
    acknowledgedAt: r.acknowledged_at === null ? null : msToIso(r.acknowledged_at),
    acknowledgedBy: r.acknowledged_by,
    clearedAt: r.cleared_at === null ? null : msToIso(r.cleared_at),
    clearedBy: r.cleared_by,
    escalationLevel: r.escalation,
    snapshot: r.snapshot === null ? null : (JSON.parse(r.snapshot) as SnapshotStatus),
    latched: r.latched === 1,
    restoredAt: r.restored_at === null ? null : msToIso(r.restored_at),
    chattering: r.chattering === 1,
    details: JSON.parse(r.details) as Record<string, unknown>,
    history,
  };
}

function fromHistoryRow(r: HistoryRow): AlarmTransition {
  const t: AlarmTransition = { at: msToIso(r.at), by: r.by, action: r.action };
  if (r.comment !== null) t.comment = r.comment;
  if (r.detail !== null) t.detail = JSON.parse(r.detail) as Record<string, unknown>;
  return t;
}

export function encodeAlarmCursor(lastAt: number, id: string): string {
  return Buffer.from(`${lastAt}:${id}`, 'utf8').toString('base64url');
}

export function decodeAlarmCursor(cursor: string): { lastAt: number; id: string } {
  // Ids are UUIDs; the bound keeps a hostile cursor from becoming a huge SQL parameter.
  const match = /^(-?\d{1,16}):([A-Za-z0-9-]{1,100})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const lastAt = match ? Number(match[1]) : Number.NaN;
  if (!match || !Number.isSafeInteger(lastAt)) throw new StoreTwinError('STW_ERR_VALIDATION', 'cursor is invalid', { cursor });
  return { lastAt, id: match[2] as string };
}

/** Alarms without their history (lists, open alarms): history is read per alarm by get(). */
const NO_HISTORY: AlarmTransition[] = [];

export class SqliteAlarmStore {
  private readonly db: Database;
  private readonly upsertStmt: Statement<[AlarmRow], AlarmRow>;
  private readonly updateStmt: Statement<[AlarmRow]>;
  private readonly historyStmt: Statement<[{ alarm: string; at: number; by: string; action: string; comment: string | null; detail: string | null }]>;
  private readonly getStmt: Statement<[string], AlarmRow>;
  private readonly findLiveStmt: Statement<[string, string], AlarmRow>;
  private readonly historyOfStmt: Statement<[string], HistoryRow>;
  private readonly openAllStmt: Statement<[], AlarmRow>;
  private readonly openSiteStmt: Statement<[string], AlarmRow>;
  private readonly listStmts = new Map<string, Statement<[Record<string, unknown>], AlarmRow>>();

  constructor(db: Database) {
    this.db = db;
    // The conflict target names the partial index's WHERE, so SQLite resolves the conflict on
    // alarms_live_rule_source. The SET mirrors the state machine's `repeated`: count + 1,
    // last_at never goes back, severity only goes up, the latest message, details merged by
    // json_patch (RFC 7396, as mergePatch() in state-machine.ts), and the condition holds
    // again: open, not cleared, not restored.
    this.upsertStmt = db.prepare<[AlarmRow], AlarmRow>(
      `INSERT INTO alarms (${COLUMNS})
       VALUES (@id, @site, @zone, @device, @rule, @source, @severity, @open, @acknowledged, @message, @count, @first_at, @last_at,
               @acknowledged_at, @acknowledged_by, @cleared_at, @cleared_by, @escalation, @snapshot, @details,
               @latched, @restored_at, @chattering, @live)
       ON CONFLICT (rule, source) WHERE live = 1 DO UPDATE SET
         count = count + 1,
         open = 1,
         cleared_at = NULL,
         cleared_by = NULL,
         restored_at = NULL,
         last_at = max(last_at, excluded.last_at),
         severity = CASE WHEN ${rankSql('excluded.severity')} < ${rankSql('severity')} THEN excluded.severity ELSE severity END,
         message = excluded.message,
         details = json_patch(details, excluded.details)
       RETURNING ${COLUMNS}`,
    );
    // Identity (id, site, rule, source, first_at, latched) never changes after the insert.
    // `live` only ever drops (the close out): an older alarm that migration 4 left not live
    // must not become live again when someone comments on it.
    this.updateStmt = db.prepare<[AlarmRow]>(
      `UPDATE alarms SET severity = @severity, open = @open, acknowledged = @acknowledged, message = @message, count = @count,
         last_at = @last_at, acknowledged_at = @acknowledged_at, acknowledged_by = @acknowledged_by, cleared_at = @cleared_at,
         cleared_by = @cleared_by, escalation = @escalation, snapshot = @snapshot, details = @details,
         restored_at = @restored_at, chattering = @chattering, live = min(live, @live)
       WHERE id = @id`,
    );
    this.historyStmt = db.prepare(
      'INSERT INTO alarm_history (alarm, at, by, action, comment, detail) VALUES (@alarm, @at, @by, @action, @comment, @detail)',
    );
    this.getStmt = db.prepare<[string], AlarmRow>(`SELECT ${COLUMNS} FROM alarms WHERE id = ?`);
    this.findLiveStmt = db.prepare<[string, string], AlarmRow>(`SELECT ${COLUMNS} FROM alarms WHERE rule = ? AND source = ? AND live = 1`);
    this.historyOfStmt = db.prepare<[string], HistoryRow>('SELECT alarm, at, by, action, comment, detail FROM alarm_history WHERE alarm = ? ORDER BY id');
    this.openAllStmt = db.prepare<[], AlarmRow>(`SELECT ${COLUMNS} FROM alarms WHERE ${PENDING} ORDER BY first_at, id`);
    this.openSiteStmt = db.prepare<[string], AlarmRow>(`SELECT ${COLUMNS} FROM alarms WHERE site = ? AND ${PENDING} ORDER BY first_at, id`);
  }

  /**
   * Inserts `candidate` (a freshly raised alarm) unless a live alarm (not closed out) for its
   * (rule, source) exists, in which case that one counts a repeat. Returns the row as stored (without
   * history) and whether it was created.
   */
  upsertLive(candidate: Alarm): { alarm: Alarm; created: boolean } {
    const row = this.upsertStmt.get(toRow(candidate));
    // RETURNING always yields the inserted or updated row; undefined would be a SQLite bug.
    if (row === undefined) throw new Error('alarm upsert returned no row');
    return { alarm: fromRow(row, NO_HISTORY), created: row.id === candidate.id };
  }

  /** Writes the mutable columns of an existing alarm. */
  update(alarm: Alarm): void {
    const info = this.updateStmt.run(toRow(alarm));
    if (info.changes !== 1) throw new StoreTwinError('STW_ERR_ALARM_NOT_FOUND', `no alarm "${alarm.id}"`);
  }

  addHistory(alarm: string, t: AlarmTransition): void {
    this.historyStmt.run({
      alarm,
      at: isoToMs(t.at, 'at'),
      by: t.by,
      action: t.action,
      comment: t.comment ?? null,
      detail: t.detail === undefined ? null : JSON.stringify(t.detail),
    });
  }

  /** The alarm with its full history, oldest first. */
  get(id: string): Alarm | null {
    const row = this.getStmt.get(id);
    return row === undefined ? null : fromRow(row, this.historyOfStmt.all(id).map(fromHistoryRow));
  }

  /** The live alarm (not closed out) for (rule, source), with its history. */
  findLive(rule: string, source: string): Alarm | null {
    const row = this.findLiveStmt.get(rule, source);
    return row === undefined ? null : fromRow(row, this.historyOfStmt.all(row.id).map(fromHistoryRow));
  }

  /** Alarms not closed out (open, or cleared but unacknowledged), oldest first, without history. */
  open(site?: string): Alarm[] {
    const rows = site === undefined ? this.openAllStmt.all() : this.openSiteStmt.all(site);
    return rows.map((r) => fromRow(r, NO_HISTORY));
  }

  /**
   * A page of alarms, newest activity (last_at) first, without history. `from` is inclusive,
   * `to` exclusive. Keyset pagination on (last_at, id): no OFFSET cost, and rows raised while
   * paging cannot shift a page. An alarm that repeats while someone pages moves to the top
   * (its last_at grows), so it may be missed by later pages: it is then on the first one.
   */
  list(q: AlarmQuery): { items: Alarm[]; nextCursor: string | null } {
    const limit = Math.min(Math.max(1, Math.trunc(q.limit)), MAX_ALARM_PAGE);
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: limit + 1 };
    if (q.site !== undefined) {
      where.push('site = @site');
      params.site = q.site;
    }
    if (q.sites !== undefined) {
      // An empty scope sees nothing (rather than everything, as an absent one does).
      where.push('site IN (SELECT value FROM json_each(@sites))');
      params.sites = JSON.stringify(q.sites);
    }
    switch (q.state) {
      case 'active':
        where.push('open = 1 AND acknowledged = 0');
        break;
      case 'acknowledged':
        where.push('open = 1 AND acknowledged = 1');
        break;
      case 'cleared':
        where.push('open = 0');
        break;
      case 'open':
        // Everything not closed out: open, and cleared but not yet acknowledged (DESIGN.md).
        where.push(PENDING);
        break;
      case undefined:
        break;
    }
    if (q.severity !== undefined) {
      where.push('severity = @severity');
      params.severity = q.severity;
    }
    if (q.rule !== undefined) {
      where.push('rule = @rule');
      params.rule = q.rule;
    }
    if (q.from !== undefined) {
      where.push('last_at >= @from');
      params.from = isoToMs(q.from, 'from');
    }
    if (q.to !== undefined) {
      where.push('last_at < @to');
      params.to = isoToMs(q.to, 'to');
    }
    if (q.cursor !== undefined) {
      const c = decodeAlarmCursor(q.cursor);
      where.push('(last_at, id) < (@cursorAt, @cursorId)');
      params.cursorAt = c.lastAt;
      params.cursorId = c.id;
    }
    const sql = `SELECT ${COLUMNS} FROM alarms${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY last_at DESC, id DESC LIMIT @limit`;
    let stmt = this.listStmts.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare<[Record<string, unknown>], AlarmRow>(sql);
      // Filter combinations are few (each clause present or not): prepared once and kept.
      this.listStmts.set(sql, stmt);
    }
    const rows = stmt.all(params);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page.at(-1);
    return {
      items: page.map((r) => fromRow(r, NO_HISTORY)),
      nextCursor: more && last !== undefined ? encodeAlarmCursor(last.last_at, last.id) : null,
    };
  }

  private timesStmt: Statement<[{ site: string; from: number; to: number; afterAt: number; afterId: string; limit: number }], AlarmTimesRow> | null = null;

  /**
   * Response KPIs (server/kpis): one page of `site`'s alarms raised (first_at) in [fromMs, toMs),
   * with just their lifecycle times, after the keyset `after` (exclusive), in (lastAt, id) order.
   * That order is the index alarms_site_last (a WITHOUT ROWID index ends with the key, id), so a
   * page seeks straight to its start: every alarm raised since `fromMs` has last_at ≥ fromMs.
   * lastAt only grows, so an alarm repeating between two pages may be read twice (the caller
   * keeps the last copy by id), never skipped.
   */
  alarmTimes(site: string, fromMs: number, toMs: number, after: { lastAt: number; id: string } | null, limit: number): AlarmTimes[] {
    this.timesStmt ??= this.db.prepare(
      `SELECT id, site, rule, severity, count, latched, first_at, last_at, acknowledged_at, acknowledged_by, cleared_at, cleared_by FROM alarms
       WHERE site = @site AND (last_at, id) > (@afterAt, @afterId) AND first_at >= @from AND first_at < @to
       ORDER BY last_at, id LIMIT @limit`,
    );
    // No cursor: from (fromMs, '') on, which every id sorts after.
    const rows = this.timesStmt.all({ site, from: fromMs, to: toMs, afterAt: after?.lastAt ?? fromMs, afterId: after?.id ?? '', limit: Math.max(1, Math.trunc(limit)) });
    return rows.map((r) => ({
      id: r.id,
      site: r.site,
      rule: r.rule,
      severity: r.severity,
      count: r.count,
      latched: r.latched === 1,
      firstAt: r.first_at,
      lastAt: r.last_at,
      acknowledgedAt: r.acknowledged_at,
      acknowledgedBy: r.acknowledged_by,
      clearedAt: r.cleared_at,
      clearedBy: r.cleared_by,
    }));
  }
}

interface AlarmTimesRow {
  id: string;
  site: string;
  rule: string;
  severity: Severity;
  count: number;
  latched: number;
  first_at: number;
  last_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  cleared_at: number | null;
  cleared_by: string | null;
}

/**
 * An alarm's lifecycle times in Unix ms, for response KPIs. `acknowledgedAt` is its one
 * acknowledgement (the flag never drops once set); `clearedAt` its final clear — a re-trigger
 * that opens a cleared alarm again resets it — or null while it is open.
 */
export interface AlarmTimes {
  id: string;
  site: string;
  rule: string;
  severity: Severity;
  /** Occurrences folded into the alarm. */
  count: number;
  latched: boolean;
  firstAt: number;
  lastAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  clearedAt: number | null;
  clearedBy: string | null;
}
