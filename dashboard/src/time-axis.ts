/**
 * Ticks for a time axis on the site's clock. The step is the smallest "round" one (1 min …
 * 1 day) that leaves at least `minPx` between labels at the axis' width, so an hour shows
 * every 5 or 10 minutes and a day every 2 or 3 hours. Ticks sit on round local wall times
 * (14:00, not 14:00 UTC): candidates are walked every quarter hour (every UTC offset in use is
 * a multiple of 15 min) and kept when the local clock reads a multiple of the step, so a
 * +05:45 zone or a DST day still gets 00:00, 03:00, 06:00. Local midnights are labelled with
 * the date instead of 00:00.
 */
import { localParts } from '../../server/history/local-time.ts';

const MINUTE = 60_000;
/** Steps in minutes, smallest first. */
export const AXIS_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440] as const;
/** Enough room for "00:00" or "11月30日" and a gap. */
export const MIN_TICK_PX = 64;

export interface Tick {
  t: number;
  label: string;
  /** A local midnight: labelled with the date. */
  day: boolean;
}

/** The step (minutes) for a span drawn `widthPx` wide. */
export function axisStep(spanMs: number, widthPx: number, minPx = MIN_TICK_PX): number {
  const fit = Math.max(1, Math.floor(widthPx / minPx));
  for (const step of AXIS_STEPS) if (spanMs / (step * MINUTE) <= fit) return step;
  return 1440;
}

export function timeTicks(fromMs: number, toMs: number, widthPx: number, tz: string, language: string, minPx = MIN_TICK_PX): Tick[] {
  if (!(toMs > fromMs)) return [];
  const step = axisStep(toMs - fromMs, widthPx, minPx);
  const walk = Math.min(step, 15) * MINUTE;
  const clock = new Intl.DateTimeFormat(language, { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const date = new Intl.DateTimeFormat(language, { timeZone: tz, month: 'short', day: 'numeric' });
  const ticks: Tick[] = [];
  for (let t = Math.ceil(fromMs / walk) * walk; t <= toMs; t += walk) {
    const p = localParts(t, tz);
    const minuteOfDay = p.hour * 60 + p.minute;
    if (p.second !== 0 || minuteOfDay % step !== 0) continue;
    const day = minuteOfDay === 0;
    ticks.push({ t, day, label: day ? date.format(t) : clock.format(t) });
  }
  return ticks;
}
