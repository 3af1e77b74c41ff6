/**
 * The PostgreSQL integration store against a real PostgreSQL (a throwaway cluster from Debian's
 * postgresql, tests/helpers/postgres.ts): the contract suite, each test in a fresh schema.
 */
import { createIntegrationStore } from '../../server/stores.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTEGRATIONS_PG_SCHEMA } from '../../server/integrations/postgres-store.ts';

import { emptyPendingWrites } from '../../server/integrations/types.ts';
import { migratePostgres } from '../../server/storage/postgres/migrate.ts';
import { openPostgres } from '../../server/storage/postgres/postgres.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { integrationStoreContract } from './integration-store.contract.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

integrationStoreContract('postgres', async (now) => {
  const fresh = await freshPostgres(server);
  await migratePostgres(fresh.pg, [INTEGRATIONS_PG_SCHEMA]);
  return { store: createIntegrationStore({ kind: 'postgres', pg: fresh.pg }, now), cleanup: fresh.cleanup };
});

describe('PostgreSQL integrations across workers', () => {
  it('two workers (two pools) flushing counters of the same integrations add up exactly', async () => {
    const a = await freshPostgres(server);
    const other = await openPostgres(server.url, { schema: a.schema });
    try {
      await migratePostgres(a.pg, [INTEGRATIONS_PG_SCHEMA]);
      const one = createIntegrationStore({ kind: 'postgres', pg: a.pg });
      const two = createIntegrationStore({ kind: 'postgres', pg: other });
      for (const id of ['int-a', 'int-b']) await one.insert({ id, adapter: 'ctwing', site: 'demo-hotel', name: id, settings: {}, tokenHash: `hash-${id}`, enabled: true });
      const flush = (worker: typeof one, order: string[]) => {
        const b = emptyPendingWrites();
        for (const id of order) b.counts.set(id, { accepted: 1, duplicates: 0, unknown: 0, refused: 0, at: Date.now() });
        b.unknown.push({ integration: 'int-a', ids: { imei: '7' }, describe: undefined, at: Date.now() });
        return worker.applyBatch(b);
      };
      await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? flush(one, ['int-a', 'int-b']) : flush(two, ['int-b', 'int-a']))));
      expect((await two.list()).map((r) => r.counts.accepted)).toEqual([20, 20]);
      expect((await one.listUnknown())[0]?.messages).toBe(20);
    } finally {
      await other.close();
      await a.cleanup();
    }
  });
});
