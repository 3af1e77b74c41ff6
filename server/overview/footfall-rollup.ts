/**
 * Footfall per counter and minute for the overview, kept between requests. Reading a day of a
 * counter's `count` events costs a row a minute (1,440 a day), and the overview wants today and
 * the same weekday last week for every counter of every site: 200 sites with two counters each
 * is ~900,000 rows, 4–10 s on the 2-core machine whether read through the event store or by
 * one aggregate SQL query (measured, see bench/overview.bench.ts). Minutes that have passed do
 * not change, so each is read once:
 *
 * - A counter's day is a tally of in/out per minute since the site's local midnight, and
 *   `sealedUpTo`: every minute before it has been read. A read adds what the event store holds
 *   from `sealedUpTo` on (the last few minutes), and seals up to `GRACE_MS` before now — counts
 *   arrive seconds after their minute, later ones are read again next time.
 * - A count that arrives later still (a counter that was offline sends its backlog) belongs to
 *   a sealed minute: the rollup hears it on the bus (`events.accepted`) and adds it there.
 *   Announced before its commit, it cannot be in the read that sealed its minute; one
 *   announced during a read, for a minute older than the grace, may be missed (the read then
 *   lasts milliseconds).
 * - Reads run one at a time (two requests must not add the same minutes twice) and the first
 *   (`warm()` at start) reads whole days, in event-loop slices (server/storage/yield.ts).
 *
 * Minutes go through the EventStore interface (scanEvents), so SQLite and InfluxDB both work.
 */
import type { EventBus, ServerEvents } from '../events.ts';
import { scanEvents } from '../history/scan.ts';
import type { EventStore } from '../storage/types.ts';
import { EventLoopSlicer } from '../storage/yield.ts';

const MINUTE_MS = 60_000;
/**
 * A count this much older than now is taken as final (its minute is sealed). Counts arrive
 * seconds after their minute closes; each read re-reads this much, so it is kept short.
 */
export const GRACE_MS = 3 * MINUTE_MS;
/** Days kept: today and the same weekday a week ago, with a day to spare. */
const KEEP_MS = 9 * 86_400_000;

/** One counter's local day: [start, end) in ms, a day being 23–25 h around DST changes. */
export interface CounterDay {
  device: string;
  start: number;
  end: number;
}

/** In and out per minute since the day's start: `[in0, out0, in1, out1, …]`. */
export type MinuteCounts = Int32Array;

interface Tally {
  start: number;
  end: number;
  sealedUpTo: number;
  minutes: MinuteCounts;
}

export interface FootfallRollupDeps {
  events: EventStore;
  bus: EventBus;
  now: () => number;
  graceMs?: number;
}

export class FootfallRollup {
  /** device → day start → tally */
  private readonly tallies = new Map<string, Map<number, Tally>>();
  private queue: Promise<unknown> = Promise.resolve();
  private off: (() => void) | null = null;
  private stopped = false;

  constructor(private readonly deps: FootfallRollupDeps) {}

  start(): void {
    this.stopped = false;
    const listener = (events: ServerEvents['events.accepted'][0]) => this.late(events);
    this.deps.bus.on('events.accepted', listener);
    this.off = () => this.deps.bus.off('events.accepted', listener);
  }

  /** Stops listening and ends a read under way (the warm-up) at its next counter, before storage closes. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.off?.();
    this.off = null;
    await this.queue;
  }

  /** Each day's minute counts as the store holds them now, in the order asked. */
  read(days: readonly CounterDay[]): Promise<MinuteCounts[]> {
    const run = this.queue.then(() => this.readNow(days));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readNow(days: readonly CounterDay[]): Promise<MinuteCounts[]> {
    const now = this.deps.now();
    const grace = this.deps.graceMs ?? GRACE_MS;
    this.prune(now);
    const slicer = new EventLoopSlicer();
    const out: MinuteCounts[] = [];
    for (const day of days) {
      if (this.stopped) break;
      const tally = this.tally(day);
      const counts = tally.minutes.slice();
      const to = Math.min(tally.end, now + 1);
      const seal = Math.max(tally.sealedUpTo, Math.min(tally.end, now - grace));
      if (tally.sealedUpTo < to) {
        const iso = (ms: number) => new Date(ms).toISOString();
        for await (const page of scanEvents(this.deps.events, { device: day.device, type: 'count', from: iso(tally.sealedUpTo), to: iso(to) }, { slicer })) {
          for (const e of page) {
            if (e.data.type !== 'count') continue;
            const t = Date.parse(e.ts);
            add(counts, tally.start, t, e.data.in, e.data.out);
            if (t < seal) add(tally.minutes, tally.start, t, e.data.in, e.data.out);
          }
        }
      }
      tally.sealedUpTo = seal;
      out.push(counts);
    }
    return out;
  }

  private tally(day: CounterDay): Tally {
    let byDay = this.tallies.get(day.device);
    if (!byDay) this.tallies.set(day.device, (byDay = new Map()));
    let tally = byDay.get(day.start);
    if (!tally) {
      const minutes = Math.ceil((day.end - day.start) / MINUTE_MS);
      byDay.set(day.start, (tally = { start: day.start, end: day.end, sealedUpTo: day.start, minutes: new Int32Array(2 * minutes) }));
    }
    return tally;
  }

  /** Counts for minutes already sealed: added where the reads will not look again. */
  private late(events: ServerEvents['events.accepted'][0]): void {
    for (const e of events) {
      if (e.data.type !== 'count') continue;
      const byDay = this.tallies.get(e.device);
      if (!byDay) continue;
      const t = Date.parse(e.ts);
      for (const tally of byDay.values()) {
        if (t >= tally.start && t < tally.sealedUpTo) add(tally.minutes, tally.start, t, e.data.in, e.data.out);
      }
    }
  }

  private prune(now: number): void {
    for (const [device, byDay] of this.tallies) {
      for (const start of byDay.keys()) if (start < now - KEEP_MS) byDay.delete(start);
      if (byDay.size === 0) this.tallies.delete(device);
    }
  }
}

function add(minutes: MinuteCounts, start: number, t: number, entered: number, left: number): void {
  const i = Math.floor((t - start) / MINUTE_MS);
  if (i < 0 || 2 * i + 1 >= minutes.length) return;
  minutes[2 * i] = (minutes[2 * i] ?? 0) + entered;
  minutes[2 * i + 1] = (minutes[2 * i + 1] ?? 0) + left;
}
