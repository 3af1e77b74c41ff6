/**
 * Rule timers in PostgreSQL. Unlike the SQLite table, the site is a column of its own (from
 * `payload.site`), indexed: a worker taking over sites loads only theirs. A turn is one
 * transaction of two set-based statements (DELETE … unnest, INSERT … unnest ON CONFLICT), so a
 * busy turn costs two round trips, not one per timer.
 */
import type { PgSchema } from '../storage/postgres/migrate.ts';
import { postgresError, type Postgres } from '../storage/postgres/postgres.ts';
import { inKeyOrder, lastPerKey, type RuleTimer, type RuleTimerKey, type RuleTimerPayload, type RuleTimerStore } from './timer-store.ts';

export const RULE_TIMERS_PG_SCHEMA: PgSchema = {
  feature: 'rule_timers',
  steps: [
    `CREATE TABLE rule_timers (
       rule    text        NOT NULL,
       source  text        NOT NULL,
       site    text        NOT NULL,
       due_at  timestamptz NOT NULL,
       payload jsonb       NOT NULL,
       PRIMARY KEY (rule, source)
     );
     CREATE INDEX rule_timers_site ON rule_timers (site);`,
  ],
};

interface Row {
  rule: string;
  source: string;
  due_at: Date;
  payload: RuleTimerPayload;
}

const toTimer = (r: Row): RuleTimer => ({ rule: r.rule, source: r.source, dueAt: r.due_at.getTime(), payload: r.payload });

// COLLATE "C": the same byte order as SQLite's ORDER BY, whatever the database's locale.
const SELECT = 'SELECT rule, source, due_at, payload FROM rule_timers';
const ORDER = 'ORDER BY rule COLLATE "C", source COLLATE "C"';

export class PostgresRuleTimerStore implements RuleTimerStore {
  constructor(private readonly pg: Postgres) {}

  async saveTurn(upserts: readonly RuleTimer[], removals: readonly RuleTimerKey[]): Promise<void> {
    if (upserts.length === 0 && removals.length === 0) return;
    const rows = lastPerKey(upserts);
    const gone = inKeyOrder(removals);
    try {
      await this.pg.transaction(async (client) => {
        if (gone.length > 0) {
          await client.query('DELETE FROM rule_timers t USING unnest($1::text[], $2::text[]) AS k(rule, source) WHERE t.rule = k.rule AND t.source = k.source', [
            gone.map((k) => k.rule),
            gone.map((k) => k.source),
          ]);
        }
        if (rows.length > 0) {
          await client.query(
            `INSERT INTO rule_timers (rule, source, site, due_at, payload)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])
             ON CONFLICT (rule, source) DO UPDATE SET site = EXCLUDED.site, due_at = EXCLUDED.due_at, payload = EXCLUDED.payload`,
            [
              rows.map((t) => t.rule),
              rows.map((t) => t.source),
              rows.map((t) => t.payload.site),
              rows.map((t) => new Date(Math.round(t.dueAt)).toISOString()),
              rows.map((t) => JSON.stringify(t.payload)),
            ],
          );
        }
      });
    } catch (err) {
      throw postgresError(err, 'save rule timers', this.pg.safeUrl);
    }
  }

  async loadAll(): Promise<RuleTimer[]> {
    try {
      const { rows } = await this.pg.query<Row>(`${SELECT} ${ORDER}`);
      return rows.map(toTimer);
    } catch (err) {
      throw postgresError(err, 'load rule timers', this.pg.safeUrl);
    }
  }

  async load(sites: readonly string[]): Promise<RuleTimer[]> {
    if (sites.length === 0) return [];
    try {
      const { rows } = await this.pg.query<Row>(`${SELECT} WHERE site = ANY($1::text[]) ${ORDER}`, [[...sites]]);
      return rows.map(toTimer);
    } catch (err) {
      throw postgresError(err, 'load rule timers', this.pg.safeUrl);
    }
  }
}
