/**
 * Integrations in SQLite: the integrations themselves (settings, token hash, counters), the
 * devices they named that nobody registered yet, and the retransmission keys of the last hour.
 * Everything here is small and synchronous (better-sqlite3); the push path writes one counter
 * update and one key per message.
 */
import type { Database, Statement } from 'better-sqlite3';

export interface IntegrationRecord {
  id: string;
  adapter: string;
  site: string;
  name: string;
  settings: unknown;
  tokenHash: string;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
  lastMessageAt: string | null;
  counts: IntegrationCounts;
  lastError: { code: string; message: string; at: string } | null;
}

export interface IntegrationCounts {
  accepted: number;
  duplicates: number;
  unknown: number;
  refused: number;
}

export interface UnknownDevice {
  integration: string;
  ids: Record<string, string>;
  describe: Record<string, string> | null;
  firstSeen: string;
  lastSeen: string;
  messages: number;
}

/** Writes the push path defers to one transaction a second (IntegrationService.flush). */
export interface PendingWrites {
  counts: Map<string, IntegrationCounts & { at: number }>;
  keys: { device: string; key: string; at: number }[];
  unknown: { integration: string; ids: Record<string, string>; describe: Readonly<Record<string, string>> | undefined; at: number }[];
}

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

/** The one canonical spelling of a set of platform ids: sorted `key=value` pairs. */
export function idsKey(ids: Readonly<Record<string, string>>): string {
  return Object.keys(ids)
    .sort()
    .map((k) => `${k}=${ids[k]}`)
    .join(';');
}

export class SqliteIntegrationStore {
  private readonly stmt: {
    insert: Statement<[IntegrationRow]>;
    get: Statement<[string], IntegrationRow>;
    byToken: Statement<[string], IntegrationRow>;
    list: Statement<[], IntegrationRow>;
    update: Statement<[{ id: string; name: string; settings: string; enabled: number; updated_at: number }]>;
    setToken: Statement<[{ id: string; token_hash: string; updated_at: number }]>;
    remove: Statement<[string]>;
    count: Statement<[{ id: string; at: number; accepted: number; duplicates: number; unknown: number; refused: number }]>;
    error: Statement<[{ id: string; at: number; error: string }]>;
    upsertUnknown: Statement<[{ integration: string; ids_key: string; ids: string; describe: string | null; at: number }]>;
    listUnknown: Statement<[], UnknownRow>;
    removeUnknown: Statement<[string, string]>;
    seen: Statement<[string, string], { at: number }>;
    insertSeen: Statement<[{ device: string; key: string; at: number }]>;
    recentSeen: Statement<[number], { device: string; key: string; at: number }>;
    pruneSeen: Statement<[number]>;
  };

  private readonly batch: (work: () => void) => void;

  constructor(
    db: Database,
    private readonly now: () => number = Date.now,
  ) {
    const tx = db.transaction((work: () => void) => work());
    this.batch = (work) => tx(work);
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
      upsertUnknown: db.prepare(
        `INSERT INTO integration_unknown_devices (integration, ids_key, ids, describe, first_seen, last_seen, messages)
         VALUES (@integration, @ids_key, @ids, @describe, @at, @at, 1)
         ON CONFLICT (integration, ids_key) DO UPDATE SET last_seen = @at, messages = messages + 1, describe = coalesce(@describe, describe)`,
      ),
      listUnknown: db.prepare('SELECT * FROM integration_unknown_devices ORDER BY last_seen DESC'),
      removeUnknown: db.prepare('DELETE FROM integration_unknown_devices WHERE integration = ? AND ids_key = ?'),
      seen: db.prepare('SELECT at FROM integration_seen WHERE device = ? AND key = ?'),
      insertSeen: db.prepare('INSERT OR REPLACE INTO integration_seen (device, key, at) VALUES (@device, @key, @at)'),
      recentSeen: db.prepare('SELECT device, key, at FROM integration_seen WHERE at >= ?'),
      pruneSeen: db.prepare('DELETE FROM integration_seen WHERE at < ?'),
    };
  }

  insert(rec: Omit<IntegrationRecord, 'createdAt' | 'updatedAt' | 'lastMessageAt' | 'counts' | 'lastError'>): IntegrationRecord {
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
    return this.get(rec.id)!;
  }

  get(id: string): IntegrationRecord | null {
    const row = this.stmt.get.get(id);
    return row === undefined ? null : fromRow(row);
  }

  byTokenHash(hash: string): IntegrationRecord | null {
    const row = this.stmt.byToken.get(hash);
    return row === undefined ? null : fromRow(row);
  }

  list(): IntegrationRecord[] {
    return this.stmt.list.all().map(fromRow);
  }

  update(id: string, patch: { name: string; settings: unknown; enabled: boolean }): IntegrationRecord | null {
    this.stmt.update.run({ id, name: patch.name, settings: JSON.stringify(patch.settings ?? {}), enabled: patch.enabled ? 1 : 0, updated_at: this.now() });
    return this.get(id);
  }

  setTokenHash(id: string, tokenHash: string): void {
    this.stmt.setToken.run({ id, token_hash: tokenHash, updated_at: this.now() });
  }

  remove(id: string): boolean {
    return this.stmt.remove.run(id).changes > 0;
  }

  /**
   * Writes what the push path gathered since the last flush in one transaction: with
   * synchronous=FULL each statement on its own would be an fsync per push.
   */
  applyBatch(batch: PendingWrites): void {
    if (batch.counts.size === 0 && batch.keys.length === 0 && batch.unknown.length === 0) return;
    this.batch(() => {
      for (const [id, counts] of batch.counts) this.stmt.count.run({ id, at: counts.at, accepted: counts.accepted, duplicates: counts.duplicates, unknown: counts.unknown, refused: counts.refused });
      for (const k of batch.keys) this.stmt.insertSeen.run(k);
      for (const u of batch.unknown) {
        this.stmt.upsertUnknown.run({ integration: u.integration, ids_key: idsKey(u.ids), ids: JSON.stringify(u.ids), describe: u.describe === undefined ? null : JSON.stringify(u.describe), at: u.at });
      }
    });
  }

  /** Records a refusal of the whole push (or of a connector's fetch) as the integration's last error. */
  recordError(id: string, code: string, message: string): void {
    const at = this.now();
    this.stmt.error.run({ id, at, error: JSON.stringify({ code, message: message.slice(0, 300), at: iso(at) }) });
  }

  listUnknown(): UnknownDevice[] {
    return this.stmt.listUnknown.all().map((r) => ({
      integration: r.integration,
      ids: JSON.parse(r.ids) as Record<string, string>,
      describe: r.describe === null ? null : (JSON.parse(r.describe) as Record<string, string>),
      firstSeen: iso(r.first_seen),
      lastSeen: iso(r.last_seen),
      messages: r.messages,
    }));
  }

  forgetUnknown(integration: string, ids: Readonly<Record<string, string>>): void {
    this.stmt.removeUnknown.run(integration, idsKey(ids));
  }

  /** Retransmission keys stored since `sinceMs` (the dedupe window, rebuilt after a restart). */
  recentKeys(sinceMs: number): { device: string; key: string; at: number }[] {
    this.stmt.pruneSeen.run(sinceMs);
    return this.stmt.recentSeen.all(sinceMs);
  }
}
