/**
 * Paging rules every event store shares: the page-size bound, the order, and the cursor codec.
 *
 * A cursor is the sort key of a page's last row (keyset pagination: the next page starts
 * strictly after it, so rows inserted meanwhile cannot shift a page). What the key holds is the
 * store's business (SQLite: ts and row id; InfluxDB: the point's nanosecond time, its id and
 * more); to callers the cursor is an opaque base64url string, valid only for the store and the
 * query that issued it.
 */
import { StoreTwinError } from '../errors.ts';
import type { EventQuery } from './types.ts';

/** A page is at most this many rows: bounds memory and the time one query holds a loop. */
export const MAX_QUERY_LIMIT = 1000;

export type PageOrder = 'asc' | 'desc';

/** Checks `limit` and `order`; returns the order (`desc` by default). Throws STW_ERR_VALIDATION. */
export function pageOrder(q: Pick<EventQuery, 'limit' | 'order'>): PageOrder {
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_QUERY_LIMIT) {
    throw new StoreTwinError('STW_ERR_VALIDATION', `limit must be an integer in 1..${MAX_QUERY_LIMIT}`, { limit: q.limit });
  }
  const order = q.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') {
    throw new StoreTwinError('STW_ERR_VALIDATION', 'order must be asc or desc', { order });
  }
  return order;
}

/** Integers of a cursor: up to 20 digits each, so a nanosecond time fits (as a bigint). */
const KEY_PART = '-?\\d{1,20}';

/** A sort key → an opaque cursor: base64url of its integers joined by ':' (unescaped in a query string). */
export function encodeCursor(key: ReadonlyArray<number | bigint>): string {
  return Buffer.from(key.map(String).join(':'), 'utf8').toString('base64url');
}

/** The `parts` integers of a cursor this codec encoded; anything else is STW_ERR_VALIDATION. */
export function decodeCursor(cursor: string, parts: number): bigint[] {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const shape = new RegExp(`^${Array.from({ length: parts }, () => KEY_PART).join(':')}$`);
  if (cursor === '' || !shape.test(text)) {
    throw new StoreTwinError('STW_ERR_VALIDATION', 'cursor is invalid', { cursor });
  }
  return text.split(':').map((part) => BigInt(part));
}

/** A cursor part that must be a JavaScript safe integer (a SQLite rowid, a time in ms). */
export function safeCursorPart(part: bigint | undefined, cursor: string): number {
  const value = Number(part);
  if (part === undefined || !Number.isSafeInteger(value)) {
    throw new StoreTwinError('STW_ERR_VALIDATION', 'cursor is invalid', { cursor });
  }
  return value;
}
