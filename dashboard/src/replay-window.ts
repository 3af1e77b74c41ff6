/**
 * Which stretch of the past a replay shows, resolved on the SITE's clock: "today" is since the
 * site's local midnight, "yesterday" the whole local day before it (23 or 25 h on a DST day),
 * and a custom from/to is read as the site's wall time, whatever zone the browser is in. Pure,
 * so the calendar arithmetic is tested in Node (tests/dashboard/replay-window.test.ts).
 */
import { instantOfLocal, localDayStart, localParts } from '../../server/history/local-time.ts';

const HOUR = 3_600_000;
/** The history API's longest window (server/history/history.ts MAX_WINDOW_MS). */
export const MAX_REPLAY_MS = 7 * 24 * HOUR;

export const WINDOW_CHOICES = ['hour', 'day', 'today', 'yesterday', 'custom'] as const;
export type WindowChoice = (typeof WINDOW_CHOICES)[number];

export interface ReplayWindow {
  from: number;
  to: number;
}

/** Why a custom window was refused, for the picker's message. */
export type WindowProblem = 'invalid' | 'order' | 'tooLong';

/** The window of a preset choice at `now` in `tz`. */
export function presetWindow(choice: Exclude<WindowChoice, 'custom'>, now: number, tz: string): ReplayWindow {
  switch (choice) {
    case 'hour':
      return { from: now - HOUR, to: now };
    case 'day':
      return { from: now - 24 * HOUR, to: now };
    case 'today':
      return { from: localDayStart(now, tz), to: now };
    case 'yesterday': {
      const today = localDayStart(now, tz);
      // An hour before today's midnight is certainly inside yesterday, DST or not.
      return { from: localDayStart(today - HOUR, tz), to: today };
    }
  }
}

/** A `<input type="datetime-local">` value (`YYYY-MM-DDTHH:MM`) read as wall time in `tz`; null when malformed. */
export function parseLocalInput(value: string, tz: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59) return null;
  return instantOfLocal({ year, month, day, hour, minute, second }, tz);
}

/** The `datetime-local` value showing `ms` on the site's clock. */
export function localInputValue(ms: number, tz: string): string {
  const p = localParts(ms, tz);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}`;
}

/** A custom window from two `datetime-local` values; `to` in the future ends now. */
export function customWindow(fromValue: string, toValue: string, now: number, tz: string): ReplayWindow | { problem: WindowProblem } {
  const from = parseLocalInput(fromValue, tz);
  const to = parseLocalInput(toValue, tz);
  if (from === null || to === null) return { problem: 'invalid' };
  const end = Math.min(to, now);
  if (from >= end) return { problem: 'order' };
  if (end - from > MAX_REPLAY_MS) return { problem: 'tooLong' };
  return { from, to: end };
}
