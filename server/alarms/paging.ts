/** Keyset paging of alarm lists on (last_at, id), shared by both stores so cursors mean the same on either. */
import { StoreTwinError } from '../errors.ts';

/** Same bound as the other stores' pages. */
export const MAX_ALARM_PAGE = 1000;

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

/** The page size a query asks for, within [1, MAX_ALARM_PAGE]. */
export function pageLimit(limit: number): number {
  return Math.min(Math.max(1, Math.trunc(limit)), MAX_ALARM_PAGE);
}
