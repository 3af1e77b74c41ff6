/**
 * Schema migrations for PostgreSQL, per feature. Each feature's store declares its own steps
 * (`PgSchema`: a name and an append-only list of SQL scripts); `migratePostgres` applies the
 * steps not yet applied, recorded in `storetwin_schema (feature, version)`.
 *
 * Safe when several workers start at once: the whole run holds a transaction-scoped advisory
 * lock, so the second worker waits, then finds every step applied. A step and its version bump
 * commit together (PostgreSQL's DDL is transactional). A database migrated by newer code than
 * this (a higher version than it knows) is refused, as SQLite's user_version check does.
 */
import { StoreTwinError } from '../../errors.ts';
import { postgresError, type Postgres } from './postgres.ts';

export interface PgSchema {
  /** Unique per feature: 'audit', 'alarms', 'registry'… */
  feature: string;
  /** Append-only: step i brings the feature from version i to i + 1. Never edit a released step. */
  steps: readonly string[];
}

/** pg_advisory_xact_lock key: any constant unique to StoreTwin's migrations ("STWMIGR" in hex-ish). */
const MIGRATION_LOCK = 0x5354574d49475200n;

export async function migratePostgres(db: Postgres, schemas: readonly PgSchema[]): Promise<void> {
  const names = new Set<string>();
  for (const s of schemas) {
    if (names.has(s.feature)) throw new Error(`two PostgreSQL schemas are named "${s.feature}"`);
    names.add(s.feature);
  }
  try {
    await db.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
      await client.query('CREATE TABLE IF NOT EXISTS storetwin_schema (feature text PRIMARY KEY, version integer NOT NULL)');
      const { rows } = await client.query<{ feature: string; version: number }>('SELECT feature, version FROM storetwin_schema');
      const current = new Map(rows.map((r) => [r.feature, r.version]));
      for (const schema of schemas) {
        const from = current.get(schema.feature) ?? 0;
        if (from > schema.steps.length) {
          throw new StoreTwinError('STW_ERR_STORAGE_UNAVAILABLE', `PostgreSQL schema "${schema.feature}" is at version ${from}, newer than this StoreTwin (${schema.steps.length}); refusing to use it with older code`, { url: db.safeUrl });
        }
        for (let i = from; i < schema.steps.length; i++) await client.query(schema.steps[i] as string);
        if (from < schema.steps.length) {
          await client.query('INSERT INTO storetwin_schema (feature, version) VALUES ($1, $2) ON CONFLICT (feature) DO UPDATE SET version = EXCLUDED.version', [schema.feature, schema.steps.length]);
        }
      }
    });
  } catch (err) {
    throw postgresError(err, 'migrate the PostgreSQL schema', db.safeUrl);
  }
}
