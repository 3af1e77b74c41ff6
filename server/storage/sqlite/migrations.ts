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

  // 3: rules, alarms and their notification outbox, snapshots, arming and maintenance.
  `
  -- Rules from files (origin 'file', replaced on reload) and from the API (origin 'api').
  CREATE TABLE rules (
    id         TEXT    PRIMARY KEY,
    site       TEXT    NOT NULL,      -- a site id, or '*' for every site
    origin     TEXT    NOT NULL CHECK (origin IN ('file', 'api')),
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    definition TEXT    NOT NULL,      -- the validated rule as JSON
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  -- Pending rule timers ("door open longer than 5 min"), so they survive a restart.
  CREATE TABLE rule_timers (
    rule    TEXT    NOT NULL,
    source  TEXT    NOT NULL,
    due_at  INTEGER NOT NULL,         -- Unix ms
    payload TEXT    NOT NULL,         -- JSON: what the rule needs when the timer fires
    PRIMARY KEY (rule, source)
  ) WITHOUT ROWID;

  CREATE TABLE alarms (
    id              TEXT    PRIMARY KEY,
    site            TEXT    NOT NULL,
    zone            TEXT,
    device          TEXT,
    rule            TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    severity        TEXT    NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning', 'info')),
    open            INTEGER NOT NULL CHECK (open IN (0, 1)),
    acknowledged    INTEGER NOT NULL CHECK (acknowledged IN (0, 1)),
    message         TEXT    NOT NULL, -- JSON {en, zh-CN}
    count           INTEGER NOT NULL,
    first_at        INTEGER NOT NULL,
    last_at         INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by TEXT,
    cleared_at      INTEGER,
    cleared_by      TEXT,
    escalation      INTEGER NOT NULL DEFAULT 0,
    snapshot        TEXT,             -- JSON SnapshotStatus
    details         TEXT    NOT NULL  -- JSON
  ) WITHOUT ROWID;
  -- Dedupe by construction: at most one OPEN alarm per (rule, source); a repeated trigger
  -- is an upsert on this index, so no interleaving can create a second one.
  CREATE UNIQUE INDEX alarms_open_rule_source ON alarms (rule, source) WHERE open = 1;
  CREATE INDEX alarms_site_last ON alarms (site, last_at);
  CREATE INDEX alarms_open_site ON alarms (site) WHERE open = 1;

  CREATE TABLE alarm_history (
    id       INTEGER PRIMARY KEY,
    alarm    TEXT    NOT NULL REFERENCES alarms (id) ON DELETE CASCADE,
    at       INTEGER NOT NULL,
    by       TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    comment  TEXT,
    detail   TEXT                     -- JSON
  );
  CREATE INDEX alarm_history_alarm ON alarm_history (alarm, id);

  -- The outbox: written in the same transaction as the alarm change it announces, delivered
  -- at least once by the notify worker.
  CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT    NOT NULL UNIQUE,
    alarm           TEXT    NOT NULL,
    site            TEXT    NOT NULL,
    channel         TEXT    NOT NULL, -- 'webhook' | 'email'
    route           TEXT    NOT NULL, -- the route (recipient) id from the notify config
    payload         TEXT    NOT NULL, -- JSON, as the channel will send it
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
  );
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
  CREATE INDEX deliveries_alarm ON deliveries (alarm);

  -- Camera snapshots, content-addressed (sha256 of the JPEG).
  CREATE TABLE snapshots (
    id          TEXT    PRIMARY KEY,  -- sha256 hex
    site        TEXT    NOT NULL,
    camera      TEXT    NOT NULL,
    bytes       INTEGER NOT NULL,
    taken_at    INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX snapshots_taken ON snapshots (taken_at);

  -- Manual arming overrides (the schedule in the site file applies when there is none).
  CREATE TABLE zone_arming (
    site       TEXT    NOT NULL,
    zone       TEXT    NOT NULL,
    armed      INTEGER NOT NULL CHECK (armed IN (0, 1)),
    by         TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    until_at   INTEGER,               -- NULL = until changed
    PRIMARY KEY (site, zone)
  ) WITHOUT ROWID;

  -- Maintenance windows: alarms from these devices or zones are suppressed (and recorded).
  CREATE TABLE maintenance (
    id         INTEGER PRIMARY KEY,
    site       TEXT    NOT NULL,
    zone       TEXT,
    device     TEXT,
    by         TEXT    NOT NULL,
    reason     TEXT,
    from_at    INTEGER NOT NULL,
    until_at   INTEGER NOT NULL,
    CHECK (zone IS NOT NULL OR device IS NOT NULL)
  );
  CREATE INDEX maintenance_until ON maintenance (until_at);
  `,

  // 4: one alarm per incident (ISA-18.2): an alarm takes re-triggers until it is closed out
  // (acknowledged and cleared), not only while open; latched security alarms record when their
  // condition was restored; chattering sources are marked.
  `
  ALTER TABLE alarms ADD COLUMN latched     INTEGER NOT NULL DEFAULT 0 CHECK (latched IN (0, 1));
  ALTER TABLE alarms ADD COLUMN restored_at INTEGER;
  ALTER TABLE alarms ADD COLUMN chattering  INTEGER NOT NULL DEFAULT 0 CHECK (chattering IN (0, 1));
  -- live = 1: the alarm that takes the re-triggers of its (rule, source). It is 1 from the raise
  -- until the close out. Older databases may hold several cleared-unacknowledged alarms of one
  -- source (each flap made one): the newest becomes live, the others stay listed until someone
  -- acknowledges them but take no re-triggers.
  ALTER TABLE alarms ADD COLUMN live        INTEGER NOT NULL DEFAULT 0 CHECK (live IN (0, 1));
  UPDATE alarms SET live = 1
   WHERE (open = 1 OR acknowledged = 0)
     AND NOT EXISTS (SELECT 1 FROM alarms AS newer
                      WHERE newer.rule = alarms.rule AND newer.source = alarms.source
                        AND (newer.open = 1 OR newer.acknowledged = 0)
                        AND (newer.first_at, newer.id) > (alarms.first_at, alarms.id));
  DROP INDEX alarms_open_rule_source;
  CREATE UNIQUE INDEX alarms_live_rule_source ON alarms (rule, source) WHERE live = 1;
  -- "Not closed out" lists (the console, state=open) and the escalation timers after a restart.
  DROP INDEX alarms_open_site;
  CREATE INDEX alarms_pending_site ON alarms (site) WHERE open = 1 OR acknowledged = 0;
  `,

  // 5: the audit log (server/audit): people's actions, append-only. No foreign key to users:
  // an entry outlives the account that made it.
  `
  CREATE TABLE audit (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,   -- Unix ms
    actor         TEXT    NOT NULL,   -- username, 'cli', 'setup', or the name a failed login tried
    actor_id      INTEGER,            -- the account; NULL for cli, setup and failed logins
    role          TEXT,
    ip            TEXT,
    action        TEXT    NOT NULL,   -- dotted, from AUDIT_ACTIONS
    site          TEXT,
    scope         TEXT,               -- site-less entries: JSON sites they concern ('[]' = every site)
    target_kind   TEXT,
    target_id     TEXT,
    target_name   TEXT,
    before        TEXT,               -- JSON: the changed fields as they were
    after         TEXT,               -- JSON: as they became
    detail        TEXT,               -- JSON
    CHECK ((target_kind IS NULL) = (target_id IS NULL))
  );
  -- Pages are newest first by (at, id); a rowid table's index entries end with the id.
  CREATE INDEX audit_at ON audit (at);
  CREATE INDEX audit_site_at ON audit (site, at) WHERE site IS NOT NULL;
  CREATE INDEX audit_actor_at ON audit (actor COLLATE NOCASE, at);
  -- ?action= (one, or a group as a range): without it a rare action scans the whole log.
  CREATE INDEX audit_action_at ON audit (action, at);
  -- Append-only, whoever writes: history that can be edited is no record.
  CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
  CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
  -- INSERT OR REPLACE deletes the old row without firing DELETE triggers (unless
  -- recursive_triggers is on): refuse an insert that would take an existing id.
  CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
  `,

  // 6: integrations (server/integrations): platforms and device systems StoreTwin hears devices
  // through; devices they named that nobody registered yet; retransmission keys of the last hour.
  `
  CREATE TABLE integrations (
    id              TEXT    PRIMARY KEY,
    adapter         TEXT    NOT NULL,
    site            TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    settings        TEXT    NOT NULL,   -- JSON, validated by the adapter's settings schema
    token_hash      TEXT    NOT NULL UNIQUE,
    enabled         INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    created_at      INTEGER NOT NULL,   -- Unix ms
    updated_at      INTEGER NOT NULL,
    last_message_at INTEGER,
    accepted        INTEGER NOT NULL DEFAULT 0,
    duplicates      INTEGER NOT NULL DEFAULT 0,
    unknown         INTEGER NOT NULL DEFAULT 0,
    refused         INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT                -- JSON {code, message, at}
  ) WITHOUT ROWID;
  CREATE INDEX integrations_site ON integrations (site);

  CREATE TABLE integration_unknown_devices (
    integration TEXT    NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    ids_key     TEXT    NOT NULL,       -- the ids as 'key=value' pairs, sorted: one row per device
    ids         TEXT    NOT NULL,       -- JSON {imei?, ctwing?, ...}
    describe    TEXT,                   -- JSON: what the platform says the device is
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    messages    INTEGER NOT NULL,
    PRIMARY KEY (integration, ids_key)
  ) WITHOUT ROWID;

  CREATE TABLE integration_seen (
    device TEXT    NOT NULL,
    key    TEXT    NOT NULL,
    at     INTEGER NOT NULL,
    PRIMARY KEY (device, key)
  ) WITHOUT ROWID;
  CREATE INDEX integration_seen_at ON integration_seen (at);
  `,
  // 7: Mosquitto password-file lines (server/broker/external/password-store.ts). Mosquitto's
  // `$7$` hash (PBKDF2-SHA512) is derived from the plaintext, which exists only while a device
  // secret or an API token is being issued: its line is made then and kept here, keyed by the
  // credential it hashes (`verifier`: the device's secret hash, the token's sha256), so a line
  // counts only while that credential is current.
  `
  CREATE TABLE broker_passwords (
    username   TEXT    NOT NULL,
    verifier   TEXT    NOT NULL,
    hash       TEXT    NOT NULL,       -- $7$101$salt$hash, as mosquitto_passwd writes it
    created_at INTEGER NOT NULL,       -- Unix ms
    PRIMARY KEY (username, verifier)
  ) WITHOUT ROWID;
  `,
];
