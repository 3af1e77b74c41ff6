/**
 * Alarms, their history and the outbox in PostgreSQL, for several workers sharing one
 * database (STORETWIN_DATABASE_URL). One feature, 'alarms', holds all three tables: a change
 * commits the alarm row, its history and its deliveries together, so they must live in one
 * database and migrate together. The same answers as the SQLite store
 * (tests/alarms/alarm-store.contract.ts runs on both): times are timestamptz handed out as the
 * same ISO strings / Unix ms, JSON is jsonb, flags are booleans.
 *
 * Dedupe across workers: the partial unique index alarms_live_rule_source (one live alarm per
 * (rule, source)) and `INSERT … ON CONFLICT (rule, source) WHERE live DO NOTHING`: a second
 * worker's insert waits for the first one's transaction and then does nothing — a conflict,
 * which its alarm service turns into a repeat of the alarm that won (store.ts). Updates are
 * compare-and-set on the GUARDED columns; under READ COMMITTED an UPDATE that met a row changed
 * by a concurrent commit re-checks its WHERE on the new row, so a guard never passes on stale
 * values.
 *
 * Ids sort byte-wise (COLLATE "C"), as SQLite's do, so pages break ties the same way.
 */
import type pg from 'pg';
import { DEFAULT_ALARM_CATEGORY } from './category.ts';
import type { HistoryAlarm } from '../history/alarms.ts';
import type { Localized } from '../sites/model.ts';
import type { PgSchema } from '../storage/postgres/migrate.ts';
import { postgresError, type PgClient, type Postgres } from '../storage/postgres/postgres.ts';
import { isoToMs } from '../storage/sqlite/time.ts';
import { decodeAlarmCursor, encodeAlarmCursor, pageLimit } from './paging.ts';
import { ALARM_COLUMNS, fromRow, GUARDED, historiesOf, MUTABLE_COLUMNS, NO_HISTORY, toHistoryRow, toRow, type AlarmRow, type HistoryRow } from './rows.ts';
import type { AlarmChangeset, AlarmStore, AlarmTimes, CommitOutcome } from './store.ts';
import type { Alarm, AlarmQuery, Severity } from './types.ts';

export const ALARMS_PG_SCHEMA: PgSchema = {
  feature: 'alarms',
  steps: [
    `
    CREATE TABLE alarms (
      id              text COLLATE "C" PRIMARY KEY,
      site            text        NOT NULL,
      zone            text,
      device          text,
      rule            text        NOT NULL,
      source          text        NOT NULL,
      severity        text        NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning', 'info')),
      open            boolean     NOT NULL,
      acknowledged    boolean     NOT NULL,
      message         jsonb       NOT NULL,  -- {en, zh-CN}
      count           integer     NOT NULL,
      first_at        timestamptz NOT NULL,
      last_at         timestamptz NOT NULL,
      acknowledged_at timestamptz,
      acknowledged_by text,
      cleared_at      timestamptz,
      cleared_by      text,
      escalation      integer     NOT NULL DEFAULT 0,
      snapshot        jsonb,                 -- SnapshotStatus
      details         jsonb       NOT NULL,
      latched         boolean     NOT NULL DEFAULT false,
      restored_at     timestamptz,
      chattering      boolean     NOT NULL DEFAULT false,
      live            boolean     NOT NULL   -- from the raise until the close out
    );
    -- Dedupe by construction: at most one live alarm per (rule, source).
    CREATE UNIQUE INDEX alarms_live_rule_source ON alarms (rule, source) WHERE live;
    CREATE INDEX alarms_site_last ON alarms (site, last_at, id);
    CREATE INDEX alarms_last ON alarms (last_at, id);
    CREATE INDEX alarms_pending_site ON alarms (site) WHERE open OR NOT acknowledged;

    CREATE TABLE alarm_history (
      id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      alarm   text COLLATE "C" NOT NULL REFERENCES alarms (id) ON DELETE CASCADE,
      at      timestamptz NOT NULL,
      by      text        NOT NULL,
      action  text        NOT NULL,
      comment text,
      detail  jsonb
    );
    CREATE INDEX alarm_history_alarm ON alarm_history (alarm, id);

    -- The outbox: written in the same transaction as the alarm change it announces.
    CREATE TABLE deliveries (
      id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      idempotency_key text        NOT NULL UNIQUE,
      alarm           text COLLATE "C" NOT NULL,
      site            text        NOT NULL,
      channel         text        NOT NULL,
      route           text        NOT NULL,
      payload         jsonb       NOT NULL,
      state           text        NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
      attempts        integer     NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL,
      last_error      text,
      created_at      timestamptz NOT NULL,
      delivered_at    timestamptz
    );
    CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
    CREATE INDEX deliveries_alarm ON deliveries (alarm, id);
    `,
  ],
};

