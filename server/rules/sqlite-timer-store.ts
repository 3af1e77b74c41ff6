/**
 * Rule timers in the SQLite file's `rule_timers` table (schema in
 * server/storage/sqlite/migrations.ts, step 3). The table has no site column: `load(sites)`
 * reads it from the payload, which is only done when a worker takes sites over.
 */
import type { Statement } from 'better-sqlite3';
import type { Database } from '../storage/sqlite/database.ts';
import { lastPerKey, type RuleTimer, type RuleTimerKey, type RuleTimerPayload, type RuleTimerStore } from './timer-store.ts';

interface Row {
  rule: string;
  source: string;
  due_at: number;
  payload: string;
}

const toTimer = (r: Row): RuleTimer => ({ rule: r.rule, source: r.source, dueAt: r.due_at, payload: JSON.parse(r.payload) as RuleTimerPayload });

export class SqliteRuleTimerStore implements RuleTimerStore {
  private stmts: { save: Statement<[string, string, number, string]>; remove: Statement<[string, string]>; all: Statement<[], Row> } | null = null;

  constructor(private readonly db: Database) {}

  // Prepared on first use: the constructor only stores what it is given.
  private get s(): NonNullable<SqliteRuleTimerStore['stmts']> {
    this.stmts ??= {
      save: this.db.prepare('INSERT OR REPLACE INTO rule_timers (rule, source, due_at, payload) VALUES (?, ?, ?, ?)'),
      remove: this.db.prepare('DELETE FROM rule_timers WHERE rule = ? AND source = ?'),
      all: this.db.prepare('SELECT rule, source, due_at, payload FROM rule_timers ORDER BY rule, source'),
    };
    return this.stmts;
  }

  // better-sqlite3 is synchronous: the whole turn commits before the returned promise exists.
  async saveTurn(upserts: readonly RuleTimer[], removals: readonly RuleTimerKey[]): Promise<void> {
    if (upserts.length === 0 && removals.length === 0) return;
    const { save, remove } = this.s;
    const rows = lastPerKey(upserts).map((t) => [t.rule, t.source, Math.round(t.dueAt), JSON.stringify(t.payload)] as const);
    this.db.transaction(() => {
      for (const k of removals) remove.run(k.rule, k.source);
      for (const r of rows) save.run(...r);
    }).immediate();
  }

  async loadAll(): Promise<RuleTimer[]> {
    return this.s.all.all().map(toTimer);
  }

  async load(sites: readonly string[]): Promise<RuleTimer[]> {
    if (sites.length === 0) return [];
    const rows = this.db
      .prepare(`SELECT rule, source, due_at, payload FROM rule_timers WHERE json_extract(payload, '$.site') IN (${sites.map(() => '?').join(', ')}) ORDER BY rule, source`)
      .all(...sites) as Row[];
    return rows.map(toTimer);
  }
}
