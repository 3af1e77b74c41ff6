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
