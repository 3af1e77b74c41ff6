/** The SQLite rules table: the RuleDefinitionStore contract over a real database file. */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { createRuleDefinitionStore } from '../../server/stores.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ruleDefinitionStoreContract } from './definition-store.contract.ts';

ruleDefinitionStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stw-ruledefs-'));
  const file = join(dir, 'storetwin.db');
  const opened: SqliteStorage[] = [openSqliteStorage(file)];
  return {
    store: createRuleDefinitionStore({ kind: 'sqlite', db: opened[0]!.db }),
    async another() {
      const second = openSqliteStorage(file);
      opened.push(second);
      return createRuleDefinitionStore({ kind: 'sqlite', db: second.db });
    },
    async cleanup() {
      for (const s of opened) s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
