/**
 * The outbox (deliveries): written by the alarm store in the same transaction as the alarm
 * change it announces (server/alarms/store.ts), delivered by the worker (worker.ts), which
 * claims due rows, sends, and only then marks them.
 *
 * Claiming leases a row — moves its next_attempt_at forward — instead of changing its state:
 * if the process dies mid-send, the row falls due again when the lease ends (at least once),
 * and two workers never send the same row at the same time (SQLite: the claim is one
 * IMMEDIATE transaction; PostgreSQL: `FOR UPDATE SKIP LOCKED`).
 *
 * Implementations: sqlite-outbox.ts and postgres-outbox.ts; both pass
 * tests/notify/outbox-store.contract.ts.
 */
import type { ChannelKind, NewDelivery } from './types.ts';

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

/** Long enough for a 10 s webhook timeout and an SMTP conversation; short enough to recover. */
export const DEFAULT_LEASE_MS = 60_000;
/** Errors are kept for the operator, not as a log: bounded. */
export const MAX_ERROR_CHARS = 1_000;

export interface Outbox {
  /** Inserts deliveries outside an alarm change (tests, tools); a key that already exists is left as it is. */
  insert(deliveries: readonly NewDelivery[]): Promise<void>;
  /**
   * Pending deliveries due at `now` (by next_attempt_at, then id), leased for `leaseMs`: no
   * other claim — of this worker or another — gets them until the lease ends.
   */
  claimDue(now: number, limit: number, leaseMs?: number): Promise<DeliveryRecord[]>;
  /** The outcome of an attempt; a row no longer pending (delivered, dead) is left as it is. */
  markDelivered(id: number, attempts: number, at: number): Promise<void>;
  markRetry(id: number, attempts: number, nextAttemptAt: number, error: string): Promise<void>;
  markDead(id: number, attempts: number, error: string): Promise<void>;
  get(id: number): Promise<DeliveryRecord | null>;
  /** Newest first, keyset-paged by id. */
  list(q: DeliveryQuery): Promise<{ items: DeliveryRecord[]; nextCursor: string | null }>;
  /**
   * Sends a dead (or still pending) delivery again now, with a fresh attempt budget.
   * STW_ERR_DELIVERY_NOT_FOUND / STW_ERR_DELIVERY_NOT_RETRYABLE (already delivered).
   */
  retry(id: number): Promise<DeliveryRecord>;
  /** Routes that already have a delivery for this alarm, in the order first told. */
  routesFor(alarm: string): Promise<string[]>;
  counts(): Promise<Record<DeliveryState, number>>;
}
