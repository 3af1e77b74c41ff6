/**
 * The outbox contract on a real PostgreSQL (tests/helpers/postgres.ts): its table comes with the
 * 'alarms' feature (ALARMS_PG_SCHEMA), as it commits with the alarm changes. The two-worker
 * claim gets a second pool on the same schema.
 */
import { createOutbox } from '../../server/stores.ts';
import { afterAll, beforeAll } from 'vitest';
import { ALARMS_PG_SCHEMA } from '../../server/alarms/postgres-store.ts';

import { migratePostgres } from '../../server/storage/postgres/migrate.ts';
import { openPostgres, type Postgres } from '../../server/storage/postgres/postgres.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { outboxStoreContract } from './outbox-store.contract.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

outboxStoreContract('postgres', async (now) => {
  const fresh = await freshPostgres(server);
  await migratePostgres(fresh.pg, [ALARMS_PG_SCHEMA]);
  const others: Postgres[] = [];
  return {
    outbox: createOutbox({ kind: 'postgres', pg: fresh.pg }, now),
    async second() {
      const pg = await openPostgres(server.url, { schema: fresh.schema });
      others.push(pg);
      return createOutbox({ kind: 'postgres', pg }, now);
    },
    async cleanup() {
      for (const pg of others) await pg.close();
      await fresh.cleanup();
    },
  };
});
