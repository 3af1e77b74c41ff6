/**
 * Rule definitions in PostgreSQL. A file sync takes the table's SHARE ROW EXCLUSIVE lock for
 * its transaction: two workers reloading the same files at once, or an API write meanwhile,
 * wait for it instead of interleaving (reads go on). Syncs are rare and short; the lock keeps
 * "every file rule replaced, or nothing" true without a retry loop.
 *
 * Every write that changed something announces itself in its transaction (feature 'rules',
 * server/storage/postgres/changes.ts): the other workers' RuleStore re-reads its view.
 */
import type { PgSchema } from '../storage/postgres/migrate.ts';
import { storeChanges, type StoreChangeListener } from '../storage/postgres/changes.ts';
import { postgresError, type PgClient, type Postgres } from '../storage/postgres/postgres.ts';
import type { RuleDefinitionStore, RuleOrigin, StoredRule } from './definition-store.ts';
import type { Rule } from './schema.ts';

export const RULES_PG_SCHEMA: PgSchema = {
  feature: 'rules',
  steps: [
    `CREATE TABLE rules (
       id         text        PRIMARY KEY,
       site       text        NOT NULL,
       origin     text        NOT NULL CHECK (origin IN ('file', 'api')),
       enabled    boolean     NOT NULL,
       definition jsonb       NOT NULL,
       updated_at timestamptz NOT NULL
     )`,
  ],
};

interface Row {
  origin: RuleOrigin;
  definition: Rule;
  updated_at: Date;
}

const iso = (ms: number) => new Date(Math.round(ms)).toISOString();
const FEATURE = 'rules';

export class PostgresRuleDefinitionStore implements RuleDefinitionStore {
  constructor(private readonly pg: Postgres) {}

  onChange(listener: StoreChangeListener): Promise<() => void> {
    return storeChanges(this.pg).subscribe(FEATURE, listener);
  }

  private async run<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw postgresError(err, doing, this.pg.safeUrl);
    }
  }

  list(): Promise<StoredRule[]> {
    return this.run('read the rules', async () => {
      const { rows } = await this.pg.query<Row>('SELECT origin, definition, updated_at FROM rules ORDER BY origin DESC, id COLLATE "C"');
      return rows.map((r) => ({ rule: r.definition, origin: r.origin, updatedAt: r.updated_at.getTime() }));
    });
  }

  replaceFileRules(rules: readonly Rule[], atMs: number): Promise<{ conflicts: string[] }> {
    return this.run('store the rule files', () =>
      this.pg.transaction(async (client) => {
        await client.query('LOCK TABLE rules IN SHARE ROW EXCLUSIVE MODE');
        const ids = rules.map((r) => r.id);
        const { rows } = await client.query<{ id: string }>(`SELECT id FROM rules WHERE origin = 'api' AND id = ANY($1::text[]) ORDER BY id COLLATE "C"`, [ids]);
        if (rows.length > 0) return { conflicts: rows.map((r) => r.id) };
        await client.query("DELETE FROM rules WHERE origin = 'file'");
        if (rules.length > 0) {
          await client.query(
            `INSERT INTO rules (id, site, origin, enabled, definition, updated_at)
             SELECT id, site, 'file', enabled, definition, $5::timestamptz FROM unnest($1::text[], $2::text[], $3::boolean[], $4::jsonb[]) AS r(id, site, enabled, definition)`,
            [ids, rules.map((r) => r.site), rules.map((r) => r.enabled), rules.map((r) => JSON.stringify(r)), iso(atMs)],
          );
        }
        await storeChanges(this.pg).notify(client, FEATURE);
        return { conflicts: [] };
      }),
    );
  }

  insertApiRule(rule: Rule, atMs: number): Promise<boolean> {
    return this.write('store a rule', rule.site, async (client) => {
      const { rowCount } = await client.query(
        "INSERT INTO rules (id, site, origin, enabled, definition, updated_at) VALUES ($1, $2, 'api', $3, $4::jsonb, $5) ON CONFLICT (id) DO NOTHING",
        [rule.id, rule.site, rule.enabled, JSON.stringify(rule), iso(atMs)],
      );
      return rowCount === 1;
    });
  }

  updateApiRule(rule: Rule, atMs: number): Promise<boolean> {
    return this.write('store a rule', rule.site, async (client) => {
      const { rowCount } = await client.query("UPDATE rules SET site = $2, enabled = $3, definition = $4::jsonb, updated_at = $5 WHERE id = $1 AND origin = 'api'", [
        rule.id,
        rule.site,
        rule.enabled,
        JSON.stringify(rule),
        iso(atMs),
      ]);
      return rowCount === 1;
    });
  }

  removeApiRule(id: string): Promise<boolean> {
    return this.write('remove a rule', null, async (client) => {
      const { rowCount } = await client.query("DELETE FROM rules WHERE id = $1 AND origin = 'api'", [id]);
      return rowCount === 1;
    });
  }

  /** One statement in a transaction that announces the change when it wrote something (true). */
  private write(doing: string, site: string | null, fn: (client: PgClient) => Promise<boolean>): Promise<boolean> {
    return this.run(doing, () =>
      this.pg.transaction(async (client) => {
        const written = await fn(client);
        if (written) await storeChanges(this.pg).notify(client, FEATURE, site ?? undefined);
        return written;
      }),
    );
  }
}
