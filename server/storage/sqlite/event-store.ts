/**
 * The event store on SQLite. better-sqlite3 is synchronous: queries run to completion on the
 * calling thread (pages are bounded by MAX_QUERY_LIMIT, server/storage/paging.ts). Pages are in
 * (ts, rowid) order: the rowid is the tie-breaker and, with ts, the cursor's key. Batches are appended by the event
 * writer thread when there is one (the server: event-writer.ts), since a commit and its fsync
 * on the event loop stopped everything else; without it (tools, most tests), on this connection.
 */
import type { Statement } from 'better-sqlite3';
import type { DeviceEvent } from '../../../devices/types.ts';
import { decodeCursor, encodeCursor, pageOrder, safeCursorPart } from '../paging.ts';
import type { EventPage, EventQuery, EventStore, NewEvent, StoredEvent } from '../types.ts';
import type { Database } from './database.ts';
import { INSERT_EVENT_SQL, type EventRowParams } from './event-writer-protocol.ts';
import type { EventWriterThread } from './event-writer.ts';
import { isoToMs, msToIso } from './time.ts';

/** Exported for the query-plan test. `seq IS NOT NULL` repeats the partial index's condition so the planner may use it. */
export const RECENT_SEQS_SQL =
  'SELECT device, seq, received_at FROM events WHERE received_at >= ? AND seq IS NOT NULL ORDER BY received_at, id';

/** A stored row: the inserted columns and the rowid. */
type EventRow = EventRowParams & { id: number };

export type QueryParams = Record<string, string | number>;

export class SqliteEventStore implements EventStore {
  readonly kind = 'sqlite';
  private readonly db: Database;
  private readonly insert: Statement<[EventRowParams]>;
  private readonly insertBatch: (rows: readonly EventRowParams[]) => void;
  private readonly recentSeqsStmt: Statement<[number], { device: string; seq: number; received_at: number }>;
  /**
   * query() builds its SQL from the filters present; there are few combinations (filters ×
   * order × cursor), so each is prepared once and kept.
   */
  private readonly queryStmts = new Map<string, Statement<[QueryParams], EventRow>>();

  /** With `writer`, batches are written by its thread (event-writer.ts); else on this connection. */
  constructor(
    db: Database,
    private readonly writer: EventWriterThread | null = null,
  ) {
    this.db = db;
    this.insert = db.prepare<[EventRowParams]>(INSERT_EVENT_SQL);
    // One transaction per batch: one fsync for the whole batch, and all or nothing.
    this.insertBatch = db.transaction((rows: readonly EventRowParams[]) => {
      for (const row of rows) this.insert.run(row);
    });
    this.recentSeqsStmt = db.prepare<[number], { device: string; seq: number; received_at: number }>(RECENT_SEQS_SQL);
  }

  async start(): Promise<void> {
    // The database is opened (and migrated) by openDatabase(); nothing to connect.
  }

  async stop(): Promise<void> {
    // The connection is shared with the registry; openSqliteStorage().close() closes it.
    await this.writer?.close();
  }

  async append(events: readonly NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    // Convert everything first: a bad timestamp refuses the whole batch before any write.
    const rows = events.map(toRow);
    if (this.writer) await this.writer.write(rows);
    else this.insertBatch(rows);
  }

  async query(q: EventQuery): Promise<EventPage> {
    const { sql, params } = buildEventQuery(q);
    const rows = this.statement(sql).all(params);
    const more = rows.length > q.limit;
    if (more) rows.length = q.limit;
    const last = rows[rows.length - 1];
    return {
      items: rows.map(fromRow),
      nextCursor: more && last !== undefined ? encodeCursor([last.ts, last.id]) : null,
    };
  }

  async recentSeqs(since: string): Promise<Array<{ device: string; seq: number; receivedAt: string }>> {
    return this.recentSeqsStmt
      .all(isoToMs(since, 'since'))
      .map((r) => ({ device: r.device, seq: r.seq, receivedAt: msToIso(r.received_at) }));
  }

  private statement(sql: string): Statement<[QueryParams], EventRow> {
    let stmt = this.queryStmts.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare<[QueryParams], EventRow>(sql);
      this.queryStmts.set(sql, stmt);
    }
    return stmt;
  }
}

/**
 * The SQL and parameters query() runs for `q`; exported so a test can EXPLAIN the exact
 * statements and catch a query shape that no index serves. Throws STW_ERR_VALIDATION.
 */
export function buildEventQuery(q: EventQuery): { sql: string; params: QueryParams } {
  const order = pageOrder(q);

  const where: string[] = [];
  const params: QueryParams = {};
  for (const key of ['site', 'device', 'zone', 'type'] as const) {
    const value = q[key];
    if (value === undefined) continue;
    where.push(`${key} = @${key}`);
    params[key] = value;
  }
  if (q.from !== undefined) {
    where.push('ts >= @from');
    params.from = isoToMs(q.from, 'from');
  }
  if (q.to !== undefined) {
    where.push('ts < @to');
    params.to = isoToMs(q.to, 'to');
  }
  if (q.cursor !== undefined) {
    const cursor = decodeRowCursor(q.cursor);
    // Keyset pagination: continue strictly after the last row seen in (ts, id) order.
    // Unlike OFFSET, rows inserted meanwhile cannot shift a page: no row is skipped or
    // repeated, and the cost does not grow with the page number.
    where.push(order === 'asc' ? '(ts, id) > (@cursorTs, @cursorId)' : '(ts, id) < (@cursorTs, @cursorId)');
    // The same bound on ts alone, which the planner can seek the (…, ts) indexes with: the row
    // value comparison is not an index range, so without it every page scanned from `from`
    // again (a month of a busy hotel: 1 ms for the first page, 120 ms for the last).
    where.push(order === 'asc' ? 'ts >= @cursorTs' : 'ts <= @cursorTs');
    params.cursorTs = cursor.ts;
    params.cursorId = cursor.id;
  }
  // One extra row tells whether another page exists, so the last page says so itself
  // instead of the caller fetching an empty one.
  params.limit = q.limit + 1;

  // Without a site or device filter no index gives (ts, id) order: SQLite scans the table
  // and keeps the top rows in a sorter. Acceptable for rare cross-site queries; the API
  // should scope hot queries to a site or a device.
  const dir = order === 'asc' ? 'ASC' : 'DESC';
  const sql =
    'SELECT id, site, device, device_type, zone, type, seq, ts, received_at, data FROM events' +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY ts ${dir}, id ${dir} LIMIT @limit`;
  return { sql, params };
}

function toRow(e: NewEvent): EventRowParams {
  return {
    site: e.site,
    device: e.device,
    device_type: e.deviceType,
    zone: e.zone,
    type: e.type,
    seq: e.seq ?? null,
    ts: isoToMs(e.ts, 'ts'),
    received_at: isoToMs(e.receivedAt, 'receivedAt'),
    data: JSON.stringify(e.data),
  };
}

function fromRow(r: EventRow): StoredEvent {
  return {
    id: r.id,
    site: r.site,
    device: r.device,
    deviceType: r.device_type,
    zone: r.zone,
    type: r.type,
    seq: r.seq,
    ts: msToIso(r.ts),
    receivedAt: msToIso(r.received_at),
    data: JSON.parse(r.data) as DeviceEvent,
  };
}

/** The (ts, id) of the row a page ended with. */
function decodeRowCursor(cursor: string): { ts: number; id: number } {
  const [ts, id] = decodeCursor(cursor, 2);
  return { ts: safeCursorPart(ts, cursor), id: safeCursorPart(id, cursor) };
}
