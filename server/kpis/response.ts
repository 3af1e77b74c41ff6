/**
 * Response KPIs (issue 7, "及时率"): how fast people acknowledge and clear alarms, per site,
 * person, severity or rule. Pure: alarms in, figures out, nothing read or written here.
 *
 * Definitions (README "Response KPIs" says the same):
 * - An alarm counts once, however many occurrences were folded into it (`count`) and whether
 *   it latched: it is one incident. `occurrences` sums the folded counts.
 * - Time to acknowledge = acknowledgedAt − firstAt; time to clear = clearedAt − firstAt, where
 *   clearedAt is the final clear (a re-trigger that opened a cleared alarm again reset it, so an
 *   alarm still open has none). A latched alarm acknowledged after its condition was restored is
 *   cleared by that acknowledgement: both times are the same.
 * - Acknowledged within target: acknowledged and its time to acknowledge ≤ the target of the
 *   alarm's severity (the highest it reached). An unacknowledged alarm whose target has passed
 *   (at `asOf`) is missed; one still inside its target is `pending`, and left out of the share:
 *   it can still make it.
 * - Share = within target ÷ (alarms − pending); null when that is 0.
 * - Percentiles by the nearest-rank method: the p-th percentile of n sorted values is the value
 *   at rank ⌈p/100 · n⌉ (1-based), so it is always one of the measured times; the median is the
 *   50th (for an even n, the lower of the two middle values). Unacknowledged (uncleared) alarms
 *   are left out of the acknowledgement (clear) percentiles and counted as `unacknowledged`
 *   (`uncleared`). null when there is no value.
 * - A duration below 0 (the server clock stepped back between raise and acknowledgement)
 *   counts as 0. Durations are seconds, to the millisecond.
 */
import type { AlarmTimes } from '../alarms/store.ts';
import { SEVERITIES, type Severity } from '../alarms/types.ts';
import type { Localized } from '../sites/model.ts';

export const KPI_GROUPINGS = ['site', 'user', 'severity', 'rule'] as const;
export type KpiGrouping = (typeof KPI_GROUPINGS)[number];

/** Acknowledgement targets per severity, in seconds (config `kpis.targets`). */
export type AckTargets = Readonly<Record<Severity, number>>;

/** What the figures are computed from: AlarmTimes (server/alarms/store.ts), times in Unix ms. */
export type KpiAlarm = Pick<AlarmTimes, 'id' | 'site' | 'rule' | 'severity' | 'count' | 'firstAt' | 'acknowledgedAt' | 'acknowledgedBy' | 'clearedAt'>;

export interface Percentiles {
  median: number | null;
  p90: number | null;
}

export interface KpiFigures {
  /** Alarms (incidents) raised in the range; folded and latched alarms count once. */
  alarms: number;
  /** Occurrences folded into them (the sum of their `count`). */
  occurrences: number;
  acknowledged: number;
  unacknowledged: number;
  ackWithinTarget: number;
  /** Unacknowledged, raised less than their target ago: not (yet) missed. */
  pending: number;
  /** ackWithinTarget ÷ (alarms − pending), 0..1; null when nothing could be judged. */
  ackWithinTargetShare: number | null;
  /** Seconds from raise to acknowledgement over the acknowledged alarms. */
  timeToAck: Percentiles;
  cleared: number;
  uncleared: number;
  /** Seconds from raise to the final clear over the cleared alarms. */
  timeToClear: Percentiles;
}

export interface KpiGroup extends KpiFigures {
  /**
   * The site id, the acknowledging user's name, the severity or the rule id. By user, the
   * alarms nobody acknowledged are the group with key null.
   */
  key: string | null;
  /** A display name where there is one (sites). */
  label?: Localized;
}

export interface KpiInput {
  alarms: Iterable<KpiAlarm>;
  by: KpiGrouping;
  targets: AckTargets;
  /** Unix ms the figures are taken at: decides which unacknowledged alarms are pending. */
  asOf: number;
  /** Display names by key (site names). */
  labels?: (key: string) => Localized | undefined;
}

export interface KpiResult {
  groups: KpiGroup[];
  total: KpiFigures;
}

