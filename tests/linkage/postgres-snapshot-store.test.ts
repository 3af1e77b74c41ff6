/**
 * The PostgreSQL snapshot rows against a real PostgreSQL (a throwaway cluster from Debian's
 * postgresql, tests/helpers/postgres.ts): the contract suite, each test in a fresh schema.
 */
import { createSnapshotRowStore } from '../../server/stores.ts';
import { afterAll, beforeAll } from 'vitest';
import { SNAPSHOTS_PG_SCHEMA } from '../../server/linkage/postgres-store.ts';

import { migratePostgres } from '../../server/storage/postgres/migrate.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { snapshotStoreContract } from './snapshot-store.contract.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

snapshotStoreContract('postgres', async () => {
  const fresh = await freshPostgres(server);
  await migratePostgres(fresh.pg, [SNAPSHOTS_PG_SCHEMA]);
  return { rows: createSnapshotRowStore({ kind: 'postgres', pg: fresh.pg }), cleanup: fresh.cleanup };
});
