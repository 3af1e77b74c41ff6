/**
 * Where alarms live: the alarm rows, their history and the outbox deliveries that announce
 * their changes, in one database so that one change commits all three together.
 *
 * Writes are changesets (`commit`): the alarm service decides every transition with the state
 * machine (state-machine.ts) and hands the store the outcome — rows to create or update, the
 * history entries they gained, the deliveries the planner made — which the store commits in ONE
 * transaction, or not at all.
 *
 * Concurrency is optimistic, so no transaction is held across the service's thinking:
 * - a `create` is an insert on the partial unique index alarms_live_rule_source (one live alarm
 *   per (rule, source), live from the raise until the close out) that does nothing on conflict:
 *   whatever the interleaving of workers, a second live row cannot exist;
 * - an `update` is a compare-and-set: it applies only while the row still holds the values the
 *   service read (`before`: state flags, count, times, escalation — GUARDED in rows.ts).
 * Either failing rolls the whole changeset back and `commit` answers `conflict`: the service
 * reads the rows again and decides again (another worker, the CLI or a second connection got
 * there first). A trigger racing another worker's raise thus becomes a repeat of that alarm.
 *
 * Implementations: sqlite-store.ts (the SQLite file, tables of migrations 3–4) and
 * postgres-store.ts (STORETWIN_DATABASE_URL); both pass tests/alarms/alarm-store.contract.ts.
 */
import type { AlarmWindowReader } from '../history/alarms.ts';
import type { NewDelivery } from '../notify/types.ts';
import type { Alarm, AlarmQuery, AlarmTransition, Severity } from './types.ts';

export { MAX_ALARM_PAGE, encodeAlarmCursor, decodeAlarmCursor } from './paging.ts';

/** One alarm row written by a changeset. */
export type AlarmWrite =
  /**
   * A freshly raised alarm (and its history entries, the `raised` one first): inserted unless a
   * live alarm exists for its (rule, source), which is a conflict.
   */
  | { kind: 'create'; alarm: Alarm; history: readonly AlarmTransition[] }
  /**
   * The mutable columns of an existing alarm, set to `after`, provided the row still is as
   * `before` (GUARDED columns, rows.ts); `history` holds the entries `after` gained.
   */
  | { kind: 'update'; before: Alarm; after: Alarm; history: readonly AlarmTransition[] };

export interface AlarmChangeset {
  /** In order: an alarm closed out earlier in the list frees its (rule, source) for a create after it. */
  writes: readonly AlarmWrite[];
  /** Outbox rows (an idempotency key already stored is left as it is). */
  deliveries: readonly NewDelivery[];
  /** Unix ms: the deliveries' created_at. */
  now: number;
}

/** `conflict`: nothing was written (see the header); read again and retry. */
export type CommitOutcome = 'committed' | 'conflict';

/**
 * An alarm's lifecycle times in Unix ms, for response KPIs. `acknowledgedAt` is its one
 * acknowledgement (the flag never drops once set); `clearedAt` its final clear — a re-trigger
 * that opens a cleared alarm again resets it — or null while it is open.
 */
export interface AlarmTimes {
  id: string;
  site: string;
  rule: string;
  severity: Severity;
  /** Occurrences folded into the alarm. */
  count: number;
  latched: boolean;
  firstAt: number;
  lastAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  clearedAt: number | null;
  clearedBy: string | null;
}

export interface AlarmStore extends AlarmWindowReader {
  /** One changeset in one transaction (see the header). */
  commit(changes: AlarmChangeset): Promise<CommitOutcome>;
  /** The alarm with its full history, oldest first. */
  get(id: string): Promise<Alarm | null>;
  /** The live alarm (not closed out) for (rule, source), with its history. */
  findLive(rule: string, source: string): Promise<Alarm | null>;
  /**
   * Every live alarm with its history — or only those of `sites` — ordered by (first_at, id):
   * the alarm service's view at start, and of the sites a worker takes over.
   */
  live(sites?: readonly string[]): Promise<Alarm[]>;
  /** Alarms not closed out (open, or cleared but unacknowledged), oldest first (first_at, id), without history. */
  open(site?: string): Promise<Alarm[]>;
  /**
   * A page of alarms, newest activity (last_at, id) first, without history. `from` inclusive,
   * `to` exclusive; keyset-paged, so rows raised while paging cannot shift a page.
   */
  list(q: AlarmQuery): Promise<{ items: Alarm[]; nextCursor: string | null }>;
  /**
   * Response KPIs: one page of `site`'s alarms raised (first_at) in [fromMs, toMs), after the
   * keyset `after` (exclusive), in (lastAt, id) order. An alarm repeating between two pages may
   * be read twice (the caller keeps the last copy by id), never skipped.
   */
  alarmTimes(site: string, fromMs: number, toMs: number, after: { lastAt: number; id: string } | null, limit: number): Promise<AlarmTimes[]>;
  /** Routes that already have a delivery for each alarm (in the order first told); alarms without any map to []. */
  notifiedRoutes(alarms: readonly string[]): Promise<Map<string, string[]>>;
}
