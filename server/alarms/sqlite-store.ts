/**
 * Alarms on SQLite (tables `alarms`, `alarm_history` and the outbox `deliveries`, migrations
 * 3–4). A changeset is one IMMEDIATE transaction, so a second connection (the CLI, another
 * process on the file) waits for the write lock instead of failing half way with SQLITE_BUSY;
 * better-sqlite3 is synchronous, so every method returns an already settled promise.
 *
 * Dedupe is by construction: the partial unique index alarms_live_rule_source allows one live
 * alarm per (rule, source) — live from its raise until it is closed out (acknowledged and
 * cleared), migration 4 — and a create that meets it does nothing: a conflict (store.ts).
 */
import type { Statement } from 'better-sqlite3';
import { DEFAULT_ALARM_CATEGORY } from './category.ts';
import type { HistoryAlarm } from '../history/alarms.ts';
import type { Localized } from '../sites/model.ts';
import type { Database } from '../storage/sqlite/database.ts';
import { isoToMs, msToIso } from '../storage/sqlite/time.ts';
import { decodeAlarmCursor, encodeAlarmCursor, pageLimit } from './paging.ts';
import { ALARM_COLUMNS, fromRow, GUARDED, historiesOf, MUTABLE_COLUMNS, NO_HISTORY, toHistoryRow, toRow, type AlarmRow, type HistoryRow } from './rows.ts';
import type { AlarmChangeset, AlarmStore, AlarmTimes, CommitOutcome } from './store.ts';
import type { Alarm, AlarmQuery, Severity } from './types.ts';

const COLUMNS = ALARM_COLUMNS.join(', ');

/** "Not closed out": open, or cleared but not yet acknowledged (the console's list). */
const PENDING = '(open = 1 OR acknowledged = 0)';

/** Thrown inside the transaction to roll it back; never leaves this file. */
class Conflict extends Error {}

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

interface WindowRow {
  id: string;
  severity: Severity;
  zone: string | null;
  device: string | null;
  rule: string;
  message: string;
  first_at: number;
  acknowledged_at: number | null;
  cleared_at: number | null;
}

type Params = Record<string, unknown>;

export class SqliteAlarmStore implements AlarmStore {
  private readonly db: Database;
  private readonly stmts: {
    create: Statement<[AlarmRow]>;
    update: Statement<[Params]>;
    history: Statement<[HistoryRow]>;
    delivery: Statement<unknown[]>;
    get: Statement<[string], AlarmRow>;
    findLive: Statement<[string, string], AlarmRow>;
    historyOf: Statement<[string], HistoryRow>;
    live: Statement<[{ sites: string | null }], AlarmRow>;
    liveHistory: Statement<[{ sites: string | null }], HistoryRow>;
    openAll: Statement<[], AlarmRow>;
    openSite: Statement<[string], AlarmRow>;
  };
  private readonly listStmts = new Map<string, Statement<[Params], AlarmRow>>();
  private timesStmt: Statement<[Params], AlarmTimesRow> | null = null;
  private windowStmt: Statement<[Params], WindowRow> | null = null;
  private routesStmt: Statement<[string], { alarm: string; route: string }> | null = null;

  constructor(db: Database) {
    this.db = db;
    const guard = GUARDED.map((c) => `${c} IS @g_${c}`).join(' AND ');
    this.stmts = {
      // The conflict target names the partial index's WHERE, so SQLite resolves the conflict on
      // alarms_live_rule_source: a live alarm of that (rule, source) exists, nothing is inserted.
      create: db.prepare<[AlarmRow]>(
        `INSERT INTO alarms (${COLUMNS}) VALUES (${ALARM_COLUMNS.map((c) => `@${c}`).join(', ')})
         ON CONFLICT (rule, source) WHERE live = 1 DO NOTHING`,
      ),
      // `live` only ever drops (the close out): an older alarm that migration 4 left not live
      // must not become live again when someone comments on it.
      update: db.prepare<[Params]>(
        `UPDATE alarms SET ${MUTABLE_COLUMNS.map((c) => (c === 'live' ? 'live = min(live, @live)' : `${c} = @${c}`)).join(', ')}
         WHERE id = @id AND ${guard}`,
      ),
      history: db.prepare<[HistoryRow]>('INSERT INTO alarm_history (alarm, at, by, action, comment, detail) VALUES (@alarm, @at, @by, @action, @comment, @detail)'),
      delivery: db.prepare(
        `INSERT INTO deliveries (idempotency_key, alarm, site, channel, route, payload, state, attempts, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
         ON CONFLICT (idempotency_key) DO NOTHING`,
      ),
      get: db.prepare<[string], AlarmRow>(`SELECT ${COLUMNS} FROM alarms WHERE id = ?`),
      findLive: db.prepare<[string, string], AlarmRow>(`SELECT ${COLUMNS} FROM alarms WHERE rule = ? AND source = ? AND live = 1`),
      historyOf: db.prepare<[string], HistoryRow>('SELECT alarm, at, by, action, comment, detail FROM alarm_history WHERE alarm = ? ORDER BY id'),
      // @sites: a JSON array of sites, or NULL for all.
      live: db.prepare<[{ sites: string | null }], AlarmRow>(
        `SELECT ${COLUMNS} FROM alarms WHERE live = 1 AND (@sites IS NULL OR site IN (SELECT value FROM json_each(@sites))) ORDER BY first_at, id`,
      ),
      liveHistory: db.prepare<[{ sites: string | null }], HistoryRow>(
        `SELECT h.alarm, h.at, h.by, h.action, h.comment, h.detail FROM alarm_history h JOIN alarms a ON a.id = h.alarm
         WHERE a.live = 1 AND (@sites IS NULL OR a.site IN (SELECT value FROM json_each(@sites))) ORDER BY h.id`,
      ),
      openAll: db.prepare<[], AlarmRow>(`SELECT ${COLUMNS} FROM alarms WHERE ${PENDING} ORDER BY first_at, id`),
      openSite: db.prepare<[string], AlarmRow>(`SELECT ${COLUMNS} FROM alarms WHERE site = ? AND ${PENDING} ORDER BY first_at, id`),
    };
  }

