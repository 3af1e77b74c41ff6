/** The alarm store contract on SQLite: a temp file, and a second connection to it for the two-worker cases. */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { createAlarmStore } from '../../server/stores.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { alarmStoreContract } from './alarm-store.contract.ts';

alarmStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'storetwin-alarm-store-'));
  const file = join(dir, 'storetwin.db');
  const storage = openSqliteStorage(file);
  const others: SqliteStorage[] = [];
  return {
    store: createAlarmStore({ kind: 'sqlite', db: storage.db }),
    second: () => {
      const other = openSqliteStorage(file);
      others.push(other);
      return Promise.resolve(createAlarmStore({ kind: 'sqlite', db: other.db }));
    },
    cleanup: () => {
      for (const o of others) o.close();
      storage.close();
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
});
