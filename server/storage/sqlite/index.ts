/**
 * SQLite storage: one database file holds the event store and the registry. One connection
 * serves both; in the server, event batches are written by a thread with a connection of its own
 * (event-writer.ts).
 */
import { openDatabase, type Database } from './database.ts';
import { SqliteEventStore } from './event-store.ts';
import { EventWriterThread } from './event-writer.ts';
import { SqliteRegistry } from './registry.ts';

export { openDatabase, SCHEMA_VERSION, type Database, type OpenDatabaseOptions } from './database.ts';
export { SqliteEventStore } from './event-store.ts';
export { SqliteRegistry, MAX_DEVICE_PAGE } from './registry.ts';
export { MIGRATIONS } from './migrations.ts';

export interface SqliteStorage {
  db: Database;
  events: SqliteEventStore;
  registry: SqliteRegistry;
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