/** Nearest-rank percentile of ascending `sorted` (p in (0, 100]); null when empty. */
export function nearestRank(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1] ?? null;
}

function percentiles(values: number[]): Percentiles {
  // A typed array sorts numerically without a comparator call per pair: several times faster
  // over the 100k values one request may hold.
  const sorted = Float64Array.from(values).sort();
  return { median: nearestRank(sorted, 50), p90: nearestRank(sorted, 90) };
}

/** ms → seconds to the millisecond, never negative. */
function seconds(ms: number): number {
  return Math.max(0, ms) / 1000;
}

class Tally {
  alarms = 0;
  occurrences = 0;
  ackWithinTarget = 0;
  pending = 0;
  private readonly ack: number[] = [];
  private readonly clear: number[] = [];

  add(a: KpiAlarm, targets: AckTargets, asOf: number): void {
    const target = targets[a.severity] * 1000;
    this.alarms++;
    this.occurrences += a.count;
    if (a.acknowledgedAt !== null) {
      const ms = Math.max(0, a.acknowledgedAt - a.firstAt);
      this.ack.push(seconds(ms));
      if (ms <= target) this.ackWithinTarget++;
    } else if (asOf - a.firstAt < target) {
      this.pending++;
    }
    if (a.clearedAt !== null) this.clear.push(seconds(a.clearedAt - a.firstAt));
  }

  figures(): KpiFigures {
    const judged = this.alarms - this.pending;
    return {
      alarms: this.alarms,
      occurrences: this.occurrences,
      acknowledged: this.ack.length,
      unacknowledged: this.alarms - this.ack.length,
      ackWithinTarget: this.ackWithinTarget,
      pending: this.pending,
      ackWithinTargetShare: judged === 0 ? null : this.ackWithinTarget / judged,
      timeToAck: percentiles(this.ack),
      cleared: this.clear.length,
      uncleared: this.alarms - this.clear.length,
      timeToClear: percentiles(this.clear),
    };
  }
}

function keyOf(a: KpiAlarm, by: KpiGrouping): string | null {
  switch (by) {
    case 'site':
      return a.site;
    case 'user':
      return a.acknowledgedBy;
    case 'severity':
      return a.severity;
    case 'rule':
      return a.rule;
  }
}

/**
 * Groups in a stable order: by severity from critical down; otherwise most alarms first, then
 * by key, the unacknowledged (key null) last.
 */
function compareGroups(by: KpiGrouping): (a: KpiGroup, b: KpiGroup) => number {
  if (by === 'severity') return (a, b) => SEVERITIES.indexOf(a.key as Severity) - SEVERITIES.indexOf(b.key as Severity);
  return (a, b) => {
    if ((a.key === null) !== (b.key === null)) return a.key === null ? 1 : -1;
    return b.alarms - a.alarms || (a.key ?? '').localeCompare(b.key ?? '');
  };
}

/** The figures built up one alarm at a time (the service adds them in slices of the event loop). */
export class KpiAccumulator {
  private readonly total = new Tally();
  private readonly groups = new Map<string | null, Tally>();

  constructor(private readonly opts: Omit<KpiInput, 'alarms'>) {}

  add(a: KpiAlarm): void {
    const { by, targets, asOf } = this.opts;
    this.total.add(a, targets, asOf);
    const key = keyOf(a, by);
    let tally = this.groups.get(key);
    if (tally === undefined) this.groups.set(key, (tally = new Tally()));
    tally.add(a, targets, asOf);
  }

  result(): KpiResult {
    const out: KpiGroup[] = [];
    for (const [key, tally] of this.groups) {
      const label = key === null ? undefined : this.opts.labels?.(key);
      out.push({ key, ...(label === undefined ? {} : { label }), ...tally.figures() });
    }
    return { groups: out.sort(compareGroups(this.opts.by)), total: this.total.figures() };
  }
}

export function responseKpis(input: KpiInput): KpiResult {
  const { alarms, ...opts } = input;
  const acc = new KpiAccumulator(opts);
  for (const a of alarms) acc.add(a);
  return acc.result();
}
