/** SQLite, the storage layer's part: the database file with its schema, and the event store. */
export { openDatabase, SCHEMA_VERSION, type Database, type OpenDatabaseOptions } from './database.ts';
export { SqliteEventStore } from './event-store.ts';
export { MIGRATIONS } from './migrations.ts';