type ColumnKind = 'text' | 'int' | 'bool' | 'ts' | 'json';

const KIND: Record<keyof AlarmRow, ColumnKind> = {
  id: 'text',
  site: 'text',
  zone: 'text',
  device: 'text',
  rule: 'text',
  source: 'text',
  severity: 'text',
  open: 'bool',
  acknowledged: 'bool',
  message: 'json',
  count: 'int',
  first_at: 'ts',
  last_at: 'ts',
  acknowledged_at: 'ts',
  acknowledged_by: 'text',
  cleared_at: 'ts',
  cleared_by: 'text',
  escalation: 'int',
  snapshot: 'json',
  details: 'json',
  latched: 'bool',
  restored_at: 'ts',
  chattering: 'bool',
  live: 'bool',
};

const CAST: Record<ColumnKind, string> = { text: '::text', int: '::integer', bool: '::boolean', ts: '::timestamptz', json: '::jsonb' };

/** An AlarmRow value as PostgreSQL takes it (JSON stays text, cast to jsonb in SQL). */
function bind(row: AlarmRow, column: keyof AlarmRow): unknown {
  const v = row[column];
  if (v === null) return null;
  switch (KIND[column]) {
    case 'bool':
      return v === 1;
    case 'ts':
      return new Date(v as number);
    default:
      return v;
  }
}

type PgAlarmRow = Record<keyof AlarmRow, unknown>;

const ms = (v: unknown): number => (v as Date).getTime();
const msOrNull = (v: unknown): number | null => (v === null ? null : ms(v));
const json = (v: unknown): string => JSON.stringify(v);

/** A PostgreSQL row back in the stores' common shape (rows.ts), so both map rows to alarms alike. */
function toAlarmRow(r: PgAlarmRow): AlarmRow {
  return {
    id: r.id as string,
    site: r.site as string,
    zone: r.zone as string | null,
    device: r.device as string | null,
    rule: r.rule as string,
    source: r.source as string,
    severity: r.severity as Severity,
    open: r.open ? 1 : 0,
    acknowledged: r.acknowledged ? 1 : 0,
    message: json(r.message),
    count: Number(r.count),
    first_at: ms(r.first_at),
    last_at: ms(r.last_at),
    acknowledged_at: msOrNull(r.acknowledged_at),
    acknowledged_by: r.acknowledged_by as string | null,
    cleared_at: msOrNull(r.cleared_at),
    cleared_by: r.cleared_by as string | null,
    escalation: Number(r.escalation),
    snapshot: r.snapshot === null ? null : json(r.snapshot),
    details: json(r.details),
    latched: r.latched ? 1 : 0,
    restored_at: msOrNull(r.restored_at),
    chattering: r.chattering ? 1 : 0,
    live: r.live ? 1 : 0,
  };
}

interface PgHistoryRow {
  alarm: string;
  at: Date;
  by: string;
  action: HistoryRow['action'];
  comment: string | null;
  detail: unknown;
}

