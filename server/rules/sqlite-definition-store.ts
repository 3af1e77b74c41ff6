/**
 * Rule definitions in the SQLite file's `rules` table (server/storage/sqlite/migrations.ts,
 * step 3). A file sync runs as an IMMEDIATE transaction: it holds the write lock from its first
 * read, so no API write from another connection lands between its conflict check and its writes.
 */
import type { Database } from '../storage/sqlite/database.ts';
import type { RuleDefinitionStore, RuleOrigin, StoredRule } from './definition-store.ts';
import type { Rule } from './schema.ts';

interface Row {
  id: string;
  origin: RuleOrigin;
  definition: string;
  updated_at: number;
}

export class SqliteRuleDefinitionStore implements RuleDefinitionStore {
  constructor(private readonly db: Database) {}

  async list(): Promise<StoredRule[]> {
    // 'file' > 'api': file rules first.
    const rows = this.db.prepare('SELECT id, origin, definition, updated_at FROM rules ORDER BY origin DESC, id').all() as Row[];
    return rows.map((r) => ({ rule: JSON.parse(r.definition) as Rule, origin: r.origin, updatedAt: r.updated_at }));
  }

  async replaceFileRules(rules: readonly Rule[], atMs: number): Promise<{ conflicts: string[] }> {
    const ids = new Set(rules.map((r) => r.id));
    const insert = this.db.prepare("INSERT INTO rules (id, site, origin, enabled, definition, updated_at) VALUES (?, ?, 'file', ?, ?, ?)");
    return this.db
      .transaction(() => {
        const api = this.db.prepare("SELECT id FROM rules WHERE origin = 'api' ORDER BY id").all() as Array<{ id: string }>;
        const conflicts = api.map((r) => r.id).filter((id) => ids.has(id));
        if (conflicts.length > 0) return { conflicts };
        this.db.prepare("DELETE FROM rules WHERE origin = 'file'").run();
        for (const rule of rules) insert.run(rule.id, rule.site, rule.enabled ? 1 : 0, JSON.stringify(rule), Math.round(atMs));
        return { conflicts: [] };
      })
      .immediate();
  }

  async insertApiRule(rule: Rule, atMs: number): Promise<boolean> {
    const info = this.db
      .prepare("INSERT INTO rules (id, site, origin, enabled, definition, updated_at) VALUES (?, ?, 'api', ?, ?, ?) ON CONFLICT (id) DO NOTHING")
      .run(rule.id, rule.site, rule.enabled ? 1 : 0, JSON.stringify(rule), Math.round(atMs));
    return info.changes === 1;
  }

  async updateApiRule(rule: Rule, atMs: number): Promise<boolean> {
    const info = this.db
      .prepare("UPDATE rules SET site = ?, enabled = ?, definition = ?, updated_at = ? WHERE id = ? AND origin = 'api'")
      .run(rule.site, rule.enabled ? 1 : 0, JSON.stringify(rule), Math.round(atMs), rule.id);
    return info.changes === 1;
  }

  async removeApiRule(id: string): Promise<boolean> {
    return this.db.prepare("DELETE FROM rules WHERE id = ? AND origin = 'api'").run(id).changes === 1;
  }
}
