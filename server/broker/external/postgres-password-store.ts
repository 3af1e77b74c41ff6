/** Broker password lines in PostgreSQL (see password-store.ts). */
import type { PgSchema } from '../../storage/postgres/migrate.ts';
import { postgresError, type PgQueryable, type Postgres } from '../../storage/postgres/postgres.ts';
import type { BrokerPassword, BrokerPasswordLine, BrokerPasswordStore } from './password-store.ts';

/** No foreign keys: devices and API tokens (two features) both write lines here. */
export const BROKER_PASSWORDS_PG_SCHEMA: PgSchema = {
  feature: 'broker-passwords',
  steps: [
    `
    CREATE TABLE broker_passwords (
      username   text COLLATE "C" NOT NULL,
      verifier   text COLLATE "C" NOT NULL,
      hash       text        NOT NULL,   -- $7$101$salt$hash, as mosquitto_passwd writes it
      created_at timestamptz NOT NULL,
      PRIMARY KEY (username, verifier)
    );
    `,
  ],
};

/** Writes lines in the caller's transaction (the device and account stores call it in theirs). */
export async function insertBrokerPasswordLinesPg(client: PgQueryable, lines: readonly BrokerPasswordLine[]): Promise<void> {
  if (lines.length === 0) return;
  await client.query(
    `INSERT INTO broker_passwords (username, verifier, hash, created_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
     ON CONFLICT (username, verifier) DO UPDATE SET hash = EXCLUDED.hash, created_at = EXCLUDED.created_at`,
    [lines.map((l) => l.username), lines.map((l) => l.verifier), lines.map((l) => l.hash), lines.map((l) => new Date(l.createdAt))],
  );
}

export class PostgresBrokerPasswordStore implements BrokerPasswordStore {
  constructor(
    private readonly pg: Postgres,
    private readonly now: () => number = Date.now,
  ) {}

  async list(): Promise<BrokerPassword[]> {
    const { rows } = await this.run<{ username: string; verifier: string; hash: string; created_at: Date }>(
      'read the broker password lines',
      'SELECT username, verifier, hash, created_at FROM broker_passwords ORDER BY username, created_at DESC, verifier',
    );
    return rows.map((r) => ({ username: r.username, verifier: r.verifier, hash: r.hash, createdAt: r.created_at.getTime() }));
  }

  async fingerprint(): Promise<string> {
    const { rows } = await this.run<{ n: string; latest: Date | null }>('read the broker password lines', 'SELECT count(*) AS n, max(created_at) AS latest FROM broker_passwords');
    return `${Number(rows[0]?.n ?? 0)}:${rows[0]?.latest?.getTime() ?? 0}`;
  }

  async prune(stale: readonly BrokerPassword[], graceMs: number): Promise<number> {
    const cutoff = this.now() - graceMs;
    const old = stale.filter((p) => p.createdAt < cutoff);
    if (old.length === 0) return 0;
    // created_at is checked again: a line re-issued meanwhile (same verifier) is young again.
    const { rowCount } = await this.run(
      'prune the broker password lines',
      `DELETE FROM broker_passwords b USING unnest($1::text[], $2::text[]) AS s(username, verifier)
       WHERE b.username = s.username AND b.verifier = s.verifier AND b.created_at < $3`,
      [old.map((p) => p.username), old.map((p) => p.verifier), new Date(cutoff)],
    );
    return rowCount ?? 0;
  }

  private async run<R extends Record<string, unknown>>(doing: string, sql: string, params: unknown[] = []) {
    try {
      return await this.pg.query<R>(sql, params);
    } catch (err) {
      throw postgresError(err, doing, this.pg.safeUrl);
    }
  }
}
