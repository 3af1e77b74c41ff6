/**
 * The outbox (table `deliveries`, migration 3) on the shared SQLite connection. The alarm
 * service calls insert() inside its own transaction, so an alarm change and the deliveries
 * announcing it commit together; the worker claims due rows, sends, and only then marks them.
 *
 * Claiming moves next_attempt_at forward by a lease instead of changing the state: if the
 * process dies mid-send, the row simply falls due again when the lease ends (at least once),
 * and two workers on one file never send the same row at the same time.
 */
import { StoreTwinError } from '../errors.ts';
import type { Database } from '../storage/sqlite/database.ts';
import type { ChannelKind, NewDelivery, OutboxWriter } from './types.ts';

export const DELIVERY_STATES = ['pending', 'delivered', 'dead'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export interface DeliveryRecord {
  id: number;
  idempotencyKey: string;
  alarm: string;
  site: string;
  channel: ChannelKind;
  route: string;
  payload: unknown;
  state: DeliveryState;
  /** Attempts made so far. */
  attempts: number;
  /** Unix ms. */
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

export interface DeliveryQuery {
  state?: DeliveryState;
  site?: string;
  alarm?: string;
  limit: number;
  /** The id of the last item of the previous page (pages go newest first). */
  cursor?: string;
}

interface Row {
  id: number;
  idempotency_key: string;
  alarm: string;
  site: string;
  channel: string;
  route: string;
  payload: string;
  state: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

function toRecord(r: Row): DeliveryRecord {
  return {
    id: r.id,
    idempotencyKey: r.idempotency_key,
    alarm: r.alarm,
    site: r.site,
    channel: r.channel as ChannelKind,
    route: r.route,
    payload: JSON.parse(r.payload) as unknown,
    state: r.state as DeliveryState,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
  };
}

/** Long enough for a 10 s webhook timeout and an SMTP conversation; short enough to recover. */
export const DEFAULT_LEASE_MS = 60_000;
/** Errors are kept for the operator, not as a log: bounded. */
const MAX_ERROR_CHARS = 1_000;

export class SqliteOutbox implements OutboxWriter {
  private readonly stmts;

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO deliveries (idempotency_key, alarm, site, channel, route, payload, state, attempts, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
         ON CONFLICT (idempotency_key) DO NOTHING`,
      ),
      due: db.prepare(`SELECT * FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`),
      lease: db.prepare(`UPDATE deliveries SET next_attempt_at = ? WHERE id = ?`),
      delivered: db.prepare(`UPDATE deliveries SET state = 'delivered', attempts = ?, delivered_at = ?, last_error = NULL WHERE id = ? AND state = 'pending'`),
      retry: db.prepare(`UPDATE deliveries SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ? AND state = 'pending'`),
      dead: db.prepare(`UPDATE deliveries SET state = 'dead', attempts = ?, last_error = ? WHERE id = ? AND state = 'pending'`),
      get: db.prepare(`SELECT * FROM deliveries WHERE id = ?`),
      revive: db.prepare(`UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ? WHERE id = ? AND state != 'delivered'`),
      routes: db.prepare(`SELECT DISTINCT route FROM deliveries WHERE alarm = ?`),
      counts: db.prepare(`SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state`),
    };
  }

  /** Inserts new deliveries; a key that already exists is left as it is (replays are harmless). */
  insert(deliveries: readonly NewDelivery[]): void {
    if (deliveries.length === 0) return;
    const created = this.now();
    // Nested inside the alarm service's transaction this is a savepoint; alone, its own.
    this.db.transaction(() => {
      for (const d of deliveries) {
        this.stmts.insert.run(d.idempotencyKey, d.alarm, d.site, d.channel, d.route, JSON.stringify(d.payload), d.nextAttemptAt, created);
      }
    })();
  }

  /** Pending deliveries due at `now`, leased for `leaseMs` so no other pass takes them. */
  claimDue(now: number, limit: number, leaseMs = DEFAULT_LEASE_MS): DeliveryRecord[] {
    return this.db.transaction(() => {
      const rows = this.stmts.due.all(now, limit) as Row[];
      for (const r of rows) this.stmts.lease.run(now + leaseMs, r.id);
      return rows.map(toRecord);
    }).immediate();
  }

  markDelivered(id: number, attempts: number, at: number): void {
    this.stmts.delivered.run(attempts, at, id);
  }

  markRetry(id: number, attempts: number, nextAttemptAt: number, error: string): void {
    this.stmts.retry.run(attempts, nextAttemptAt, error.slice(0, MAX_ERROR_CHARS), id);
  }

  markDead(id: number, attempts: number, error: string): void {
    this.stmts.dead.run(attempts, error.slice(0, MAX_ERROR_CHARS), id);
  }

  get(id: number): DeliveryRecord | null {
    const row = this.stmts.get.get(id) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  /** Newest first, keyset-paged by id. */
  list(q: DeliveryQuery): { items: DeliveryRecord[]; nextCursor: string | null } {
    const where: string[] = [];
    const args: Array<string | number> = [];
    for (const [column, value] of [['state', q.state], ['site', q.site], ['alarm', q.alarm]] as const) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      args.push(value);
    }
    if (q.cursor !== undefined) {
      const before = Number(q.cursor);
      if (!Number.isSafeInteger(before)) throw new StoreTwinError('STW_ERR_VALIDATION', 'invalid cursor');
      where.push('id < ?');
      args.push(before);
    }
    const sql = `SELECT * FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, q.limit + 1) as Row[];
    const items = rows.slice(0, q.limit).map(toRecord);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > q.limit && last ? String(last.id) : null };
  }

  /**
   * Sends a dead (or still pending) delivery again now, with a fresh attempt budget.
   * STW_ERR_DELIVERY_NOT_FOUND / STW_ERR_DELIVERY_NOT_RETRYABLE (already delivered).
   */
  retry(id: number): DeliveryRecord {
    const current = this.get(id);
    if (!current) throw new StoreTwinError('STW_ERR_DELIVERY_NOT_FOUND', `no delivery ${id}`);
    if (current.state === 'delivered') throw new StoreTwinError('STW_ERR_DELIVERY_NOT_RETRYABLE', `delivery ${id} was delivered already`);
    this.stmts.revive.run(this.now(), id);
    return this.get(id) as DeliveryRecord;
  }

  /** Routes that already have a delivery for this alarm (follow-ups go to the same people). */
  routesFor(alarm: string): string[] {
    return (this.stmts.routes.all(alarm) as Array<{ route: string }>).map((r) => r.route);
  }

  counts(): Record<DeliveryState, number> {
    const out: Record<DeliveryState, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const r of this.stmts.counts.all() as Array<{ state: DeliveryState; n: number }>) out[r.state] = r.n;
    return out;
  }
}
