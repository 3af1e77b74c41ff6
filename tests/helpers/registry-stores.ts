/**
 * The registry's stores (devices, accounts, settings, twin snapshots, broker password lines) on
 * one database, for the contract suites: SQLite (a temp file) or PostgreSQL (a fresh schema on
 * a test cluster). `other` is the same database through a connection of its own — a second
 * worker (PostgreSQL) or a CLI process beside the server (SQLite).
 */
import { openSqliteStorage } from '../../server/sqlite-storage.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCOUNTS_PG_SCHEMA, PostgresAccountStore } from '../../server/auth/postgres-store.ts';
import type { AccountStore } from '../../server/auth/store.ts';
import type { BrokerPasswordStore } from '../../server/broker/external/password-store.ts';
import { BROKER_PASSWORDS_PG_SCHEMA, PostgresBrokerPasswordStore } from '../../server/broker/external/postgres-password-store.ts';
import { DEVICES_PG_SCHEMA, PostgresDeviceStore } from '../../server/registry/postgres-store.ts';
import type { DeviceStore } from '../../server/registry/store.ts';
import { PostgresSettingsStore, SETTINGS_PG_SCHEMA } from '../../server/settings/postgres-store.ts';
import type { SettingsStore } from '../../server/settings/store.ts';
import { migratePostgres, type PgSchema } from '../../server/storage/postgres/migrate.ts';
import { openPostgres, type Postgres } from '../../server/storage/postgres/postgres.ts';

import { PostgresTwinStore, TWIN_PG_SCHEMA } from '../../server/twin/postgres-store.ts';
import type { TwinStore } from '../../server/twin/store.ts';
import { freshPostgres, type PostgresServer } from './postgres.ts';
import { SqliteAccountStore } from '../../server/auth/sqlite-store.ts';
import { SqliteBrokerPasswordStore } from '../../server/broker/external/sqlite-password-store.ts';
import { SqliteDeviceStore } from '../../server/registry/sqlite-store.ts';
import { SqliteSettingsStore } from '../../server/settings/sqlite-store.ts';
import { SqliteTwinStore } from '../../server/twin/sqlite-store.ts';

export interface RegistryStores {
  devices: DeviceStore;
  accounts: AccountStore;
  settings: SettingsStore;
  twin: TwinStore;
  passwords: BrokerPasswordStore;
}

export type MakeRegistryStores = (opts?: { now?: () => number }) => Promise<{ stores: RegistryStores; other: RegistryStores; cleanup(): Promise<void> }>;

/** Devices before twin snapshots (a snapshot refers to its device). */
export const REGISTRY_PG_SCHEMAS: readonly PgSchema[] = [DEVICES_PG_SCHEMA, TWIN_PG_SCHEMA, ACCOUNTS_PG_SCHEMA, SETTINGS_PG_SCHEMA, BROKER_PASSWORDS_PG_SCHEMA];

export function sqliteRegistryStores(): MakeRegistryStores {
  return async (opts = {}) => {
    const dir = await mkdtemp(join(tmpdir(), 'stw-registry-'));
    const file = join(dir, 'storetwin.db');
    const a = openSqliteStorage(file);
    const b = openSqliteStorage(file);
    const of = (s: typeof a): RegistryStores => ({
      devices: new SqliteDeviceStore(s.db),
      accounts: new SqliteAccountStore(s.db),
      settings: new SqliteSettingsStore(s.db),
      twin: new SqliteTwinStore(s.db),
      passwords: new SqliteBrokerPasswordStore(s.db, opts.now),
    });
    return {
      stores: of(a),
      other: of(b),
      async cleanup() {
        b.close();
        a.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  };
}

export function postgresRegistryStores(server: () => PostgresServer): MakeRegistryStores {
  return async (opts = {}) => {
    const fresh = await freshPostgres(server());
    await migratePostgres(fresh.pg, REGISTRY_PG_SCHEMAS);
    const second = await openPostgres(server().url, { schema: fresh.schema });
    const of = (pg: Postgres): RegistryStores => ({
      devices: new PostgresDeviceStore(pg),
      accounts: new PostgresAccountStore(pg),
      settings: new PostgresSettingsStore(pg),
      twin: new PostgresTwinStore(pg),
      passwords: new PostgresBrokerPasswordStore(pg, opts.now),
    });
    return {
      stores: of(fresh.pg),
      other: of(second),
      async cleanup() {
        await second.close();
        await fresh.cleanup();
      },
    };
  };
}
