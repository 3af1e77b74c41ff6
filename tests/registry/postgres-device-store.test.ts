/** The device store on PostgreSQL: the contract suite on a throwaway cluster, a fresh schema per test. */
import { afterAll, beforeAll } from 'vitest';
import { postgresRegistryStores } from '../helpers/registry-stores.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { deviceStoreContract } from './device-store.contract.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

deviceStoreContract('postgres', postgresRegistryStores(() => server));
