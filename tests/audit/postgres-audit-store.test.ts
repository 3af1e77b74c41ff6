/**
 * The PostgreSQL audit store against a real PostgreSQL (a throwaway cluster from Debian's
 * postgresql, tests/helpers/postgres.ts): the contract suite, each test in a fresh schema, and
 * what only the table can show — it refuses UPDATE, DELETE and TRUNCATE, whoever sends them.
 */
import { createAuditStore } from '../../server/stores.ts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_PG_SCHEMA, PostgresAuditStore } from '../../server/audit/postgres-store.ts';

import { migratePostgres } from '../../server/storage/postgres/migrate.ts';
import type { Postgres } from '../../server/storage/postgres/postgres.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { auditStoreContract } from './audit-store.contract.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

auditStoreContract('postgres', async (now) => {
  const fresh = await freshPostgres(server);
  await migratePostgres(fresh.pg, [AUDIT_PG_SCHEMA]);
  return { store: createAuditStore({ kind: 'postgres', pg: fresh.pg }, now), cleanup: fresh.cleanup };
});

describe('PostgreSQL audit table', () => {
  let pg: Postgres;
  let cleanup: () => Promise<void>;
  let store: PostgresAuditStore;

  beforeEach(async () => {
    ({ pg, cleanup } = await freshPostgres(server));
    await migratePostgres(pg, [AUDIT_PG_SCHEMA]);
    store = new PostgresAuditStore(pg);
    await store.append({ user: 'olga', userId: 7, role: 'operator', ip: '10.0.0.5', action: 'alarm.acknowledged', site: 'demo-shop', target: { kind: 'alarm', id: 'a-1' } });
  });

  afterEach(async () => {
    await cleanup();
  });

  it('refuses UPDATE, DELETE and TRUNCATE, and the entry stays as it was', async () => {
    const before = (await store.query({ limit: 10 })).items;
    await expect(pg.query("UPDATE audit SET actor = 'mallory'")).rejects.toThrow(/append-only/);
    await expect(pg.query('UPDATE audit SET ip = NULL WHERE id = $1', [before[0]!.id])).rejects.toThrow(/append-only/);
    await expect(pg.query('DELETE FROM audit')).rejects.toThrow(/append-only/);
    await expect(pg.query('TRUNCATE audit')).rejects.toThrow(/append-only/);
    await expect(pg.query("INSERT INTO audit (id, at, actor, action) VALUES ($1, now(), 'mallory', 'auth.login') ON CONFLICT (id) DO UPDATE SET actor = 'mallory'", [before[0]!.id])).rejects.toThrow();
    expect((await store.query({ limit: 10 })).items).toEqual(before);
  });

  it('answers a query it cannot run with a coded error, not a crash', async () => {
    await pg.query('ALTER TABLE audit RENAME TO audit_gone');
    await expect(store.query({ limit: 10 })).rejects.toMatchObject({ code: 'STW_ERR_STORAGE_UNAVAILABLE' });
  });
});
