/**
 * Broker sessions follow site ownership (real leases in a real PostgreSQL): a worker opens a
 * session for each site it acquires and closes it when it loses the site; on a handoff the old
 * owner has closed its session before the new owner opens one; a session that fails to open is
 * retried while the site is still ours.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLUSTER_PG_SCHEMA, PostgresSiteLeaseStore } from '../../server/cluster/lease-store.ts';
import { SiteConsumers, type SiteSession } from '../../server/cluster/site-consumers.ts';
import { SiteOwnership } from '../../server/cluster/site-ownership.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { migratePostgres } from '../../server/storage/postgres/migrate.ts';
import type { Postgres } from '../../server/storage/postgres/postgres.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const SITES = Array.from({ length: 12 }, (_, i) => `site-${i}`);
const logger = createLogger({ level: 'silent' });
let db: { pg: Postgres; cleanup(): Promise<void> };
const stops: Array<() => Promise<void>> = [];
beforeEach(async () => {
  db = await freshPostgres(server);
  await migratePostgres(db.pg, [CLUSTER_PG_SCHEMA]);
});
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  await db.cleanup();
});

/** Who has a session open for each site right now, across workers: at most one each. */
const openNow = new Map<string, string>();
const violations: string[] = [];

function worker(name: string, opts: { failFirstOpens?: number } = {}): { ownership: SiteOwnership; consumers: SiteConsumers; opened: string[] } {
  let failures = opts.failFirstOpens ?? 0;
  const opened: string[] = [];
  const session = (site: string): SiteSession => ({
    async start() {
      await new Promise((r) => setTimeout(r, 5)); // a connection takes a moment
      if (failures-- > 0) throw new Error('broker not reachable');
      const other = openNow.get(site);
      if (other !== undefined) violations.push(`${site} opened by ${name} while ${other} had it open`);
      openNow.set(site, name);
      opened.push(site);
    },
    async stop() {
      await new Promise((r) => setTimeout(r, 400)); // closing takes longer than a tick: the race a handoff must not lose
      if (openNow.get(site) === name) openNow.delete(site);
    },
  });
  const ownership: SiteOwnership = new SiteOwnership({ store: new PostgresSiteLeaseStore(db.pg), worker: name, sites: () => SITES, ttlMs: 1_200, tickMs: 200, letGo: (): Promise<void> => consumers.settled() });
  const consumers: SiteConsumers = new SiteConsumers({ ownership, open: session, logger, retryMs: 50 });
  stops.push(async () => {
    ownership.halt();
    await consumers.stop();
  });
  return { ownership, consumers, opened };
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('site consumers', () => {
  beforeEach(() => {
    openNow.clear();
    violations.length = 0;
  });

  it('open a session per owned site; a joining worker gets its share only after the other closed it', async () => {
    const a = worker('a');
    await a.ownership.start();
    await a.consumers.settled();
    expect(a.consumers.openSites()).toEqual([...SITES].sort());

    const b = worker('b');
    await b.ownership.start();
    await until(() => b.consumers.openSites().length > 0 && a.consumers.openSites().length + b.consumers.openSites().length === SITES.length, 5_000);
    await a.consumers.settled();
    await b.consumers.settled();
    expect(violations).toEqual([]);
    expect(new Set([...a.consumers.openSites(), ...b.consumers.openSites()]).size).toBe(SITES.length);
  });

  it('retries a session that failed to open while the site is still ours', async () => {
    const a = worker('a', { failFirstOpens: 3 });
    await a.ownership.start();
    await until(() => a.consumers.openSites().length === SITES.length, 3_000);
  });

  it('closes every session when the worker stops', async () => {
    const a = worker('a');
    await a.ownership.start();
    await a.consumers.settled();
    await a.ownership.stop();
    await a.consumers.settled();
    expect(a.consumers.openSites()).toEqual([]);
    expect(openNow.size).toBe(0);
  });
});
