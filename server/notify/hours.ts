/**
 * On-call windows: weekly windows in site-local time, as in the site model's schedules. A
 * window whose `to` is not after its `from` wraps past midnight and belongs to the day it
 * starts on (`fri 22:00–06:00` covers Friday night into Saturday morning).
 */
import type { ScheduleWindow } from '../sites/model.ts';
import { scheduleArmed } from '../sites/schedule.ts';

/** No windows means always on call. */
export function inWindows(windows: readonly ScheduleWindow[] | undefined, timeZone: string, now: number): boolean {
  return !windows || windows.length === 0 || scheduleArmed(windows, timeZone, now);
}
