/** The SQLite arming tables: the ArmingStore contract over a real database file. */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { createArmingStore } from '../../server/stores.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { armingStoreContract } from './arming-store.contract.ts';

armingStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stw-arming-'));
  const file = join(dir, 'storetwin.db');
  const opened: SqliteStorage[] = [openSqliteStorage(file)];
  return {
    store: createArmingStore({ kind: 'sqlite', db: opened[0]!.db }),
    async another() {
      const second = openSqliteStorage(file);
      opened.push(second);
      return createArmingStore({ kind: 'sqlite', db: second.db });
    },
    async cleanup() {
      for (const s of opened) s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