function toHistory(r: PgHistoryRow): HistoryRow {
  return { alarm: r.alarm, at: r.at.getTime(), by: r.by, action: r.action, comment: r.comment, detail: r.detail === null ? null : json(r.detail) };
}

const COLUMNS = ALARM_COLUMNS.join(', ');
const HISTORY_COLUMNS = 'alarm, at, by, action, comment, detail';

const INSERT_SQL = `INSERT INTO alarms (${COLUMNS}) VALUES (${ALARM_COLUMNS.map((c, i) => `$${i + 1}${CAST[KIND[c]]}`).join(', ')})
  ON CONFLICT (rule, source) WHERE live DO NOTHING`;

// $1 = id; then the mutable columns; then the guard values. `live` only ever drops (the close out).
const UPDATE_SQL = (() => {
  let n = 1;
  const set = MUTABLE_COLUMNS.map((c) => {
    const p = `$${++n}${CAST[KIND[c]]}`;
    return c === 'live' ? `live = live AND ${p}` : `${c} = ${p}`;
  });
  const guard = GUARDED.map((c) => `${c} IS NOT DISTINCT FROM $${++n}${CAST[KIND[c]]}`);
  return `UPDATE alarms SET ${set.join(', ')} WHERE id = $1 AND ${guard.join(' AND ')}`;
})();

const HISTORY_SQL = `INSERT INTO alarm_history (${HISTORY_COLUMNS})
  SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::jsonb[])`;

const DELIVERY_SQL = `INSERT INTO deliveries (idempotency_key, alarm, site, channel, route, payload, state, attempts, next_attempt_at, created_at)
  SELECT k, a, s, c, r, p, 'pending', 0, n, $8 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[]) AS d (k, a, s, c, r, p, n)
  ON CONFLICT (idempotency_key) DO NOTHING`;

/** Rolls the changeset back; never leaves this file. */
class Conflict extends Error {}

export class PostgresAlarmStore implements AlarmStore {
  constructor(private readonly pg: Postgres) {}

  private fail(err: unknown, doing: string): never {
    throw postgresError(err, doing, this.pg.safeUrl);
  }

  async commit(changes: AlarmChangeset): Promise<CommitOutcome> {
    // Rows are mapped before the transaction: a bad timestamp fails without a round trip.
    const writes = changes.writes.map((w) =>
      w.kind === 'create'
        ? { sql: INSERT_SQL, params: ALARM_COLUMNS.map((c) => bind(toRow(w.alarm), c)), id: w.alarm.id, history: w.history }
        : (() => {
            const after = toRow(w.after);
            const before = toRow(w.before);
            return { sql: UPDATE_SQL, params: [after.id, ...MUTABLE_COLUMNS.map((c) => bind(after, c)), ...GUARDED.map((c) => bind(before, c))], id: w.after.id, history: w.history };
          })(),
    );
    const history = writes.flatMap((w) => w.history.map((t) => toHistoryRow(w.id, t)));
    try {
      return await this.pg.transaction(async (client) => {
        for (const w of writes) {
          const res = await client.query(w.sql, w.params);
          if (res.rowCount !== 1) throw new Conflict();
        }
        if (history.length > 0) {
          await client.query(HISTORY_SQL, [
            history.map((h) => h.alarm),
            history.map((h) => new Date(h.at)),
            history.map((h) => h.by),
            history.map((h) => h.action),
            history.map((h) => h.comment),
            history.map((h) => h.detail),
          ]);
        }
        const ds = changes.deliveries;
        if (ds.length > 0) {
          await client.query(DELIVERY_SQL, [
            ds.map((d) => d.idempotencyKey),
            ds.map((d) => d.alarm),
            ds.map((d) => d.site),
            ds.map((d) => d.channel),
            ds.map((d) => d.route),
            ds.map((d) => JSON.stringify(d.payload)),
            ds.map((d) => new Date(d.nextAttemptAt)),
            new Date(changes.now),
          ]);
        }
        return 'committed' as const;
      });
    } catch (err) {
      if (err instanceof Conflict) return 'conflict';
      this.fail(err, 'commit alarm changes');
    }
  }

