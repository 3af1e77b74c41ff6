/**
 * The SQLite file as the server, the CLI and tests open it: one database holds the event store
 * and every feature's tables, one connection serves them all (in the server, event batches are
 * written by a thread with a connection of its own: storage/sqlite/event-writer.ts), and the
 * registry's stores (devices, accounts, settings, twin snapshots, broker password lines) are
 * opened on it. A composition of the features, like stores.ts.
 */
import { SqliteAccountStore } from './auth/sqlite-store.ts';
import { SqliteBrokerPasswordStore } from './broker/external/sqlite-password-store.ts';
import { SqliteDeviceStore } from './registry/sqlite-store.ts';
import { SqliteSettingsStore } from './settings/sqlite-store.ts';
import { SqliteTwinStore } from './twin/sqlite-store.ts';
import { openDatabase, type Database } from './storage/sqlite/database.ts';
import { SqliteEventStore } from './storage/sqlite/event-store.ts';
import { EventWriterThread } from './storage/sqlite/event-writer.ts';


export interface SqliteStorage {
  db: Database;
  events: SqliteEventStore;
  /** Devices, their external ids and broker password lines (server/registry/store.ts). */
  devices: SqliteDeviceStore;
  /** Users, sessions, API tokens (server/auth/store.ts). */
  accounts: SqliteAccountStore;
  settings: SqliteSettingsStore;
  /** The twin's device-state snapshots (server/twin/store.ts). */
  snapshots: SqliteTwinStore;
  brokerPasswords: SqliteBrokerPasswordStore;
  close(): void;
}

export interface SqliteStorageOptions {
  /**
   * Write event batches in a thread of their own (event-writer.ts): what the server does.
   * Tools and most tests write on the one connection.
   */
  eventWriterThread?: boolean;
}

export function openSqliteStorage(file: string, opts: SqliteStorageOptions = {}): SqliteStorage {
  const db = openDatabase(file);
  const threaded = opts.eventWriterThread === true && file !== ':memory:' && file !== '';
  return {
    db,
    events: new SqliteEventStore(db, threaded ? new EventWriterThread(file) : null),
    devices: new SqliteDeviceStore(db),
    accounts: new SqliteAccountStore(db),
    settings: new SqliteSettingsStore(db),
    snapshots: new SqliteTwinStore(db),
    brokerPasswords: new SqliteBrokerPasswordStore(db),
    close(): void {
      if (!db.open) return;
      // Lets SQLite refresh planner statistics for tables whose shape changed a lot; cheap,
      // and the SQLite docs recommend it right before closing a long-lived connection.
      db.pragma('optimize');
      db.close();
    },
  };
}
