/**
 * Integrations in PostgreSQL, for several workers sharing one database: the same answers as
 * the SQLite store (tests/integrations/integration-store.contract.ts runs on both). Times are
 * timestamptz handed out as the same ISO strings, settings and ids are jsonb, counters bigint.
 *
 * A batch is one transaction. Two workers may flush counters of the same integration at the
 * same moment: each adds to the row (`accepted = accepted + n`), nothing read first, and rows
 * are touched in a sorted order so two batches do not deadlock; keys and unknown devices are
 * upserts (ON CONFLICT), folded in memory first because one INSERT may not touch a row twice.
 *
 * A change to an integration itself (insert, update, token, remove) announces itself in its
 * transaction (feature 'integrations', server/storage/postgres/changes.ts), so the other
 * workers' IntegrationService views follow; a batch of counters does not (the views do not
 * hold counters the push path reads).
 */
import type pg from 'pg';
import type { PgSchema } from '../storage/postgres/migrate.ts';
import { storeChanges, type StoreChangeListener } from '../storage/postgres/changes.ts';
import { postgresError, type PgClient, type Postgres } from '../storage/postgres/postgres.ts';
import { idsKey, isEmptyBatch, lastErrorOf, type IntegrationRecord, type IntegrationStore, type NewIntegration, type PendingWrites, type UnknownDevice } from './types.ts';

export const INTEGRATIONS_PG_SCHEMA: PgSchema = {
  feature: 'integrations',
  steps: [
    `
    CREATE TABLE integrations (
      id              text COLLATE "C" PRIMARY KEY,
      adapter         text        NOT NULL,
      site            text COLLATE "C" NOT NULL,
      name            text        NOT NULL,
      settings        jsonb       NOT NULL,   -- validated by the adapter's settings schema
      token_hash      text        NOT NULL UNIQUE,
      enabled         boolean     NOT NULL,
      created_at      timestamptz NOT NULL,
      updated_at      timestamptz NOT NULL,
      last_message_at timestamptz,
      accepted        bigint      NOT NULL DEFAULT 0,
      duplicates      bigint      NOT NULL DEFAULT 0,
      unknown         bigint      NOT NULL DEFAULT 0,
      refused         bigint      NOT NULL DEFAULT 0,
      last_error      jsonb                   -- {code, message, at}
    );
    CREATE INDEX integrations_site ON integrations (site);

    CREATE TABLE integration_unknown_devices (
      integration text COLLATE "C" NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
      ids_key     text COLLATE "C" NOT NULL,   -- the ids as 'key=value' pairs, sorted: one row per device
      ids         jsonb       NOT NULL,
      describe    jsonb,
      first_seen  timestamptz NOT NULL,
      last_seen   timestamptz NOT NULL,
      messages    bigint      NOT NULL,
      PRIMARY KEY (integration, ids_key)
    );

    CREATE TABLE integration_seen (
      device text COLLATE "C" NOT NULL,
      key    text COLLATE "C" NOT NULL,
      at     timestamptz NOT NULL,
      PRIMARY KEY (device, key)
    );
    CREATE INDEX integration_seen_at ON integration_seen (at);
    `,
  ],
};

type IntegrationRow = {
  id: string;
  adapter: string;
  site: string;
  name: string;
  settings: unknown;
  token_hash: string;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  last_message_at: Date | null;
  accepted: string | number;
  duplicates: string | number;
  unknown: string | number;
  refused: string | number;
  last_error: IntegrationRecord['lastError'];
};

type UnknownRow = {
  integration: string;
  ids: Record<string, string>;
  describe: Record<string, string> | null;
  first_seen: Date;
  last_seen: Date;
  messages: string | number;
};

const iso = (ms: number): string => new Date(ms).toISOString();
const FEATURE = 'integrations';

function fromRow(r: IntegrationRow): IntegrationRecord {
  return {
    id: r.id,
    adapter: r.adapter,
    site: r.site,
    name: r.name,
    settings: r.settings,
    tokenHash: r.token_hash,
    enabled: r.enabled,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    lastMessageAt: r.last_message_at === null ? null : r.last_message_at.toISOString(),
    counts: { accepted: Number(r.accepted), duplicates: Number(r.duplicates), unknown: Number(r.unknown), refused: Number(r.refused) },
    lastError: r.last_error,
  };
}

export class PostgresIntegrationStore implements IntegrationStore {
  constructor(
    private readonly pg: Postgres,
    private readonly now: () => number = Date.now,
  ) {}

  onChange(listener: StoreChangeListener): Promise<() => void> {
    return storeChanges(this.pg).subscribe(FEATURE, listener);
  }

