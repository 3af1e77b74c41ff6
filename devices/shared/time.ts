/**
 * Site-local time for the simulators: opening hours and daily routines are local hours of the
 * site, while the simulated clock is an absolute instant.
 */
export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export interface LocalTime {
  /** Fractional hour of the local day, 0 ≤ hour < 24. */
  hour: number;
  /** `YYYY-MM-DD HH:MM:SS`, as a camera overlay prints it. */
  text: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat | null {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-GB', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      // An unknown zone name must not stop a simulator; the process's zone is the fallback.
      return null;
    }
    formatters.set(timeZone, f);
  }
  return f;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Local time of the instant `ms` in `timeZone` (or the process's zone). */
export function localTime(ms: number, timeZone?: string): LocalTime {
  const f = timeZone ? formatter(timeZone) : null;
  let y: number, mo: number, d: number, h: number, mi: number, s: number;
  if (f) {
    const parts: Record<string, number> = {};
    for (const p of f.formatToParts(ms)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    [y, mo, d, h, mi, s] = [parts.year ?? 0, parts.month ?? 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0];
  } else {
    const t = new Date(ms);
    [y, mo, d, h, mi, s] = [t.getFullYear(), t.getMonth() + 1, t.getDate(), t.getHours(), t.getMinutes(), t.getSeconds()];
  }
  const frac = (ms % SECOND_MS) / SECOND_MS;
  return {
    hour: h + mi / 60 + (s + frac) / 3600,
    text: `${y}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(s)}`,
  };
}

/** Opening hours `[open, close)` in local hours; close before open wraps past midnight. */
export type Hours = readonly [number, number];

export function isAllDay(hours: Hours): boolean {
  return hours[1] - hours[0] >= 24 || (hours[0] === hours[1] && hours[0] === 0);
}

export function isWithin(hour: number, hours: Hours): boolean {
  if (isAllDay(hours)) return true;
  const [open, close] = hours;
  return open <= close ? hour >= open && hour < close : hour >= open || hour < close;
}

/** Hours from `hour` until the window closes; Infinity for all-day windows, 0 outside. */
export function hoursUntilClose(hour: number, hours: Hours): number {
  if (isAllDay(hours)) return Infinity;
  if (!isWithin(hour, hours)) return 0;
  return (((hours[1] - hour) % 24) + 24) % 24;
}

/** ISO 8601 in UTC to the second, as the devices stamp `ts`. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / SECOND_MS) * SECOND_MS).toISOString().replace('.000Z', 'Z');
}