  private async histories(client: Pick<pg.Pool, 'query'>, where: string, params: unknown[]): Promise<Map<string, Alarm['history']>> {
    const { rows } = await client.query<PgHistoryRow>(`SELECT h.alarm, h.at, h.by, h.action, h.comment, h.detail FROM alarm_history h ${where} ORDER BY h.id`, params);
    return historiesOf(rows.map(toHistory));
  }

  /** Rows and histories read in one snapshot, so they agree. */
  private async withHistory(where: string, params: unknown[], historyWhere: string): Promise<Alarm[]> {
    try {
      return await this.pg.transaction(async (client: PgClient) => {
        await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        const { rows } = await client.query<PgAlarmRow>(`SELECT ${COLUMNS} FROM alarms ${where}`, params);
        if (rows.length === 0) return [];
        const histories = await this.histories(client, historyWhere, params);
        return rows.map((r) => fromRow(toAlarmRow(r), histories.get(r.id as string) ?? []));
      });
    } catch (err) {
      this.fail(err, 'read alarms');
    }
  }

  async get(id: string): Promise<Alarm | null> {
    const [alarm] = await this.withHistory('WHERE id = $1', [id], 'WHERE h.alarm = $1');
    return alarm ?? null;
  }

  async findLive(rule: string, source: string): Promise<Alarm | null> {
    const [alarm] = await this.withHistory('WHERE rule = $1 AND source = $2 AND live', [rule, source], 'JOIN alarms a ON a.id = h.alarm WHERE a.rule = $1 AND a.source = $2 AND a.live');
    return alarm ?? null;
  }

  live(sites?: readonly string[]): Promise<Alarm[]> {
    return sites === undefined
      ? this.withHistory('WHERE live ORDER BY first_at, id', [], 'JOIN alarms a ON a.id = h.alarm WHERE a.live')
      : this.withHistory('WHERE live AND site = ANY($1::text[]) ORDER BY first_at, id', [[...sites]], 'JOIN alarms a ON a.id = h.alarm WHERE a.live AND a.site = ANY($1::text[])');
  }

  private async rows(sql: string, params: unknown[]): Promise<PgAlarmRow[]> {
    try {
      return (await this.pg.query<PgAlarmRow>(sql, params)).rows;
    } catch (err) {
      this.fail(err, 'read alarms');
    }
  }

  async open(site?: string): Promise<Alarm[]> {
    const rows =
      site === undefined
        ? await this.rows(`SELECT ${COLUMNS} FROM alarms WHERE open OR NOT acknowledged ORDER BY first_at, id`, [])
        : await this.rows(`SELECT ${COLUMNS} FROM alarms WHERE site = $1 AND (open OR NOT acknowledged) ORDER BY first_at, id`, [site]);
    return rows.map((r) => fromRow(toAlarmRow(r), NO_HISTORY));
  }

  async list(q: AlarmQuery): Promise<{ items: Alarm[]; nextCursor: string | null }> {
    const limit = pageLimit(q.limit);
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    if (q.site !== undefined) where.push(`site = ${p(q.site)}`);
    // An empty scope sees nothing (rather than everything, as an absent one does).
    if (q.sites !== undefined) where.push(`site = ANY(${p([...q.sites])}::text[])`);
    switch (q.state) {
      case 'active':
        where.push('open AND NOT acknowledged');
        break;
      case 'acknowledged':
        where.push('open AND acknowledged');
        break;
      case 'cleared':
        where.push('NOT open');
        break;
      case 'open':
        where.push('(open OR NOT acknowledged)');
        break;
      case undefined:
        break;
    }
    if (q.severity !== undefined) where.push(`severity = ${p(q.severity)}`);
    if (q.rule !== undefined) where.push(`rule = ${p(q.rule)}`);
    if (q.from !== undefined) where.push(`last_at >= ${p(new Date(isoToMs(q.from, 'from')))}`);
    if (q.to !== undefined) where.push(`last_at < ${p(new Date(isoToMs(q.to, 'to')))}`);
    if (q.cursor !== undefined) {
      const c = decodeAlarmCursor(q.cursor);
      where.push(`(last_at, id) < (${p(new Date(c.lastAt))}::timestamptz, ${p(c.id)}::text)`);
    }
    const sql = `SELECT ${COLUMNS} FROM alarms${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY last_at DESC, id DESC LIMIT ${p(limit + 1)}`;
    const rows = (await this.rows(sql, params)).map(toAlarmRow);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page.at(-1);
    return {
      items: page.map((r) => fromRow(r, NO_HISTORY)),
      nextCursor: more && last !== undefined ? encodeAlarmCursor(last.last_at, last.id) : null,
    };
  }

