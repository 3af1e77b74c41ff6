/**
 * PostgreSQL for what must be transactional when StoreTwin runs as several workers
 * (STORETWIN_DATABASE_URL=postgres://…). One pool per process; each feature's store takes this
 * handle and keeps its SQL to itself (server/<feature>/postgres-store.ts).
 *
 * A transaction is one call: `transaction(fn)` runs fn on one pooled client between BEGIN and
 * COMMIT, rolls back on a throw, and runs fn again when PostgreSQL chose it as a serialization
 * or deadlock victim (SQLSTATE 40001 / 40P01) — so fn must only talk to the database it is
 * given, never announce anything before it returns.
 */
import pg from 'pg';
import { StoreTwinError } from '../../errors.ts';
import { maskUrlPassword } from '../../observability/mask-url.ts';

export type PgClient = pg.PoolClient;
export type PgQueryable = Pick<pg.Pool, 'query'>;

export interface Postgres {
  /** A statement on any pooled connection (its own implicit transaction). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<pg.QueryResult<R>>;
  /** fn between BEGIN and COMMIT on one connection; retried on 40001/40P01 (at most 5 tries). */
  transaction<T>(fn: (client: PgClient) => Promise<T>): Promise<T>;
  /** The URL without its password, for messages and logs. */
  readonly safeUrl: string;
  /** The schema every connection works in (`search_path`), `public` unless opened with one. */
  readonly schema: string;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

export interface OpenPostgresOptions {
  /** Work in this schema (created if missing): tests give each store a fresh one. */
  schema?: string;
  /** Pool size (default 10). */
  max?: number;
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
}

const RETRYABLE = new Set(['40001', '40P01']);
const MAX_TRIES = 5;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Turns what pg throws on connect or query into a coded error naming the server, never its password. */
export function postgresError(err: unknown, doing: string, safeUrl: string): StoreTwinError {
  if (err instanceof StoreTwinError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const reason = code === '28P01' || code === '28000' ? 'PostgreSQL refused the credentials' : typeof code === 'string' ? `${message} (${code})` : message;
  return new StoreTwinError('STW_ERR_STORAGE_UNAVAILABLE', `could not ${doing}: ${reason}`, { url: safeUrl });
}

/**
 * Opens a pool on `url` and proves it works with one round trip, so a wrong host or password
 * stops the start with STW_ERR_STORAGE_UNAVAILABLE instead of failing the first request.
 */
export async function openPostgres(url: string, opts: OpenPostgresOptions = {}): Promise<Postgres> {
  const safeUrl = maskUrlPassword(url);
  const schema = opts.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema)) throw new StoreTwinError('STW_ERR_CONFIG_INVALID', `PostgreSQL schema name "${schema}" is not a plain lower-case identifier`);
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    ...(schema === 'public' ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle client that loses its server (a restart, a failover) emits 'error' on the pool;
  // unhandled, that would crash the process. The next query gets a fresh connection.
  pool.on('error', () => {});
  try {
    if (schema !== 'public') await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    else await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw postgresError(err, 'connect to PostgreSQL', safeUrl);
  }

  async function transaction<T>(fn: (client: PgClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection itself failed: do not give it back to the pool
        }
        const code = (err as { code?: unknown } | null)?.code;
        if (attempt < MAX_TRIES && typeof code === 'string' && RETRYABLE.has(code)) continue;
        throw err;
      } finally {
        client.release(broken);
      }
    }
  }

  return {
    query: (sql, params) => pool.query(sql, params as unknown[] | undefined),
    transaction,
    safeUrl,
    schema,
    pool,
    async close() {
      await pool.end();
    },
  };
}
