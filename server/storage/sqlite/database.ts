/**
 * Opens the StoreTwin SQLite database: durable settings, then the schema migrations.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { MIGRATIONS } from './migrations.ts';

export type Database = BetterSqlite3.Database;

export interface OpenDatabaseOptions {
  /** Open without write access (CLI inspection, backups). The file must exist and be migrated. */
  readonly?: boolean;
}

/**
 * How long a statement waits for another connection's lock (a CLI command running beside the
 * server, a backup) before failing with SQLITE_BUSY. Long enough to ride out a checkpoint,
 * short enough that ingest reports STW_ERR_STORAGE_FAILED instead of hanging.
 */
const BUSY_TIMEOUT_MS = 5_000;

/** Every connection's settings. */
export const CONNECTION_PRAGMAS: readonly string[] = [
  `busy_timeout = ${BUSY_TIMEOUT_MS}`,
  // SQLite ships with foreign keys off for backward compatibility; the registry's
  // ON DELETE CASCADE (a deleted device takes its external ids along) relies on them.
  'foreign_keys = ON',
];

/** A writing connection's settings, after CONNECTION_PRAGMAS (the event writer thread applies them too). */
export const WRITER_PRAGMAS: readonly string[] = [
  // WAL: readers (API queries) never block the writer (ingest), and a commit is one
  // sequential append to the -wal file instead of a rollback-journal dance.
  'journal_mode = WAL',
  // FULL, not WAL's usual NORMAL: with NORMAL a commit is not fsynced, so a power cut can
  // lose the last transactions. Ingest acknowledges a QoS 1 PUBLISH (PUBACK) once append()
  // resolves [MQTT-4.3.2-2]; losing that commit would lose an event the device was told is
  // stored and will never resend.
  'synchronous = FULL',
  // The events (device, ts) index takes each insert at the right edge of *that device's*
  // range, so a batch dirties about one leaf page per distinct device. Measured with 2,000
  // devices over 1M stored events, 500-row batches: 7–9k rows/s with the defaults (2 MiB
  // cache, checkpoint every 1,000 pages), 13–17k rows/s with these two. A cache big enough
  // for every device's hot leaf avoids re-reading them; rarer checkpoints copy a page that
  // many commits rewrote once instead of once per commit or two. The price: up to 64 MiB
  // of cache, a -wal file of ~40 MiB before a checkpoint, and the append that triggers it
  // waits for the copy.
  `cache_size = ${-64 * 1024}`, // negative = KiB
  'wal_autocheckpoint = 10000', // pages of 4 KiB
  // Bound the -wal file after a checkpoint so it does not stay at its high-water mark.
  `journal_size_limit = ${64 * 1024 * 1024}`,
];

/** The schema version this code expects: one per migration. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export function openDatabase(file: string, opts: OpenDatabaseOptions = {}): Database {
  const readonly = opts.readonly === true;
  const inMemory = file === ':memory:' || file === '';
  if (!readonly && !inMemory) mkdirSync(dirname(file), { recursive: true });

  const db = new BetterSqlite3(file, { readonly, fileMustExist: readonly });
  try {
    for (const pragma of CONNECTION_PRAGMAS) db.pragma(pragma);

    if (readonly) {
      const version = userVersion(db);
      if (version !== SCHEMA_VERSION) {
        throw new Error(`${file}: schema version ${version}, this StoreTwin expects ${SCHEMA_VERSION}; open it read-write once to migrate`);
      }
      return db;
    }

    for (const pragma of WRITER_PRAGMAS) db.pragma(pragma);
    migrate(db, file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function userVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Database, file: string): void {
  // IMMEDIATE takes the write lock before reading the version, so two processes opening a
  // fresh file at once cannot both run migration 1.
  const step = db.transaction((index: number, sql: string) => {
    if (userVersion(db) !== index) return;
    db.exec(sql);
    // user_version lives in the database header, which is written inside the transaction:
    // the schema change and the version bump commit or roll back together.
    db.pragma(`user_version = ${index + 1}`);
  });

  const current = userVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new Error(`${file}: schema version ${current} is newer than this StoreTwin (${SCHEMA_VERSION}); refusing to open it with older code`);
  }
  for (let i = current; i < MIGRATIONS.length; i++) {
    step.immediate(i, MIGRATIONS[i] as string);
  }
}
