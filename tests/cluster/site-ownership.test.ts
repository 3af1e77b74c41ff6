/**
 * Sites shared among workers through leases in a real PostgreSQL: each site has exactly one
 * owner, a joining worker takes its share, a silent (killed) worker's sites are taken within
 * ttl + tick, and a worker cut off from the database stops acting before anyone else can start.
 */
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { CLUSTER_PG_SCHEMA, PostgresSiteLeaseStore } from '../../server/cluster/lease-store.ts';
import { rendezvousOwner, SiteOwnership } from '../../server/cluster/site-ownership.ts';
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

const SITES = Array.from({ length: 40 }, (_, i) => `site-${String(i).padStart(2, '0')}`);
const TTL = 1_200;
const TICK = 250;

let db: { pg: Postgres; cleanup(): Promise<void> };
const workers: SiteOwnership[] = [];
beforeEach(async () => {
  db = await freshPostgres(server);
  await migratePostgres(db.pg, [CLUSTER_PG_SCHEMA]);
});
afterEach(async () => {
  for (const w of workers.splice(0)) w.halt();
  await db.cleanup();
});

function worker(name: string, sites: () => readonly string[] = () => SITES): SiteOwnership {
  const w = new SiteOwnership({ store: new PostgresSiteLeaseStore(db.pg), worker: name, sites, ttlMs: TTL, tickMs: TICK });
  workers.push(w);
  return w;
}

async function until(check: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

/** Every site owned once, and every worker serving some. */
const disjointAndComplete = (ws: SiteOwnership[]) => {
  const all = ws.flatMap((w) => w.owned());
  return all.length === SITES.length && new Set(all).size === SITES.length && ws.every((w) => w.owned().length > 0);
};

describe('site ownership', () => {
  it('rendezvous hashing spreads sites and moves only the departed worker’s', () => {
    const two = SITES.map((s) => rendezvousOwner(s, ['w1', 'w2']));
    expect(two.filter((w) => w === 'w1').length).toBeGreaterThan(8);
    expect(two.filter((w) => w === 'w2').length).toBeGreaterThan(8);
    const three = SITES.map((s) => rendezvousOwner(s, ['w1', 'w2', 'w3']));
    // Adding w3 only moves sites to w3, never between w1 and w2.
    three.forEach((w, i) => expect(w === 'w3' || w === two[i]).toBe(true));
  });

  it('a lone worker owns every site; a second one takes its share by handoff, never two owners', async () => {
    const w1 = worker('w1');
    const acquired: string[] = [];
    w1.on('acquired', (s) => acquired.push(s));
    await w1.start();
    expect(w1.owned()).toEqual(SITES);
    expect(acquired).toHaveLength(SITES.length);

    const w2 = worker('w2');
    const lostByW1: string[] = [];
    w1.on('lost', (s, why) => {
      expect(why).toBe('handoff');
      expect(w2.owns(s), `${s} had two owners`).toBe(false);
      lostByW1.push(s);
    });
    await w2.start(); // w2 sees w1 and itself; its sites are still w1's until w1 hands them off
    await until(() => disjointAndComplete([w1, w2]), 5_000);
    expect(w2.owned().sort()).toEqual(lostByW1.sort());
    expect(w1.owned().every((s) => rendezvousOwner(s, ['w1', 'w2']) === 'w1')).toBe(true);
    const leases = await new PostgresSiteLeaseStore(db.pg).leases();
    for (const l of leases) expect(l.owner === 'w1' ? w1.owns(l.site) : w2.owns(l.site)).toBe(true);
  });

  it('a killed worker’s sites are served by the other within ttl + tick, with a new epoch', async () => {
    const w1 = worker('w1');
    const w2 = worker('w2');
    await Promise.all([w1.start(), w2.start()]);
    await until(() => disjointAndComplete([w1, w2]), 5_000);
    const orphans = w2.owned();
    expect(orphans.length).toBeGreaterThan(0);
    const epochs = new Map((await new PostgresSiteLeaseStore(db.pg).leases()).map((l) => [l.site, l.epoch]));

    const took = new Map<string, number>();
    w1.on('acquired', (s, epoch) => took.set(s, epoch));
    const killedAt = Date.now();
    w2.halt(); // no release, no goodbye: its heartbeat and leases lapse
    await until(() => w1.owned().length === SITES.length, TTL + TICK * 4 + 2_000);
    const failover = Date.now() - killedAt;
    expect(failover).toBeLessThanOrEqual(TTL + TICK * 4 + 2_000);
    for (const s of orphans) expect(took.get(s)).toBe((epochs.get(s) ?? 0) + 1);
  });

  it('a worker that cannot reach the database stops acting for its sites before its leases can lapse', async () => {
    const w1 = worker('w1');
    await w1.start();
    expect(w1.owned()).toHaveLength(SITES.length);
    const lost: Array<[string, string]> = [];
    w1.on('lost', (s, why) => lost.push([s, why]));
    const failures: unknown[] = [];
    w1.on('tickFailed', (e) => failures.push(e));
    // Cut it off: every query now fails, as with a network partition.
    const store = (w1 as unknown as { opts: { store: PostgresSiteLeaseStore } }).opts.store;
    const cut = () => Promise.reject(Object.assign(new Error('connection terminated'), { code: 'ECONNRESET' }));
    store.heartbeat = cut;
    store.claim = cut;
    const lastGood = Date.now();
    await until(() => w1.owned().length === 0, TTL + TICK * 4);
    // It gave up by the time its last lease could lapse (plus one tick of lateness), never later.
    expect(Date.now() - lastGood).toBeLessThanOrEqual(TTL + TICK * 2 + 200);
    expect(failures.length).toBeGreaterThan(0);
    expect(new Set(lost.map(([, why]) => why))).toEqual(new Set(['unreachable']));
  });

  it('a clean stop releases at once: the other worker takes over on its next tick', async () => {
    const w1 = worker('w1');
    const w2 = worker('w2');
    await Promise.all([w1.start(), w2.start()]);
    await until(() => disjointAndComplete([w1, w2]), 5_000);
    await w2.stop();
    const waited = await until(() => w1.owned().length === SITES.length, TTL);
    expect(waited).toBeLessThan(TTL); // not waiting for leases to lapse
  });

  it('a site added to the catalogue gets an owner', async () => {
    const sites = [...SITES];
    const w1 = worker('w1', () => sites);
    await w1.start();
    sites.push('site-new');
    await until(() => w1.owns('site-new'), 2_000);
  });
});
