/** The SQLite rule timer store: the contract over a real database file (`rule_timers`). */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { createRuleTimerStore } from '../../server/stores.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ruleTimerStoreContract } from './timer-store.contract.ts';

ruleTimerStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stw-timers-'));
  const file = join(dir, 'storetwin.db');
  const opened: SqliteStorage[] = [openSqliteStorage(file)];
  return {
    store: createRuleTimerStore({ kind: 'sqlite', db: opened[0]!.db }),
    async another() {
      const second = openSqliteStorage(file);
      opened.push(second);
      return createRuleTimerStore({ kind: 'sqlite', db: second.db });
    },
    async cleanup() {
      for (const s of opened) s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
