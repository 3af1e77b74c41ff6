/**
 * Pages of `events` in (point time, id) order. InfluxQL orders only by time, and points of
 * different series may share a time (ties are unique per writer, not across restarts: see
 * stamps.ts), so this orders equal times by id itself and makes sure the rows at a page's edge
 * are all there before it cuts:
 * - the cursor is (time, id, done) of the page's last row; `done` says no row after it shares
 *   its time, so the next page needs only `time > cursor` (one query a page, the usual case);
 * - otherwise the rest of that time's rows are read first (`time = cursor`, past the id);
 * - a page read with LIMIT whose last two rows share a time may have been cut inside that
 *   time's rows: they are all read (`time = t`) before the page is taken.
 * Filters are bound parameters (no escaping); times are integer literals built here.
 */
import type { InfluxDB, INanoDate } from 'influx';
import { StoreTwinError } from '../../errors.ts';
import { decodeCursor, encodeCursor, pageOrder, safeCursorPart, type PageOrder } from '../paging.ts';
import { isoToMs, msToIso } from '../sqlite/time.ts';
import type { EventPage, EventQuery, RecordedEvent, StoredEvent } from '../types.ts';
import { EVENTS, RAW_RP } from './schema.ts';
import { nsToIso, pointNs } from './time.ts';

interface EventRow {
  time: INanoDate;
  data: string;
  id: number;
  received_at: number;
  seq: number | null;
  site: string;
  device: string;
  device_type: string;
  zone: string;
  type: string;
}

/** A row with its point time as a bigint (INanoDate keeps it as a decimal string). */
interface Row {
  ns: bigint;
  id: number;
  event: StoredEvent;
}

interface Cursor {
  ns: bigint;
  id: number;
  /** No row after the cursor's has its time: the next page starts strictly after that time. */
  done: boolean;
}

const COLUMNS = '"data", "id", "received_at", "seq", "site", "device", "device_type", "zone", "type"';
const FILTERS = ['site', 'device', 'zone', 'type'] as const;

/** The query's filters as InfluxQL conditions and their bound parameters. */
interface Where {
  conditions: string[];
  placeholders: Record<string, string>;
}

function baseWhere(q: EventQuery): Where {
  const conditions: string[] = [];
  const placeholders: Record<string, string> = {};
  for (const key of FILTERS) {
    const value = q[key];
    if (value === undefined) continue;
    conditions.push(`"${key}" = $${key}`);
    placeholders[key] = value;
  }
  if (q.from !== undefined) conditions.push(`time >= ${pointNs(isoToMs(q.from, 'from'))}`);
  if (q.to !== undefined) conditions.push(`time < ${pointNs(isoToMs(q.to, 'to'))}`);
  return { conditions, placeholders };
}

function toRow(r: EventRow): Row {
  const ns = BigInt(r.time.getNanoTime());
  return {
    ns,
    id: r.id,
    event: {
      id: r.id,
      site: r.site,
      device: r.device,
      deviceType: r.device_type,
      zone: r.zone,
      type: r.type,
      seq: r.seq ?? null,
      ts: nsToIso(ns),
      receivedAt: msToIso(r.received_at),
      data: JSON.parse(r.data) as RecordedEvent,
    },
  };
}

/** Negative when `a` comes first in `order`. */
function compareRows(a: Row, b: Row, order: PageOrder): number {
  const asc = a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : a.id - b.id;
  return order === 'asc' ? asc : -asc;
}

function decodePageCursor(cursor: string): Cursor {
  const [ns, id, done] = decodeCursor(cursor, 3);
  if (ns === undefined || ns < 0n || (done !== 0n && done !== 1n)) throw new StoreTwinError('STW_ERR_VALIDATION', 'cursor is invalid', { cursor });
  return { ns, id: safeCursorPart(id, cursor), done: done === 1n };
}

export class EventPageReader {
  constructor(private readonly influx: InfluxDB) {}

  async page(q: EventQuery): Promise<EventPage> {
    const order = pageOrder(q);
    const where = baseWhere(q);
    const cursor = q.cursor === undefined ? null : decodePageCursor(q.cursor);
    const head = cursor && !cursor.done ? await this.restOfTime(where, cursor, order) : [];
    const want = q.limit + 1 - head.length;
    const tail = want > 0 ? await this.after(where, cursor, order, want) : [];
    const rows = [...head, ...tail];
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    const following = rows[q.limit];
    return {
      items: items.map((r) => r.event),
      nextCursor: last && following ? encodeCursor([last.ns, last.id, following.ns === last.ns ? 0 : 1]) : null,
    };
  }

  /** Rows at the cursor's time that come after it, in order. */
  private async restOfTime(where: Where, cursor: Cursor, order: PageOrder): Promise<Row[]> {
    const rows = await this.rowsAt(where, cursor.ns, order);
    return rows.filter((r) => (order === 'asc' ? r.id > cursor.id : r.id < cursor.id));
  }

  /** Up to `limit` rows strictly after the cursor's time, the last time's rows complete. */
  private async after(where: Where, cursor: Cursor | null, order: PageOrder, limit: number): Promise<Row[]> {
    const conditions = cursor ? [...where.conditions, `time ${order === 'asc' ? '>' : '<'} ${cursor.ns}`] : where.conditions;
    const rows = await this.select({ ...where, conditions }, `ORDER BY time ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${limit}`, order);
    const lastNs = rows[rows.length - 1]?.ns;
    const cutInsideATime = rows.length === limit && limit >= 2 && rows[limit - 2]?.ns === lastNs;
    if (lastNs === undefined || !cutInsideATime) return rows;
    return [...rows.filter((r) => r.ns !== lastNs), ...(await this.rowsAt(where, lastNs, order))];
  }

  private rowsAt(where: Where, ns: bigint, order: PageOrder): Promise<Row[]> {
    return this.select({ ...where, conditions: [...where.conditions, `time = ${ns}`] }, '', order);
  }

  /** Runs one SELECT on `events`; rows sorted by (time, id) in `order`. */
  private async select(where: Where, tail: string, order: PageOrder): Promise<Row[]> {
    const filter = where.conditions.length > 0 ? ` WHERE ${where.conditions.join(' AND ')}` : '';
    const sql = `SELECT ${COLUMNS} FROM "${RAW_RP}"."${EVENTS}"${filter} ${tail}`.trimEnd();
    const result = await this.influx.query<EventRow>(sql, { placeholders: where.placeholders });
    return result.map(toRow).sort((a, b) => compareRows(a, b, order));
  }
}
