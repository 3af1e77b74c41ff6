/**
 * The alarm store contract on a real PostgreSQL (a throwaway cluster from Debian's postgresql,
 * tests/helpers/postgres.ts), each test in a fresh schema; the two-worker cases get a second
 * pool on the same schema, as a second worker process would have.
 */
import { createAlarmStore } from '../../server/stores.ts';
import { afterAll, beforeAll } from 'vitest';
import { ALARMS_PG_SCHEMA } from '../../server/alarms/postgres-store.ts';

import { migratePostgres } from '../../server/storage/postgres/migrate.ts';
import { openPostgres, type Postgres } from '../../server/storage/postgres/postgres.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { alarmStoreContract } from './alarm-store.contract.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

alarmStoreContract('postgres', async () => {
  const fresh = await freshPostgres(server);
  await migratePostgres(fresh.pg, [ALARMS_PG_SCHEMA]);
  const others: Postgres[] = [];
  return {
    store: createAlarmStore({ kind: 'postgres', pg: fresh.pg }),
    async second() {
      const pg = await openPostgres(server.url, { schema: fresh.schema });
      others.push(pg);
      return createAlarmStore({ kind: 'postgres', pg });
    },
    async cleanup() {
      for (const pg of others) await pg.close();
      await fresh.cleanup();
    },
  };
});
