/** The SQLite snapshot rows: the contract suite over a real database file. */
import { openSqliteStorage } from '../../server/sqlite-storage.ts';
import { createSnapshotRowStore } from '../../server/stores.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { snapshotStoreContract } from './snapshot-store.contract.ts';

snapshotStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stw-snapshot-rows-'));
  const storage = openSqliteStorage(join(dir, 'storetwin.db'));
  return {
    rows: createSnapshotRowStore({ kind: 'sqlite', db: storage.db }),
    cleanup: async () => {
      storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
