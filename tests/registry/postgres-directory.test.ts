/** The device directory over the PostgreSQL device store: `cli` is another worker's pool on the same database. */
import { afterAll, beforeAll } from 'vitest';
import { postgresRegistryStores } from '../helpers/registry-stores.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { directoryTests } from './directory.contract.ts';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

directoryTests('postgres', postgresRegistryStores(() => server), { announcesWrites: true });
