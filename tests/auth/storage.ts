/** A real SQLite registry in a temp dir for the auth unit tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStorage, type SqliteStorage } from '../../server/storage/sqlite/index.ts';

export async function tempStorage(): Promise<{ storage: SqliteStorage; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'storetwin-auth-'));
  const storage = openSqliteStorage(join(dir, 'storetwin.db'));
  return {
    storage,
    async close() {
      storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
