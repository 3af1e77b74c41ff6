/**
 * Integrations in SQLite (migration 6): the integrations themselves (settings, token hash,
 * counters), the devices they named that nobody registered yet, and the retransmission keys of
 * the last hour. better-sqlite3 is synchronous: each method does its statements (a batch in
 * one transaction) and returns a settled promise.
 */
import type { Database, Statement, Transaction } from 'better-sqlite3';
import { idsKey, isEmptyBatch, lastErrorOf, type IntegrationRecord, type IntegrationStore, type NewIntegration, type PendingWrites, type UnknownDevice } from './types.ts';

interface IntegrationRow {
  id: string;
  adapter: string;
  site: string;
  name: string;
  settings: string;
  token_hash: string;
  enabled: number;
  created_at: number;
  updated_at: number;
  last_message_at: number | null;
  accepted: number;
  duplicates: number;
  unknown: number;
  refused: number;
  last_error: string | null;
}

interface UnknownRow {
  integration: string;
  ids_key: string;
  ids: string;
  describe: string | null;
  first_seen: number;
  last_seen: number;
  messages: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function fromRow(r: IntegrationRow): IntegrationRecord {
  return {
    id: r.id,
    adapter: r.adapter,
    site: r.site,
    name: r.name,
    settings: JSON.parse(r.settings) as unknown,
    tokenHash: r.token_hash,
    enabled: r.enabled === 1,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    lastMessageAt: r.last_message_at === null ? null : iso(r.last_message_at),
    counts: { accepted: r.accepted, duplicates: r.duplicates, unknown: r.unknown, refused: r.refused },
    lastError: r.last_error === null ? null : (JSON.parse(r.last_error) as IntegrationRecord['lastError']),
  };
}

/** A synchronous body as a promise: its value, or its throw as a rejection. */
function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

export class SqliteIntegrationStore implements IntegrationStore {
  private readonly stmt: {
    insert: Statement<[IntegrationRow]>;
    get: Statement<[string], IntegrationRow>;
    byToken: Statement<[string], IntegrationRow>;
    list: Statement<[], IntegrationRow>;
    update: Statement<[{ id: string; name: string; settings: string; enabled: number; updated_at: number }]>;
    setToken: Statement<[{ id: string; token_hash: string; updated_at: number }]>;
    remove: Statement<[string]>;
    count: Statement<[{ id: string; at: number; accepted: number; duplicates: number; unknown: number; refused: number }]>;
    error: Statement<[{ id: string; error: string }]>;
    upsertUnknown: Statement<[{ integration: string; ids_key: string; ids: string; describe: string | null; at: number }]>;
    listUnknown: Statement<[], UnknownRow>;
    removeUnknown: Statement<[string, string]>;
    insertSeen: Statement<[{ device: string; key: string; at: number }]>;
    recentSeen: Statement<[number], { device: string; key: string; at: number }>;
    pruneSeen: Statement<[number]>;
    claimSeen: Statement<[{ device: string; key: string; at: number; since: number }]>;
    releaseSeen: Statement<[string, string, number]>;
  };

  private readonly batch: Transaction<(batch: PendingWrites) => void>;

  constructor(
    db: Database,
    private readonly now: () => number = Date.now,
  ) {
    this.stmt = {
      insert: db.prepare(
        `INSERT INTO integrations (id, adapter, site, name, settings, token_hash, enabled, created_at, updated_at, last_message_at, accepted, duplicates, unknown, refused, last_error)
         VALUES (@id, @adapter, @site, @name, @settings, @token_hash, @enabled, @created_at, @updated_at, @last_message_at, @accepted, @duplicates, @unknown, @refused, @last_error)`,
      ),
      get: db.prepare('SELECT * FROM integrations WHERE id = ?'),
      byToken: db.prepare('SELECT * FROM integrations WHERE token_hash = ?'),
      list: db.prepare('SELECT * FROM integrations ORDER BY site, created_at, id'),
      update: db.prepare('UPDATE integrations SET name = @name, settings = @settings, enabled = @enabled, updated_at = @updated_at WHERE id = @id'),
      setToken: db.prepare('UPDATE integrations SET token_hash = @token_hash, updated_at = @updated_at WHERE id = @id'),
      remove: db.prepare('DELETE FROM integrations WHERE id = ?'),
      count: db.prepare(
        `UPDATE integrations SET last_message_at = @at, accepted = accepted + @accepted, duplicates = duplicates + @duplicates,
           unknown = unknown + @unknown, refused = refused + @refused WHERE id = @id`,
      ),
      error: db.prepare('UPDATE integrations SET last_error = @error, refused = refused + 1 WHERE id = @id'),
      // Only for an integration that still exists: one removed since the push drops its rows,
      // not the whole batch (the foreign key would refuse it).
      upsertUnknown: db.prepare(
        `INSERT INTO integration_unknown_devices (integration, ids_key, ids, describe, first_seen, last_seen, messages)
         SELECT @integration, @ids_key, @ids, @describe, @at, @at, 1 WHERE EXISTS (SELECT 1 FROM integrations WHERE id = @integration)
         ON CONFLICT (integration, ids_key) DO UPDATE SET last_seen = @at, messages = messages + 1, describe = coalesce(@describe, describe)`,
      ),
      listUnknown: db.prepare('SELECT * FROM integration_unknown_devices ORDER BY last_seen DESC, integration, ids_key'),
      removeUnknown: db.prepare('DELETE FROM integration_unknown_devices WHERE integration = ? AND ids_key = ?'),
      insertSeen: db.prepare('INSERT OR REPLACE INTO integration_seen (device, key, at) VALUES (@device, @key, @at)'),
      recentSeen: db.prepare('SELECT device, key, at FROM integration_seen WHERE at >= ? ORDER BY at, device, key'),
      pruneSeen: db.prepare('DELETE FROM integration_seen WHERE at < ?'),
      claimSeen: db.prepare(
        `INSERT INTO integration_seen (device, key, at) VALUES (@device, @key, @at)
         ON CONFLICT (device, key) DO UPDATE SET at = excluded.at WHERE integration_seen.at < @since`,
      ),
      releaseSeen: db.prepare('DELETE FROM integration_seen WHERE device = ? AND key = ? AND at = ?'),
    };
    // One transaction: with synchronous=FULL each statement on its own would be an fsync.
    this.batch = db.transaction((batch: PendingWrites) => {
      for (const [id, counts] of batch.counts) this.stmt.count.run({ id, at: counts.at, accepted: counts.accepted, duplicates: counts.duplicates, unknown: counts.unknown, refused: counts.refused });
      for (const k of batch.keys) this.stmt.insertSeen.run(k);
      for (const u of batch.unknown) {
        this.stmt.upsertUnknown.run({ integration: u.integration, ids_key: idsKey(u.ids), ids: JSON.stringify(u.ids), describe: u.describe === undefined ? null : JSON.stringify(u.describe), at: u.at });
      }
      for (const e of batch.errors) this.stmt.error.run({ id: e.integration, error: JSON.stringify(lastErrorOf(e)) });
    });
  }

