/** A real SQLite storage in a fresh temp directory, removed on close. */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function tempStorage(prefix = 'storetwin-'): Promise<{ storage: SqliteStorage; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const storage = openSqliteStorage(join(dir, 'storetwin.db'));
  return {
    storage,
    async close() {
      storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
