/** The outbox contract on SQLite: a temp file, and a second connection to it as a second worker. */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { createOutbox } from '../../server/stores.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { outboxStoreContract } from './outbox-store.contract.ts';

outboxStoreContract('sqlite', async (now) => {
  const dir = mkdtempSync(join(tmpdir(), 'storetwin-outbox-'));
  const file = join(dir, 'storetwin.db');
  const storage = openSqliteStorage(file);
  const others: SqliteStorage[] = [];
  return {
    outbox: createOutbox({ kind: 'sqlite', db: storage.db }, now),
    second: () => {
      const other = openSqliteStorage(file);
      others.push(other);
      return Promise.resolve(createOutbox({ kind: 'sqlite', db: other.db }, now));
    },
    cleanup: () => {
      for (const o of others) o.close();
      storage.close();
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
});