  insert(rec: NewIntegration): Promise<IntegrationRecord> {
    return settle(() => {
      const at = this.now();
      this.stmt.insert.run({
        id: rec.id,
        adapter: rec.adapter,
        site: rec.site,
        name: rec.name,
        settings: JSON.stringify(rec.settings ?? {}),
        token_hash: rec.tokenHash,
        enabled: rec.enabled ? 1 : 0,
        created_at: at,
        updated_at: at,
        last_message_at: null,
        accepted: 0,
        duplicates: 0,
        unknown: 0,
        refused: 0,
        last_error: null,
      });
      return this.getNow(rec.id)!;
    });
  }

  get(id: string): Promise<IntegrationRecord | null> {
    return settle(() => this.getNow(id));
  }

  private getNow(id: string): IntegrationRecord | null {
    const row = this.stmt.get.get(id);
    return row === undefined ? null : fromRow(row);
  }

  byTokenHash(hash: string): Promise<IntegrationRecord | null> {
    return settle(() => {
      const row = this.stmt.byToken.get(hash);
      return row === undefined ? null : fromRow(row);
    });
  }

  list(): Promise<IntegrationRecord[]> {
    return settle(() => this.stmt.list.all().map(fromRow));
  }

  update(id: string, patch: { name: string; settings: unknown; enabled: boolean }): Promise<IntegrationRecord | null> {
    return settle(() => {
      this.stmt.update.run({ id, name: patch.name, settings: JSON.stringify(patch.settings ?? {}), enabled: patch.enabled ? 1 : 0, updated_at: this.now() });
      return this.getNow(id);
    });
  }

  setTokenHash(id: string, tokenHash: string): Promise<IntegrationRecord | null> {
    return settle(() => {
      this.stmt.setToken.run({ id, token_hash: tokenHash, updated_at: this.now() });
      return this.getNow(id);
    });
  }

  remove(id: string): Promise<boolean> {
    return settle(() => this.stmt.remove.run(id).changes > 0);
  }

  applyBatch(batch: PendingWrites): Promise<void> {
    return settle(() => {
      if (!isEmptyBatch(batch)) this.batch.immediate(batch);
    });
  }

  listUnknown(): Promise<UnknownDevice[]> {
    return settle(() =>
      this.stmt.listUnknown.all().map((r) => ({
        integration: r.integration,
        ids: JSON.parse(r.ids) as Record<string, string>,
        describe: r.describe === null ? null : (JSON.parse(r.describe) as Record<string, string>),
        firstSeen: iso(r.first_seen),
        lastSeen: iso(r.last_seen),
        messages: r.messages,
      })),
    );
  }

  forgetUnknown(integration: string, ids: Readonly<Record<string, string>>): Promise<void> {
    return settle(() => {
      this.stmt.removeUnknown.run(integration, idsKey(ids));
    });
  }

  claimKey(device: string, key: string, at: number, sinceMs: number): Promise<boolean> {
    return settle(() => this.stmt.claimSeen.run({ device, key, at, since: sinceMs }).changes === 1);
  }

  releaseKey(device: string, key: string, at: number): Promise<void> {
    return settle(() => {
      this.stmt.releaseSeen.run(device, key, at);
    });
  }

  recentKeys(sinceMs: number): Promise<{ device: string; key: string; at: number }[]> {
    return settle(() => {
      this.stmt.pruneSeen.run(sinceMs);
      return this.stmt.recentSeen.all(sinceMs);
    });
  }
}
