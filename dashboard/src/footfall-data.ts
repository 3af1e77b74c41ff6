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

export interface Series {
  /** A zone id, or null for the whole site. */
  zone: string | null;
  today: HourlyInOut;
  lastWeek: HourlyInOut;
}

const empty = (): HourlyInOut => ({ in: new Array<number>(24).fill(0), out: new Array<number>(24).fill(0) });

function add(into: HourlyInOut, from: HourlyInOut): void {
  for (let h = 0; h < 24; h++) {
    into.in[h] = (into.in[h] ?? 0) + (from.in[h] ?? 0);
    into.out[h] = (into.out[h] ?? 0) + (from.out[h] ?? 0);
  }
}

/** The site first, then each entrance. */
export function entranceSeries(summary: FootfallSummaryResponse): Series[] {
  const site: Series = { zone: null, today: empty(), lastWeek: empty() };
  const byZone = new Map<string, Series>();
  for (const c of summary.counters) {
    let s = byZone.get(c.zone);
    if (!s) byZone.set(c.zone, (s = { zone: c.zone, today: empty(), lastWeek: empty() }));
    add(s.today, c.today);
    add(s.lastWeek, c.lastWeek);
    add(site.today, c.today);
    add(site.lastWeek, c.lastWeek);
  }
  return [site, ...byZone.values()];
}