  async alarmTimes(site: string, fromMs: number, toMs: number, after: { lastAt: number; id: string } | null, limit: number): Promise<AlarmTimes[]> {
    const rows = await this.rows(
      `SELECT id, site, rule, severity, count, latched, first_at, last_at, acknowledged_at, acknowledged_by, cleared_at, cleared_by FROM alarms
       WHERE site = $1 AND (last_at, id) > ($2::timestamptz, $3::text) AND first_at >= $4 AND first_at < $5
       ORDER BY last_at, id LIMIT $6`,
      [site, new Date(after?.lastAt ?? fromMs), after?.id ?? '', new Date(fromMs), new Date(toMs), Math.max(1, Math.trunc(limit))],
    );
    return rows.map((r) => ({
      id: r.id as string,
      site: r.site as string,
      rule: r.rule as string,
      severity: r.severity as Severity,
      count: Number(r.count),
      latched: r.latched === true,
      firstAt: ms(r.first_at),
      lastAt: ms(r.last_at),
      acknowledgedAt: msOrNull(r.acknowledged_at),
      acknowledgedBy: r.acknowledged_by as string | null,
      clearedAt: msOrNull(r.cleared_at),
      clearedBy: r.cleared_by as string | null,
    }));
  }

  async overlapping(site: string, fromMs: number, toMs: number, limit: number, categories?: readonly string[]): Promise<HistoryAlarm[]> {
    const rows = await this.rows(
      `SELECT id, severity, zone, device, rule, message, first_at, acknowledged_at, cleared_at FROM alarms
       WHERE site = $1 AND first_at <= $2 AND (cleared_at IS NULL OR cleared_at >= $3)
         AND ($4::text[] IS NULL OR coalesce(details->>'category', '${DEFAULT_ALARM_CATEGORY}') = ANY($4::text[]))
       ORDER BY first_at, id LIMIT $5`,
      [site, new Date(toMs), new Date(fromMs), categories === undefined ? null : [...categories], limit],
    );
    return rows.map((r) => ({
      id: r.id as string,
      severity: r.severity as Severity,
      zone: r.zone as string | null,
      device: r.device as string | null,
      rule: r.rule as string,
      message: r.message as Localized,
      firstAt: (r.first_at as Date).toISOString(),
      acknowledgedAt: r.acknowledged_at === null ? null : (r.acknowledged_at as Date).toISOString(),
      clearedAt: r.cleared_at === null ? null : (r.cleared_at as Date).toISOString(),
    }));
  }

  async notifiedRoutes(alarms: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(alarms.map((a) => [a, []]));
    if (alarms.length === 0) return out;
    try {
      const { rows } = await this.pg.query<{ alarm: string; route: string }>(
        'SELECT alarm, route FROM deliveries WHERE alarm = ANY($1::text[]) GROUP BY alarm, route ORDER BY alarm, min(id)',
        [[...alarms]],
      );
      for (const r of rows) out.get(r.alarm)?.push(r.route);
      return out;
    } catch (err) {
      this.fail(err, 'read deliveries');
    }
  }
}
