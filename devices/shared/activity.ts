/**
 * How busy places are through the day, as relative levels or rates. Door sensors, cameras and
 * footfall counters all draw their events from these curves, so the twin shows one coherent
 * day: guests leave in the morning and come back in the evening, shops peak at noon and
 * after work, offices are empty at night.
 */
import { isAllDay, isWithin, type Hours } from './time.ts';

/** A bell around `mu` (hours), circular over the day so 23:30 is near 00:30. */
export function bump(hour: number, mu: number, sigma: number): number {
  const d = Math.abs(hour - mu) % 24;
  const dist = Math.min(d, 24 - d);
  return Math.exp(-0.5 * (dist / sigma) ** 2);
}

/**
 * When staff are on site. Around-the-clock sites (hotels) still keep office hours; shops are
 * staffed from an hour before opening until half an hour after closing (setting up, counting
 * the till).
 */
export function workingHours(opening: Hours): Hours {
  if (isAllDay(opening)) return [8, 18];
  return [(opening[0] + 23) % 24, (opening[1] + 0.5) % 24];
}

/** Relative traffic of a shop, 0..1: zero when closed, peaks around noon and after work. */
export function shopTraffic(hour: number, opening: Hours): number {
  if (!isWithin(hour, opening)) return 0;
  const level = 0.25 + 0.6 * bump(hour, 12.5, 1.3) + 0.75 * bump(hour, 18.5, 1.6);
  // The first half hour after opening is quieter than the curve alone says.
  const sinceOpen = (((hour - opening[0]) % 24) + 24) % 24;
  const ramp = sinceOpen < 0.5 ? 0.5 + sinceOpen : 1;
  return Math.min(1, level) * ramp;
}

/** Relative traffic in a hotel's public areas, 0..1: quiet nights, check-out and return peaks. */
export function hotelTraffic(hour: number): number {
  const level = 0.04 + 0.3 * bump(hour, 13, 4) + 0.75 * bump(hour, 8.5, 1.4) + 0.85 * bump(hour, 19.5, 2);
  return Math.min(1, level);
}

/** Relative traffic in public areas (lobby, hall, corridor, entrance) of any site. */
export function publicTraffic(hour: number, opening: Hours): number {
  return isAllDay(opening) ? hotelTraffic(hour) : shopTraffic(hour, opening);
}

/**
 * Door openings per hour of an occupied guest room: guests leave in the morning, housekeeping
 * around midday, guests return in the evening, almost nothing at night. About ten a day.
 */
export function guestRoomDoorRate(hour: number): number {
  const awake = hour >= 7 && hour < 23.5 ? 0.1 : 0.02;
  return awake + 1.1 * bump(hour, 8.5, 1.2) + 0.35 * bump(hour, 12.5, 1.5) + 0.85 * bump(hour, 19.5, 2);
}
