/**
 * On-call windows: weekly windows in site-local time, as in the site model's schedules. A
 * window whose `to` is not after its `from` wraps past midnight and belongs to the day it
 * starts on (`fri 22:00–06:00` covers Friday night into Saturday morning).
 */
import { WEEKDAYS, type ScheduleWindow } from '../sites/model.ts';

const formatters = new Map<string, Intl.DateTimeFormat>();

function localParts(now: number, timeZone: string): { day: number; minute: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(now)).map((p) => [p.type, p.value]));
  const day = WEEKDAYS.indexOf(String(parts.weekday).toLowerCase().slice(0, 3) as (typeof WEEKDAYS)[number]);
  return { day, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

function minutes(hhmm: string): number {
  const [h = '0', m = '0'] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

export function inWindows(windows: readonly ScheduleWindow[] | undefined, timeZone: string, now: number): boolean {
  if (!windows || windows.length === 0) return true;
  const { day, minute } = localParts(now, timeZone);
  const yesterday = WEEKDAYS[(day + 6) % 7];
  const today = WEEKDAYS[day];
  return windows.some((w) => {
    const from = minutes(w.from);
    const to = minutes(w.to);
    if (to > from) return w.days.includes(today as never) && minute >= from && minute < to;
    // Wraps midnight (or from == to: the whole day from `from`).
    return (w.days.includes(today as never) && minute >= from) || (w.days.includes(yesterday as never) && minute < to);
  });
}
