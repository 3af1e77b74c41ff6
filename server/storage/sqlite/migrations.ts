/**
 * The SQLite schema as numbered migrations. Migration N (1-based) brings a database from
 * `PRAGMA user_version = N - 1` to `N`; openDatabase() runs the missing ones in order, each
 * in its own transaction together with the version bump.
 *
 * APPEND-ONLY: a released migration is never edited or reordered, because databases in the
 * field have already run it and would never see the change. Fix a mistake with a new entry.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the event store.
  `
  CREATE TABLE events (
    id          INTEGER PRIMARY KEY,  -- the rowid: increasing in insertion order
    site        TEXT    NOT NULL,
    device      TEXT    NOT NULL,
    device_type TEXT    NOT NULL,
    zone        TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    seq         INTEGER,
    ts          INTEGER NOT NULL,     -- Unix ms
    received_at INTEGER NOT NULL,     -- Unix ms
    data        TEXT    NOT NULL      -- the DeviceEvent as JSON
  );
  -- Every index costs on every insert (events is the hot table), so only the access paths
  -- queries need. A rowid table's index entries end with the rowid, so (site, ts) is really
  -- (site, ts, id): keyset pages ordered by (ts, id) read it in order, with no sort step.
  CREATE INDEX events_site_ts ON events (site, ts);
  CREATE INDEX events_device_ts ON events (device, ts);
  -- recentSeqs() only: partial, so events without a seq cost nothing here. received_at
  -- grows with insertion, so inserts append at the right edge of this b-tree.
  CREATE INDEX events_received_at ON events (received_at) WHERE seq IS NOT NULL;
  `,

  // 2: the registry.
  `
  CREATE TABLE devices (
    id          TEXT    PRIMARY KEY,
    site        TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    zone        TEXT    NOT NULL,
    label       TEXT,
    position    TEXT,                 -- JSON [x, y, z] or NULL
    secret_hash TEXT    NOT NULL,
    enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    created_at  INTEGER NOT NULL,     -- Unix ms
    updated_at  INTEGER NOT NULL
  ) WITHOUT ROWID;

  -- One row per (device, platform) so that the database itself enforces that an external id
  -- belongs to one device, and lookups by external id are an index search.
  CREATE TABLE device_external_ids (
    device      TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    platform    TEXT NOT NULL,
    external_id TEXT NOT NULL,
    PRIMARY KEY (device, platform),
    UNIQUE (platform, external_id)
  ) WITHOUT ROWID;

  CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    -- NOCASE: 'Alice' and 'alice' are one user (ASCII letters only: SQLite's NOCASE folds A-Z).
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'manager', 'operator', 'technician')),
    sites         TEXT    NOT NULL,   -- JSON array of site ids; [] = all sites
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
  );

  CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('session', 'api')),
    name       TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER                -- NULL = never (API tokens)
  ) WITHOUT ROWID;
  -- ON DELETE CASCADE from users looks sessions up by user_id.
  CREATE INDEX sessions_user ON sessions (user_id);

  CREATE TABLE device_states (
    device     TEXT    PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    state      TEXT    NOT NULL,      -- JSON object
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
];
