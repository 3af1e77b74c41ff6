/**
 * A site's footfall for the overview: people counted in today so far against the same weekday
 * a week ago — up to the same local time (the fair comparison) and in all — and per local hour
 * for the sparkline. The same days and attribution as the footfall summary
 * (server/history/footfall.ts, a count belongs to the minute holding its `ts`); minutes come
 * from the rollup, so a site costs a few minutes of reading rather than two days.
 */
import type { OverviewFootfall } from '../../protocol/overview.ts';
import type { Counter } from '../history/footfall.ts';
import { localDate, localDayStart, localHour } from '../history/local-time.ts';
import type { CounterDay, MinuteCounts } from './footfall-rollup.ts';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const QUARTER_MS = 15 * MINUTE_MS;

/** The local days one site's footfall needs. */
export interface SiteDays {
  timezone: string;
  now: number;
  today: { start: number; end: number };
  weekAgo: { start: number; end: number };
  /** The same local time as now, a week ago. */
  sameTime: number;
  /** Local dates, `YYYY-MM-DD`, of today and of the day a week ago. */
  date: string;
  compareDate: string;
}

/** The next local midnight after `start` (a DST day is 23 or 25 h long). */
const dayAfter = (start: number, tz: string) => localDayStart(start + DAY_MS + DAY_MS / 2, tz);

/** The days of each time zone last asked for: they change at local midnight, not with every request. */
const daysByZone = new Map<string, SiteDays>();

export function siteDays(timezone: string, now: number): SiteDays {
  const known = daysByZone.get(timezone);
  if (known && now >= known.today.start && now < known.today.end) return { ...known, now, sameTime: known.weekAgo.start + (now - known.today.start) };
  const days = computeDays(timezone, now);
  daysByZone.set(timezone, days);
  return days;
}

function computeDays(timezone: string, now: number): SiteDays {
  const todayStart = localDayStart(now, timezone);
  const weekAgoStart = localDayStart(todayStart - 7 * DAY_MS + DAY_MS / 2, timezone);
  return {
    timezone,
    now,
    today: { start: todayStart, end: dayAfter(todayStart, timezone) },
    weekAgo: { start: weekAgoStart, end: dayAfter(weekAgoStart, timezone) },
    sameTime: weekAgoStart + (now - todayStart),
    date: localDate(todayStart, timezone),
    compareDate: localDate(weekAgoStart, timezone),
  };
}

export function counterDays(counters: readonly Counter[], days: SiteDays): CounterDay[] {
  return counters.flatMap((c) => [
    { device: c.device, ...days.today },
    { device: c.device, ...days.weekAgo },
  ]);
}

/**
 * Local hour of each quarter hour of a day (every time zone's offset is a whole number of
 * quarters), so a minute's hour is a lookup, not an Intl call; the same days recur for every
 * site of a zone, so they are kept.
 */
const hourTables = new Map<string, Uint8Array>();

function hoursOf(start: number, end: number, tz: string): Uint8Array {
  const key = `${tz}@${start}`;
  let table = hourTables.get(key);
  if (!table) {
    if (hourTables.size > 256) hourTables.clear();
    table = Uint8Array.from({ length: Math.ceil((end - start) / QUARTER_MS) }, (_, q) => localHour(start + q * QUARTER_MS, tz));
    hourTables.set(key, table);
  }
  return table;
}

/** People in per local hour, the total, and the total of the minutes before `cut`. */
function tallyIn(minutes: readonly MinuteCounts[], start: number, end: number, tz: string, cut: number): { hourly: number[]; total: number; beforeCut: number } {
  const hours = hoursOf(start, end, tz);
  const hourly = new Array<number>(24).fill(0);
  // The minute holding `cut` counts as before it, as today's holds counts up to now.
  const cutMinute = Math.ceil((cut - start) / MINUTE_MS);
  let total = 0;
  let beforeCut = 0;
  for (const m of minutes) {
    for (let i = 0; 2 * i < m.length; i++) {
      const entered = m[2 * i] ?? 0;
      if (entered === 0) continue;
      const h = hours[Math.floor(i / 15)] ?? 0;
      hourly[h] = (hourly[h] ?? 0) + entered;
      total += entered;
      if (i < cutMinute) beforeCut += entered;
    }
  }
  return { hourly, total, beforeCut };
}

/** The figures from the minute counts of each counter's two days (today, week ago: counterDays' order). */
export function siteFootfall(days: SiteDays, minutes: readonly MinuteCounts[]): OverviewFootfall {
  const tz = days.timezone;
  const today = tallyIn(minutes.filter((_, i) => i % 2 === 0), days.today.start, days.today.end, tz, days.today.end);
  const weekAgo = tallyIn(minutes.filter((_, i) => i % 2 === 1), days.weekAgo.start, days.weekAgo.end, tz, days.sameTime);
  return {
    date: days.date,
    compareDate: days.compareDate,
    today: today.total,
    lastWeekSameTime: weekAgo.beforeCut,
    lastWeek: weekAgo.total,
    hourly: today.hourly,
    lastWeekHourly: weekAgo.hourly,
  };
}
