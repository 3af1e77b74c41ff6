/** The SQLite integration store: the contract suite over a real database file. */
import { openSqliteStorage } from '../../server/sqlite-storage.ts';
import { createIntegrationStore } from '../../server/stores.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { integrationStoreContract } from './integration-store.contract.ts';

integrationStoreContract('sqlite', async (now) => {
  const dir = await mkdtemp(join(tmpdir(), 'stw-integrations-'));
  const storage = openSqliteStorage(join(dir, 'storetwin.db'));
  return {
    store: createIntegrationStore({ kind: 'sqlite', db: storage.db }, now),
    cleanup: async () => {
      storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
