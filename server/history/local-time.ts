/**
 * Site-local calendar arithmetic for history and footfall: where a site's day starts and which
 * local hour an instant falls in. Wall time comes from Intl in the site's IANA zone; offsets are
 * re-read at the candidate instant, so a day that starts right after a DST jump is still right.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function localParts(ms: number, tz: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(ms)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return {
    year: parts.year ?? 1970,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** Local wall time minus UTC at the instant `ms`, in ms. */
function offsetAt(ms: number, tz: string): number {
  const p = localParts(ms, tz);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - (ms - (((ms % 1000) + 1000) % 1000));
}

/** The instant the local day holding `ms` began (local midnight). */
export function localDayStart(ms: number, tz: string): number {
  const p = localParts(ms, tz);
  const midnightWall = Date.UTC(p.year, p.month - 1, p.day);
  let guess = midnightWall - offsetAt(ms, tz);
  // The offset at midnight may differ from the offset now (a DST change during the day).
  guess = midnightWall - offsetAt(guess, tz);
  return guess;
}

/**
 * The instant at which the wall clock in `tz` reads `p` (devices that stamp local time without
 * a zone, e.g. an Axis counter's `YYYYMMDDhhmmss`). Like localDayStart, the offset is re-read at
 * the first guess, so a wall time on a DST-change day lands right; a wall time the clocks skipped
 * maps to the instant one offset away, an ambiguous one to one of its two instants.
 */
export function instantOfLocal(p: LocalParts, tz: string): number {
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  const guess = wall - offsetAt(wall, tz);
  return wall - offsetAt(guess, tz);
}

/** `YYYY-MM-DD` of the local day holding `ms`. */
export function localDate(ms: number, tz: string): string {
  const p = localParts(ms, tz);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** Local hour 0..23 of the instant. */
export function localHour(ms: number, tz: string): number {
  return localParts(ms, tz).hour;
}
