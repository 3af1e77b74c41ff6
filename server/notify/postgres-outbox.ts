/**
 * The outbox in PostgreSQL (table `deliveries` of the 'alarms' feature, server/alarms/postgres-store.ts:
 * it commits with the alarm changes, so it migrates with them). See outbox-store.ts.
 *
 * Several workers claim at once: the due rows are locked `FOR UPDATE SKIP LOCKED`, so a second
 * claim skips what the first one is leasing instead of waiting for it or taking it too; a row
 * whose lease committed meanwhile is re-checked against its new next_attempt_at and left out.
 */
import { StoreTwinError } from '../errors.ts';
import { postgresError, type Postgres } from '../storage/postgres/postgres.ts';
import { DEFAULT_LEASE_MS, MAX_ERROR_CHARS, type DeliveryQuery, type DeliveryRecord, type DeliveryState, type Outbox } from './outbox-store.ts';
import type { ChannelKind, NewDelivery } from './types.ts';

interface Row {
  id: string | number;
  idempotency_key: string;
  alarm: string;
  site: string;
  channel: string;
  route: string;
  payload: unknown;
  state: string;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

function toRecord(r: Row): DeliveryRecord {
  return {
    id: Number(r.id),
    idempotencyKey: r.idempotency_key,
    alarm: r.alarm,
    site: r.site,
    channel: r.channel as ChannelKind,
    route: r.route,
    payload: r.payload,
    state: r.state as DeliveryState,
    attempts: Number(r.attempts),
    nextAttemptAt: r.next_attempt_at.getTime(),
    lastError: r.last_error,
    createdAt: r.created_at.getTime(),
    deliveredAt: r.delivered_at === null ? null : r.delivered_at.getTime(),
  };
}

const COLUMNS = 'id, idempotency_key, alarm, site, channel, route, payload, state, attempts, next_attempt_at, last_error, created_at, delivered_at';

export class PostgresOutbox implements Outbox {
  constructor(
    private readonly pg: Postgres,
    private readonly now: () => number = Date.now,
  ) {}

  private async q(sql: string, params: unknown[], doing: string): Promise<Row[]> {
    try {
      return (await this.pg.query<Row>(sql, params)).rows;
    } catch (err) {
      throw postgresError(err, doing, this.pg.safeUrl);
    }
  }

  async insert(deliveries: readonly NewDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    await this.q(
      `INSERT INTO deliveries (idempotency_key, alarm, site, channel, route, payload, state, attempts, next_attempt_at, created_at)
       SELECT k, a, s, c, r, p, 'pending', 0, n, $8 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[]) AS d (k, a, s, c, r, p, n)
       ON CONFLICT (idempotency_key) DO NOTHING`,
      [
        deliveries.map((d) => d.idempotencyKey),
        deliveries.map((d) => d.alarm),
        deliveries.map((d) => d.site),
        deliveries.map((d) => d.channel),
        deliveries.map((d) => d.route),
        deliveries.map((d) => JSON.stringify(d.payload)),
        deliveries.map((d) => new Date(d.nextAttemptAt)),
        new Date(this.now()),
      ],
      'insert deliveries',
    );
  }

  async claimDue(now: number, limit: number, leaseMs = DEFAULT_LEASE_MS): Promise<DeliveryRecord[]> {
    // One statement, its own transaction: the rows as they were due are returned, the lease is
    // what is stored.
    const rows = await this.q(
      `WITH due AS (
         SELECT ${COLUMNS} FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $1
         ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
       ), leased AS (
         UPDATE deliveries d SET next_attempt_at = $3 FROM due WHERE d.id = due.id
       )
       SELECT * FROM due ORDER BY next_attempt_at, id`,
      [new Date(now), limit, new Date(now + leaseMs)],
      'claim deliveries',
    );
    return rows.map(toRecord);
  }

  async markDelivered(id: number, attempts: number, at: number): Promise<void> {
    await this.q(`UPDATE deliveries SET state = 'delivered', attempts = $1, delivered_at = $2, last_error = NULL WHERE id = $3 AND state = 'pending'`, [attempts, new Date(at), id], 'mark a delivery');
  }

  async markRetry(id: number, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
    await this.q(`UPDATE deliveries SET attempts = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4 AND state = 'pending'`, [attempts, new Date(nextAttemptAt), error.slice(0, MAX_ERROR_CHARS), id], 'mark a delivery');
  }

  async markDead(id: number, attempts: number, error: string): Promise<void> {
    await this.q(`UPDATE deliveries SET state = 'dead', attempts = $1, last_error = $2 WHERE id = $3 AND state = 'pending'`, [attempts, error.slice(0, MAX_ERROR_CHARS), id], 'mark a delivery');
  }

  async get(id: number): Promise<DeliveryRecord | null> {
    if (!Number.isSafeInteger(id)) return null;
    const [row] = await this.q(`SELECT ${COLUMNS} FROM deliveries WHERE id = $1`, [id], 'read a delivery');
    return row ? toRecord(row) : null;
  }

  async list(q: DeliveryQuery): Promise<{ items: DeliveryRecord[]; nextCursor: string | null }> {
    const where: string[] = [];
    const args: unknown[] = [];
    for (const [column, value] of [['state', q.state], ['site', q.site], ['alarm', q.alarm]] as const) {
      if (value === undefined) continue;
      args.push(value);
      where.push(`${column} = $${args.length}`);
    }
    if (q.cursor !== undefined) {
      const before = Number(q.cursor);
      if (!Number.isSafeInteger(before)) throw new StoreTwinError('STW_ERR_VALIDATION', 'invalid cursor');
      args.push(before);
      where.push(`id < $${args.length}`);
    }
    args.push(q.limit + 1);
    const rows = await this.q(`SELECT ${COLUMNS} FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`, args, 'list deliveries');
    const items = rows.slice(0, q.limit).map(toRecord);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > q.limit && last ? String(last.id) : null };
  }

  async retry(id: number): Promise<DeliveryRecord> {
    const now = this.now();
    let row: Row | undefined;
    try {
      row = await this.pg.transaction(async (client) => {
        const { rows } = await client.query<Row>(`SELECT ${COLUMNS} FROM deliveries WHERE id = $1 FOR UPDATE`, [id]);
        const current = rows[0];
        if (current === undefined || current.state === 'delivered') return current;
        return (await client.query<Row>(`UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1 WHERE id = $2 RETURNING ${COLUMNS}`, [new Date(now), id])).rows[0];
      });
    } catch (err) {
      throw postgresError(err, 'retry a delivery', this.pg.safeUrl);
    }
    if (row === undefined) throw new StoreTwinError('STW_ERR_DELIVERY_NOT_FOUND', `no delivery ${id}`);
    if (row.state === 'delivered') throw new StoreTwinError('STW_ERR_DELIVERY_NOT_RETRYABLE', `delivery ${id} was delivered already`);
    return toRecord(row);
  }

  async routesFor(alarm: string): Promise<string[]> {
    const rows = (await this.q('SELECT route FROM deliveries WHERE alarm = $1 GROUP BY route ORDER BY min(id)', [alarm], 'read deliveries')) as unknown as Array<{ route: string }>;
    return rows.map((r) => r.route);
  }

  async counts(): Promise<Record<DeliveryState, number>> {
    const rows = (await this.q('SELECT state, count(*)::integer AS n FROM deliveries GROUP BY state', [], 'count deliveries')) as unknown as Array<{ state: DeliveryState; n: number }>;
    const out: Record<DeliveryState, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const r of rows) out[r.state] = r.n;
    return out;
  }
}
