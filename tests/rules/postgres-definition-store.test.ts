/** The PostgreSQL rules table: the RuleDefinitionStore contract against a real, throwaway PostgreSQL. */
import { createRuleDefinitionStore } from '../../server/stores.ts';
import { afterAll, beforeAll } from 'vitest';

import { RULES_PG_SCHEMA } from '../../server/rules/postgres-definition-store.ts';
import { migratePostgres } from '../../server/storage/postgres/migrate.ts';
import { openPostgres, type Postgres } from '../../server/storage/postgres/postgres.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { ruleDefinitionStoreContract } from './definition-store.contract.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

ruleDefinitionStoreContract('postgres', async () => {
  const { pg, schema, cleanup } = await freshPostgres(server);
  await migratePostgres(pg, [RULES_PG_SCHEMA]);
  const others: Postgres[] = [];
  return {
    store: createRuleDefinitionStore({ kind: 'postgres', pg }),
    async another() {
      const other = await openPostgres(server.url, { schema });
      others.push(other);
      return createRuleDefinitionStore({ kind: 'postgres', pg: other });
    },
    async cleanup() {
      for (const o of others) await o.close();
      await cleanup();
    },
  };
});
