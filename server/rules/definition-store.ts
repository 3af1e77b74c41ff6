/**
 * Where rule definitions are kept: the rules synced from the YAML files (origin 'file', all
 * replaced at once on every reload) and those created over the API (origin 'api'). RuleStore
 * (store.ts) keeps the in-memory view the engine reads; this is only its table.
 *
 * Every change that must hold together is one call: a file sync either replaces every file
 * rule or, when one of its ids belongs to an API rule, writes nothing; an API write touches
 * only API rules, so a file rule can never be overwritten or removed over the API, whatever
 * another worker did meanwhile.
 *
 * Implementations: sqlite-definition-store.ts (the `rules` table of the SQLite file) and
 * postgres-definition-store.ts; both pass tests/rules/definition-store.contract.ts.
 */
import type { StoreChangeListener } from '../storage/postgres/changes.ts';
import type { Rule } from './schema.ts';

export type RuleOrigin = 'file' | 'api';

export interface StoredRule {
  rule: Rule;
  origin: RuleOrigin;
  /** Unix ms of the last write. */
  updatedAt: number;
}

export interface RuleDefinitionStore {
  /** Every rule: file rules first, then API rules, each by id (byte order). */
  list(): Promise<StoredRule[]>;
  /**
   * Replaces every file rule by `rules`, in one transaction. When an id among them belongs to an
   * API rule nothing is written and those ids are answered (sorted), else `conflicts` is empty.
   */
  replaceFileRules(rules: readonly Rule[], atMs: number): Promise<{ conflicts: string[] }>;
  /** Adds an API rule; false (nothing written) when its id is taken, by either origin. */
  insertApiRule(rule: Rule, atMs: number): Promise<boolean>;
  /** Replaces the API rule of `rule.id`; false (nothing written) when there is no API rule of that id. */
  updateApiRule(rule: Rule, atMs: number): Promise<boolean>;
  /** Removes an API rule; false when there is no API rule of that id. */
  removeApiRule(id: string): Promise<boolean>;
  /**
   * Hears changes written through OTHER processes (PostgreSQL: LISTEN/NOTIFY, each write
   * announced in its transaction; `site: null` for a file sync, a removal, or after a lost
   * connection). Absent on SQLite: the server is the file's only writer of the table (the CLI
   * does not write rules; edited rule files reach it through its directory watch).
   * Resolves, once listening, to the unsubscribe: a load after it misses nothing.
   */
  onChange?(listener: StoreChangeListener): Promise<() => void>;
}
