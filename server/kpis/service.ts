/**
 * Response KPIs over the stored alarms: reads the alarms raised in a range through the alarm
 * store (AlarmStore.alarmTimes) one site and one page at a time, yielding to the event
 * loop between pages like the other long reads (server/storage/yield.ts), then computes the
 * figures (response.ts). A request reads at most `maxAlarms` alarms, else 413
 * STW_ERR_QUERY_TOO_LARGE; the route bounds the range (MAX_KPI_RANGE_DAYS).
 */
import type { AlarmStore, AlarmTimes } from '../alarms/store.ts';
import { StoreTwinError } from '../errors.ts';
import type { Localized } from '../sites/model.ts';
import { EventLoopSlicer } from '../storage/yield.ts';
import { KpiAccumulator, type AckTargets, type KpiGrouping, type KpiResult } from './response.ts';

/** A quarter (92 days covers any three calendar months): the longest range one request may ask for. */
export const MAX_KPI_RANGE_DAYS = 92;
/**
 * Alarms one request may read. Alarms are incidents, not events (a flapping door is one): a
 * busy 100-room hotel raises a few hundred a day, so a quarter of one site stays well below
 * this. bench/kpis.bench.ts: 10,000 alarms in 0.25–0.33 s, 100,000 in 3.9–6.9 s, read in
 * slices, on 2 cores shared with other test suites (load average 13).
 */
export const MAX_KPI_ALARMS = 100_000;
/** Rows per store read: ~1 ms on an idle machine, so a read stays inside a slice (SLICE_MS). */
const PAGE = 250;

/** What the KPIs read of the alarm store. Every AlarmStore satisfies it. */
export type AlarmTimesReader = Pick<AlarmStore, 'alarmTimes'>;

export interface ResponseKpiDeps {
  alarms: AlarmTimesReader;
  targets: AckTargets;
  now: () => number;
  maxAlarms?: number;
  /** Rows per store read (PAGE). */
  pageSize?: number;
}

export interface KpiQuery {
  /** The sites to count (already scoped to what the caller may see). */
  sites: readonly string[];
  fromMs: number;
  toMs: number;
  by: KpiGrouping;
  labels?: (key: string) => Localized | undefined;
}

export interface KpiReport extends KpiResult {
  /** When the figures were taken (decides pending and uncleared). */
  asOf: number;
  targets: AckTargets;
}

export class ResponseKpis {
  constructor(private readonly deps: ResponseKpiDeps) {}

  get targets(): AckTargets {
    return this.deps.targets;
  }

  async report(q: KpiQuery): Promise<KpiReport> {
    const slicer = new EventLoopSlicer();
    const alarms = await this.read(q.sites, q.fromMs, q.toMs, slicer);
    const asOf = this.deps.now();
    const acc = new KpiAccumulator({ by: q.by, targets: this.deps.targets, asOf, ...(q.labels ? { labels: q.labels } : {}) });
    let n = 0;
    for (const a of alarms.values()) {
      acc.add(a);
      if (++n % 1000 === 0) await slicer.pause();
    }
    return { ...acc.result(), asOf, targets: this.deps.targets };
  }

  /** The alarms raised in [fromMs, toMs) at the given sites, by id (the last copy read wins). */
  private async read(sites: readonly string[], fromMs: number, toMs: number, slicer: EventLoopSlicer): Promise<Map<string, AlarmTimes>> {
    const max = this.deps.maxAlarms ?? MAX_KPI_ALARMS;
    const size = this.deps.pageSize ?? PAGE;
    const byId = new Map<string, AlarmTimes>();
    for (const site of new Set(sites)) {
      let after: { lastAt: number; id: string } | null = null;
      for (;;) {
        const page = await this.deps.alarms.alarmTimes(site, fromMs, toMs, after, size);
        for (const a of page) byId.set(a.id, a);
        if (byId.size > max) {
          throw new StoreTwinError('STW_ERR_QUERY_TOO_LARGE', `more than ${max} alarms in the range: ask for a shorter one or one site`, { maxAlarms: max });
        }
        const last = page.at(-1);
        if (page.length < size || last === undefined) break;
        after = { lastAt: last.lastAt, id: last.id };
        await slicer.pause();
      }
    }
    return byId;
  }
}
