/**
 * What every audit store shares, whatever the engine: the page bound, the keyset cursor and
 * the checks on what is appended or asked, so SQLite and PostgreSQL answer and refuse alike.
 */
import { StoreTwinError } from '../errors.ts';
import { isoToMs } from '../storage/sqlite/time.ts';
import { AUDIT_GROUPS, isAuditAction, type AuditAction, type AuditQuery, type NewAuditEntry } from './types.ts';

/** A page is at most this long, whatever is asked. */
export const MAX_AUDIT_PAGE = 1000;

export function encodeAuditCursor(atMs: number, id: number): string {
  return Buffer.from(`${atMs}:${id}`, 'utf8').toString('base64url');
}

export function decodeAuditCursor(cursor: string): { atMs: number; id: number } {
  // The bound keeps a hostile cursor from becoming a huge SQL parameter.
  const match = /^(-?\d{1,16}):(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const atMs = match ? Number(match[1]) : Number.NaN;
  const id = match ? Number(match[2]) : Number.NaN;
  if (!Number.isSafeInteger(atMs) || !Number.isSafeInteger(id)) throw new StoreTwinError('STW_ERR_VALIDATION', 'cursor is invalid', { cursor });
  return { atMs, id };
}

/** The entry's time in Unix ms (the store's clock unless given); refuses an action not in the list. */
export function checkedAppend(entry: NewAuditEntry, now: () => number): number {
  // The type says so; the check keeps a cast or a JS caller from writing an action the
  // dashboard and the filters do not know.
  if (!isAuditAction(entry.action)) throw new StoreTwinError('STW_ERR_VALIDATION', `unknown audit action "${String(entry.action)}"`);
  return entry.at === undefined ? now() : isoToMs(entry.at, 'at');
}

/** Only site-less entries need a scope (an entry with a site is scoped by its site); deduplicated. */
export function scopeOf(entry: NewAuditEntry): string[] | null {
  return entry.site === null ? [...new Set(entry.scope ?? [])] : null;
}

export interface CheckedQuery {
  limit: number;
  /** One action, or a group as the half-open range ['alarm.', 'alarm/') ('/' follows '.'). */
  action?: { one: AuditAction } | { from: string; to: string };
  fromMs?: number;
  toMs?: number;
  cursor?: { atMs: number; id: number };
}

/** The query's bounds checked and parsed, before any SQL: an unknown group or a forged cursor is refused. */
export function checkQuery(q: AuditQuery): CheckedQuery {
  const out: CheckedQuery = { limit: Math.min(Math.max(1, Math.trunc(q.limit)), MAX_AUDIT_PAGE) };
  if (q.action !== undefined) {
    if (isAuditAction(q.action)) out.action = { one: q.action };
    else if (AUDIT_GROUPS.includes(q.action)) out.action = { from: `${q.action}.`, to: `${q.action}/` };
    else throw new StoreTwinError('STW_ERR_VALIDATION', `unknown audit action "${q.action.slice(0, 64)}"`, [{ path: ['action'], message: 'an action or a group' }]);
  }
  if (q.from !== undefined) out.fromMs = isoToMs(q.from, 'from');
  if (q.to !== undefined) out.toMs = isoToMs(q.to, 'to');
  if (q.cursor !== undefined) out.cursor = decodeAuditCursor(q.cursor);
  return out;
}
