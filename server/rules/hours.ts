/**
 * Site-local time for opening hours and arming schedules. Local wall time comes from Intl in
 * the site's IANA zone. "Next 21:00" is computed by stepping minutes of local time, which is
 * exact except across a DST jump (off by the jump once a year; the demo zone has none).
 */
import type { ArmingReader } from '../arming/types.ts';
import { WEEKDAYS, type Site } from '../sites/model.ts';
import { scheduleArmed } from '../sites/schedule.ts';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hourCycle: 'h23', weekday: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(tz, f);
  }
  return f;
}

/** Local weekday (0 = mon) and minute of the day (with seconds as a fraction). */
export function localTime(tz: string, ms: number): { day: number; minute: number } {
  let weekday = 'Mon';
  let h = 0;
  let m = 0;
  let s = 0;
  for (const p of formatter(tz).formatToParts(new Date(ms))) {
    if (p.type === 'weekday') weekday = p.value;
    else if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') m = Number(p.value);
    else if (p.type === 'second') s = Number(p.value);
  }
  const day = WEEKDAYS.indexOf(weekday.slice(0, 3).toLowerCase() as (typeof WEEKDAYS)[number]);
  return { day, minute: h * 60 + m + s / 60 + (ms % 1000) / 60000 };
}

export function hhmmToMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

export function formatLocal(tz: string, ms: number): string {
  const { minute } = localTime(tz, ms);
  const h = Math.floor(minute / 60);
  const m = Math.floor(minute % 60);
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}

/** The next instant strictly after `ms` when the site's local clock shows `minuteOfDay`. */
export function nextLocal(tz: string, ms: number, minuteOfDay: number): number {
  const { minute } = localTime(tz, ms);
  let delta = (((minuteOfDay % 1440) - minute) % 1440 + 1440) % 1440;
  if (delta <= 1e-9) delta = 1440;
  return Math.round(ms + delta * 60000);
}

export function alwaysOpen(site: Site): boolean {
  const o = hhmmToMinutes(site.openingHours.open);
  const c = hhmmToMinutes(site.openingHours.close);
  return o === c % 1440 || (o === 0 && c === 1440);
}

export function isOpen(site: Site, ms: number): boolean {
  if (alwaysOpen(site)) return true;
  const o = hhmmToMinutes(site.openingHours.open);
  const c = hhmmToMinutes(site.openingHours.close);
  const { minute } = localTime(site.timezone, ms);
  return o < c ? minute >= o && minute < c : minute >= o || minute < c;
}

export function nextOpening(site: Site, ms: number): number {
  return alwaysOpen(site) ? ms : nextLocal(site.timezone, ms, hhmmToMinutes(site.openingHours.open));
}

export function nextClosing(site: Site, ms: number): number {
  return alwaysOpen(site) ? Number.POSITIVE_INFINITY : nextLocal(site.timezone, ms, hhmmToMinutes(site.openingHours.close));
}

/**
 * When `windowS` seconds of opening hours will have passed since `fromMs` (the time counted
 * only while open): the due time of an "absence during opening hours" check.
 */
export function openTimeElapsed(site: Site, fromMs: number, windowS: number): number {
  let start = fromMs;
  for (let i = 0; i < 30; i++) {
    if (!isOpen(site, start)) start = nextOpening(site, start);
    const close = nextClosing(site, start);
    if (start + windowS * 1000 <= close) return start + windowS * 1000;
    start = close;
  }
  return Number.POSITIVE_INFINITY;
}

/** Arming from the site files' `armedDuring` schedules only (backtests, and a fallback). */
export function scheduleArming(sites: { get(id: string): Site | undefined }): ArmingReader {
  const zones = new WeakMap<Site, Map<string, Site['floors'][number]['zones'][number]>>();
  return {
    isArmed(siteId, zoneId, atMs) {
      const site = sites.get(siteId);
      if (!site) return false;
      let byId = zones.get(site);
      if (!byId) {
        byId = new Map(site.floors.flatMap((f) => f.zones.map((z) => [z.id, z] as const)));
        zones.set(site, byId);
      }
      const zone = byId.get(zoneId);
      if (!zone || zone.armedDuring.length === 0) return false;
      return scheduleArmed(zone.armedDuring, site.timezone, atMs);
    },
  };
}