  async insert(rec: NewIntegration): Promise<IntegrationRecord> {
    const at = iso(this.now());
    const { rows } = await this.write<IntegrationRow>(
      'store an integration',
      `INSERT INTO integrations (id, adapter, site, name, settings, token_hash, enabled, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $8) RETURNING *`,
      [rec.id, rec.adapter, rec.site, rec.name, JSON.stringify(rec.settings ?? {}), rec.tokenHash, rec.enabled, at],
    );
    return fromRow(rows[0]!);
  }

  async get(id: string): Promise<IntegrationRecord | null> {
    const { rows } = await this.run<IntegrationRow>('read an integration', 'SELECT * FROM integrations WHERE id = $1', [id]);
    return rows[0] === undefined ? null : fromRow(rows[0]);
  }

  async byTokenHash(hash: string): Promise<IntegrationRecord | null> {
    const { rows } = await this.run<IntegrationRow>('read an integration', 'SELECT * FROM integrations WHERE token_hash = $1', [hash]);
    return rows[0] === undefined ? null : fromRow(rows[0]);
  }

  async list(): Promise<IntegrationRecord[]> {
    const { rows } = await this.run<IntegrationRow>('list integrations', 'SELECT * FROM integrations ORDER BY site, created_at, id', []);
    return rows.map(fromRow);
  }

  async update(id: string, patch: { name: string; settings: unknown; enabled: boolean }): Promise<IntegrationRecord | null> {
    const { rows } = await this.write<IntegrationRow>(
      'update an integration',
      'UPDATE integrations SET name = $2, settings = $3::jsonb, enabled = $4, updated_at = $5 WHERE id = $1 RETURNING *',
      [id, patch.name, JSON.stringify(patch.settings ?? {}), patch.enabled, iso(this.now())],
    );
    return rows[0] === undefined ? null : fromRow(rows[0]);
  }

  async setTokenHash(id: string, tokenHash: string): Promise<IntegrationRecord | null> {
    const { rows } = await this.write<IntegrationRow>('change an integration token', 'UPDATE integrations SET token_hash = $2, updated_at = $3 WHERE id = $1 RETURNING *', [id, tokenHash, iso(this.now())]);
    return rows[0] === undefined ? null : fromRow(rows[0]);
  }

  async remove(id: string): Promise<boolean> {
    const { rowCount } = await this.write('remove an integration', 'DELETE FROM integrations WHERE id = $1 RETURNING site', [id]);
    return (rowCount ?? 0) > 0;
  }