  async commit(changes: AlarmChangeset): Promise<CommitOutcome> {
    const { stmts } = this;
    try {
      this.db
        .transaction(() => {
          for (const w of changes.writes) {
            if (w.kind === 'create') {
              if (stmts.create.run(toRow(w.alarm)).changes !== 1) throw new Conflict();
            } else {
              const params: Params = { ...toRow(w.after) };
              const before = toRow(w.before);
              for (const c of GUARDED) params[`g_${c}`] = before[c];
              if (stmts.update.run(params).changes !== 1) throw new Conflict();
            }
            const id = w.kind === 'create' ? w.alarm.id : w.after.id;
            for (const t of w.history) stmts.history.run(toHistoryRow(id, t));
          }
          for (const d of changes.deliveries) {
            stmts.delivery.run(d.idempotencyKey, d.alarm, d.site, d.channel, d.route, JSON.stringify(d.payload), d.nextAttemptAt, changes.now);
          }
        })
        .immediate();
    } catch (err) {
      if (err instanceof Conflict) return 'conflict';
      throw err;
    }
    return 'committed';
  }

  async get(id: string): Promise<Alarm | null> {
    const row = this.stmts.get.get(id);
    return row === undefined ? null : fromRow(row, historiesOf(this.stmts.historyOf.all(id)).get(id) ?? []);
  }

  async findLive(rule: string, source: string): Promise<Alarm | null> {
    const row = this.stmts.findLive.get(rule, source);
    return row === undefined ? null : fromRow(row, historiesOf(this.stmts.historyOf.all(row.id)).get(row.id) ?? []);
  }

  async live(sites?: readonly string[]): Promise<Alarm[]> {
    const scope = sites === undefined ? null : JSON.stringify(sites);
    // One read transaction: the rows and their histories agree.
    const [rows, history] = this.db.transaction(() => [this.stmts.live.all({ sites: scope }), this.stmts.liveHistory.all({ sites: scope })] as const)();
    const histories = historiesOf(history);
    return rows.map((r) => fromRow(r, histories.get(r.id) ?? []));
  }

  async open(site?: string): Promise<Alarm[]> {
    const rows = site === undefined ? this.stmts.openAll.all() : this.stmts.openSite.all(site);
    return rows.map((r) => fromRow(r, NO_HISTORY));
  }

  /**
   * Keyset pagination on (last_at, id): no OFFSET cost. An alarm that repeats while someone
   * pages moves to the top (its last_at grows), so it may be missed by later pages: it is then
   * on the first one.
   */
  async list(q: AlarmQuery): Promise<{ items: Alarm[]; nextCursor: string | null }> {
    const limit = pageLimit(q.limit);
    const where: string[] = [];
    const params: Params = { limit: limit + 1 };
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
      stmt = this.db.prepare<[Params], AlarmRow>(sql);
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

  /**
   * The (lastAt, id) order is the index alarms_site_last (a WITHOUT ROWID index ends with the
   * key, id), so a page seeks straight to its start: every alarm raised since `fromMs` has
   * last_at ≥ fromMs.
   */
  async alarmTimes(site: string, fromMs: number, toMs: number, after: { lastAt: number; id: string } | null, limit: number): Promise<AlarmTimes[]> {
    this.timesStmt ??= this.db.prepare<[Params], AlarmTimesRow>(
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

  /**
   * The replay window (server/history): the site prefix of index alarms_site_last narrows the
   * scan to one site, and a site's alarms over a week are few.
   */
  async overlapping(site: string, fromMs: number, toMs: number, limit: number, categories?: readonly string[]): Promise<HistoryAlarm[]> {
    this.windowStmt ??= this.db.prepare<[Params], WindowRow>(
      `SELECT id, severity, zone, device, rule, message, first_at, acknowledged_at, cleared_at FROM alarms
       WHERE site = @site AND first_at <= @to AND (cleared_at IS NULL OR cleared_at >= @from)
         AND (@categories IS NULL OR coalesce(json_extract(details, '$.category'), '${DEFAULT_ALARM_CATEGORY}') IN (SELECT value FROM json_each(@categories)))
       ORDER BY first_at, id LIMIT @limit`,
    );
    const rows = this.windowStmt.all({ site, from: fromMs, to: toMs, limit, categories: categories === undefined ? null : JSON.stringify(categories) });
    return rows.map((r) => ({
        id: r.id,
        severity: r.severity,
        zone: r.zone,
        device: r.device,
        rule: r.rule,
        message: JSON.parse(r.message) as Localized,
        firstAt: msToIso(r.first_at),
        acknowledgedAt: r.acknowledged_at === null ? null : msToIso(r.acknowledged_at),
        clearedAt: r.cleared_at === null ? null : msToIso(r.cleared_at),
    }));
  }

  async notifiedRoutes(alarms: readonly string[]): Promise<Map<string, string[]>> {
    this.routesStmt ??= this.db.prepare<[string], { alarm: string; route: string }>(
      'SELECT alarm, route FROM deliveries WHERE alarm IN (SELECT value FROM json_each(?)) GROUP BY alarm, route ORDER BY alarm, min(id)',
    );
    const out = new Map<string, string[]>(alarms.map((a) => [a, []]));
    if (alarms.length > 0) for (const r of this.routesStmt.all(JSON.stringify(alarms))) out.get(r.alarm)?.push(r.route);
    return out;
  }
}
