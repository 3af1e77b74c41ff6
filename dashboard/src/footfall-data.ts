/**
 * Footfall series for the panel, from GET /api/sites/{site}/footfall/summary (shape in
 * server/history/footfall.ts FootfallSummary): per counter and per hall, today's in/out by
 * local hour and the same weekday last week. Entrances are the counters' zones (two counters
 * on one entrance are summed); the site line is the sum of every counter.
 */
export interface HourlyInOut {
  in: number[];
  out: number[];
}
export interface FootfallDay {
  today: HourlyInOut;
  lastWeek: HourlyInOut;
  totals: { today: { in: number; out: number }; lastWeekSameTime: { in: number; out: number }; lastWeek: { in: number; out: number } };
}
export interface FootfallSummaryResponse {
  site: string;
  timezone: string;
  date: string;
  compareDate: string;
  at: string;
  counters: Array<{ device: string; zone: string; counts: string } & FootfallDay>;
  halls: Array<{ zone: string; capacity: number | null; occupancy: number | null; counters: string[] } & FootfallDay>;
}

export interface InOut {
  in: number;
  out: number;
}

export interface Series {
  /** A zone id, or null for the whole site. */
  zone: string | null;
  today: HourlyInOut;
  lastWeek: HourlyInOut;
  /** The server's totals: today so far, last week up to the same local time, last week's whole day. */
  totals: { today: InOut; lastWeekSameTime: InOut; lastWeek: InOut };
}

const empty = (): HourlyInOut => ({ in: new Array<number>(24).fill(0), out: new Array<number>(24).fill(0) });

function add(into: HourlyInOut, from: HourlyInOut): void {
  for (let h = 0; h < 24; h++) {
    into.in[h] = (into.in[h] ?? 0) + (from.in[h] ?? 0);
    into.out[h] = (into.out[h] ?? 0) + (from.out[h] ?? 0);
  }
}

const zero = (): Series['totals'] => ({ today: { in: 0, out: 0 }, lastWeekSameTime: { in: 0, out: 0 }, lastWeek: { in: 0, out: 0 } });

function addTotals(into: Series['totals'], from: FootfallDay['totals']): void {
  for (const k of ['today', 'lastWeekSameTime', 'lastWeek'] as const) {
    into[k].in += from[k].in;
    into[k].out += from[k].out;
  }
}

/** The site first, then each entrance. */
export function entranceSeries(summary: FootfallSummaryResponse): Series[] {
  const site: Series = { zone: null, today: empty(), lastWeek: empty(), totals: zero() };
  const byZone = new Map<string, Series>();
  for (const c of summary.counters) {
    let s = byZone.get(c.zone);
    if (!s) byZone.set(c.zone, (s = { zone: c.zone, today: empty(), lastWeek: empty(), totals: zero() }));
    for (const into of [s, site]) {
      add(into.today, c.today);
      add(into.lastWeek, c.lastWeek);
      addTotals(into.totals, c.totals);
    }
  }
  return [site, ...byZone.values()];
}

/**
 * People inside at the end of each hour: in − out summed from local midnight (the day starts
 * empty, as the server's occupancy does), never below zero (a counter's missed crossings).
 * Hours after `hoursSoFar` are null: not yet happened.
 */
export function insideByHour(day: HourlyInOut, hoursSoFar = 24): Array<number | null> {
  let inside = 0;
  return day.in.map((i, h) => {
    inside = Math.max(0, inside + i - (day.out[h] ?? 0));
    return h < hoursSoFar ? inside : null;
  });
}

/** Percent change from `before` to `now`, rounded; null when there is nothing to compare with. */
export function changePct(now: number, before: number): number | null {
  return before > 0 ? Math.round(((now - before) / before) * 100) : null;
}

/** Round y-axis ticks from 0 covering `max`: 1, 2 or 5 × 10^k apart, at most `count` + 1 of them. */
export function yTicks(max: number, count = 4): number[] {
  const m = Math.max(1, max);
  const raw = m / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  // People come whole: never a step under one.
  const step = Math.max(1, [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag);
  const ticks: number[] = [];
  for (let v = 0; v < m + step; v += step) {
    ticks.push(v);
    if (v >= m) break;
  }
  return ticks;
}
