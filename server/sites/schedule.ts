/**
 * Weekly arming windows (`armedDuring` in the site file) evaluated in the site's IANA time
 * zone. A window's `days` are the days it STARTS on: `{days: [fri], from: '22:00', to: '07:00'}`
 * is armed from Friday 22:00 to Saturday 07:00 local time. `to` before (or equal to) `from`
 * wraps past midnight; `to: '24:00'` is the end of the day.
 */
import { WEEKDAYS, type ScheduleWindow } from './model.ts';

type Weekday = (typeof WEEKDAYS)[number];

export interface LocalTime {
  weekday: Weekday;
  /** Minutes since local midnight, 0..1439. */
  minute: number;
}

// Intl formatters are expensive to build and this runs on every rule evaluation.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The site-local weekday and minute of day of an instant. */
export function localTime(atMs: number, timeZone: string): LocalTime {
  let weekday: Weekday = 'mon';
  let hour = 0;
  let minute = 0;
  for (const part of formatterFor(timeZone).formatToParts(atMs)) {
    if (part.type === 'weekday') weekday = part.value.slice(0, 3).toLowerCase() as Weekday;
    else if (part.type === 'hour') hour = Number(part.value) % 24;
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { weekday, minute: hour * 60 + minute };
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

function previousDay(day: Weekday): Weekday {
  const i = WEEKDAYS.indexOf(day);
  return WEEKDAYS[(i + WEEKDAYS.length - 1) % WEEKDAYS.length] as Weekday;
}

/** True if the local time falls in the window (start inclusive, end exclusive). */
export function inWindow(window: ScheduleWindow, t: LocalTime): boolean {
  const from = toMinutes(window.from);
  const to = toMinutes(window.to);
  const days = window.days as readonly string[];
  if (from < to) return days.includes(t.weekday) && t.minute >= from && t.minute < to;
  // Wraps midnight: the evening part belongs to the start day, the morning part to the next.
  return (days.includes(t.weekday) && t.minute >= from) || (days.includes(previousDay(t.weekday)) && t.minute < to);
}

/** True if any window holds at `atMs` in `timeZone`. */
export function scheduleArmed(windows: readonly ScheduleWindow[], timeZone: string, atMs: number): boolean {
  if (windows.length === 0) return false;
  const t = localTime(atMs, timeZone);
  return windows.some((w) => inWindow(w, t));
}
