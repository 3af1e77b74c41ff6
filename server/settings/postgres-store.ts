/** Settings in PostgreSQL: the same answers as the SQLite store (tests/settings/ runs both). */
import type pg from 'pg';
import type { PgSchema } from '../storage/postgres/migrate.ts';
import { postgresError, type Postgres } from '../storage/postgres/postgres.ts';
import type { SettingsStore } from './store.ts';

export const SETTINGS_PG_SCHEMA: PgSchema = {
  feature: 'settings',
  steps: ['CREATE TABLE settings (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)'],
};

export class PostgresSettingsStore implements SettingsStore {
  constructor(private readonly pg: Postgres) {}

  async get(key: string): Promise<string | null> {
    const { rows } = await this.run<{ value: string }>('read a setting', 'SELECT value FROM settings WHERE key = $1', [key]);
    return rows[0]?.value ?? null;
  }

  async set(key: string, value: string | null): Promise<void> {
    if (value === null) await this.run('delete a setting', 'DELETE FROM settings WHERE key = $1', [key]);
    else await this.run('write a setting', 'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, value]);
  }

  async compareAndSet(key: string, expected: string | null, value: string | null): Promise<boolean> {
    // One statement each way, so the comparison and the change cannot be split by another worker.
    if (expected === null) {
      if (value === null) return (await this.get(key)) === null;
      const { rowCount } = await this.run('write a setting', 'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
      return (rowCount ?? 0) > 0;
    }
    const { rowCount } =
      value === null
        ? await this.run('delete a setting', 'DELETE FROM settings WHERE key = $1 AND value = $2', [key, expected])
        : await this.run('write a setting', 'UPDATE settings SET value = $3 WHERE key = $1 AND value = $2', [key, expected, value]);
    return (rowCount ?? 0) > 0;
  }

  private async run<R extends pg.QueryResultRow>(doing: string, sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pg.query<R>(sql, params);
    } catch (err) {
      throw postgresError(err, doing, this.pg.safeUrl);
    }
  }
}