  async applyBatch(batch: PendingWrites): Promise<void> {
    if (isEmptyBatch(batch)) return;
    const counts = [...batch.counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    // A key seen twice in the batch: the later time, as INSERT OR REPLACE leaves it in SQLite.
    const keys = new Map<string, { device: string; key: string; at: number }>();
    for (const k of batch.keys) keys.set(`${k.device}\0${k.key}`, k);
    // One row per (integration, ids): its messages counted, first and last time, the last description given.
    const unknown = new Map<string, { integration: string; idsKey: string; ids: Record<string, string>; describe: string | null; first: number; last: number; messages: number }>();
    for (const u of batch.unknown) {
      const key = idsKey(u.ids);
      const describe = u.describe === undefined ? null : JSON.stringify(u.describe);
      const seen = unknown.get(`${u.integration}\0${key}`);
      if (seen === undefined) unknown.set(`${u.integration}\0${key}`, { integration: u.integration, idsKey: key, ids: u.ids, describe, first: u.at, last: u.at, messages: 1 });
      else {
        seen.last = u.at;
        seen.messages++;
        seen.describe = describe ?? seen.describe;
      }
    }
    const sortedKeys = [...keys.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, k]) => k);
    const sortedUnknown = [...unknown.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, u]) => u);
    try {
      await this.pg.transaction(async (client: PgClient) => {
        for (const [id, c] of counts) {
          await client.query(
            `UPDATE integrations SET last_message_at = $2, accepted = accepted + $3, duplicates = duplicates + $4,
               unknown = unknown + $5, refused = refused + $6 WHERE id = $1`,
            [id, iso(c.at), c.accepted, c.duplicates, c.unknown, c.refused],
          );
        }
        if (sortedKeys.length > 0) {
          await client.query(
            `INSERT INTO integration_seen (device, key, at)
             SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
             ON CONFLICT (device, key) DO UPDATE SET at = EXCLUDED.at`,
            [sortedKeys.map((k) => k.device), sortedKeys.map((k) => k.key), sortedKeys.map((k) => iso(k.at))],
          );
        }
        if (sortedUnknown.length > 0) {
          // Only for integrations that still exist: one removed since the push drops its rows.
          await client.query(
            `INSERT INTO integration_unknown_devices AS u (integration, ids_key, ids, describe, first_seen, last_seen, messages)
             SELECT n.integration, n.ids_key, n.ids::jsonb, n.describe::jsonb, n.first_seen, n.last_seen, n.messages
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::bigint[])
               AS n (integration, ids_key, ids, describe, first_seen, last_seen, messages)
             WHERE EXISTS (SELECT 1 FROM integrations i WHERE i.id = n.integration)
             ON CONFLICT (integration, ids_key) DO UPDATE SET last_seen = EXCLUDED.last_seen,
               messages = u.messages + EXCLUDED.messages, describe = coalesce(EXCLUDED.describe, u.describe)`,
            [
              sortedUnknown.map((u) => u.integration),
              sortedUnknown.map((u) => u.idsKey),
              sortedUnknown.map((u) => JSON.stringify(u.ids)),
              sortedUnknown.map((u) => u.describe),
              sortedUnknown.map((u) => iso(u.first)),
              sortedUnknown.map((u) => iso(u.last)),
              sortedUnknown.map((u) => u.messages),
            ],
          );
        }
        for (const e of batch.errors) {
          await client.query('UPDATE integrations SET last_error = $2::jsonb, refused = refused + 1 WHERE id = $1', [e.integration, JSON.stringify(lastErrorOf(e))]);
        }
      });
    } catch (err) {
      throw postgresError(err, 'write integration counters', this.pg.safeUrl);
    }
  }

  async listUnknown(): Promise<UnknownDevice[]> {
    const { rows } = await this.run<UnknownRow>('list unknown devices', 'SELECT * FROM integration_unknown_devices ORDER BY last_seen DESC, integration, ids_key', []);
    return rows.map((r) => ({
      integration: r.integration,
      ids: r.ids,
      describe: r.describe,
      firstSeen: r.first_seen.toISOString(),
      lastSeen: r.last_seen.toISOString(),
      messages: Number(r.messages),
    }));
  }

  async forgetUnknown(integration: string, ids: Readonly<Record<string, string>>): Promise<void> {
    await this.run('forget an unknown device', 'DELETE FROM integration_unknown_devices WHERE integration = $1 AND ids_key = $2', [integration, idsKey(ids)]);
  }

  async claimKey(device: string, key: string, at: number, sinceMs: number): Promise<boolean> {
    const { rowCount } = await this.run(
      'claim a retransmission key',
      `INSERT INTO integration_seen (device, key, at) VALUES ($1, $2, $3)
       ON CONFLICT (device, key) DO UPDATE SET at = EXCLUDED.at WHERE integration_seen.at < $4`,
      [device, key, iso(at), iso(sinceMs)],
    );
    return rowCount === 1;
  }

  async releaseKey(device: string, key: string, at: number): Promise<void> {
    await this.run('give a retransmission key back', 'DELETE FROM integration_seen WHERE device = $1 AND key = $2 AND at = $3', [device, key, iso(at)]);
  }

  async recentKeys(sinceMs: number): Promise<{ device: string; key: string; at: number }[]> {
    const since = iso(sinceMs);
    await this.run('prune retransmission keys', 'DELETE FROM integration_seen WHERE at < $1', [since]);
    const { rows } = await this.run<{ device: string; key: string; at: Date }>('read retransmission keys', 'SELECT device, key, at FROM integration_seen WHERE at >= $1 ORDER BY at, device, key', [since]);
    return rows.map((r) => ({ device: r.device, key: r.key, at: r.at.getTime() }));
  }

  /** A write of one statement ending in `RETURNING site`-or-more, announced (with the site) when it touched a row. */
  private async write<R extends pg.QueryResultRow = pg.QueryResultRow>(doing: string, sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pg.transaction(async (client) => {
        const result = await client.query<R>(sql, params);
        const site = (result.rows[0] as { site?: unknown } | undefined)?.site;
        if (typeof site === 'string') await storeChanges(this.pg).notify(client, FEATURE, site);
        return result;
      });
    } catch (err) {
      throw postgresError(err, doing, this.pg.safeUrl);
    }
  }

  private async run<R extends pg.QueryResultRow = pg.QueryResultRow>(doing: string, sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pg.query<R>(sql, params);
    } catch (err) {
      throw postgresError(err, doing, this.pg.safeUrl);
    }
  }
}
