/**
 * Timestamps are stored as integer Unix milliseconds (compact, compared numerically whatever
 * the offset they were written with) and handed out as ISO 8601 UTC with milliseconds.
 */
import { StoreTwinError } from '../../errors.ts';

/**
 * ISO 8601 date-time with an explicit offset. Date.parse alone would also take
 * '2026-11-23T02:14' (read as *local* time, so the server's timezone would leak into the
 * data) and free-form strings like 'Nov 23 2026'.
 */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/** ISO 8601 → Unix ms; throws STW_ERR_VALIDATION naming `what`. */
export function isoToMs(value: string, what: string): number {
  const ms = ISO_DATE_TIME.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new StoreTwinError('STW_ERR_VALIDATION', `${what} is not an ISO 8601 date-time with an offset`, { [what]: value });
  }
  return ms;
}

/** Unix ms → '2026-11-23T02:14:07.000Z'. */
export function msToIso(ms: number): string {
  return new Date(ms).toISOString();
}
