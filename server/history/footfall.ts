/**
 * Footfall from the counters' stored `count` events (a counter: a device whose type can
 * `count`, devices/types.ts). A counter counts into a hall: its
 * placement's `counts` (the site file) or else its own zone, the same wiring the twin uses for
 * occupancy. A count event covers the `period` seconds before its `ts` and is attributed to
 * the bucket holding its `ts`.
 *
 * Every read goes through one counter's events (`device` + `type = 'count'`), which the
 * (device, ts) index serves directly, whatever else the site records.
 */
import { deviceTypeHas } from '../../devices/index.ts';
import type { Site } from '../sites/model.ts';
import type { DeviceLookup } from '../registry/directory.ts';
import type { EventStore } from '../storage/types.ts';
import { EventLoopSlicer } from '../storage/yield.ts';
import { countsWiring } from '../twin/reduce.ts';
import { localDate, localDayStart, localHour } from './local-time.ts';
import { scanEvents } from './scan.ts';

const DAY_MS = 86_400_000;

export interface Counter {
  device: string;
  /** Where the counter hangs (an entrance). */
  zone: string;
  /** The hall its counts feed. */
  counts: string;
}

export interface InOut {
  in: number;
  out: number;
}

/** The site's counters: registered ones, and placed ones not (or no longer) registered. */
export function countersOf(site: Site, registry: Pick<DeviceLookup, 'devicesOfSite'>): Counter[] {
  const wiring = countsWiring(site);
  const counters = new Map<string, Counter>();
  for (const d of registry.devicesOfSite(site.id)) {
    if (deviceTypeHas(d.type, 'count')) counters.set(d.id, { device: d.id, zone: d.zone, counts: wiring.get(d.id) ?? d.zone });
  }
  for (const p of site.devices) {
    if (deviceTypeHas(p.type, 'count') && !counters.has(p.id)) counters.set(p.id, { device: p.id, zone: p.zone, counts: p.counts ?? p.zone });
  }
  return [...counters.values()].sort((a, b) => a.device.localeCompare(b.device));
}

/**
 * Calls `add` with (ts ms, in, out) for every count of `device` in [fromMs, toMs). One slicer
 * per request, shared by its counters' scans, keeps the whole request in short slices.
 */
async function eachCount(events: EventStore, device: string, fromMs: number, toMs: number, slicer: EventLoopSlicer, add: (t: number, c: InOut) => void): Promise<void> {
  if (toMs <= fromMs) return;
  const iso = (ms: number) => new Date(ms).toISOString();
  for await (const page of scanEvents(events, { device, type: 'count', from: iso(fromMs), to: iso(toMs) }, { slicer })) {
    for (const e of page) {
      if (e.data.type === 'count') add(Date.parse(e.ts), { in: e.data.in, out: e.data.out });
    }
  }
}

export interface FootfallSeries {
  buckets: Array<{ from: string } & InOut>;
  total: InOut;
}

/** In/out per `stepMs` bucket over [fromMs, toMs), bucket i being [from + i·step, from + (i+1)·step). */
export async function footfallSeries(events: EventStore, counters: readonly Counter[], fromMs: number, toMs: number, stepMs: number): Promise<FootfallSeries> {
  const n = Math.max(0, Math.ceil((toMs - fromMs) / stepMs));
  const buckets = Array.from({ length: n }, (_, i) => ({ from: new Date(fromMs + i * stepMs).toISOString(), in: 0, out: 0 }));
  const total: InOut = { in: 0, out: 0 };
  const slicer = new EventLoopSlicer();
  for (const c of counters) {
    await eachCount(events, c.device, fromMs, toMs, slicer, (t, v) => {
      const b = buckets[Math.floor((t - fromMs) / stepMs)];
      if (!b) return;
      b.in += v.in;
      b.out += v.out;
      total.in += v.in;
      total.out += v.out;
    });
  }
  return { buckets, total };
}

/** In and out per local hour of the day (index = hour 0..23 on the site's clock). */
export interface HourlyInOut {
  in: number[];
  out: number[];
}

export interface FootfallDay {
  today: HourlyInOut;
  /** The whole of the same weekday a week ago. */
  lastWeek: HourlyInOut;
  totals: {
    today: InOut;
    /** Last week's day up to the same local time as now: the fair comparison for "so far". */
    lastWeekSameTime: InOut;
    lastWeek: InOut;
  };
}

export interface FootfallSummary {
  site: string;
  timezone: string;
  /** Local dates of today and of the day compared with. */
  date: string;
  compareDate: string;
  at: string;
  counters: Array<Counter & FootfallDay>;
  halls: Array<{ zone: string; capacity: number | null; occupancy: number | null; counters: string[] } & FootfallDay>;
}

const emptyHourly = (): HourlyInOut => ({ in: new Array<number>(24).fill(0), out: new Array<number>(24).fill(0) });

function emptyDay(): FootfallDay {
  return {
    today: emptyHourly(),
    lastWeek: emptyHourly(),
    totals: { today: { in: 0, out: 0 }, lastWeekSameTime: { in: 0, out: 0 }, lastWeek: { in: 0, out: 0 } },
  };
}

export async function footfallSummary(
  events: EventStore,
  site: Site,
  counters: readonly Counter[],
  occupancyOf: (zone: string) => number | null,
  now: number,
): Promise<FootfallSummary> {
  const tz = site.timezone;
  const todayStart = localDayStart(now, tz);
  const weekAgoStart = localDayStart(todayStart - 7 * DAY_MS + DAY_MS / 2, tz);
  // The next local midnight (a DST day is 23 or 25 h long).
  const weekAgoEnd = localDayStart(weekAgoStart + DAY_MS + DAY_MS / 2, tz);
  const sameTimeLastWeek = weekAgoStart + (now - todayStart);

  const capacities = new Map(site.floors.flatMap((f) => f.zones.map((z) => [z.id, z.capacity ?? null] as const)));
  const halls = new Map<string, FootfallSummary['halls'][number]>();
  const perCounter: FootfallSummary['counters'] = [];
  const slicer = new EventLoopSlicer();
  for (const c of counters) {
    const day = emptyDay();
    const hall = halls.get(c.counts) ?? { zone: c.counts, capacity: capacities.get(c.counts) ?? null, occupancy: occupancyOf(c.counts), counters: [], ...emptyDay() };
    hall.counters.push(c.device);
    halls.set(c.counts, hall);
    const add = (which: 'today' | 'lastWeek', t: number, v: InOut): void => {
      const h = localHour(t, tz);
      for (const target of [day, hall]) {
        target[which].in[h] = (target[which].in[h] ?? 0) + v.in;
        target[which].out[h] = (target[which].out[h] ?? 0) + v.out;
        target.totals[which].in += v.in;
        target.totals[which].out += v.out;
        if (which === 'lastWeek' && t < sameTimeLastWeek) {
          target.totals.lastWeekSameTime.in += v.in;
          target.totals.lastWeekSameTime.out += v.out;
        }
      }
    };
    await eachCount(events, c.device, todayStart, now + 1, slicer, (t, v) => add('today', t, v));
    await eachCount(events, c.device, weekAgoStart, weekAgoEnd, slicer, (t, v) => add('lastWeek', t, v));
    perCounter.push({ ...c, ...day });
  }
  return {
    site: site.id,
    timezone: tz,
    date: localDate(now, tz),
    compareDate: localDate(weekAgoStart, tz),
    at: new Date(now).toISOString(),
    counters: perCounter,
    halls: [...halls.values()],
  };
}
