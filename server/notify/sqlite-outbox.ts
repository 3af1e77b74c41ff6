/**
 * The outbox on SQLite (table `deliveries`, migration 3), see outbox-store.ts. better-sqlite3
 * is synchronous: every method returns an already settled promise.
 */
import type { Statement } from 'better-sqlite3';
import { StoreTwinError } from '../errors.ts';
import type { Database } from '../storage/sqlite/database.ts';
import { DEFAULT_LEASE_MS, MAX_ERROR_CHARS, type DeliveryQuery, type DeliveryRecord, type DeliveryState, type Outbox } from './outbox-store.ts';
import type { ChannelKind, NewDelivery } from './types.ts';

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

/** Runs a synchronous statement as a promise: a throw becomes a rejection, never a sync throw. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

export class SqliteOutbox implements Outbox {
  private readonly stmts: Record<string, Statement<unknown[], unknown>>;

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
      routes: db.prepare(`SELECT route FROM deliveries WHERE alarm = ? GROUP BY route ORDER BY min(id)`),
      counts: db.prepare(`SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state`),
    };
  }

  insert(deliveries: readonly NewDelivery[]): Promise<void> {
    return settle(() => {
      if (deliveries.length === 0) return;
      const created = this.now();
      this.db.transaction(() => {
        for (const d of deliveries) {
          this.stmts.insert!.run(d.idempotencyKey, d.alarm, d.site, d.channel, d.route, JSON.stringify(d.payload), d.nextAttemptAt, created);
        }
      }).immediate();
    });
  }

  claimDue(now: number, limit: number, leaseMs = DEFAULT_LEASE_MS): Promise<DeliveryRecord[]> {
    return settle(() =>
      this.db
        .transaction(() => {
          const rows = this.stmts.due!.all(now, limit) as Row[];
          for (const r of rows) this.stmts.lease!.run(now + leaseMs, r.id);
          return rows.map(toRecord);
        })
        .immediate(),
    );
  }

  markDelivered(id: number, attempts: number, at: number): Promise<void> {
    return settle(() => void this.stmts.delivered!.run(attempts, at, id));
  }

  markRetry(id: number, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
    return settle(() => void this.stmts.retry!.run(attempts, nextAttemptAt, error.slice(0, MAX_ERROR_CHARS), id));
  }

  markDead(id: number, attempts: number, error: string): Promise<void> {
    return settle(() => void this.stmts.dead!.run(attempts, error.slice(0, MAX_ERROR_CHARS), id));
  }

  get(id: number): Promise<DeliveryRecord | null> {
    return settle(() => this.getNow(id));
  }

  private getNow(id: number): DeliveryRecord | null {
    const row = this.stmts.get!.get(id) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  list(q: DeliveryQuery): Promise<{ items: DeliveryRecord[]; nextCursor: string | null }> {
    return settle(() => {
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
    });
  }

  retry(id: number): Promise<DeliveryRecord> {
    return settle(() =>
      this.db.transaction(() => {
        const current = this.getNow(id);
        if (!current) throw new StoreTwinError('STW_ERR_DELIVERY_NOT_FOUND', `no delivery ${id}`);
        if (current.state === 'delivered') throw new StoreTwinError('STW_ERR_DELIVERY_NOT_RETRYABLE', `delivery ${id} was delivered already`);
        this.stmts.revive!.run(this.now(), id);
        return this.getNow(id) as DeliveryRecord;
      }).immediate(),
    );
  }

  routesFor(alarm: string): Promise<string[]> {
    return settle(() => (this.stmts.routes!.all(alarm) as Array<{ route: string }>).map((r) => r.route));
  }

  counts(): Promise<Record<DeliveryState, number>> {
    return settle(() => {
      const out: Record<DeliveryState, number> = { pending: 0, delivered: 0, dead: 0 };
      for (const r of this.stmts.counts!.all() as Array<{ state: DeliveryState; n: number }>) out[r.state] = r.n;
      return out;
    });
  }
}
