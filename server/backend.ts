/**
 * Where everything transactional is kept: the SQLite file beside the data (one box), or
 * PostgreSQL when STORETWIN_DATABASE_URL is set (several workers share it). With PostgreSQL
 * every feature's schema is migrated here, at start, before any store is used; two workers
 * starting at once are safe (migrate.ts).
 */
import { ALARMS_PG_SCHEMA } from './alarms/postgres-store.ts';
import { ARMING_PG_SCHEMA } from './arming/postgres-store.ts';
import { AUDIT_PG_SCHEMA } from './audit/postgres-store.ts';
import { ACCOUNTS_PG_SCHEMA } from './auth/postgres-store.ts';
import { BROKER_PASSWORDS_PG_SCHEMA } from './broker/external/postgres-password-store.ts';
import { CLUSTER_PG_SCHEMA } from './cluster/lease-store.ts';
import { INTEGRATIONS_PG_SCHEMA } from './integrations/postgres-store.ts';
import { SNAPSHOTS_PG_SCHEMA } from './linkage/postgres-store.ts';
import { DEVICES_PG_SCHEMA } from './registry/postgres-store.ts';
import { RULES_PG_SCHEMA } from './rules/postgres-definition-store.ts';
import { RULE_TIMERS_PG_SCHEMA } from './rules/postgres-timer-store.ts';
import { SETTINGS_PG_SCHEMA } from './settings/postgres-store.ts';
import type { StorageBackend } from './storage/backend.ts';
import { migratePostgres, type PgSchema } from './storage/postgres/migrate.ts';
import { openPostgres } from './storage/postgres/postgres.ts';
import type { Database } from './storage/sqlite/database.ts';
import { TWIN_PG_SCHEMA } from './twin/postgres-store.ts';

/** Every feature's PostgreSQL schema. A new feature store adds its own here. */
export const PG_SCHEMAS: readonly PgSchema[] = [
  DEVICES_PG_SCHEMA,
  ACCOUNTS_PG_SCHEMA,
  SETTINGS_PG_SCHEMA,
  TWIN_PG_SCHEMA,
  BROKER_PASSWORDS_PG_SCHEMA,
  ALARMS_PG_SCHEMA,
  RULES_PG_SCHEMA,
  ARMING_PG_SCHEMA,
  RULE_TIMERS_PG_SCHEMA,
  AUDIT_PG_SCHEMA,
  INTEGRATIONS_PG_SCHEMA,
  SNAPSHOTS_PG_SCHEMA,
  CLUSTER_PG_SCHEMA,
];

export interface OpenedBackend {
  backend: StorageBackend;
  close(): Promise<void>;
}

/** PostgreSQL (opened and migrated) when `databaseUrl` is set, else the SQLite database given. */
export async function openBackend(databaseUrl: string | undefined, sqlite: Database): Promise<OpenedBackend> {
  if (databaseUrl === undefined) return { backend: { kind: 'sqlite', db: sqlite }, close: async () => {} };
  const pg = await openPostgres(databaseUrl);
  try {
    await migratePostgres(pg, PG_SCHEMAS);
  } catch (err) {
    await pg.close();
    throw err;
  }
  return { backend: { kind: 'postgres', pg }, close: () => pg.close() };
}
