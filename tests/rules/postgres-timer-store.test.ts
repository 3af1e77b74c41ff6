/** The PostgreSQL rule timer store: the contract against a real, throwaway PostgreSQL. */
import { createRuleTimerStore } from '../../server/stores.ts';
import { afterAll, beforeAll } from 'vitest';
import { RULE_TIMERS_PG_SCHEMA } from '../../server/rules/postgres-timer-store.ts';

import { migratePostgres } from '../../server/storage/postgres/migrate.ts';
import { openPostgres, type Postgres } from '../../server/storage/postgres/postgres.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { ruleTimerStoreContract } from './timer-store.contract.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

ruleTimerStoreContract('postgres', async () => {
  const { pg, schema, cleanup } = await freshPostgres(server);
  await migratePostgres(pg, [RULE_TIMERS_PG_SCHEMA]);
  const others: Postgres[] = [];
  return {
    store: createRuleTimerStore({ kind: 'postgres', pg }),
    async another() {
      // A second worker: its own pool on the same database.
      const other = await openPostgres(server.url, { schema });
      others.push(other);
      return createRuleTimerStore({ kind: 'postgres', pg: other });
    },
    async cleanup() {
      for (const o of others) await o.close();
      await cleanup();
    },
  };
});
