/**
 * Where the rules engine keeps its timers across a restart: per (rule, source) a pending
 * duration timer ("door open for 5 min", due at `dueAt`) or a trigger not yet resolved (so the
 * "came back" that clears an alarm is not lost). The engine's in-memory timers are what runs;
 * this store is only written behind them (one `saveTurn` per turn of the event loop) and read
 * at start (`loadAll`, or `load(sites)` for a worker that takes over some sites).
 *
 * Implementations: sqlite-timer-store.ts (the `rule_timers` table of the SQLite file) and
 * postgres-timer-store.ts (STORETWIN_DATABASE_URL); both pass tests/rules/timer-store.contract.ts.
 */

/** What the engine needs back when the timer fires or the trigger resolves (JSON). */
export interface RuleTimerPayload {
  state: 'pending' | 'fired';
  site: string;
  zone: string | null;
  device: string | null;
  [k: string]: unknown;
}

export interface RuleTimer {
  rule: string;
  source: string;
  /** Unix ms (whole). */
  dueAt: number;
  payload: RuleTimerPayload;
}

export interface RuleTimerKey {
  rule: string;
  source: string;
}

export interface RuleTimerStore {
  /**
   * One turn's changes in one transaction: `removals` first, then `upserts` (a key in both is
   * kept; of two upserts of one key the later wins). Removing a key not stored is no error.
   */
  saveTurn(upserts: readonly RuleTimer[], removals: readonly RuleTimerKey[]): Promise<void>;
  /** Every stored timer, ordered by (rule, source). */
  loadAll(): Promise<RuleTimer[]>;
  /** The timers of these sites (`payload.site`), ordered by (rule, source). */
  load(sites: readonly string[]): Promise<RuleTimer[]>;
}

const byKey = (a: RuleTimerKey, b: RuleTimerKey): number => (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : a.source < b.source ? -1 : a.source > b.source ? 1 : 0);

/**
 * Last write of each key wins, in key order: two workers writing overlapping keys then lock
 * rows in the same order and cannot deadlock each other.
 */
export function lastPerKey(upserts: readonly RuleTimer[]): RuleTimer[] {
  const last = new Map<string, RuleTimer>();
  for (const t of upserts) last.set(`${t.rule}\u0000${t.source}`, t);
  return [...last.values()].sort(byKey);
}

/** Removals in key order (see lastPerKey). */
export function inKeyOrder(keys: readonly RuleTimerKey[]): RuleTimerKey[] {
  return [...keys].sort(byKey);
}
