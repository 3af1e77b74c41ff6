/**
 * A real PostgreSQL for tests: Debian's postgresql (15) as a throwaway cluster — initdb into a
 * temp dir, postmaster on a free 127.0.0.1 port with its socket in that dir, stopped with
 * `pg_ctl -m immediate` and removed at the end. Start one per test file (beforeAll) and give each
 * test a fresh schema with `freshPostgres()`: a schema costs milliseconds, a cluster ~1.5 s.
 *
 * initdb refuses to run as root: as root the cluster is created and run as the `postgres` user
 * (runuser). fsync is off — these tests kill StoreTwin, never PostgreSQL.
 * A missing PostgreSQL fails the suite with how to install it: a skip would hide a broken store.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openPostgres, type Postgres } from '../../server/storage/postgres/postgres.ts';
import { freePort } from './mosquitto.ts';
import pg from 'pg';

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication, no password). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL not found under /usr/lib/postgresql: apt-get install postgresql (.ci/run installs it). The PostgreSQL store tests need a real server.');
  return path.join(root, versions[0] as string, 'bin');
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** argv for running a PostgreSQL tool as a user it accepts. */
function command(tool: string, args: string[]): [string, string[]] {
  const bin = path.join(binDir(), tool);
  return asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

function run(tool: string, args: string[]): Promise<void> {
  const [cmd, argv] = command(tool, args);
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${tool} ${args.join(' ')} exited ${code}: ${out.trim()}`))));
  });
}

/** Creates and starts a throwaway cluster; resolves once it accepts connections. */
export async function startPostgres(): Promise<PostgresServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'storetwin-pg-'));
  chmodSync(dir, 0o777); // the postgres user writes its data dir and socket here
  const data = path.join(dir, 'data');
  const port = await freePort();
  await run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`;
  try {
    await run('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', '-t', '30', 'start']);
  } catch (err) {
    const log = existsSync(path.join(dir, 'log')) ? readFileSync(path.join(dir, 'log'), 'utf8') : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${log}`);
  }

  let stopped = false;
  const stopNow = (): void => {
    if (stopped) return;
    stopped = true;
    const [cmd, argv] = command('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    spawnSync(cmd, argv, { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  // A test file that crashes still takes its postmaster along.
  process.once('exit', stopNow);

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      process.removeListener('exit', stopNow);
      stopNow();
    },
  };
}

let schemas = 0;

/**
 * A fresh, empty schema on `server` and a pool working in it; `cleanup` closes the pool and
 * drops the schema. What one store under test gets.
 */
export async function freshPostgres(server: PostgresServer, opts: { max?: number } = {}): Promise<{ pg: Postgres; schema: string; cleanup(): Promise<void> }> {
  const schema = `t${process.pid}_${++schemas}`;
  const pg = await openPostgres(server.url, { schema, ...(opts.max === undefined ? {} : { max: opts.max }) });
  return {
    pg,
    schema,
    async cleanup() {
      await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      await pg.close();
    },
  };
}

/** A new database on the server for a topology of workers (the two-worker test, the scale-out bench): its URL. */
export async function createDatabase(server: PostgresServer, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return server.url.replace(/\/postgres$/, `/${name}`);
}

/** The site leases held now (cluster/lease-store.ts): site → worker, read as an operator would. */
export async function liveLeases(databaseUrl: string): Promise<Map<string, string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ site: string; owner: string }>('SELECT site, owner FROM site_leases WHERE expires_at > now()');
    return new Map(rows.map((r) => [r.site, r.owner]));
  } finally {
    await client.end();
  }
}
