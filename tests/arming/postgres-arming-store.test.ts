/** The PostgreSQL arming tables: the ArmingStore contract against a real, throwaway PostgreSQL. */
import { createArmingStore } from '../../server/stores.ts';
import { afterAll, beforeAll } from 'vitest';
import { ARMING_PG_SCHEMA } from '../../server/arming/postgres-store.ts';

import { migratePostgres } from '../../server/storage/postgres/migrate.ts';
import { openPostgres, type Postgres } from '../../server/storage/postgres/postgres.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { armingStoreContract } from './arming-store.contract.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

armingStoreContract('postgres', async () => {
  const { pg, schema, cleanup } = await freshPostgres(server);
  await migratePostgres(pg, [ARMING_PG_SCHEMA]);
  const others: Postgres[] = [];
  return {
    store: createArmingStore({ kind: 'postgres', pg }),
    async another() {
      const other = await openPostgres(server.url, { schema });
      others.push(other);
      return createArmingStore({ kind: 'postgres', pg: other });
    },
    async cleanup() {
      for (const o of others) await o.close();
      await cleanup();
    },
  };
});
