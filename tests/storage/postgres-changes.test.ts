/**
 * StoreChanges (server/storage/postgres/changes.ts) on a real PostgreSQL: a notification sent in
 * a write transaction reaches the other handles of the same schema once it commits, never after
 * a rollback, never its own handle, never another schema; after the listening connection is
 * killed it reconnects by itself and tells every subscriber to reload everything.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { storeChanges, ViewRefresher, type StoreChange } from '../../server/storage/postgres/changes.ts';
import type { Postgres } from '../../server/storage/postgres/postgres.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { openPostgres } from '../../server/storage/postgres/postgres.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Two handles on one schema, as two workers have them. */
async function twoWorkers(): Promise<{ a: Postgres; b: Postgres; schema: string }> {
  const fresh = await freshPostgres(server);
  const b = await openPostgres(server.url, { schema: fresh.schema });
  cleanups.push(fresh.cleanup);
  cleanups.push(async () => {
    await storeChanges(b).stop();
    await b.close();
  });
  cleanups.push(() => storeChanges(fresh.pg).stop());
  return { a: fresh.pg, b, schema: fresh.schema };
}

function heard(pg: Postgres, feature: string): { changes: StoreChange[]; ready: Promise<() => void> } {
  const changes: StoreChange[] = [];
  return { changes, ready: storeChanges(pg).subscribe(feature, (c) => changes.push(c)) };
}

async function within(ms: number, check: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('StoreChanges', () => {
  it('delivers a committed change to the other worker only, by feature, with its site', async () => {
    const { a, b } = await twoWorkers();
    const onB = heard(b, 'arming');
    const otherFeature = heard(b, 'rules');
    const onA = heard(a, 'arming');
    await Promise.all([onB.ready, otherFeature.ready, onA.ready]);
    await a.transaction((client) => storeChanges(a).notify(client, 'arming', 'demo-shop'));
    await within(1000, () => onB.changes.length === 1);
    expect(onB.changes).toEqual([{ site: 'demo-shop' }]);
    await a.transaction((client) => storeChanges(a).notify(client, 'arming'));
    await within(1000, () => onB.changes.length === 2);
    expect(onB.changes[1]).toEqual({ site: null });
    await sleep(100);
    expect(onA.changes).toEqual([]); // its own: the writer updated its view already
    expect(otherFeature.changes).toEqual([]);
  });

  it('never delivers a change whose transaction rolled back', async () => {
    const { a, b } = await twoWorkers();
    const onB = heard(b, 'arming');
    await onB.ready;
    await expect(
      a.transaction(async (client) => {
        await storeChanges(a).notify(client, 'arming', 'rolled-back');
        throw new Error('the write failed');
      }),
    ).rejects.toThrow('the write failed');
    await a.transaction((client) => storeChanges(a).notify(client, 'arming', 'committed'));
    await within(1000, () => onB.changes.length >= 1);
    await sleep(100);
    // Notifications arrive in commit order: had the first been sent, it would be here first.
    expect(onB.changes).toEqual([{ site: 'committed' }]);
  });

  it('ignores another schema’s changes (the channel is database-wide)', async () => {
    const { b } = await twoWorkers();
    const elsewhere = await freshPostgres(server);
    cleanups.push(elsewhere.cleanup);
    const onB = heard(b, 'arming');
    await onB.ready;
    await elsewhere.pg.transaction((client) => storeChanges(elsewhere.pg).notify(client, 'arming', 'x'));
    await sleep(200);
    expect(onB.changes).toEqual([]);
  });

  it('reconnects after its connection is killed and tells every subscriber to reload everything', async () => {
    const { a, b } = await twoWorkers();
    await storeChanges(b).start({ backoffMs: 50 });
    const onB = heard(b, 'arming');
    await onB.ready;
    const pid = storeChanges(b).backendPid;
    expect(pid).not.toBeNull();
    const { rows } = await a.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
    expect(rows[0]?.ok).toBe(true);
    await within(2000, () => onB.changes.length > 0);
    expect(onB.changes).toEqual([{ site: null }]);
    await within(1000, () => storeChanges(b).listening);
    expect(storeChanges(b).backendPid).not.toBe(pid);
    // And it hears changes again.
    await a.transaction((client) => storeChanges(a).notify(client, 'arming', 'after'));
    await within(1000, () => onB.changes.length === 2);
    expect(onB.changes[1]).toEqual({ site: 'after' });
  });
});

describe('ViewRefresher', () => {
  it('gathers the requests made while a reload runs into one more reload', async () => {
    const calls: Array<readonly string[] | null> = [];
    let release!: () => void;
    const refresher = new ViewRefresher(
      async (sites) => {
        calls.push(sites);
        if (calls.length === 1) await new Promise<void>((r) => (release = r));
      },
      () => undefined,
    );
    refresher.request({ site: 'a' });
    await sleep(0);
    refresher.request({ site: 'b' });
    refresher.request({ site: 'c' });
    refresher.request({ site: 'b' });
    release();
    await refresher.idle();
    expect(calls).toEqual([['a'], ['b', 'c']]);
    // The first request of an idle refresher starts at once; what follows waits for it.
    refresher.request({ site: 'a' });
    refresher.request({ site: 'b' });
    refresher.request({ site: null });
    await refresher.idle();
    expect(calls.slice(2)).toEqual([['a'], null]);
  });

  it('retries a failed reload as a full one', async () => {
    const calls: Array<readonly string[] | null> = [];
    const errors: unknown[] = [];
    const refresher = new ViewRefresher(
      async (sites) => {
        calls.push(sites);
        if (calls.length === 1) throw new Error('database away');
      },
      (err) => errors.push(err),
      20,
    );
    refresher.request({ site: 'a' });
    await within(1000, () => calls.length === 2);
    await refresher.idle();
    expect(calls).toEqual([['a'], null]);
    expect(errors).toHaveLength(1);
    refresher.close();
  });
});
