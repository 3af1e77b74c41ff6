/**
 * Replay arithmetic, free of the DOM: the state at an instant is the history's state at
 * `from` with every change up to that instant applied in order. Changes are sorted by time,
 * so a binary search finds how many apply and scrubbing never rescans from the start more
 * than it has to.
 */
import type { Alarm } from '../../server/alarms/types.ts';
import type { SiteState } from '../../server/twin/types.ts';

/** A change in the history feed: [tMs, 'd' device | 'z' zone, id, field, value]. */
export type HistoryChange = [number, 'd' | 'z', string, string, unknown];
/** An alarm as the history feed lists it: enough for the replayed console and the timeline marks. */
export type ReplayAlarm = Pick<Alarm, 'id' | 'severity' | 'zone' | 'device' | 'rule' | 'message' | 'firstAt' | 'acknowledgedAt' | 'clearedAt'>;
export interface History {
  site: string;
  from: string;
  to: string;
  /** The first event the history was folded from; null: none at all. Absent from older servers. */
  dataFrom?: string | null;
  state: SiteState;
  changes: HistoryChange[];
  alarms: ReplayAlarm[];
}

/** Index of the first change after `t` (= number of changes at or before `t`). */
export function changesUpTo(changes: readonly HistoryChange[], t: number): number {
  let lo = 0;
  let hi = changes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((changes[mid]?.[0] ?? Infinity) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function stateAt(base: SiteState, changes: readonly HistoryChange[], t: number): SiteState {
  const state = structuredClone(base);
  const n = changesUpTo(changes, t);
  for (const change of changes.slice(0, n)) applyChange(state, change);
  return state;
}

export function applyChange(state: SiteState, [, kind, id, field, value]: HistoryChange): void {
  const table = (kind === 'd' ? state.devices : state.zones) as unknown as Record<string, Record<string, unknown>>;
  const entry = table[id];
  // A change for something the base state does not hold (a device registered after `from`)
  // starts a partial record; the twin ignores fields it does not know.
  if (entry) entry[field] = value;
  else table[id] = { id, site: state.site, [field]: value };
}

/** Alarms open at `t`: raised at or before it and not cleared by then. */
export function openAt(alarms: readonly ReplayAlarm[], t: number): Alarm[] {
  return alarms.filter((a) => Date.parse(a.firstAt) <= t && (a.clearedAt === null || Date.parse(a.clearedAt) > t)).map((a) => asOf(a, t));
}

/** The alarm as it stood at `t`, in the console's shape. */
function asOf(a: ReplayAlarm, t: number): Alarm {
  const acknowledged = a.acknowledgedAt !== null && Date.parse(a.acknowledgedAt) <= t;
  return {
    ...a,
    site: '',
    source: a.device ?? a.zone ?? '',
    state: acknowledged ? 'acknowledged' : 'active',
    acknowledged,
    count: 1,
    lastAt: a.firstAt,
    acknowledgedBy: null,
    clearedBy: null,
    escalationLevel: 0,
    snapshot: null,
    latched: false,
    restoredAt: null,
    chattering: false,
    details: {},
    history: [],
  };
}

export const SPEEDS = [1, 10, 60, 300, 900, 3600] as const;

/**
 * Until when the window has no data: the first event the server folded the history from, held
 * to the window; the whole window when there was none, none of it when the server did not say.
 */
export function noDataUntil(h: Pick<History, 'from' | 'to' | 'dataFrom'>): number {
  const from = Date.parse(h.from);
  const to = Date.parse(h.to);
  if (h.dataFrom === undefined) return from;
  if (h.dataFrom === null) return to;
  return Math.max(from, Math.min(to, Date.parse(h.dataFrom)));
}

/** Marks drawn closer than this many pixels merge into one (a cluster, labelled ×N, up to ~32 px wide). */
export const CLUSTER_PX = 32;

export interface Cluster<T> {
  /**
   * Where it is drawn: at its first item, in px from the window start. Two clusters are then
   * always more than the gap apart, so their labels never overlap.
   */
  x: number;
  /** The first item's time (a click jumps there). */
  at: number;
  items: T[];
}

/**
 * Groups items whose marks would fall within `gapPx` of the first mark of their group, on a
 * `widthPx` wide line from `fromMs` to `toMs`. Items come out in time order.
 */
export function clusterByPixels<T>(items: readonly T[], at: (item: T) => number, fromMs: number, toMs: number, widthPx: number, gapPx = CLUSTER_PX): Array<Cluster<T>> {
  const span = Math.max(1, toMs - fromMs);
  const px = (t: number) => ((t - fromMs) / span) * widthPx;
  const sorted = [...items].sort((a, b) => at(a) - at(b));
  const clusters: Array<Cluster<T>> = [];
  for (const item of sorted) {
    const x = px(at(item));
    const last = clusters[clusters.length - 1];
    if (last && x - last.x <= gapPx) last.items.push(item);
    else clusters.push({ x, at: at(item), items: [item] });
  }
  return clusters;
}
