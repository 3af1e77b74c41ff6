/**
 * SQLite storage: one database file holds the event store and the registry, so one
 * connection (and one writer lock) serves both.
 */
import { openDatabase, type Database } from './database.ts';
import { SqliteEventStore } from './event-store.ts';
import { SqliteRegistry } from './registry.ts';

export { openDatabase, SCHEMA_VERSION, type Database, type OpenDatabaseOptions } from './database.ts';
export { SqliteEventStore, MAX_QUERY_LIMIT } from './event-store.ts';
export { SqliteRegistry, MAX_DEVICE_PAGE } from './registry.ts';
export { MIGRATIONS } from './migrations.ts';

export interface SqliteStorage {
  db: Database;
  events: SqliteEventStore;
  registry: SqliteRegistry;
  close(): void;
}

export function openSqliteStorage(file: string): SqliteStorage {
  const db = openDatabase(file);
  return {
    db,
    events: new SqliteEventStore(db),
    registry: new SqliteRegistry(db),
    close(): void {
      if (!db.open) return;
      // Lets SQLite refresh planner statistics for tables whose shape changed a lot; cheap,
      // and the SQLite docs recommend it right before closing a long-lived connection.
      db.pragma('optimize');
      db.close();
    },
  };
}
